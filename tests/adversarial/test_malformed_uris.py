"""Malformed URIs in every parameter of the token endpoint, through the deployed handler (issue 14 item 7).

``resource=http://%5B`` from a client with valid credentials was a 500 ``server_error`` (``urlsplit``
raised), with a stack trace in the log and ``TokenApi5xxAlarm`` tripped.  Now: a malformed ``resource``
is ``invalid_target`` (RFC 8707 §2), and whatever any parameter holds, the answer is an RFC 6749 §5.2
error or a token - never a 5xx, never a traceback in a log line.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from .conftest import TokenWorld
from .malformed_uris import MALFORMED_URIS
from .test_hostile_token_requests import SECTION_5_2_ERRORS, basic_header, problems_with
from .token_endpoint import FORM_TYPE, Reply

PARAMETERS = [
    "grant_type", "scope", "resource", "audience", "client_id", "client_secret",
    "client_assertion", "client_assertion_type", "unknown_parameter",
]  # fmt: skip


def post(world: TokenWorld, params: list[tuple[str, str]], *, basic: bool = True) -> Reply:
    valid = world.principals["valid"]
    headers = [("Content-Type", FORM_TYPE)]
    if basic:
        headers.append(basic_header(valid.client_id, valid.secret))
    body = urlencode(params, errors="surrogatepass").encode("ascii")
    return world.endpoint.invoke(world.endpoint.event(body, headers, ""))


@pytest.mark.parametrize("uri", [u for u in MALFORMED_URIS if u])
def test_a_malformed_resource_from_a_valid_client_is_invalid_target(
    token_world: TokenWorld, uri: str
) -> None:
    reply = post(token_world, [("grant_type", "client_credentials"), ("resource", uri)])
    # a lone surrogate is no UTF-8 once percent-decoded: the form itself is refused (RFC 6749 Appendix B)
    expected = "invalid_request" if any(0xD800 <= ord(c) <= 0xDFFF for c in uri) else "invalid_target"
    # RFC 8707 §2: "invalid_target ... the requested resource is invalid, missing, unknown, or malformed"
    assert problems_with(reply, 400, expected, token_world.secrets()) == []


def test_every_parameter_holding_any_malformed_uri_gets_a_section_5_2_answer(token_world: TokenWorld) -> None:
    world = token_world
    before = world.snapshot("ClientsTable", "SigningKeysTable")
    answers: dict[tuple[int, str | None], int] = {}
    wrong: list[str] = []
    for name in PARAMETERS:
        for uri in MALFORMED_URIS:
            world.forget_failures()
            params = [("grant_type", uri if name == "grant_type" else "client_credentials")]
            if name != "grant_type":
                params.append((name, uri))
            for basic in (True, False):
                sent = params if basic else [*params, ("client_id", world.principals["valid"].client_id)]
                reply = post(world, sent, basic=basic)
                error = None if reply.status == 200 else reply.json().get("error")
                answers[reply.status, error] = answers.get((reply.status, error), 0) + 1
                if reply.status >= 500 or (error is not None and error not in SECTION_5_2_ERRORS):
                    wrong.append(f"{name}={uri!r} basic={basic}: {reply.status} {error}")
                elif problems_with(reply, reply.status, error, world.secrets()):
                    wrong.append(
                        f"{name}={uri!r}: {problems_with(reply, reply.status, error, world.secrets())}"
                    )
    # RFC 6749 §5.2: every refusal is one of its errors (or RFC 8707's invalid_target), never a 5xx
    assert wrong == []
    assert not any(status >= 500 for status, _ in answers)
    assert "Traceback" not in "\n".join(world.logs.lines)
    # a refused request changes nothing stored
    assert world.snapshot("ClientsTable", "SigningKeysTable") == before
    # the positive control: unknown parameters and an empty value are harmless
    assert answers.get((200, None), 0) > 0
