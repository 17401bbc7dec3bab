"""The authorizer handler as API Gateway calls it: its three event formats, and its answers normalised.

Events are built the way API Gateway builds them (``local.proxy_event`` for the REST API TOKEN and
REQUEST formats; payload 2.0 by hand, with lower-case header names as HTTP APIs send them), all
for one protected route, ``GET /orders/{id}``, called as ``GET /orders/42``.

:func:`answer` turns whatever the handler does into an :class:`Answer`: ``"401"`` for exactly
``Exception("Unauthorized")`` (what API Gateway maps to 401), ``"allow"``/``"deny"`` for a policy
(evaluated against the request's ARN as API Gateway would, ``local.iam_policy``) or an HTTP API
simple response, and ``"crash: <type>"`` for anything else (API Gateway would answer 500).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local.iam_policy import Decision, evaluate
from local.proxy_event import (
    ApiIdentity,
    HttpRequest,
    method_arn,
    request_authorizer_event,
    rest_proxy_event,
)

API = ApiIdentity(
    api_id="sampleapi1",
    stage="dev",
    region="us-east-1",
    account_id="123456789012",
    domain_name="sampleapi1.execute-api.us-east-1.amazonaws.com",
)
HTTP_API_ID = "httpapi123"
METHOD, PATH, RESOURCE, ROUTE_KEY = "GET", "/orders/42", "/orders/{id}", "GET /orders/{id}"
REQUEST_TIME = 1_800_000_000.0
ABSENT = object()  # "no such field in the event"


def rest_arn(method: str = METHOD, path: str = PATH) -> str:
    return method_arn(API, method, path)


def http_arn() -> str:
    return f"arn:aws:execute-api:{API.region}:{API.account_id}:{HTTP_API_ID}/$default/{METHOD}{PATH}"


def token_event(header: object, arn: object = None) -> dict[str, Any]:
    """REST API TOKEN event: the identity source's value and the method ARN."""
    event: dict[str, Any] = {"type": "TOKEN", "methodArn": rest_arn() if arn is None else arn}
    if header is not ABSENT:
        event["authorizationToken"] = header
    return event


def request_event(headers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """REST API REQUEST event (payload 1.0): the request without its body, single- and multi-value headers."""
    request = HttpRequest(method=METHOD, path=PATH, headers=(("Accept", "application/json"), *headers))
    proxy = rest_proxy_event(request, API, RESOURCE, {"id": "42"}, "adversarial-request", REQUEST_TIME)
    return request_authorizer_event(proxy, rest_arn())


def http_event(headers: Mapping[str, object]) -> dict[str, Any]:
    """HTTP API payload 2.0 authorizer event (header names lower-case, duplicates comma-joined)."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": http_arn(),
        "identitySource": [v for k, v in headers.items() if k.lower() == "authorization"],
        "routeKey": ROUTE_KEY,
        "rawPath": PATH,
        "rawQueryString": "",
        "headers": {"accept": "application/json", **headers},
        "requestContext": {
            "accountId": API.account_id,
            "apiId": HTTP_API_ID,
            "http": {"method": METHOD, "path": PATH, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10"},
            "requestId": "adversarial-http",
            "routeKey": ROUTE_KEY,
            "stage": "$default",
            "timeEpoch": int(REQUEST_TIME * 1000),
        },
        "pathParameters": {"id": "42"},
    }


# One Authorization header value -> the event of each format carrying it.
EVENT_FORMATS: dict[str, Callable[[str], dict[str, Any]]] = {
    "rest-token": token_event,
    "rest-request": lambda header: request_event([("Authorization", header)]),
    "http-v2": lambda header: http_event({"authorization": header}),
}


@dataclass(frozen=True)
class Answer:
    outcome: str  # "401" | "allow" | "deny" | "crash: <type>"
    context: Mapping[str, Any] | None = None


UNAUTHORIZED = Answer("401")


def answer(app: ModuleType, event: object, context: Any) -> Answer:
    """What API Gateway makes of the handler's result for ``GET /orders/42``."""
    try:
        result = app.lambda_handler(event, context)
    except Exception as error:  # noqa: BLE001 - classified below: only one exception is a 401
        if type(error) is Exception and error.args == ("Unauthorized",):
            return UNAUTHORIZED
        return Answer(f"crash: {type(error).__name__}")
    if not isinstance(result, dict):
        return Answer("crash: not an object")
    if "isAuthorized" in result:  # HTTP API simple response
        return Answer("allow" if result["isAuthorized"] is True else "deny", result.get("context"))
    arn = (event.get("routeArn") or event.get("methodArn")) if isinstance(event, dict) else None
    decision = evaluate(result.get("policyDocument"), str(arn))
    return Answer("allow" if decision is Decision.ALLOW else "deny", result.get("context"))
