"""From an API Gateway authorizer event to a decision: who is calling, and which routes they may use.

Three event formats reach the same function (docs/authorizer.md):

* REST API ``TOKEN`` events: the ``Authorization`` header value in ``authorizationToken``;
* REST API ``REQUEST`` events (payload 1.0): the header among ``headers``/``multiValueHeaders``;
* HTTP API payload 2.0 events: ``headers`` (duplicates joined with commas by API Gateway).

Outcomes:

* no token, a malformed header or a token that fails any check: ``response is None`` and the
  handler raises ``Exception("Unauthorized")``, which API Gateway turns into a 401;
* a valid token: a policy for **every** route of the map (:meth:`RoutePolicy.plan`), because
  API Gateway caches the answer per token and reuses it for every route.  The current route is
  allowed (200) or denied (403) by that same policy;
* HTTP API simple responses (``isAuthorized``) can only speak for the current ``routeKey``: use
  them with the authorizer cache off or keyed by route (docs/authorizer.md).

:meth:`Authorizer.decide` never raises: anything unexpected becomes a 401, never an Allow.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerResponseV2,
    APIGatewayAuthorizerTokenEvent,
    APIGatewayRouteArn,
)

from partnerauth.compact import parse_compact
from partnerauth.errors import Reason, TokenRejected
from partnerauth.key_source import KeySource
from partnerauth.route_policy import HTTP_METHODS, PolicyPlan, Route, RoutePolicy
from partnerauth.verification import AccessTokenVerifier, VerifiedToken

from .settings import AuthorizerSettings

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
# One space exactly, nothing around: the same rule as the TOKEN authorizer's ValidationExpression in
# template.yaml, so every event type agrees on what a bearer header is.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9\-._~+/]+=*)")
MAX_HEADER_LENGTH = 16 * 1024
# arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}.  Every part that is
# copied into the policy is checked: a "*" smuggled into a stage would become a wildcard.
_METHOD_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:execute-api:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9]{1,64}"
    r"/(?:\$default|[A-Za-z0-9_-]{1,128})/[A-Z]{1,16}/[^*?\s]{0,4096}"
)
_SAFE_PATH = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_LOGGABLE = re.compile(r"[A-Za-z0-9._~+/=:@-]{1,128}")
MAX_METHOD_ARN_LENGTH = 4096
MAX_DOCUMENTS_CACHED = 256


class Outcome(StrEnum):
    ALLOW = "allow"  # the current route is open to the token
    DENY = "deny"  # valid token, current route not covered: 403
    REJECT = "reject"  # 401


class Problem(StrEnum):
    """Reasons of the authorizer's own, next to the verifier's :class:`Reason` values."""

    MISSING_TOKEN = "missing_token"
    INVALID_AUTHORIZATION = "invalid_authorization_header"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_ROUTE = "unknown_route"
    INTERNAL_ERROR = "internal_error"


class Decision(NamedTuple):
    """What to answer (``response``; ``None`` means 401) and what to log and count."""

    outcome: Outcome
    reason: str | None = None
    response: dict[str, Any] | None = None
    route: str | None = None
    kid: str | None = None
    jti: str | None = None
    client_id: str | None = None

    def log_fields(self) -> dict[str, str]:
        """Fixed reason and identifiers; never the token."""
        fields = {"outcome": self.outcome.value}
        for name in ("reason", "route", "kid", "jti", "client_id"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields


class Rejected(Exception):  # a control-flow signal inside this module
    def __init__(self, reason: str, token: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token = token


class Authorizer:
    """Verifies the bearer token of an authorizer event and answers in the event's own format."""

    def __init__(
        self,
        verifier: AccessTokenVerifier,
        routes: RoutePolicy,
        *,
        own_issuer: str,
        usage_keys: Mapping[str, str] | None = None,
        http_api_response: str = "simple",
    ) -> None:
        self._verifier = verifier
        self._routes = routes
        self._own_issuer = own_issuer
        self._usage_keys = usage_keys or {}
        self._http_api_simple = http_api_response == "simple"
        self._documents: dict[tuple[str, str, str, str, str, frozenset[Route]], dict[str, Any]] = {}

    def decide(self, event: object) -> Decision:
        try:
            return self._decide(event)
        except Rejected as rejection:
            return _rejection(rejection)
        except Exception:  # noqa: BLE001 - fail closed: an unforeseen fault is a 401, never an Allow or a 500
            return Decision(Outcome.REJECT, Problem.INTERNAL_ERROR.value)

    def _decide(self, event: object) -> Decision:
        if not isinstance(event, dict):
            raise Rejected(Problem.INVALID_EVENT)
        if event.get("version") == "2.0":
            return self._http_api(APIGatewayAuthorizerEventV2(event))
        kind = event.get("type")
        if kind == "TOKEN":
            return self._rest_token(APIGatewayAuthorizerTokenEvent(event))
        if kind == "REQUEST":
            return self._rest_request(APIGatewayAuthorizerRequestEvent(event))
        raise Rejected(Problem.INVALID_EVENT)

    # -- the three formats ------------------------------------------------------------------

    def _rest_token(self, event: APIGatewayAuthorizerTokenEvent) -> Decision:
        _check_arn(event.get("methodArn"))
        arn = event.parsed_arn
        token = self._verify(bearer_token(event.get("authorizationToken")))
        return self._policy_decision(arn, token, usage_key=True)

    def _rest_request(self, event: APIGatewayAuthorizerRequestEvent) -> Decision:
        _check_arn(event.get("methodArn"))
        arn = event.parsed_arn
        value = _single_header(event.get("headers"), event.get("multiValueHeaders"), "authorization")
        token = self._verify(bearer_token(value))
        return self._policy_decision(arn, token, usage_key=True)

    def _http_api(self, event: APIGatewayAuthorizerEventV2) -> Decision:
        _check_arn(event.get("routeArn"))
        arn = event.parsed_arn
        value = _single_header(event.get("headers"), None, "authorization")
        token = self._verify(bearer_token(value))
        if not self._http_api_simple:
            # usageIdentifierKey is a REST API feature; HTTP APIs have no usage plans.
            return self._policy_decision(arn, token, usage_key=False)
        route_key = event.get("routeKey")
        route = None
        if isinstance(route_key, str) and route_key.count(" ") == 1:
            route = self._routes.route_for_template(*route_key.split(" "))
        allowed = route is not None and route.scopes <= token.scopes
        response = APIGatewayAuthorizerResponseV2(
            authorize=allowed, context=_context(token) if allowed else None
        )
        return _decision(token, route, allowed=allowed, response=response.asdict())

    # -- shared steps --------------------------------------------------------------------

    def _verify(self, token: str) -> VerifiedToken:
        try:
            return self._verifier.verify(token)
        except TokenRejected as rejected:
            raise Rejected(rejected.reason, token) from None

    def _policy_decision(self, arn: APIGatewayRouteArn, token: VerifiedToken, *, usage_key: bool) -> Decision:
        plan = self._routes.plan(token.scopes)
        method = arn.http_method or ""
        route = self._routes.route_for_request(method, arn.resource)
        if route is None and method in HTTP_METHODS and _SAFE_PATH.fullmatch(arn.resource):
            # A route the map does not know: deny this exact request too, in case a wildcard of
            # an allowed route reaches it (the map should list every route of the API).
            document = _policy_document(arn, plan, deny_also=(method, arn.resource))
        else:
            document = self._cached_policy_document(arn, plan)
        # The envelope of Powertools' APIGatewayAuthorizerResponse.asdict(), around a cached document.
        response: dict[str, Any] = {
            "principalId": token.client_id,
            "policyDocument": document,
            "context": _context(token),
        }
        key = self._usage_key(token) if usage_key else None
        if key:
            response["usageIdentifierKey"] = key
        allowed = route is not None and route in plan.allowed
        return _decision(token, route, allowed=allowed, response=response)

    def _cached_policy_document(self, arn: APIGatewayRouteArn, plan: PolicyPlan) -> dict[str, Any]:
        """One policy document per API stage and set of allowed routes: building one with Powertools
        costs more than verifying the token, and every caller with the same scopes gets the same one.
        Documents are shared between answers and never modified."""
        key = (arn.partition, arn.region, arn.aws_account_id, arn.api_id, arn.stage, plan.allowed)
        document = self._documents.get(key)
        if document is None:
            document = _policy_document(arn, plan)
            if len(self._documents) >= MAX_DOCUMENTS_CACHED:  # bounded; in practice one API, one stage
                self._documents.clear()
            self._documents[key] = document
        return document

    def _usage_key(self, token: VerifiedToken) -> str | None:
        # Client ids are only unique per issuer: API keys are mapped for our own clients only.
        if token.issuer != self._own_issuer:
            return None
        return self._usage_keys.get(token.client_id)


