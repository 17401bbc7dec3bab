"""POST /oauth2/token: every refusal is the exact RFC 6749 §5.2 error, not cached, changing nothing stored."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry, ClientStatus, IssuedSecret

from .conftest import FORM, OTHER_AUDIENCE, TOKEN_PATH, Endpoint, Reply, basic, form

GRANT = "grant_type=client_credentials"


def assert_error(reply: Reply, status: int, error: str) -> None:
    # RFC 6749 §5.2: JSON body with "error"; RFC 6749 §5.1/§5.2: no caching of any token-endpoint response
    assert reply.status == status
    assert reply.json()["error"] == error
    assert set(reply.json()) <= {"error", "error_description"}
    assert reply.header("Content-Type") == "application/json;charset=UTF-8"
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("Pragma") == "no-cache"


def assert_invalid_client(reply: Reply) -> None:
    # RFC 6749 §5.2: 401 invalid_client; WWW-Authenticate with the Basic scheme (RFC 9110 §11.6.1)
    assert_error(reply, 401, "invalid_client")
    challenge = reply.header("WWW-Authenticate")
    assert challenge is not None
    assert challenge.startswith("Basic ")


def post_secret(issued: IssuedSecret, **extra: str) -> str:
    return form(
        grant_type="client_credentials",
        client_id=issued.client.client_id,
        client_secret=issued.secret,
        **extra,
    )


# --------------------------------------------------------------------------- invalid_request


def test_json_body_is_invalid_request(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    body = '{"grant_type": "client_credentials"}'
    reply = token_endpoint.post(
        body, headers=(("Content-Type", "application/json"), basic(partner.client.client_id, partner.secret))
    )
    # RFC 6749 §4.4.2 / Appendix B: the request body is application/x-www-form-urlencoded
    assert_error(reply, 400, "invalid_request")


def test_missing_content_type_is_invalid_request(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    assert_error(token_endpoint.post(post_secret(partner), headers=()), 400, "invalid_request")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencodedx", ""],
)
def test_other_content_types_are_invalid_request(
    content_type: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    reply = token_endpoint.post(post_secret(partner), headers=(("Content-Type", content_type),))
    assert_error(reply, 400, "invalid_request")


def test_repeated_content_type_is_invalid_request(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    reply = token_endpoint.post(post_secret(partner), headers=(*FORM, *FORM))
    assert_error(reply, 400, "invalid_request")


def test_missing_grant_type_is_invalid_request(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    reply = token_endpoint.post(
        "scope=orders:read", headers=(*FORM, basic(partner.client.client_id, partner.secret))
    )
    assert_error(reply, 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=orders:read&scope=orders:write",
        "grant_type=client_credentials&scope=&scope=orders:read",
        "grant_type=client_credentials&resource=a&resource=b",
    ],
)
def test_repeated_parameter_is_invalid_request(
    body: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §3.2: request parameters MUST NOT be included more than once
    reply = token_endpoint.post(body, headers=(*FORM, basic(partner.client.client_id, partner.secret)))
    assert_error(reply, 400, "invalid_request")


def test_repeated_client_id_in_body_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    body = post_secret(partner) + "&client_id=" + partner.client.client_id
    assert_error(token_endpoint.post(body), 400, "invalid_request")


def test_basic_and_client_secret_together_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §2.3: the client MUST NOT use more than one authentication method in each request
    reply = token_endpoint.post(
        post_secret(partner), headers=(*FORM, basic(partner.client.client_id, partner.secret))
    )
    assert_error(reply, 400, "invalid_request")


def test_basic_with_a_different_body_client_id_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    reply = token_endpoint.post(
        form(grant_type="client_credentials", client_id="someone-else"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert_error(reply, 400, "invalid_request")


def test_client_secret_without_client_id_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    reply = token_endpoint.post(form(grant_type="client_credentials", client_secret=partner.secret))
    assert_error(reply, 400, "invalid_request")


def test_repeated_authorization_header_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    header = basic(partner.client.client_id, partner.secret)
    reply = token_endpoint.post(GRANT, headers=(*FORM, header, header))
    assert_error(reply, 400, "invalid_request")


def test_resource_and_audience_together_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    reply = token_endpoint.post(post_secret(partner, resource=OTHER_AUDIENCE, audience=OTHER_AUDIENCE))
    assert_error(reply, 400, "invalid_request")


@pytest.mark.parametrize(
    "query",
    ["client_secret=leaked", "grant_type=client_credentials", "client_id=x&client_secret=y", "unrelated=1"],
)
def test_parameters_in_the_query_string_are_invalid_request(
    query: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §2.3.1: client credentials MUST NOT be included in the request URI; we take none there at all
    reply = token_endpoint.post(post_secret(partner), query=query)
    assert_error(reply, 400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("grant_type=client_credentials&scope=orders%3", "truncated percent-escape"),
        ("grant_type=client_credentials&scope=%zzorders", "non-hex percent-escape"),
        ("grant_type=client_credentials&scope=%FF%FE", "percent-decoded bytes are not UTF-8"),
        ("grant_type=client_credentials&scope=orders read", "a literal space"),
        ("grant_type=client_credentials&scope=caf\u00e9", "a non-ASCII character"),
        ("grant_type=client_credentials&=orphan", "a parameter without a name"),
        ("grant_type=client_credentials\r\n", "control characters"),
        ("grant_type=client_credentials&" + "x=1&" * 40, "too many parameters"),
        ("grant_type=client_credentials&pad=" + "a" * 5000, "an oversize body"),
    ],
)
def test_malformed_form_is_invalid_request(
    body: str, why: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    reply = token_endpoint.post(body, headers=(*FORM, basic(partner.client.client_id, partner.secret)))
    assert_error(reply, 400, "invalid_request")


def test_non_utf8_body_bytes_are_invalid_request(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    # The proxy event carries such a body base64-encoded (isBase64Encoded: true)
    event = token_endpoint.event(
        "POST",
        TOKEN_PATH,
        body=b"grant_type=client_credentials&scope=\xff\xfe",
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert event["isBase64Encoded"] is True
    assert_error(token_endpoint.invoke(event), 400, "invalid_request")


def test_invalid_base64_event_body_is_invalid_request(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    event = token_endpoint.event(
        "POST", TOKEN_PATH, body=GRANT, headers=(*FORM, basic(partner.client.client_id, partner.secret))
    )
    event.update(body="***not base64***", isBase64Encoded=True)
    assert_error(token_endpoint.invoke(event), 400, "invalid_request")


def test_base64_encoded_event_body_is_accepted(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    event = token_endpoint.event("POST", TOKEN_PATH, body=post_secret(partner), headers=FORM)
    event.update(body=base64.b64encode(post_secret(partner).encode()).decode(), isBase64Encoded=True)
    assert token_endpoint.invoke(event).status == 200


def test_empty_body_is_invalid_request(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    reply = token_endpoint.post("", headers=(*FORM, basic(partner.client.client_id, partner.secret)))
    assert_error(reply, 400, "invalid_request")


# --------------------------------------------------------------------------- invalid_client


def test_no_client_authentication_is_invalid_client(token_endpoint: Endpoint) -> None:
    # RFC 6749 §5.2 invalid_client: "no client authentication included"
    assert_invalid_client(token_endpoint.post(GRANT))


def test_client_id_alone_is_invalid_client(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    # We have no public clients: an id without a secret does not authenticate
    assert_invalid_client(
        token_endpoint.post(form(grant_type="client_credentials", client_id=partner.client.client_id))
    )


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!notbase64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"id:secret").decode().rstrip("="),
        "Basic " + base64.b64encode(b"id:secret").decode() + "=",
        "Basic " + base64.b64encode(b":secret-without-id").decode(),
        "Basic " + base64.b64encode(b"id-without-secret:").decode(),
        "Basic " + base64.b64encode(b"id:%zz").decode(),
        "Basic " + base64.b64encode(b"id:\xff\xfe").decode(),
        "Basic " + base64.b64encode(b"id:%FF").decode(),
        "Basic",
        "Basic ",
        "",
        "Bearer abc.def.ghi",
        "Digest username=x",
        "Basic " + "A" * 4000,
    ],
)
def test_malformed_basic_credentials_are_invalid_client(authorization: str, token_endpoint: Endpoint) -> None:
    # RFC 6749 §5.2: the client tried the Authorization header and failed -> 401 with a Basic challenge
    assert_invalid_client(token_endpoint.post(GRANT, headers=(*FORM, ("Authorization", authorization))))


def test_basic_with_unencoded_percent_encoded_secret_fails(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # A secret sent with its ':' percent-encoded must decode to exactly the stored secret: %3A is ':' here
    raw = f"{partner.client.client_id}:{partner.secret}%3A".encode()
    header = ("Authorization", "Basic " + base64.b64encode(raw).decode())
    assert_invalid_client(token_endpoint.post(GRANT, headers=(*FORM, header)))


def test_unknown_disabled_expired_and_wrong_are_indistinguishable(
    token_endpoint: Endpoint,
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    clock: Any,
) -> None:
    live = new_client()
    disabled = new_client()
    registry.set_status(disabled.client.client_id, ClientStatus.DISABLED)
    expiring = new_client(secret_expires_at=int(clock()) + 60)
    clock.advance(61)
    attempts = {
        "unknown": basic("pc_doesnotexist", live.secret),
        "disabled": basic(disabled.client.client_id, disabled.secret),
        "expired": basic(expiring.client.client_id, expiring.secret),
        "wrong secret": basic(
            live.client.client_id, live.secret[:-1] + ("A" if live.secret[-1] != "A" else "B")
        ),
        "another client's secret": basic(live.client.client_id, disabled.secret),
    }
    replies = {name: token_endpoint.post(GRANT, headers=(*FORM, header)) for name, header in attempts.items()}
    for reply in replies.values():
        assert_invalid_client(reply)
    # Same status, same headers, same body, whatever the cause
    assert len({(r.status, tuple(sorted(r.headers.items())), r.body) for r in replies.values()}) == 1


def test_post_credentials_of_a_disabled_client_are_invalid_client(
    token_endpoint: Endpoint, registry: ClientRegistry, partner: IssuedSecret
) -> None:
    registry.set_status(partner.client.client_id, ClientStatus.DISABLED)
    assert_invalid_client(token_endpoint.post(post_secret(partner)))


def test_reenabled_client_works_again(
    token_endpoint: Endpoint, registry: ClientRegistry, partner: IssuedSecret
) -> None:
    registry.set_status(partner.client.client_id, ClientStatus.DISABLED)
    assert_invalid_client(token_endpoint.post(post_secret(partner)))
    registry.set_status(partner.client.client_id, ClientStatus.ACTIVE)
    assert token_endpoint.post(post_secret(partner)).status == 200


def test_client_id_that_cannot_be_registered_is_invalid_client(token_endpoint: Endpoint) -> None:
    too_long = "x" * 129
    assert_invalid_client(
        token_endpoint.post(form(grant_type="client_credentials", client_id=too_long, client_secret="s"))
    )


# --------------------------------------------------------------------------- grant, scope, target


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "client_credentials;scope=x",
        "CLIENT_CREDENTIALS",
        "client_credentials ",
    ],
)
def test_other_grant_types_are_unsupported_grant_type(
    grant_type: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §5.2 unsupported_grant_type ('&' is the only separator: ';' stays part of the value)
    body = "grant_type=" + grant_type.replace(" ", "+")
    reply = token_endpoint.post(body, headers=(*FORM, basic(partner.client.client_id, partner.secret)))
    assert_error(reply, 400, "unsupported_grant_type")


def test_client_not_registered_for_the_grant_is_unauthorized_client(
    token_endpoint: Endpoint, new_client: Callable[..., IssuedSecret]
) -> None:
    # RFC 6749 §5.2 unauthorized_client; RFC 7591 §2 grant_types names what a client may use
    issued = new_client(grant_types=[])
    reply = token_endpoint.post(GRANT, headers=(*FORM, basic(issued.client.client_id, issued.secret)))
    assert_error(reply, 400, "unauthorized_client")


@pytest.mark.parametrize(
    "scope", ["orders:read admin", "admin", "orders:read orders:write inventory:read", "ORDERS:READ"]
)
def test_scope_escalation_is_invalid_scope(
    scope: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §5.2 invalid_scope: "exceeds the scope granted"; never a silently narrowed token
    reply = token_endpoint.post(
        form(grant_type="client_credentials", scope=scope),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert_error(reply, 400, "invalid_scope")


@pytest.mark.parametrize(
    "scope", ["orders:read  orders:write", " orders:read", "orders:read ", 'a"b', "a\\b"]
)
def test_malformed_scope_is_invalid_scope(
    scope: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §3.3: scope = scope-token *( SP scope-token ), no '"' or '\\' in a token
    reply = token_endpoint.post(
        form(grant_type="client_credentials", scope=scope),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert_error(reply, 400, "invalid_scope")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("audience", "https://not-allowed.example.test"),
        ("resource", "https://not-allowed.example.test"),
        ("resource", "relative/path"),
        ("resource", OTHER_AUDIENCE + "#fragment"),
    ],
)
def test_audience_not_allowed_is_invalid_target(
    parameter: str, value: str, token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 8707 §2: invalid_target for a resource that is not allowed, unknown or malformed
    reply = token_endpoint.post(
        form(grant_type="client_credentials", **{parameter: value}),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert_error(reply, 400, "invalid_target")


# --------------------------------------------------------------------------- routing


def test_get_on_the_token_endpoint_is_not_found_and_not_cached(token_endpoint: Endpoint) -> None:
    reply = token_endpoint.get(TOKEN_PATH)
    assert reply.status == 404
    assert reply.header("Cache-Control") == "no-store"


# --------------------------------------------------------------------------- nothing stored changes


HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    (
        "json body",
        {"body": '{"grant_type":"client_credentials"}', "headers": (("Content-Type", "application/json"),)},
        "invalid_request",
    ),
    ("query secret", {"body": GRANT, "query": "client_id=x&client_secret=y"}, "invalid_request"),
    ("repeated", {"body": GRANT + "&" + GRANT}, "invalid_request"),
    ("bad escape", {"body": GRANT + "&scope=%G0"}, "invalid_request"),
    # ';' is not a separator: this request carries one odd grant_type and no credentials at all
    ("semicolons", {"body": "grant_type=client_credentials;client_id=x;client_secret=y"}, "invalid_client"),
    ("oversize", {"body": GRANT + "&x=" + "y" * 10_000}, "invalid_request"),
    ("no content type", {"body": GRANT, "headers": ()}, "invalid_request"),
]


@pytest.mark.parametrize(("name", "request_kwargs", "error"), HOSTILE, ids=[name for name, _, _ in HOSTILE])
def test_hostile_requests_change_nothing_stored(
    name: str,
    request_kwargs: dict[str, Any],
    error: str,
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    table_snapshot: Callable[[], dict[str, Any]],
) -> None:
    before = table_snapshot()
    reply = token_endpoint.post(**request_kwargs)
    assert_error(reply, 401 if error == "invalid_client" else 400, error)
    assert table_snapshot() == before


def test_failed_authentication_changes_only_the_attempts_table(
    token_endpoint: Endpoint, partner: IssuedSecret, table_snapshot: Callable[[], dict[str, Any]]
) -> None:
    before = table_snapshot()
    assert_invalid_client(
        token_endpoint.post(GRANT, headers=(*FORM, basic(partner.client.client_id, "wrong")))
    )
    after = table_snapshot()
    assert after["ClientsTable"] == before["ClientsTable"]
    assert after["SigningKeysTable"] == before["SigningKeysTable"]
    assert after["AuthAttemptsTable"] != before["AuthAttemptsTable"]  # by design: the failure is counted
