"""A local API Gateway (REST API, Lambda proxy integration, Lambda authorizers).

For each request: find the route (most specific resource first; an unknown resource or method is
``403 Missing Authentication Token``, as in API Gateway), run the route's authorizer if it has one,
build the proxy event, call the function, and turn its proxy result into the HTTP response.

The authorizer step follows API Gateway's documented behaviour ("Use API Gateway Lambda
authorizers"):

* the identity source (``Authorization`` header for TOKEN; for REQUEST every configured header,
  query string, context variable such as ``httpMethod`` / ``resourcePath``, and stage variable,
  :mod:`local.identity_source`) missing or empty, or failing the ``ValidationExpression``: ``401``
  without calling the authorizer;
* a cached result for the same identity -- all the sources' values together -- within
  ``ReauthorizeEvery`` is reused (:mod:`local.authorizer_cache`); otherwise the authorizer is called
  with the method ARN;
* the authorizer failing with the message ``Unauthorized``: ``401`` (UNAUTHORIZED); failing
  otherwise: ``500`` (AUTHORIZER_FAILURE); returning something that is not a principal + valid
  policy + flat context: ``500`` (AUTHORIZER_CONFIGURATION_ERROR);
* the policy evaluated against this request's method ARN (:mod:`local.iam_policy`): explicit Deny
  or no Allow is ``403`` (ACCESS_DENIED); Allow passes ``principalId`` and the context (values as
  strings) to the backend as ``requestContext.authorizer``.

Routing is :func:`local.routing.route_rest`; its docstring (and docs/local-stack.md) holds the model of
path spellings with its sources: one trailing slash routes to the resource while the method ARN and
``path`` keep the caller's spelling (public reports: powertools-lambda-python#1552/#1609, chalice#65);
empty segments match nothing; percent-encoding is decoded once per segment after splitting; letter
case is significant; dot segments are not resolved.  The REQUEST
authorizer event and the proxy event carry the API's stage variables (``null`` when it has none).

Usage plans (:mod:`local.usage_plans`): on an API whose ``ApiKeySourceType`` is ``AUTHORIZER``, a method
that requires an API key is metered, after the authorizer allowed it, against the authorizer's
``usageIdentifierKey`` (also when its answer came from the cache): no enabled key in a plan of this
stage is ``403`` (INVALID_API_KEY), an empty token bucket ``429 Too Many Requests`` (THROTTLED), a
spent quota ``429 Limit Exceeded`` (QUOTA_EXCEEDED); the backend sees the key in
``requestContext.identity`` (``apiKey``, ``apiKeyId``).

Gateway responses take their status and headers from the template's ``GatewayResponses`` (e.g.
``WWW-Authenticate`` on 401/403, RFC 6750 §3), falling back to ``DEFAULT_4XX`` / ``DEFAULT_5XX`` and
then to API Gateway's defaults.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl, unquote

from . import iam_policy, routing
from .authorizer_cache import AuthorizerCache, AuthorizerResult, cache_key
from .identity_source import REST_CONTEXT_VARIABLES, IdentitySourceError, IdentitySources
from .lambda_runtime import FunctionError, Invoke
from .proxy_event import (
    ApiIdentity,
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    method_arn,
    parse_proxy_response,
    request_authorizer_event,
    rest_proxy_event,
    token_authorizer_event,
)
from .usage_plans import Metered, Verdict

Clock = Callable[[], float]
UNAUTHORIZED_MESSAGE: Final = "Unauthorized"  # the error message an authorizer raises for 401
TOKEN_IDENTITY: Final = IdentitySources(headers=("Authorization",))  # a TOKEN authorizer's default


class ResponseType(StrEnum):
    """API Gateway's gateway response types used here (Developer Guide, "Gateway response types")."""

    UNAUTHORIZED = "UNAUTHORIZED"
    ACCESS_DENIED = "ACCESS_DENIED"
    AUTHORIZER_FAILURE = "AUTHORIZER_FAILURE"
    AUTHORIZER_CONFIGURATION_ERROR = "AUTHORIZER_CONFIGURATION_ERROR"
    MISSING_AUTHENTICATION_TOKEN = "MISSING_AUTHENTICATION_TOKEN"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    INVALID_API_KEY = "INVALID_API_KEY"
    THROTTLED = "THROTTLED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    DEFAULT_5XX = "DEFAULT_5XX"