def build_authorizer(
    settings: AuthorizerSettings, keys: KeySource, clock: Callable[[], float] = time.time
) -> Authorizer:
    """The authorizer for ``settings`` over ``keys`` (the handler passes its JWKS cache; tests pass
    their own key source and clock)."""
    verifier = AccessTokenVerifier(settings.issuers, keys, leeway=settings.leeway, clock=clock)
    return Authorizer(
        verifier,
        settings.routes,
        own_issuer=settings.own_issuer.issuer,
        usage_keys=settings.usage_keys,
        http_api_response=settings.http_api_response,
    )


def bearer_token(value: object) -> str:
    """The token of an ``Authorization: Bearer <token>`` value (RFC 6750 §2.1): one, and only one."""
    if value is None or value == "":
        raise Rejected(Problem.MISSING_TOKEN)
    if not isinstance(value, str) or len(value) > MAX_HEADER_LENGTH:
        raise Rejected(Problem.INVALID_AUTHORIZATION)
    match = _BEARER.fullmatch(value)
    if match is None:
        raise Rejected(Problem.INVALID_AUTHORIZATION)
    return match.group(1)


def _single_header(headers: object, multi_value_headers: object, name: str) -> object:
    """The one value of header ``name`` (case-insensitive, RFC 9110 §5.1); a repeated header is refused."""
    values: list[object] = []
    if isinstance(headers, dict):
        values.extend(value for key, value in headers.items() if isinstance(key, str) and key.lower() == name)
    elif headers is not None:
        raise Rejected(Problem.INVALID_EVENT)
    if isinstance(multi_value_headers, dict):
        for key, value in multi_value_headers.items():
            if (
                isinstance(key, str)
                and key.lower() == name
                and (not isinstance(value, list) or len(value) != 1)
            ):
                raise Rejected(Problem.INVALID_AUTHORIZATION)
    if len(values) > 1:
        raise Rejected(Problem.INVALID_AUTHORIZATION)
    return values[0] if values else None


