"""The local HTTP API (payload 2.0): routing, the Lambda authorizer step, its cache, 2.0 events and answers.

Functions are fakes (an Invoke callable); tests/local_stack/test_end_to_end.py runs the real ones.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from local.authorizer_cache import AuthorizerCache
from local.http_api import HttpApiConfig, HttpApiGateway, HttpAuthorization, HttpAuthorizerConfig, HttpRoute
from local.identity_source import IdentitySources
from local.lambda_runtime import FunctionError
from local.proxy_event import ApiIdentity, HttpRequest
from tests.support.clock import FakeClock

ARN = "arn:aws:execute-api:us-east-1:123456789012:http123456/dev"
SIMPLE = HttpAuthorizerConfig(
    "L",
    "Authorizer",
    simple_responses=True,
    ttl=300,
    identity=IdentitySources(headers=("Authorization",), context=("routeKey",)),
)
IAM = HttpAuthorizerConfig(
    "L", "Authorizer", simple_responses=False, ttl=300, identity=IdentitySources(headers=("Authorization",))
)


def api(authorizer: HttpAuthorizerConfig | None = SIMPLE, stage: str = "dev") -> HttpApiConfig:
    return HttpApiConfig(
        "SampleHttpApi",
        ApiIdentity("http123456", stage, "us-east-1", "123456789012", "127.0.0.1:3002"),
        (
            HttpRoute("GET", "/shipments", "Shipments", authorizer),
            HttpRoute("GET", "/shipments/{id}", "Shipments", authorizer),
            HttpRoute("POST", "/shipments/{id}/cancel", "Shipments", authorizer),
            HttpRoute("GET", "/health", "Shipments"),
        ),
        {"partnerauthApi": "sample-http"},
    )


class FakeFunctions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "Shipments": lambda event: {"statusCode": 200, "body": json.dumps({"route": event["routeKey"]})},
            "Authorizer": lambda event: {"isAuthorized": True, "context": {"client_id": "client-a", "n": 1}},
        }

    def __call__(self, function_id: str, event: dict[str, Any]) -> Any:
        self.calls.append((function_id, event))
        return self.handlers[function_id](event)

    def called(self, function_id: str) -> list[dict[str, Any]]:
        return [event for fid, event in self.calls if fid == function_id]


@pytest.fixture
def functions() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


def gateway_of(
    functions: FakeFunctions, clock: FakeClock, authorizer: HttpAuthorizerConfig | None = SIMPLE
) -> HttpApiGateway:
    return HttpApiGateway(
        api(authorizer), functions, cache=AuthorizerCache(clock), clock=clock, new_request_id=lambda: "req-1"
    )


@pytest.fixture
def gateway(functions: FakeFunctions, clock: FakeClock) -> HttpApiGateway:
    return gateway_of(functions, clock)


def get(path: str, token: str | None = "token.one", method: str = "GET", **kwargs: Any) -> HttpRequest:
    headers = (("Authorization", f"Bearer {token}"),) if token else ()
    return HttpRequest(method, path, headers=headers + tuple(kwargs.pop("headers", ())), **kwargs)


def answer(gateway: HttpApiGateway, request: HttpRequest) -> tuple[int, Any]:
    response = gateway.handle(request).response
    return response.status, json.loads(response.body) if response.body else None


# -- routing and the stage -----------------------------------------------------------------------------


def test_a_route_is_served_under_the_stage_name(gateway: HttpApiGateway) -> None:
    assert answer(gateway, get("/dev/shipments")) == (200, {"route": "GET /shipments"})


@pytest.mark.parametrize("path", ["/shipments", "/prod/shipments", "/dev/orders", "/dev", "/devx/shipments"])
def test_no_stage_or_no_route_is_404_not_found(
    gateway: HttpApiGateway, functions: FakeFunctions, path: str
) -> None:
    assert answer(gateway, get(path)) == (404, {"message": "Not Found"})
    assert functions.calls == []


def test_another_method_of_a_known_path_is_404(gateway: HttpApiGateway) -> None:
    assert answer(gateway, get("/dev/shipments", method="DELETE"))[0] == 404


def test_the_default_stage_has_no_prefix(functions: FakeFunctions, clock: FakeClock) -> None:
    gateway = HttpApiGateway(api(stage="$default"), functions, cache=AuthorizerCache(clock), clock=clock)
    assert gateway.api.base_path == ""
    assert answer(gateway, get("/shipments"))[0] == 200


def test_an_open_route_does_not_call_the_authorizer(
    gateway: HttpApiGateway, functions: FakeFunctions
) -> None:
    assert answer(gateway, get("/dev/health", token=None))[0] == 200
    assert functions.called("Authorizer") == []
    assert "authorizer" not in functions.called("Shipments")[0]["requestContext"]


# -- the authorizer event ------------------------------------------------------------------------------


def test_the_authorizer_gets_the_2_0_request_event(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    request = HttpRequest(
        "POST",
        "/dev/shipments/a%20b/cancel/",
        query="x=1&x=2&y=",
        headers=(
            ("Authorization", "Bearer token.one"),
            ("X-Dup", "a"),
            ("x-dup", "b"),
            ("Cookie", "c1=1; c2=2"),
            ("User-Agent", "probe"),
        ),
        source_ip="127.0.0.9",
    )
    gateway.handle(request)
    (event,) = functions.called("Authorizer")
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    # the route ARN: the method and path as spelled, without the stage prefix
    assert event["routeArn"] == f"{ARN}/POST/shipments/a%20b/cancel/"
    assert event["identitySource"] == ["Bearer token.one", "POST /shipments/{id}/cancel"]
    assert event["routeKey"] == "POST /shipments/{id}/cancel"
    assert event["rawPath"] == "/dev/shipments/a%20b/cancel/"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["headers"] == {"authorization": "Bearer token.one", "x-dup": "a,b", "user-agent": "probe"}
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"id": "a b"}
    assert event["stageVariables"] == {"partnerauthApi": "sample-http"}
    context = event["requestContext"]
    assert {
        k: context[k] for k in ("accountId", "apiId", "domainName", "requestId", "routeKey", "stage")
    } == {
        "accountId": "123456789012",
        "apiId": "http123456",
        "domainName": "127.0.0.1:3002",
        "requestId": "req-1",
        "routeKey": "POST /shipments/{id}/cancel",
        "stage": "dev",
    }
    assert context["http"] == {
        "method": "POST",
        "path": "/dev/shipments/a%20b/cancel/",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.9",
        "userAgent": "probe",
    }
    assert context["timeEpoch"] == 1_800_000_000_000
    assert context["time"] == "15/Jan/2027:08:00:00 +0000"


# -- answers -------------------------------------------------------------------------------------------


def test_a_missing_identity_source_is_401_without_calling_the_authorizer(
    gateway: HttpApiGateway, functions: FakeFunctions
) -> None:
    assert answer(gateway, get("/dev/shipments", token=None)) == (401, {"message": "Unauthorized"})
    assert answer(gateway, HttpRequest("GET", "/dev/shipments", headers=(("Authorization", ""),)))[0] == 401
    assert functions.calls == []


def test_a_missing_stage_variable_or_query_source_is_401(functions: FakeFunctions, clock: FakeClock) -> None:
    authorizer = HttpAuthorizerConfig(
        "L",
        "Authorizer",
        simple_responses=True,
        ttl=0,
        identity=IdentitySources(query_strings=("tenant",), stage_variables=("nothere",)),
    )
    gateway = gateway_of(functions, clock, authorizer)
    assert answer(gateway, get("/dev/shipments", query="tenant=t"))[0] == 401
    assert functions.called("Authorizer") == []


def test_an_unauthorized_error_is_401(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    functions.handlers["Authorizer"] = _raise(FunctionError("Authorizer", "Exception", "Unauthorized"))
    assert answer(gateway, get("/dev/shipments")) == (401, {"message": "Unauthorized"})


def test_is_authorized_false_is_403_forbidden(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    functions.handlers["Authorizer"] = lambda event: {"isAuthorized": False}
    assert answer(gateway, get("/dev/shipments")) == (403, {"message": "Forbidden"})
    assert functions.called("Shipments") == []


@pytest.mark.parametrize(
    "output",
    [
        {"isAuthorized": "true"},
        {"context": {}},
        {"isAuthorized": True, "context": ["not", "an", "object"]},
        "yes",
        {"principalId": "p", "policyDocument": {"Statement": []}},  # the IAM form where simple is configured
    ],
)
def test_a_malformed_simple_answer_is_500(
    gateway: HttpApiGateway, functions: FakeFunctions, output: Any
) -> None:
    functions.handlers["Authorizer"] = lambda event: output
    assert answer(gateway, get("/dev/shipments")) == (500, {"message": "Internal Server Error"})


def test_an_authorizer_failure_is_500(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    functions.handlers["Authorizer"] = _raise(FunctionError("Authorizer", "KeyError", "boom"))
    assert answer(gateway, get("/dev/shipments")) == (500, {"message": "Internal Server Error"})


def test_the_backend_gets_the_context_as_authorizer_lambda(
    gateway: HttpApiGateway, functions: FakeFunctions
) -> None:
    exchange = gateway.handle(get("/dev/shipments/7", query="q=1"))
    assert exchange.response.status == 200
    assert exchange.client_id == "client-a"
    (event,) = functions.called("Shipments")
    assert event["requestContext"]["authorizer"] == {"lambda": {"client_id": "client-a", "n": 1}}
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /shipments/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["rawPath"] == "/dev/shipments/7"
    assert event["stageVariables"] == {"partnerauthApi": "sample-http"}
    assert event["isBase64Encoded"] is False


# -- IAM policy answers --------------------------------------------------------------------------------


def policy(effect: str, resource: str) -> dict[str, Any]:
    statement = {"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}
    return {"principalId": "client-b", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}


def test_an_iam_answer_is_evaluated_against_the_route_arn(functions: FakeFunctions, clock: FakeClock) -> None:
    gateway = gateway_of(functions, clock, IAM)
    functions.handlers["Authorizer"] = lambda event: policy("Allow", f"{ARN}/GET/shipments")
    exchange = gateway.handle(get("/dev/shipments"))
    assert exchange.response.status == 200
    assert exchange.client_id == "client-b"
    # cached for the token, and evaluated again for another route ARN: no Allow there
    assert answer(gateway, get("/dev/shipments/1")) == (403, {"message": "Forbidden"})
    assert len(functions.called("Authorizer")) == 1


def test_an_explicit_deny_in_an_iam_answer_is_403(functions: FakeFunctions, clock: FakeClock) -> None:
    gateway = gateway_of(functions, clock, IAM)
    functions.handlers["Authorizer"] = lambda event: policy("Deny", f"{ARN}/*")
    assert answer(gateway, get("/dev/shipments"))[0] == 403


def test_an_invalid_iam_answer_is_500(functions: FakeFunctions, clock: FakeClock) -> None:
    gateway = gateway_of(functions, clock, IAM)
    functions.handlers["Authorizer"] = lambda event: {"isAuthorized": True}
    assert answer(gateway, get("/dev/shipments"))[0] == 500


# -- the cache -----------------------------------------------------------------------------------------


def test_an_answer_is_cached_per_identity_source_values(
    gateway: HttpApiGateway, functions: FakeFunctions
) -> None:
    # identity sources: the token and $context.routeKey -> one answer per (token, route key)
    gateway.handle(get("/dev/shipments/1"))
    gateway.handle(get("/dev/shipments/2"))  # same route key: cached
    gateway.handle(get("/dev/shipments"))  # another route key
    gateway.handle(get("/dev/shipments", token="token.two"))  # another token
    assert len(functions.called("Authorizer")) == 3
    assert gateway.authorizer_calls == 3
    assert [gateway.handle(get("/dev/shipments/3")).authorizer] == ["cached"]


def test_a_cached_refusal_is_reused_too(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    functions.handlers["Authorizer"] = lambda event: {"isAuthorized": False}
    assert answer(gateway, get("/dev/shipments/1"))[0] == 403
    functions.handlers["Authorizer"] = lambda event: {"isAuthorized": True}
    assert answer(gateway, get("/dev/shipments/2"))[0] == 403
    assert len(functions.called("Authorizer")) == 1


def test_the_cache_ends_after_the_ttl(
    gateway: HttpApiGateway, functions: FakeFunctions, clock: FakeClock
) -> None:
    gateway.handle(get("/dev/shipments"))
    clock.advance(299)
    gateway.handle(get("/dev/shipments"))
    clock.advance(1)
    gateway.handle(get("/dev/shipments"))
    assert len(functions.called("Authorizer")) == 2


def test_an_unauthorized_answer_is_not_cached(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    functions.handlers["Authorizer"] = _raise(FunctionError("Authorizer", "Exception", "Unauthorized"))
    gateway.handle(get("/dev/shipments"))
    gateway.handle(get("/dev/shipments"))
    assert len(functions.called("Authorizer")) == 2


def test_a_ttl_of_zero_or_no_identity_sources_is_never_cached(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    for authorizer in (
        HttpAuthorizerConfig("L", "Authorizer", simple_responses=True, ttl=0, identity=SIMPLE.identity),
        HttpAuthorizerConfig("L", "Authorizer", simple_responses=True, ttl=300),
    ):
        functions.calls.clear()
        gateway = gateway_of(functions, clock, authorizer)
        gateway.handle(get("/dev/shipments"))
        gateway.handle(get("/dev/shipments"))
        assert len(functions.called("Authorizer")) == 2


# -- the backend's 2.0 answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "status", "body", "content_type"),
    [
        (
            {"statusCode": 201, "body": "made", "headers": {"Content-Type": "text/plain"}},
            201,
            b"made",
            "text/plain",
        ),
        ({"hello": "world"}, 200, b'{"hello": "world"}', "application/json"),
        ("text", 200, b'"text"', "application/json"),
        ([1, 2], 200, b"[1, 2]", "application/json"),
        (
            {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True},
            200,
            b"\x00\x01",
            None,
        ),
    ],
)
def test_a_2_0_result_becomes_the_http_response(
    gateway: HttpApiGateway,
    functions: FakeFunctions,
    result: Any,
    status: int,
    body: bytes,
    content_type: str | None,
) -> None:
    functions.handlers["Shipments"] = lambda event: result
    response = gateway.handle(get("/dev/health")).response
    assert (response.status, response.body, response.header("Content-Type")) == (status, body, content_type)
    assert response.header("apigw-requestid") == "req-1"


def test_cookies_of_a_result_become_set_cookie_headers(
    gateway: HttpApiGateway, functions: FakeFunctions
) -> None:
    functions.handlers["Shipments"] = lambda event: {"statusCode": 200, "cookies": ["a=1", "b=2; Secure"]}
    response = gateway.handle(get("/dev/health")).response
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2; Secure"]


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
        {"statusCode": 200, "headers": {"X": "a\r\nInjected: 1"}},
    ],
)
def test_a_malformed_2_0_result_is_500(
    gateway: HttpApiGateway, functions: FakeFunctions, result: Any
) -> None:
    functions.handlers["Shipments"] = lambda event: result
    assert answer(gateway, get("/dev/health")) == (500, {"message": "Internal Server Error"})


def test_a_function_error_is_500(gateway: HttpApiGateway, functions: FakeFunctions) -> None:
    functions.handlers["Shipments"] = _raise(FunctionError("Shipments", "RuntimeError", "boom"))
    assert answer(gateway, get("/dev/health")) == (500, {"message": "Internal Server Error"})


def test_routes_declared_twice_are_refused(functions: FakeFunctions) -> None:
    twice = HttpApiConfig(
        "A",
        ApiIdentity("a", "$default", "us-east-1", "1", "h"),
        (HttpRoute("GET", "/x", "F"), HttpRoute("GET", "/x", "G")),
    )
    with pytest.raises(ValueError, match="GET /x"):
        HttpApiGateway(twice, functions)


def test_a_simple_verdict_ignores_the_route_arn() -> None:
    assert HttpAuthorization({}, is_authorized=True).allows("arn:anything")
    assert not HttpAuthorization({}, is_authorized=False).allows("arn:anything")


def _raise(error: Exception) -> Callable[[dict[str, Any]], Any]:
    def fail(event: dict[str, Any]) -> Any:
        raise error

    return fail
