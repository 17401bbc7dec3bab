"""A local HTTP API (API Gateway v2, payload format 2.0, Lambda proxy integrations and authorizers).

For each request: strip the stage prefix (``/{stage}``, none for ``$default``), pick the route key
(:func:`local.routing.route_http`: most specific route, greedy ``{proxy+}``, ``ANY``, ``$default``),
run the route's Lambda authorizer if it has one, build the 2.0 proxy event, call the function, and
turn its 2.0 result into the HTTP response (:mod:`local.http_api_event`).

The authorizer step follows "Working with AWS Lambda authorizers for HTTP APIs":

* every identity source (``$request.header.X``, ``$request.querystring.X``, ``$context.X``,
  ``$stageVariables.X``) must be present and non-empty, else ``401`` without a call;
* with ``ReauthorizeEvery`` > 0 the answer is cached under all the identity sources' values
  together (an authorizer without identity sources is not cached); a cached IAM policy is evaluated
  again against each request's ``routeArn``; a cached simple answer is reused as it is -- which is
  why identity sources that include ``$context.routeKey`` give one answer per route;
* the authorizer failing with the message ``Unauthorized``: ``401``; failing otherwise, or answering
  what the configured format does not allow: ``500``;
* a simple response (``EnableSimpleResponses``) is ``{"isAuthorized": bool, "context": {...}}``:
  false is ``403``; an IAM policy response is ``principalId`` + ``policyDocument`` (+ ``context``),
  evaluated against the ``routeArn`` with IAM's rules (:mod:`local.iam_policy`): no Allow or an
  explicit Deny is ``403``;
* the backend gets the context as ``requestContext.authorizer.lambda``.

HTTP APIs answer errors with a small JSON body and no gateway responses to configure:
``401 {"message":"Unauthorized"}``, ``403 {"message":"Forbidden"}``, ``404 {"message":"Not Found"}``,
``500 {"message":"Internal Server Error"}`` (also for a function error or a malformed result).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from . import iam_policy, routing
from .authorizer_cache import AuthorizerCache, cache_key
from .gateway import UNAUTHORIZED_MESSAGE, Exchange
from .http_api_event import HttpApiRequest, authorizer_event, parse_response, proxy_event
from .identity_source import HTTP_CONTEXT_VARIABLES, IdentitySources
from .lambda_runtime import FunctionError, Invoke
from .proxy_event import ApiIdentity, HttpRequest, HttpResponse, MalformedProxyResponse

Clock = Callable[[], float]
DEFAULT_STAGE: Final = "$default"
_MESSAGES: Final = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
}


@dataclass(frozen=True, slots=True)
class HttpAuthorizerConfig:
    name: str
    function_id: str
    simple_responses: bool
    ttl: int  # ReauthorizeEvery, seconds; 0 = no cache
    identity: IdentitySources = field(default_factory=IdentitySources)

    def __post_init__(self) -> None:
        try:
            self.identity.check_context(HTTP_CONTEXT_VARIABLES, "HTTP API")
        except ValueError as error:
            raise ValueError(f"authorizer {self.name}: {error}") from None


@dataclass(frozen=True, slots=True)
class HttpRoute:
    method: str  # an HTTP method or ANY
    path: str  # "/shipments/{id}" or "$default"
    function_id: str
    authorizer: HttpAuthorizerConfig | None = None

    @property
    def route_key(self) -> str:
        return routing.DEFAULT_ROUTE if self.path == routing.DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class HttpApiConfig:
    logical_id: str
    identity: ApiIdentity  # its stage is the stage name ("$default" or e.g. "dev")
    routes: tuple[HttpRoute, ...]
    stage_variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def base_path(self) -> str:
        """What a URL of this API starts with after the host: ``/{stage}``, or nothing for ``$default``."""
        return "" if self.identity.stage == DEFAULT_STAGE else f"/{self.identity.stage}"


class AuthorizerAnswerError(ValueError):
    """The authorizer's answer is not what this authorizer's response format allows."""


@dataclass(frozen=True, slots=True)
class HttpAuthorization:
    """An authorizer's answer, as cached: a simple verdict, or an IAM policy to evaluate per route ARN."""

    context: Mapping[str, Any]
    is_authorized: bool | None = None  # simple responses
    principal_id: str | None = None  # IAM policy responses
    policy_document: Mapping[str, Any] | None = None

    def allows(self, route_arn: str) -> bool:
        if self.policy_document is None:
            return bool(self.is_authorized)
        return iam_policy.evaluate(self.policy_document, route_arn) is iam_policy.Decision.ALLOW


