"""The sample protected API: each route answers with the caller the authorizer admitted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sample_api.app import lambda_handler

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "sample-api-get-order.json").read_text())
CONTEXT = SimpleNamespace(
    function_name="SampleApiFunction",
    memory_limit_in_mb=128,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:SampleApiFunction",
    aws_request_id="test-request",
)


def call(method: str, resource: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
    event = copy.deepcopy(EVENT)
    event.update(httpMethod=method, resource=resource, path=path, pathParameters=params or None)
    event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/dev{path}")
    event["body"] = body if body is None or isinstance(body, str) else json.dumps(body)
    response = lambda_handler(event, CONTEXT)  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("method", "resource", "path", "member"),
    [
        ("GET", "/orders", "/orders", "orders"),
        ("GET", "/orders/{id}", "/orders/o-1001", "order"),
        ("GET", "/inventory", "/inventory", "inventory"),
    ],
)
def test_each_route_answers_with_the_caller(method: str, resource: str, path: str, member: str) -> None:
    status, body = call(method, resource, path)
    assert status == 200
    assert member in body
    # the authorizer's context, field by field (never the token: it is not in the context)
    assert body["caller"] == {
        "client_id": "pc_example00000000",
        "scope": "orders:read",
        "sub": "pc_example00000000",
        "jti": "Q2FtcGxlLWp0aS0wMDAx",
        "iss": "https://authapi123.execute-api.us-east-1.amazonaws.com/dev",
    }
    assert "PLACEHOLDER" not in json.dumps(body)


def test_an_unknown_order_is_404() -> None:
    status, _ = call("GET", "/orders/{id}", "/orders/o-9999")
    assert status == 404


def test_a_valid_order_is_accepted_but_not_stored() -> None:
    status, body = call("POST", "/orders", "/orders", {"item": "pallet-euro", "quantity": 3})
    assert status == 201
    assert body["order"]["quantity"] == 3
    assert body["caller"]["client_id"] == "pc_example00000000"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1,2]",
        {"item": "", "quantity": 1},
        {"item": "x" * 65, "quantity": 1},
        {"item": "crate", "quantity": 0},
        {"item": "crate", "quantity": True},
        {"item": "crate", "quantity": 1.5},
        {"item": "crate", "quantity": 10_001},
        {"quantity": 1},
        {"item": 7, "quantity": 1},
    ],
)
def test_a_bad_order_is_400(body: Any) -> None:
    status, _ = call("POST", "/orders", "/orders", body)
    assert status == 400


def test_an_event_without_authorizer_context_has_an_empty_caller() -> None:
    event = copy.deepcopy(EVENT)
    event["requestContext"].pop("authorizer")
    response = lambda_handler(event, CONTEXT)  # type: ignore[arg-type]
    assert json.loads(response["body"])["caller"] == {}