# type -> (status, x-amzn-ErrorType, default message); None is JSON null, as API Gateway sends.
_DEFAULTS: Final[dict[ResponseType, tuple[int, str, str | None]]] = {
    ResponseType.UNAUTHORIZED: (401, "UnauthorizedException", "Unauthorized"),
    ResponseType.ACCESS_DENIED: (
        403,
        "AccessDeniedException",
        "User is not authorized to access this resource",
    ),
    ResponseType.AUTHORIZER_FAILURE: (500, "AuthorizerFailureException", None),
    ResponseType.AUTHORIZER_CONFIGURATION_ERROR: (500, "AuthorizerConfigurationException", None),
    ResponseType.MISSING_AUTHENTICATION_TOKEN: (
        403,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    ),
    ResponseType.REQUEST_TOO_LARGE: (413, "RequestTooLargeException", "Request Too Long"),
    # "Gateway response types" (developerguide/supported-gateway-response-types.html): INVALID_API_KEY 403,
    # THROTTLED 429, QUOTA_EXCEEDED 429; the messages are API Gateway's (local/usage_plans.py cites them)
    ResponseType.INVALID_API_KEY: (403, "ForbiddenException", "Forbidden"),
    ResponseType.THROTTLED: (429, "TooManyRequestsException", "Too Many Requests"),
    ResponseType.QUOTA_EXCEEDED: (429, "LimitExceededException", "Limit Exceeded"),
    ResponseType.DEFAULT_5XX: (502, "InternalServerErrorException", "Internal server error"),
}
EXPLICIT_DENY_MESSAGE: Final = "User is not authorized to access this resource with an explicit deny"
AUTHORIZER_KEY_SOURCE: Final = (
    "AUTHORIZER"  # ApiKeySourceType: the key is the authorizer's usageIdentifierKey
)
_METER_REFUSALS: Final = {
    Verdict.INVALID_API_KEY: ResponseType.INVALID_API_KEY,
    Verdict.THROTTLED: ResponseType.THROTTLED,
    Verdict.QUOTA_EXCEEDED: ResponseType.QUOTA_EXCEEDED,
}


class UsageMeter(Protocol):
    """Admits a request for an API key on an API stage, or says why not (:mod:`local.usage_plans`)."""

    def admit(self, key_value: str | None, api_id: str, stage: str) -> Metered: ...


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """One entry of an API's ``GatewayResponses``: status, static headers, an optional JSON template."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    json_template: str | None = None


@dataclass(frozen=True, slots=True)
class ApiConfig:
    logical_id: str
    identity: ApiIdentity
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    api_key_source: str = "HEADER"  # ApiKeySourceType


@dataclass(frozen=True, slots=True)
class AuthorizerConfig:
    name: str
    function_id: str
    payload_type: str  # TOKEN | REQUEST
    ttl: int  # ReauthorizeEvery, seconds; 0 = no cache
    identity: IdentitySources = TOKEN_IDENTITY
    validation_expression: str | None = None  # TOKEN only

    def __post_init__(self) -> None:
        if self.payload_type not in ("TOKEN", "REQUEST"):
            raise ValueError(f"authorizer {self.name}: FunctionPayloadType must be TOKEN or REQUEST")
        if self.payload_type == "TOKEN" and (
            len(self.identity.headers) != 1 or self.identity.rest_expressions()[1:]
        ):
            raise ValueError(f"authorizer {self.name}: a TOKEN authorizer reads exactly one header")
        try:
            self.identity.check_context(REST_CONTEXT_VARIABLES, "REST API")
        except IdentitySourceError as error:
            raise ValueError(f"authorizer {self.name}: {error}") from None


@dataclass(frozen=True, slots=True)
class Route:
    api: ApiConfig
    method: str  # an HTTP method or ANY
    resource: str  # "/orders/{id}"
    function_id: str
    authorizer: AuthorizerConfig | None = None
    api_key_required: bool = False

    @property
    def metered(self) -> bool:
        """Whether usage plans meter this method (its API key comes from the authorizer)."""
        return self.api_key_required and self.api.api_key_source == AUTHORIZER_KEY_SOURCE

    @property
    def segments(self) -> tuple[str, ...]:
        return routing.template_segments(self.resource)


@dataclass(frozen=True, slots=True)
class Exchange:
    """The response, and what the request log may say about the caller."""

    response: HttpResponse
    client_id: str | None = None
    function_id: str | None = None
    authorizer: str | None = None  # "called" or "cached" when an authorizer answered (for the request log)


class AuthorizerOutputError(ValueError):
    """The authorizer's result is not what API Gateway accepts."""


def authorizer_result(output: Any) -> AuthorizerResult:
    """Check an authorizer's output as API Gateway does: principal, a valid policy, a flat context."""
    if not isinstance(output, Mapping):
        raise AuthorizerOutputError("the authorizer must return an object")
    principal = output.get("principalId")
    if not isinstance(principal, str) or not principal:
        raise AuthorizerOutputError("principalId must be a non-empty string")
    try:
        document = iam_policy.check(output.get("policyDocument"))
    except iam_policy.PolicyError as error:
        raise AuthorizerOutputError(str(error)) from None
    context = output.get("context") or {}
    if not isinstance(context, Mapping):
        raise AuthorizerOutputError("context must be an object")
    usage_key = output.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise AuthorizerOutputError("usageIdentifierKey must be a string")
    return AuthorizerResult(
        principal, document, {str(k): _context_value(v) for k, v in context.items()}, usage_key
    )