def _check_arn(value: object) -> None:
    """Refuse a method/route ARN of any other shape before Powertools' ``parsed_arn`` reads it."""
    if not isinstance(value, str) or len(value) > MAX_METHOD_ARN_LENGTH or not _METHOD_ARN.fullmatch(value):
        raise Rejected(Problem.INVALID_EVENT)


def _policy_document(
    arn: APIGatewayRouteArn, plan: PolicyPlan, deny_also: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The IAM policy for ``plan`` on the API and stage of ``arn``, written by Powertools."""
    builder = APIGatewayAuthorizerResponse(
        principal_id="-",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        partition=arn.partition,
    )
    # Powertools strips the leading "/" of a resource; "/" + "" is the root ("GET/").
    for method, resource in plan.allow:
        builder.allow_route(method, "/" + resource)
    for method, resource in plan.deny:
        builder.deny_route(method, "/" + resource)
    if deny_also is not None:
        builder.deny_route(deny_also[0], "/" + deny_also[1])
    document: dict[str, Any] = builder.asdict()["policyDocument"]
    return document


def _context(token: VerifiedToken) -> dict[str, str]:
    """What backends see as ``requestContext.authorizer``: strings only, as API Gateway requires."""
    return {
        "client_id": token.client_id,
        "scope": token.scope,
        "sub": token.subject,
        "jti": token.jti,
        "iss": token.issuer,
    }


def _decision(
    token: VerifiedToken, route: Route | None, *, allowed: bool, response: dict[str, Any]
) -> Decision:
    if allowed:
        outcome, reason = Outcome.ALLOW, None
    else:
        outcome = Outcome.DENY
        reason = Reason.INSUFFICIENT_SCOPE.value if route is not None else Problem.UNKNOWN_ROUTE.value
    return Decision(
        outcome=outcome,
        reason=reason,
        response=response,
        route=route.key if route is not None else None,
        kid=token.kid,
        jti=token.jti,
        client_id=token.client_id,
    )


def _rejection(rejection: Rejected) -> Decision:
    """A 401, with the token's ``kid``/``jti``/``client_id`` when they can be read (unverified)."""
    kid = jti = client_id = None
    if rejection.token is not None:
        try:
            jws = parse_compact(rejection.token)
        except TokenRejected:
            pass
        else:
            kid = _loggable(jws.header.get("kid"))
            jti = _loggable(jws.payload.get("jti"))
            client_id = _loggable(jws.payload.get("client_id"))
    return Decision(Outcome.REJECT, str(rejection.reason), kid=kid, jti=jti, client_id=client_id)


def _loggable(value: object) -> str | None:
    return value if isinstance(value, str) and _LOGGABLE.fullmatch(value) else None
