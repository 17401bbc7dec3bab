"""The sample HTTP API (payload 2.0): each route answers with the caller the authorizer admitted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sample_api.http_app import lambda_handler

EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "http-api-list-shipments.json").read_text()
)
CONTEXT = SimpleNamespace(
    function_name="SampleHttpApiFunction",
    memory_limit_in_mb=128,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:SampleHttpApiFunction",
    aws_request_id="test-request",
)
CALLER = {
    "client_id": "pc_example00000000",
    "scope": "shipments:read",
    "sub": "pc_example00000000",
    "jti": "Q2FtcGxlLWp0aS0wMDAy",
    "iss": "https://authapi123.execute-api.us-east-1.amazonaws.com/dev",
}


def call(method: str, route: str, path: str, **params: str) -> tuple[int, dict[str, Any]]:
    """A payload 2.0 event for ``method path`` on the ``dev`` stage, as API Gateway sends it."""
    event = copy.deepcopy(EVENT)
    route_key = f"{method} {route}"
    event.update(routeKey=route_key, rawPath=f"/dev{path}", pathParameters=params or None)
    event["requestContext"].update(routeKey=route_key)
    event["requestContext"]["http"].update(method=method, path=f"/dev{path}")
    response = lambda_handler(event, CONTEXT)  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


def test_the_sample_event_lists_the_shipments_with_the_caller() -> None:
    response = lambda_handler(copy.deepcopy(EVENT), CONTEXT)  # type: ignore[arg-type]
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert [s["id"] for s in body["shipments"]] == ["s-2001", "s-2002"]
    assert body["caller"] == CALLER


@pytest.mark.parametrize(
    ("method", "route", "path", "params", "status", "member"),
    [
        ("GET", "/shipments", "/shipments", {}, 200, "shipments"),
        ("GET", "/shipments/{id}", "/shipments/s-2001", {"id": "s-2001"}, 200, "shipment"),
        ("POST", "/shipments/{id}/cancel", "/shipments/s-2002/cancel", {"id": "s-2002"}, 202, "cancellation"),
    ],
)
def test_each_route_answers_with_the_caller(
    method: str, route: str, path: str, params: dict[str, str], status: int, member: str
) -> None:
    answered, body = call(method, route, path, **params)
    assert answered == status
    assert member in body
    # the authorizer's context, field by field (never the token: it is not in the context)
    assert body["caller"] == CALLER
    assert "PLACEHOLDER" not in json.dumps(body)


def test_a_known_shipment_is_returned() -> None:
    _, body = call("GET", "/shipments/{id}", "/shipments/s-2001", id="s-2001")
    assert body["shipment"]["carrier"] == "dhl"


def test_a_cancellation_is_accepted_but_not_stored() -> None:
    status, body = call("POST", "/shipments/{id}/cancel", "/shipments/s-2001/cancel", id="s-2001")
    # RFC 9110 §15.3.3: accepted for processing, not completed
    assert status == 202
    assert body["cancellation"]["shipment"] == "s-2001"
    assert "not stored" in body["cancellation"]["status"]


@pytest.mark.parametrize(
    ("method", "route", "path"),
    [
        ("GET", "/shipments/{id}", "/shipments/s-9999"),
        ("POST", "/shipments/{id}/cancel", "/shipments/s-9999/cancel"),
    ],
)
def test_an_unknown_shipment_is_404(method: str, route: str, path: str) -> None:
    status, _ = call(method, route, path, id="s-9999")
    assert status == 404


def test_a_route_the_api_does_not_have_is_404() -> None:
    status, _ = call("DELETE", "/shipments/{id}", "/shipments/s-2001", id="s-2001")
    assert status == 404


def test_an_event_without_authorizer_context_has_an_empty_caller() -> None:
    event = copy.deepcopy(EVENT)
    event["requestContext"].pop("authorizer")
    response = lambda_handler(event, CONTEXT)  # type: ignore[arg-type]
    assert json.loads(response["body"])["caller"] == {}


def test_only_the_promised_fields_are_echoed_as_strings() -> None:
    # An HTTP API authorizer context may hold numbers and booleans; anything else it holds stays out.
    event = copy.deepcopy(EVENT)
    event["requestContext"]["authorizer"]["lambda"] = {**CALLER, "client_id": 7, "extra": "x", "sub": None}
    response = lambda_handler(event, CONTEXT)  # type: ignore[arg-type]
    expected = {**CALLER, "client_id": "7"}
    del expected["sub"]
    assert json.loads(response["body"])["caller"] == expected