def _context_value(value: Any) -> str:
    # Context values are strings, numbers or booleans; the backend sees them as strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise AuthorizerOutputError("context values must be strings, numbers or booleans")


class Gateway:
    def __init__(
        self,
        routes: Sequence[Route],
        invoke: Invoke,
        *,
        cache: AuthorizerCache[AuthorizerResult] | None = None,
        clock: Clock = time.time,
        new_request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        meter: UsageMeter | None = None,
    ) -> None:
        self._routes = _checked(routes)
        self._meter = meter  # None: API keys are not checked (no usage plans)
        self._by_key = {(route.method, route.resource): route for route in self._routes}
        self._invoke = invoke
        self._clock = clock
        self._cache: AuthorizerCache[AuthorizerResult] = (
            cache if cache is not None else AuthorizerCache(clock)
        )
        self._new_request_id = new_request_id
        self._calls_lock = threading.Lock()
        self.authorizer_calls = 0  # how often an authorizer ran (the cache saves the others)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    def handle(self, request: HttpRequest) -> Exchange:
        request_id = self._new_request_id()
        route, parameters = self._route(request)
        if route is None:
            return Exchange(
                self._gateway_response(None, ResponseType.MISSING_AUTHENTICATION_TOKEN, request_id)
            )
        now = self._clock()
        event = rest_proxy_event(
            request,
            route.api.identity,
            route.resource,
            parameters,
            request_id,
            now,
            route.api.stage_variables,
        )
        admitted: AuthorizerResult | None = None
        answered: str | None = None
        if route.authorizer is not None:
            admitted, refusal, answered = self._authorize(route, route.authorizer, request, event, request_id)
            if refusal is not None:
                return Exchange(refusal, _principal(admitted), None, answered)
            assert admitted is not None  # noqa: S101 - _authorize returns one or the other
            event["requestContext"]["authorizer"] = {
                **admitted.context,
                "principalId": admitted.principal_id,
                "integrationLatency": 0,
            }
        if route.metered and self._meter is not None:
            key = admitted.usage_identifier_key if admitted is not None else None
            metered = self._meter.admit(key, route.api.identity.api_id, route.api.identity.stage)
            if metered.verdict is not Verdict.ADMITTED:
                refusal = self._gateway_response(
                    route.api, _METER_REFUSALS[metered.verdict], request_id, request
                )
                return Exchange(refusal, _principal(admitted), None, answered)
            event["requestContext"]["identity"].update(apiKey=metered.api_key, apiKeyId=metered.api_key_id)
        try:
            response = parse_proxy_response(self._invoke(route.function_id, event))
        except (FunctionError, MalformedProxyResponse):
            return Exchange(
                self._gateway_response(route.api, ResponseType.DEFAULT_5XX, request_id),
                None,
                route.function_id,
                answered,
            )
        headers = list(response.headers)
        if response.header("Content-Type") is None:
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        final = HttpResponse(response.status, tuple(headers), response.body)
        return Exchange(final, _caller(request, final, admitted), route.function_id, answered)

    # -- routing ---------------------------------------------------------------------------

    def _route(self, request: HttpRequest) -> tuple[Route | None, dict[str, str]]:
        match = routing.route_rest(self._by_key, request.method, request.path)
        if match is None:
            return None, {}
        return self._by_key[(match.method, match.template)], match.path_parameters

    # -- authorization -----------------------------------------------------------------------

    def _authorize(
        self,
        route: Route,
        authorizer: AuthorizerConfig,
        request: HttpRequest,
        event: dict[str, Any],
        request_id: str,
    ) -> tuple[AuthorizerResult | None, HttpResponse | None, str | None]:
        """The admitted result, or the gateway response refusing the request (and who was refused),
        and whether the authorizer was ``called`` or its answer ``cached`` (None: neither)."""
        identity = _identity(authorizer, request, event["requestContext"], route.api.stage_variables)
        if identity is None:
            refusal = self._gateway_response(route.api, ResponseType.UNAUTHORIZED, request_id, request)
            return None, refusal, None
        arn = method_arn(route.api.identity, request.method, request.path)
        key = cache_key(authorizer.name, identity)
        result = self._cache.get(key) if authorizer.ttl > 0 else None
        answered = "cached"
        if result is None:
            answered = "called"
            with self._calls_lock:
                self.authorizer_calls += 1
            call = (
                token_authorizer_event(identity[0], arn)
                if authorizer.payload_type == "TOKEN"
                else request_authorizer_event(event, arn)
            )
            try:
                result = authorizer_result(self._invoke(authorizer.function_id, call))
            except FunctionError as error:
                kind = (
                    ResponseType.UNAUTHORIZED
                    if error.error_message == UNAUTHORIZED_MESSAGE
                    else ResponseType.AUTHORIZER_FAILURE
                )
                return None, self._gateway_response(route.api, kind, request_id, request), answered
            except AuthorizerOutputError:
                refusal = self._gateway_response(
                    route.api, ResponseType.AUTHORIZER_CONFIGURATION_ERROR, request_id, request
                )
                return None, refusal, answered
            self._cache.put(key, result, authorizer.ttl)
        decision = iam_policy.evaluate(result.policy_document, arn)
        if decision is iam_policy.Decision.ALLOW:
            return result, None, answered
        message = _DEFAULTS[ResponseType.ACCESS_DENIED][2]
        if decision is iam_policy.Decision.EXPLICIT_DENY:
            message = EXPLICIT_DENY_MESSAGE
        refusal = self._gateway_response(route.api, ResponseType.ACCESS_DENIED, request_id, request, message)
        return result, refusal, answered

    # -- gateway responses -------------------------------------------------------------------

    def _gateway_response(
        self,
        api: ApiConfig | None,
        kind: ResponseType,
        request_id: str,
        request: HttpRequest | None = None,
        message: str | None = None,
    ) -> HttpResponse:
        status, error_type, default_message = _DEFAULTS[kind]
        message = message if message is not None else default_message
        configured = _configured(api, kind, status)
        headers: list[tuple[str, str]] = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error_type),
        ]
        headers += [(name, _header_value(value, request)) for name, value in configured.headers.items()]
        if configured.json_template is not None:
            body = _render(configured.json_template, message)
        elif kind is ResponseType.ACCESS_DENIED:
            body = json.dumps({"Message": message})  # API Gateway's policy denials say "Message"
        else:
            body = json.dumps({"message": message})
        return HttpResponse(configured.status or status, tuple(headers), body.encode("utf-8"))


