"""The local API Gateway: routing, the Lambda authorizer step, the cache, gateway responses.

Functions are fakes here (an Invoke callable); tests/local_stack/test_end_to_end.py runs the real ones.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from local.authorizer_cache import AuthorizerCache
from local.gateway import ApiConfig, AuthorizerConfig, Gateway, GatewayResponse, Route
from local.identity_source import IdentitySources
from local.lambda_runtime import FunctionError
from local.proxy_event import ApiIdentity, HttpRequest
from tests.support.clock import FakeClock

BEARER = r"^[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9._~+/-]+=*$"
SAMPLE = ApiConfig(
    "SampleApi",
    ApiIdentity("sample1234", "dev", "us-east-1", "123456789012", "127.0.0.1:3000"),
    {
        "UNAUTHORIZED": GatewayResponse(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}),
        "ACCESS_DENIED": GatewayResponse(403, {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}),
    },
)
AUTH = ApiConfig("AuthApi", ApiIdentity("auth123456", "dev", "us-east-1", "123456789012", "127.0.0.1:3000"))
TOKEN_AUTHORIZER = AuthorizerConfig(
    "Partner", "AuthorizerFunction", "TOKEN", ttl=300, validation_expression=BEARER
)
ARN = "arn:aws:execute-api:us-east-1:123456789012:sample1234/dev"


def allow_policy(*resources: str, deny: tuple[str, ...] = ()) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": list(resources)}
    ]
    if deny:
        statements.append({"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": list(deny)})
    return {"Version": "2012-10-17", "Statement": statements}


def ok(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"resource": event["resource"]})}


class FakeFunctions:
    """An Invoke: records every call, answers with the handler registered for the function."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "OrdersFunction": ok,
            "TokenFunction": ok,
            "AuthorizerFunction": lambda event: {
                "principalId": "client-a",
                "policyDocument": allow_policy(f"{ARN}/GET/orders", f"{ARN}/GET/orders/*"),
                "context": {"client_id": "client-a", "scope": "orders:read", "n": 1, "flag": True},
            },
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


def sample_routes(authorizer: AuthorizerConfig = TOKEN_AUTHORIZER) -> list[Route]:
    return [
        Route(AUTH, "POST", "/oauth2/token", "TokenFunction"),
        Route(SAMPLE, "GET", "/orders", "OrdersFunction", authorizer),
        Route(SAMPLE, "POST", "/orders", "OrdersFunction", authorizer),
        Route(SAMPLE, "GET", "/orders/{id}", "OrdersFunction", authorizer),
    ]


@pytest.fixture
def gateway(functions: FakeFunctions, clock: FakeClock) -> Gateway:
    return Gateway(sample_routes(), functions, cache=AuthorizerCache(clock), clock=clock)


def bearer(token: str = "token.one.sig") -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token}"),)


def body_of(response: Any) -> Any:
    return json.loads(response.body)


# -- routing ------------------------------------------------------------------------------------------


