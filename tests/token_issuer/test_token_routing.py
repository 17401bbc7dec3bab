"""The token function's routing (token_issuer.app.route): the three POST endpoints, matched as Powertools'
APIGatewayRestResolver matched them before the function routed itself (issue 16 item 5), and one 404 for
everything else; a malformed event gets the one error handler's answer, never an unhandled exception.
Also: log messages are written as the text they are (the Logger's ``json_deserializer``)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from partnerauth.client_registry import IssuedSecret
from partnerauth.server_metadata import INTROSPECTION_PATH, REVOCATION_PATH
from tests.support.log_capture import LogCapture

from .conftest import FORM, TOKEN_PATH, Endpoint, Reply, basic, form

NOT_FOUND = {"error": "not_found", "error_description": "no such endpoint"}


def _assert_no_store_json(reply: Reply) -> None:
    # RFC 6749 §5.1/§5.2: no token-endpoint answer is cached, whatever it is
    assert reply.header("Content-Type") == "application/json;charset=UTF-8"
    assert (reply.header("Cache-Control"), reply.header("Pragma")) == ("no-store", "no-cache")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", [TOKEN_PATH, REVOCATION_PATH, INTROSPECTION_PATH])
def test_any_method_but_post_on_an_endpoint_is_the_404_not_a_405(
    token_endpoint: Endpoint, method: str, path: str
) -> None:
    reply = token_endpoint.request(method, path)

    assert (reply.status, reply.json()) == (404, NOT_FOUND)
    _assert_no_store_json(reply)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/oauth2",
        "/oauth2/tokens",
        "/oauth2/token/x",
        "/v1/oauth2/token",
        "/OAUTH2/TOKEN",
        "//oauth2/token",
    ],
)
def test_a_path_that_is_no_endpoint_is_the_404(token_endpoint: Endpoint, path: str) -> None:
    reply = token_endpoint.request("POST", path)

    assert (reply.status, reply.json()) == (404, NOT_FOUND)
    _assert_no_store_json(reply)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", f"{TOKEN_PATH}/"), ("post", TOKEN_PATH), ("Post", f"{TOKEN_PATH}//")]
)
def test_trailing_slashes_and_the_method_in_any_case_reach_the_token_endpoint(
    token_endpoint: Endpoint, partner: IssuedSecret, method: str, path: str
) -> None:
    """As the resolver's REST rule "^/oauth2/token/*$" and its upper-cased method matched them."""
    reply = token_endpoint.request(
        method,
        path,
        body=form(grant_type="client_credentials"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )

    assert reply.status == 200
    assert reply.json()["token_type"] == "Bearer"
    _assert_no_store_json(reply)


@pytest.mark.parametrize("path", [REVOCATION_PATH, INTROSPECTION_PATH])
def test_revocation_and_introspection_answer_on_their_own_paths(token_endpoint: Endpoint, path: str) -> None:
    """Their own refusal of an unauthenticated caller (RFC 7009 §2.1, RFC 7662 §2.1), not the 404."""
    reply = token_endpoint.request("POST", path, body=form(token="x"), headers=FORM)

    assert reply.status == 401
    assert reply.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda event: event.pop("httpMethod"), id="no-method"),
        pytest.param(lambda event: event.pop("path"), id="no-path"),
        pytest.param(lambda event: event.update(path=None), id="null-path"),
        pytest.param(lambda event: event.update(path=["/oauth2/token"]), id="list-path"),
        pytest.param(lambda event: event.update(httpMethod=7), id="number-method"),
    ],
)
def test_a_malformed_event_gets_the_500_answer_not_an_exception(token_endpoint: Endpoint, spoil: Any) -> None:
    event = token_endpoint.event("POST", TOKEN_PATH, body=form(grant_type="client_credentials"), headers=FORM)
    spoil(event)

    reply = token_endpoint.invoke(event)

    assert (reply.status, reply.json()) == (500, {"error": "server_error"})
    _assert_no_store_json(reply)


@pytest.mark.parametrize("message", ['{"error": "not_found"}', "[1, 2]", "42", "true", "access token issued"])
def test_a_log_message_is_written_as_the_text_it_is(
    token_module: ModuleType, captured_logs: LogCapture, message: str
) -> None:
    """Powertools by default writes a message that parses as JSON as the parsed value; ours are texts."""
    token_module.logger.info(message)

    lines = [json.loads(text) for text in captured_logs.lines]
    assert lines
    assert [line["message"] for line in lines] == [message] * len(lines)