def gateway_response(kind: ResponseType, request_id: str) -> HttpResponse:
    """A gateway response outside any API (e.g. a request too large to route)."""
    status, error_type, message = _DEFAULTS[kind]
    headers = (
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error_type),
    )
    return HttpResponse(status, headers, json.dumps({"message": message}).encode("utf-8"))


def _checked(routes: Sequence[Route]) -> tuple[Route, ...]:
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for route in routes:
        shape = tuple("{}" if s.startswith("{") and not s.endswith("+}") else s for s in route.segments)
        key = (route.method, shape)
        if key in seen:
            raise ValueError(
                f"{route.method} {route.resource} of {route.api.logical_id} collides with a route of "
                f"{seen[key]}: both APIs share one local port"
            )
        seen[key] = route.api.logical_id
    return tuple(routes)


def _identity(
    authorizer: AuthorizerConfig,
    request: HttpRequest,
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> tuple[str, ...] | None:
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    present = authorizer.identity.values(request.header, query, context, stage_variables)
    if present is None:
        return None
    expression = authorizer.validation_expression if authorizer.payload_type == "TOKEN" else None
    if expression is not None and re.fullmatch(expression, present[0]) is None:
        return None
    return present


def _configured(api: ApiConfig | None, kind: ResponseType, status: int) -> GatewayResponse:
    responses = api.gateway_responses if api is not None else {}
    fallback = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    return responses.get(kind.value) or responses.get(fallback) or GatewayResponse()


def _header_value(value: str, request: HttpRequest | None) -> str:
    prefix = "method.request.header."
    if value.startswith(prefix):  # a mapping from the request, e.g. method.request.header.Origin
        return (request.header(value[len(prefix) :]) if request is not None else None) or ""
    return value


def _render(template: str, message: str | None) -> str:
    quoted = json.dumps(message)
    return template.replace("$context.error.messageString", quoted).replace(
        "$context.error.message", message or ""
    )


def _principal(result: AuthorizerResult | None) -> str | None:
    if result is None:
        return None
    return result.context.get("client_id") or result.principal_id


def _caller(request: HttpRequest, response: HttpResponse, admitted: AuthorizerResult | None) -> str | None:
    """The client id for the request log: from the authorizer, or from a successful token request."""
    if admitted is not None:
        return _principal(admitted)
    if not 200 <= response.status < 300:
        return None  # an unauthenticated id may be anything (even a pasted secret): never logged
    scheme, _, credentials = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        return _basic_user(credentials)
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    try:
        form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None
    return form.get("client_id") or None


def _basic_user(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(decoded.partition(":")[0].replace("+", " ")) or None  # RFC 6749 §2.3.1