def test_an_unknown_path_is_403_missing_authentication_token(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    response = gateway.handle(HttpRequest("GET", "/nowhere")).response
    assert response.status == 403
    assert body_of(response) == {"message": "Missing Authentication Token"}
    assert functions.calls == []


def test_a_known_path_with_another_method_is_403_missing_authentication_token(gateway: Gateway) -> None:
    response = gateway.handle(HttpRequest("DELETE", "/orders", headers=bearer())).response
    assert response.status == 403
    assert body_of(response) == {"message": "Missing Authentication Token"}


def test_an_open_route_calls_its_function_with_the_proxy_event(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    response = gateway.handle(
        HttpRequest("POST", "/oauth2/token", body=b"grant_type=client_credentials")
    ).response
    assert response.status == 200
    (event,) = functions.called("TokenFunction")
    assert event["resource"] == "/oauth2/token"
    assert event["body"] == "grant_type=client_credentials"
    assert event["requestContext"]["apiId"] == "auth123456"


def test_the_response_gets_a_request_id_and_a_default_content_type(gateway: Gateway) -> None:
    response = gateway.handle(HttpRequest("POST", "/oauth2/token")).response
    assert response.header("Content-Type") == "application/json"
    assert response.header("x-amzn-RequestId")


def test_a_literal_resource_wins_over_a_path_parameter(functions: FakeFunctions) -> None:
    routes = [
        Route(AUTH, "GET", "/orders/{id}", "OrdersFunction"),
        Route(AUTH, "GET", "/orders/summary", "TokenFunction"),
    ]
    Gateway(routes, functions).handle(HttpRequest("GET", "/orders/summary"))
    assert [fid for fid, _ in functions.calls] == ["TokenFunction"]


def test_path_parameters_are_decoded(functions: FakeFunctions) -> None:
    Gateway([Route(AUTH, "GET", "/orders/{id}", "OrdersFunction")], functions).handle(
        HttpRequest("GET", "/orders/a%20b")
    )
    assert functions.called("OrdersFunction")[0]["pathParameters"] == {"id": "a b"}


def test_a_greedy_path_parameter_takes_the_rest_of_the_path(functions: FakeFunctions) -> None:
    gateway = Gateway([Route(AUTH, "ANY", "/files/{proxy+}", "OrdersFunction")], functions)
    assert gateway.handle(HttpRequest("PUT", "/files/a/b/c")).response.status == 200
    assert functions.called("OrdersFunction")[0]["pathParameters"] == {"proxy": "a/b/c"}
    assert gateway.handle(HttpRequest("PUT", "/files")).response.status == 403


def test_routes_colliding_across_the_two_apis_are_refused(functions: FakeFunctions) -> None:
    with pytest.raises(ValueError, match="collides"):
        Gateway(
            [
                Route(AUTH, "GET", "/x/{a}", "OrdersFunction"),
                Route(SAMPLE, "GET", "/x/{b}", "OrdersFunction"),
            ],
            functions,
        )


# -- the authorizer step ------------------------------------------------------------------------------


def test_no_authorization_header_is_401_without_calling_the_authorizer(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    response = gateway.handle(HttpRequest("GET", "/orders")).response
    assert response.status == 401
    assert body_of(response) == {"message": "Unauthorized"}
    # RFC 6750 §3.1, from the template's UNAUTHORIZED gateway response
    assert response.header("WWW-Authenticate") == 'Bearer error="invalid_token"'
    assert functions.calls == []


@pytest.mark.parametrize(
    "value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer two words", "token-without-scheme", ""]
)
def test_a_header_failing_the_validation_expression_is_401_without_calling_the_authorizer(
    gateway: Gateway, functions: FakeFunctions, value: str
) -> None:
    response = gateway.handle(HttpRequest("GET", "/orders", headers=(("Authorization", value),))).response
    assert response.status == 401
    assert functions.calls == []


def test_the_authorizer_gets_the_header_value_and_the_method_arn(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    gateway.handle(HttpRequest("GET", "/orders/42", headers=bearer("abc.def.ghi")))
    (event,) = functions.called("AuthorizerFunction")
    assert event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer abc.def.ghi",
        "methodArn": f"{ARN}/GET/orders/42",
    }


def test_an_allow_passes_principal_and_context_as_strings_to_the_backend(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    response = gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    assert response.response.status == 200
    assert response.client_id == "client-a"
    authorizer = functions.called("OrdersFunction")[0]["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "client-a"
    assert authorizer["scope"] == "orders:read"
    assert authorizer["n"] == "1"
    assert authorizer["flag"] == "true"


def test_an_unauthorized_error_of_the_authorizer_is_401(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.handlers["AuthorizerFunction"] = _raise(
        FunctionError("AuthorizerFunction", "Exception", "Unauthorized")
    )
    response = gateway.handle(HttpRequest("GET", "/orders", headers=bearer())).response
    assert response.status == 401
    assert response.header("WWW-Authenticate") == 'Bearer error="invalid_token"'
    assert functions.called("OrdersFunction") == []


def test_any_other_authorizer_error_is_500(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.handlers["AuthorizerFunction"] = _raise(FunctionError("AuthorizerFunction", "KeyError", "'x'"))
    response = gateway.handle(HttpRequest("GET", "/orders", headers=bearer())).response
    assert response.status == 500
    assert body_of(response) == {"message": None}
    assert response.header("x-amzn-ErrorType") == "AuthorizerFailureException"


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"policyDocument": allow_policy("*")},
        {"principalId": "", "policyDocument": allow_policy("*")},
        {"principalId": "a"},
        {"principalId": "a", "policyDocument": {"Statement": [{"Effect": "Maybe"}]}},
        {"principalId": "a", "policyDocument": allow_policy("*"), "context": {"nested": {"x": 1}}},
        {"principalId": "a", "policyDocument": allow_policy("*"), "context": ["x"]},
    ],
)
def test_an_invalid_authorizer_result_is_500_configuration_error(
    gateway: Gateway, functions: FakeFunctions, result: Any
) -> None:
    functions.handlers["AuthorizerFunction"] = lambda event: result
    response = gateway.handle(HttpRequest("GET", "/orders", headers=bearer())).response
    assert response.status == 500
    assert response.header("x-amzn-ErrorType") == "AuthorizerConfigurationException"
    assert functions.called("OrdersFunction") == []


def test_an_explicit_deny_is_403_and_names_the_denied_client(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    functions.handlers["AuthorizerFunction"] = lambda event: {
        "principalId": "client-a",
        "policyDocument": allow_policy(f"{ARN}/*", deny=(f"{ARN}/POST/orders",)),
    }
    exchange = gateway.handle(HttpRequest("POST", "/orders", headers=bearer()))
    assert exchange.response.status == 403
    assert body_of(exchange.response) == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    # RFC 6750 §3.1, from the template's ACCESS_DENIED gateway response
    assert exchange.response.header("WWW-Authenticate") == 'Bearer error="insufficient_scope"'
    assert exchange.client_id == "client-a"
    assert functions.called("OrdersFunction") == []


def test_no_matching_allow_is_403(gateway: Gateway, functions: FakeFunctions) -> None:
    response = gateway.handle(HttpRequest("POST", "/orders", headers=bearer())).response
    assert response.status == 403
    assert body_of(response) == {"Message": "User is not authorized to access this resource"}
    assert functions.called("OrdersFunction") == []


# -- the cache -----------------------------------------------------------------------------------------


def test_a_result_is_reused_for_the_same_token_within_the_ttl(
    gateway: Gateway, functions: FakeFunctions, clock: FakeClock
) -> None:
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    clock.now += 299
    assert gateway.handle(HttpRequest("GET", "/orders/7", headers=bearer())).response.status == 200
    assert len(functions.called("AuthorizerFunction")) == 1
    assert gateway.authorizer_calls == 1


def test_the_authorizer_is_asked_again_once_the_ttl_has_passed(
    gateway: Gateway, functions: FakeFunctions, clock: FakeClock
) -> None:
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    clock.now += 300
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    assert len(functions.called("AuthorizerFunction")) == 2


def test_a_cached_policy_is_evaluated_against_each_requests_method_arn(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    assert gateway.handle(HttpRequest("GET", "/orders", headers=bearer())).response.status == 200
    assert gateway.handle(HttpRequest("POST", "/orders", headers=bearer())).response.status == 403
    assert len(functions.called("AuthorizerFunction")) == 1


def test_each_token_has_its_own_cache_entry(gateway: Gateway, functions: FakeFunctions) -> None:
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer("one.a.b")))
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer("two.a.b")))
    assert len(functions.called("AuthorizerFunction")) == 2


def test_an_unauthorized_answer_is_not_cached(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.handlers["AuthorizerFunction"] = _raise(
        FunctionError("AuthorizerFunction", "Exception", "Unauthorized")
    )
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    assert len(functions.called("AuthorizerFunction")) == 2


def test_a_ttl_of_zero_asks_the_authorizer_every_time(functions: FakeFunctions, clock: FakeClock) -> None:
    uncached = AuthorizerConfig("Partner", "AuthorizerFunction", "TOKEN", ttl=0)
    gateway = Gateway(sample_routes(uncached), functions, cache=AuthorizerCache(clock), clock=clock)
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    assert len(functions.called("AuthorizerFunction")) == 2


# -- REQUEST authorizers -------------------------------------------------------------------------------


def test_a_request_authorizer_needs_every_identity_source(functions: FakeFunctions) -> None:
    request_authorizer = AuthorizerConfig(
        "Req",
        "AuthorizerFunction",
        "REQUEST",
        ttl=60,
        identity=IdentitySources(headers=("X-Key",), query_strings=("tenant",)),
    )
    gateway = Gateway(sample_routes(request_authorizer), functions)
    assert gateway.handle(HttpRequest("GET", "/orders", headers=(("X-Key", "k"),))).response.status == 401
    assert functions.calls == []
    response = gateway.handle(HttpRequest("GET", "/orders", query="tenant=t1", headers=(("X-Key", "k"),)))
    assert response.response.status == 200
    event = functions.called("AuthorizerFunction")[0]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"{ARN}/GET/orders"
    assert event["headers"] == {"X-Key": "k"}


# -- backend failures and gateway responses ------------------------------------------------------------


def test_a_function_error_is_502(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.handlers["TokenFunction"] = _raise(FunctionError("TokenFunction", "RuntimeError", "boom"))
    response = gateway.handle(HttpRequest("POST", "/oauth2/token")).response
    assert response.status == 502
    assert body_of(response) == {"message": "Internal server error"}


def test_a_malformed_proxy_response_is_502(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.handlers["TokenFunction"] = lambda event: {"status": 200}
    assert gateway.handle(HttpRequest("POST", "/oauth2/token")).response.status == 502


def test_a_configured_template_and_the_default_4xx_fallback_are_used(functions: FakeFunctions) -> None:
    api = ApiConfig(
        "SampleApi",
        SAMPLE.identity,
        {
            "DEFAULT_4XX": GatewayResponse(
                None, {"X-Why": "'static'"}, '{"error": $context.error.messageString}'
            )
        },
    )
    gateway = Gateway([Route(api, "GET", "/orders", "OrdersFunction", TOKEN_AUTHORIZER)], functions)
    response = gateway.handle(HttpRequest("GET", "/orders")).response
    assert response.status == 401
    assert body_of(response) == {"error": "Unauthorized"}
    assert response.header("X-Why") == "'static'"


# -- the client id for the request log -----------------------------------------------------------------


def test_a_successful_token_request_names_its_basic_auth_client(gateway: Gateway) -> None:
    credentials = base64.b64encode(b"client-b:secret").decode()
    exchange = gateway.handle(
        HttpRequest("POST", "/oauth2/token", headers=(("Authorization", f"Basic {credentials}"),))
    )
    assert exchange.client_id == "client-b"


def test_a_successful_token_request_names_its_form_client(gateway: Gateway) -> None:
    headers = (("Content-Type", "application/x-www-form-urlencoded"),)
    body = b"grant_type=client_credentials&client_id=client-c&client_secret=s"
    assert (
        gateway.handle(HttpRequest("POST", "/oauth2/token", headers=headers, body=body)).client_id
        == "client-c"
    )


def test_a_failed_token_request_names_no_client(gateway: Gateway, functions: FakeFunctions) -> None:
    # What was sent as a client id may be anything (a pasted secret): only authenticated ids are logged.
    functions.handlers["TokenFunction"] = lambda event: {"statusCode": 401, "body": "{}"}
    credentials = base64.b64encode(b"pacs_pasted-secret:x").decode()
    exchange = gateway.handle(
        HttpRequest("POST", "/oauth2/token", headers=(("Authorization", f"Basic {credentials}"),))
    )
    assert exchange.client_id is None


def _raise(error: Exception) -> Callable[[dict[str, Any]], Any]:
    def handler(event: dict[str, Any]) -> Any:
        raise error

    return handler


PER_ROUTE = AuthorizerConfig(
    "PerRoute",
    "AuthorizerFunction",
    "REQUEST",
    ttl=300,
    identity=IdentitySources(headers=("Authorization",), context=("httpMethod", "resourcePath")),
)


def test_a_request_authorizer_keyed_on_method_and_resource_caches_one_answer_per_route(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gateway = Gateway(sample_routes(PER_ROUTE), functions, cache=AuthorizerCache(clock), clock=clock)
    gateway.handle(HttpRequest("GET", "/orders/1", headers=bearer()))
    gateway.handle(HttpRequest("GET", "/orders/2", headers=bearer()))  # same (token, GET, /orders/{id})
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))  # another resource
    gateway.handle(HttpRequest("POST", "/orders", headers=bearer()))  # another method
    assert gateway.authorizer_calls == 3
    assert gateway.handle(HttpRequest("GET", "/orders/3", headers=bearer())).authorizer == "cached"


def test_the_request_event_carries_the_resource_the_spelled_path_and_stage_variables(
    functions: FakeFunctions,
) -> None:
    api = ApiConfig(
        SAMPLE.logical_id, SAMPLE.identity, SAMPLE.gateway_responses, {"partnerauthApi": "orders"}
    )
    routes = [Route(api, "GET", "/orders/{id}", "OrdersFunction", PER_ROUTE)]
    Gateway(routes, functions).handle(HttpRequest("GET", "/orders/7/", headers=bearer()))
    (event,) = functions.called("AuthorizerFunction")
    assert event["type"] == "REQUEST"
    # a trailing slash routes to the resource; the ARN and path keep the caller's spelling
    assert event["methodArn"] == f"{ARN}/GET/orders/7/"
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/orders/{id}", "/orders/7/", "GET")
    assert event["requestContext"]["resourcePath"] == "/orders/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"partnerauthApi": "orders"}
    assert functions.called("OrdersFunction")[0]["stageVariables"] == {"partnerauthApi": "orders"}


def test_without_stage_variables_the_events_say_null(gateway: Gateway, functions: FakeFunctions) -> None:
    gateway.handle(HttpRequest("GET", "/orders", headers=bearer()))
    assert functions.called("OrdersFunction")[0]["stageVariables"] is None


def test_a_missing_stage_variable_source_is_401_without_a_call(functions: FakeFunctions) -> None:
    authorizer = AuthorizerConfig(
        "Stage",
        "AuthorizerFunction",
        "REQUEST",
        ttl=300,
        identity=IdentitySources(headers=("Authorization",), stage_variables=("partnerauthApi",)),
    )
    response = Gateway(sample_routes(authorizer), functions).handle(
        HttpRequest("GET", "/orders", headers=bearer())
    )
    assert response.response.status == 401
    assert functions.called("AuthorizerFunction") == []


def test_an_unknown_rest_context_variable_is_refused() -> None:
    with pytest.raises(ValueError, match="context variables"):
        AuthorizerConfig("X", "F", "REQUEST", ttl=0, identity=IdentitySources(context=("routeKey",)))


def test_a_trailing_slash_is_served_by_the_resource_with_the_cached_policy_evaluated_as_spelled(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    # the fake authorizer allows GET/orders and GET/orders/*: GET/orders/ matches the second pattern
    assert gateway.handle(HttpRequest("GET", "/orders/", headers=bearer())).response.status == 200
    assert functions.called("OrdersFunction")[0]["resource"] == "/orders"
    assert functions.called("AuthorizerFunction")[0]["methodArn"] == f"{ARN}/GET/orders/"
