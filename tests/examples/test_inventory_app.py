"""The inventory example (examples/inventory-api): its backend, its route map and its template agree.

The route map (routes.json) is what the operator registers with ``apis put``; every route of the
template's API must be in it (an unmapped route would be 403 for everybody) and nothing else.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from inventory_api.app import lambda_handler
from partnerauth.api_profiles import STAGE_VARIABLE, parse_profile
from tests.support.template import load_template

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory-api"
ROUTES = json.loads((EXAMPLE / "routes.json").read_text(encoding="utf-8"))
EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "sample-api-get-order.json").read_text(encoding="utf-8")
)
CONTEXT = SimpleNamespace(
    function_name="InventoryFunction",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:InventoryFunction",
    aws_request_id="test-request",
)
CALLER = {
    "client_id": "pc_example00000000",
    "scope": "orders:read",
    "sub": "pc_example00000000",
    "jti": "Q2FtcGxlLWp0aS0wMDAx",
    "iss": "https://authapi123.execute-api.us-east-1.amazonaws.com/dev",
}


def call(method: str, resource: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
    """A REST proxy event (payload 1.0): ``method path`` matched to ``resource``, with a caller."""
    event = copy.deepcopy(EVENT)
    event.update(httpMethod=method, resource=resource, path=path, pathParameters=params or None)
    event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/dev{path}")
    event["body"] = body if body is None or isinstance(body, str) else json.dumps(body)
    response = lambda_handler(event, CONTEXT)  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


# -- the backend --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "resource", "path", "params", "member"),
    [
        ("GET", "/warehouses", "/warehouses", {}, "warehouses"),
        ("GET", "/warehouses/{id}", "/warehouses/wh-ams", {"id": "wh-ams"}, "warehouse"),
        ("GET", "/warehouses/{id}/stock", "/warehouses/wh-ams/stock", {"id": "wh-ams"}, "stock"),
        ("GET", "/warehouses/{id}/audit", "/warehouses/wh-ams/audit", {"id": "wh-ams"}, "audit"),
    ],
)
def test_each_read_route_answers_with_the_caller(
    method: str, resource: str, path: str, params: dict[str, str], member: str
) -> None:
    status, body = call(method, resource, path, **params)
    assert status == 200
    assert member in body
    assert body["caller"] == CALLER
    assert "PLACEHOLDER" not in json.dumps(body)


def test_a_stock_update_is_answered_not_stored() -> None:
    resource, path = "/warehouses/{id}/stock/{sku}", "/warehouses/wh-ams/stock/pallet-euro"
    status, body = call("PUT", resource, path, {"quantity": 7}, id="wh-ams", sku="pallet-euro")
    assert status == 200
    assert (body["quantity"], body["previous"], body["stored"]) == (7, 310, False)
    _, stock = call("GET", "/warehouses/{id}/stock", "/warehouses/wh-ams/stock", id="wh-ams")
    assert {"sku": "pallet-euro", "quantity": 310} in stock["stock"]


@pytest.mark.parametrize(
    ("method", "resource", "path", "params"),
    [
        ("GET", "/warehouses/{id}", "/warehouses/wh-nowhere", {"id": "wh-nowhere"}),
        ("GET", "/warehouses/{id}/stock", "/warehouses/wh-nowhere/stock", {"id": "wh-nowhere"}),
        ("GET", "/warehouses/{id}/audit", "/warehouses/wh-nowhere/audit", {"id": "wh-nowhere"}),
        (
            "PUT",
            "/warehouses/{id}/stock/{sku}",
            "/warehouses/wh-lyon/stock/crate-60x40",
            {"id": "wh-lyon", "sku": "crate-60x40"},
        ),
    ],
)
def test_unknown_warehouses_and_skus_are_404(
    method: str, resource: str, path: str, params: dict[str, str]
) -> None:
    status, _ = call(method, resource, path, {"quantity": 1}, **params)
    assert status == 404


@pytest.mark.parametrize(
    "body",
    ["not json", "[1]", {}, {"quantity": -1}, {"quantity": 1.5}, {"quantity": True}, {"quantity": 10**7}],
)
def test_a_bad_stock_update_is_400(body: Any) -> None:
    resource, path = "/warehouses/{id}/stock/{sku}", "/warehouses/wh-ams/stock/pallet-euro"
    status, _ = call("PUT", resource, path, body, id="wh-ams", sku="pallet-euro")
    assert status == 400


# -- the route map and the template -------------------------------------------------------------------


def test_the_route_map_is_a_valid_profile_with_a_different_scope_for_the_audit() -> None:
    profile = parse_profile(
        "inventory", "inventory-api", (EXAMPLE / "routes.json").read_text(encoding="utf-8")
    )
    assert len(profile.routes) == 5
    # Sibling sub-resources of one {id} with different scopes: the shape issue 12 is about.
    assert ROUTES["GET /warehouses/{id}/audit"] == ["inventory:audit"]
    assert ROUTES["GET /warehouses/{id}/stock"] == ["inventory:read"]


def test_the_route_map_names_exactly_the_routes_the_template_serves() -> None:
    template = load_template(EXAMPLE / "template.yaml")
    function = template["Resources"]["InventoryFunction"]["Properties"]
    served = {
        f"{event['Properties']['Method']} {event['Properties']['Path']}"
        for event in function["Events"].values()
    }
    assert served == set(ROUTES)


def test_the_api_selects_its_profile_and_imports_the_authorizer() -> None:
    template = load_template(EXAMPLE / "template.yaml")
    api = template["Resources"]["InventoryApi"]["Properties"]
    assert api["Variables"] == {STAGE_VARIABLE: {"Ref": "ApiProfile"}}
    assert template["Parameters"]["ApiProfile"]["Default"] == "inventory"
    authorizer = api["Auth"]["Authorizers"][api["Auth"]["DefaultAuthorizer"]]
    imported = {"Fn::ImportValue": {"Fn::Sub": "${PartnerAuthStackName}-AuthorizerFunctionArn"}}
    assert authorizer["FunctionArn"] == imported
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    # One cached answer per token, method and resource (docs/authorizer.md)
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert authorizer["Identity"]["Context"] == ["httpMethod", "resourcePath"]
    permission = template["Resources"]["AuthorizerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == imported
    assert permission["Principal"] == "apigateway.amazonaws.com"
    # RFC 6750 §3.1: the challenge on 401 and 403
    responses = api["GatewayResponses"]
    assert "invalid_token" in responses["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"]
    assert (
        "insufficient_scope"
        in responses["ACCESS_DENIED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"]
    )