def authorization(output: Any, *, simple: bool) -> HttpAuthorization:
    """Check an HTTP API authorizer's answer for its configured format."""
    if not isinstance(output, Mapping):
        raise AuthorizerAnswerError("the authorizer must return an object")
    context = output.get("context") or {}
    if not isinstance(context, Mapping):
        raise AuthorizerAnswerError("context must be an object")
    if simple:
        verdict = output.get("isAuthorized")
        if not isinstance(verdict, bool):
            raise AuthorizerAnswerError("a simple response needs a boolean isAuthorized")
        return HttpAuthorization(dict(context), is_authorized=verdict)
    principal = output.get("principalId")
    if not isinstance(principal, str) or not principal:
        raise AuthorizerAnswerError("principalId must be a non-empty string")
    try:
        document = iam_policy.check(output.get("policyDocument"))
    except iam_policy.PolicyError as error:
        raise AuthorizerAnswerError(str(error)) from None
    return HttpAuthorization(dict(context), principal_id=principal, policy_document=document)


class HttpApiGateway:
    """One HTTP API: ``handle(request)`` answers as API Gateway would (an ``Exchange`` for the log)."""

    def __init__(
        self,
        api: HttpApiConfig,
        invoke: Invoke,
        *,
        cache: AuthorizerCache[HttpAuthorization] | None = None,
        clock: Clock = time.time,
        new_request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        keys = [route.route_key for route in api.routes]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"{api.logical_id}: routes declared twice: {', '.join(duplicates)}")
        self.api = api
        self._by_key = {route.route_key: route for route in api.routes}
        self._invoke = invoke
        self._clock = clock
        self._cache: AuthorizerCache[HttpAuthorization] = (
            cache if cache is not None else AuthorizerCache(clock)
        )
        self._new_request_id = new_request_id
        self._calls_lock = threading.Lock()
        self.authorizer_calls = 0  # how often an authorizer ran (the cache saves the others)

    @property
    def routes(self) -> Sequence[HttpRoute]:
        return self.api.routes

    def handle(self, request: HttpRequest) -> Exchange:
        request_id = self._new_request_id()
        routed = self._routed(request, request_id)
        if routed is None:
            return Exchange(_error(404, request_id))
        route = self._by_key[routed.match.route_key]
        context: Mapping[str, Any] | None = None
        answered: str | None = None
        client_id: str | None = None
        if route.authorizer is not None:
            decided, status, answered = self._authorize(route.authorizer, routed)
            client_id = _client_id(decided)
            if status is not None:
                return Exchange(_error(status, request_id), client_id, None, answered)
            context = decided.context if decided is not None else {}
        try:
            response = parse_response(self._invoke(route.function_id, proxy_event(routed, context)))
        except (FunctionError, MalformedProxyResponse):
            return Exchange(_error(500, request_id), client_id, route.function_id, answered)
        headers = (*response.headers, ("apigw-requestid", request_id))
        return Exchange(
            HttpResponse(response.status, headers, response.body), client_id, route.function_id, answered
        )

    def _routed(self, request: HttpRequest, request_id: str) -> HttpApiRequest | None:
        prefix = self.api.base_path
        if prefix and not (request.path == prefix or request.path.startswith(f"{prefix}/")):
            return None  # no stage of this API matches, and it has no $default stage
        route_path = request.path[len(prefix) :] or "/"
        match = routing.route_http(self._by_key, request.method, route_path)
        if match is None:
            return None
        return HttpApiRequest(
            request,
            self.api.identity,
            request.path,
            route_path,
            match,
            self.api.stage_variables,
            request_id,
            self._clock(),
        )

    def _authorize(
        self, authorizer: HttpAuthorizerConfig, routed: HttpApiRequest
    ) -> tuple[HttpAuthorization | None, int | None, str | None]:
        """The answer, the refusing status (None: let through), and ``called`` / ``cached``."""
        identity = authorizer.identity.values(
            routed.header, routed.query(), routed.context_variables(), routed.stage_variables
        )
        if identity is None:
            return None, 401, None
        cached = authorizer.ttl > 0 and bool(authorizer.identity)
        key = cache_key(authorizer.name, identity)
        decided = self._cache.get(key) if cached else None
        answered = "cached"
        if decided is None:
            answered = "called"
            with self._calls_lock:
                self.authorizer_calls += 1
            try:
                output = self._invoke(authorizer.function_id, authorizer_event(routed, identity))
                decided = authorization(output, simple=authorizer.simple_responses)
            except FunctionError as error:
                return None, (401 if error.error_message == UNAUTHORIZED_MESSAGE else 500), answered
            except AuthorizerAnswerError:
                return None, 500, answered
            if cached:
                self._cache.put(key, decided, authorizer.ttl)
        return decided, (None if decided.allows(routed.route_arn) else 403), answered


def _error(status: int, request_id: str) -> HttpResponse:
    headers = (("Content-Type", "application/json"), ("apigw-requestid", request_id))
    return HttpResponse(status, headers, json.dumps({"message": _MESSAGES[status]}).encode("utf-8"))


def _client_id(decided: HttpAuthorization | None) -> str | None:
    if decided is None:
        return None
    client_id = decided.context.get("client_id")
    return str(client_id) if isinstance(client_id, str) and client_id else decided.principal_id
