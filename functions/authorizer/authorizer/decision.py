"""From an API Gateway authorizer event to a decision: who is calling, and which requests they may make.

Three event formats reach the same function (docs/authorizer.md):

* REST API ``REQUEST`` events (payload 1.0), the recommended form: API Gateway caches one answer per
  token, method and resource (identity sources ``Authorization``, ``context.httpMethod``,
  ``context.resourcePath``), so the answer speaks for the route API Gateway matched - the event's
  ``httpMethod`` and ``resource`` - and nothing else (:meth:`RoutePolicy.route_plan`);
* HTTP API payload 2.0 events: the route is the event's ``routeKey``; a simple response
  (``isAuthorized``) or the same per-route policy (identity sources ``Authorization`` and
  ``$context.routeKey``);
* REST API ``TOKEN`` events: cached per token and applied to every route, so the answer is a policy
  for the whole API (:meth:`RoutePolicy.plan`) when the map allows an exact one that fits in
  :data:`MAX_ANSWER_BYTES`; otherwise a policy for exactly this one request.

The API's profile (audience and route map) is named by its stage variable ``partnerauthApi``
(:mod:`partnerauth.api_profiles`); TOKEN events carry no stage variables and use ``default``.

Outcomes: no token, a malformed header, a token failing any check, or an API without a usable profile
is ``response is None`` and the handler raises ``Exception("Unauthorized")`` (API Gateway: 401).  A
valid token gets an answer that allows the request (200) or denies it (403).  :meth:`Authorizer.decide`
never raises: anything unexpected becomes a 401, never an Allow.

Events are plain dicts read here directly (their shapes are API Gateway's documented ones), and
policies are written here directly: Powertools' event classes and policy builder cost 30 ms of cold
start (the ``data_classes`` package imports every event class) and its builder refuses the ``%`` of
the spelling guards.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, NamedTuple

from partnerauth.api_profiles import (
    DEFAULT_PROFILE,
    STAGE_VARIABLE,
    ApiProfile,
    ApiProfileCache,
    ApiProfiles,
    ProfileSource,
    ProfileUnavailable,
)
from partnerauth.compact import parse_compact
from partnerauth.errors import KeysUnavailable, Reason, TokenRejected
from partnerauth.key_source import KeySource
from partnerauth.revocations import RevocationList
from partnerauth.route_policy import PolicyPlan, Route, RoutePolicy
from partnerauth.usage_plans import usage_key_value
from partnerauth.verification import AccessTokenVerifier, VerifiedToken

from .settings import AuthorizerSettings

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
# One space exactly, nothing around, so every event type agrees on what a bearer header is.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9\-._~+/]+=*)")
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# "Bearer " in each of its 64 ASCII spellings (the scheme is case-insensitive; no other character).
_SCHEMES = frozenset(
    "".join(letter.upper() if mask >> index & 1 else letter for index, letter in enumerate("bearer")) + " "
    for mask in range(64)
)
MAX_HEADER_LENGTH: Final = 16 * 1024
# arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}.  Every part that is
# copied into the policy is checked: a "*" or "?" smuggled into any part would become a wildcard.
_METHOD_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:execute-api:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9]{1,64}"
    r"/(?:\$default|[A-Za-z0-9_-]{1,128})/[A-Z]{1,16}/[^*?\s]{0,4096}"
)
_LOGGABLE = re.compile(r"[A-Za-z0-9._~+/=:@-]{1,128}")
MAX_METHOD_ARN_LENGTH: Final = 4096
# The only documented quota on a Lambda authorizer's answer is 8 KB; the margin covers the Lambda
# runtime's own serialisation (spaces after separators).
MAX_ANSWER_BYTES: Final = 8000
MAX_DOCUMENTS_CACHED: Final = 4096
# Method ARNs already checked, and the route of each TOKEN request: a REST API sends a bounded set of
# methods and resources, but the TOKEN form's ARN carries the caller's path (ids), hence the bound.
MAX_ARNS_CACHED: Final = 1024
MAX_CLIENTS_CACHED: Final = 4096  # usage keys and scope texts: values derived from a token, per client
INVOKE: Final = "execute-api:Invoke"


class Outcome(StrEnum):
    ALLOW = "allow"  # the current request is open to the token
    DENY = "deny"  # valid token, request not covered: 403
    REJECT = "reject"  # 401


class Problem(StrEnum):
    """Reasons of the authorizer's own, next to the verifier's :class:`Reason` values."""

    MISSING_TOKEN = "missing_token"
    INVALID_AUTHORIZATION = "invalid_authorization_header"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_ROUTE = "unknown_route"
    UNKNOWN_API = "unknown_api"
    API_UNAVAILABLE = "api_profile_unavailable"
    ANSWER_TOO_LARGE = "answer_too_large"
    REVOKED = "revoked"  # our own token, revoked (per client or jti: partnerauth.revocations)
    REVOCATIONS_UNAVAILABLE = "revocations_unavailable"  # no usable revocation list: fail closed
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
    api: str | None = None
    fault: str | None = None  # the claim or header at fault ("claim.aud"): a fixed set, never a value

    def log_fields(self) -> dict[str, str]:
        """Fixed reason and identifiers; never the token."""
        fields = {"outcome": self.outcome.value}
        for name in ("reason", "fault", "route", "kid", "jti", "client_id", "api"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields


class Rejected(Exception):  # a control-flow signal inside this module
    def __init__(
        self, reason: str, token: str | None = None, api: str | None = None, fault: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token = token
        self.api = api
        self.fault = fault


class MethodArn(NamedTuple):
    """A checked method or route ARN: ``prefix`` is everything up to and including ``{stage}/``."""

    prefix: str
    method: str
    path: str


class _Document(NamedTuple):
    plan: PolicyPlan  # kept alive: the cache key holds its id
    document: dict[str, Any]
    size: int


class Authorizer:
    """Verifies the bearer token of an authorizer event and answers in the event's own format."""

    def __init__(
        self,
        settings: AuthorizerSettings,
        keys: KeySource,
        profiles: ApiProfiles,
        *,
        clock: Callable[[], float] = time.time,
        revocations: RevocationList | None = None,
    ) -> None:
        self._settings = settings
        self._revocations = revocations
        self._keys = keys
        self._clock = clock
        self._profiles = profiles
        self._own_issuer = settings.own_issuer
        self._usage_key_namespace = settings.usage_key_namespace
        self._http_api_simple = settings.http_api_response == "simple"
        self._verifiers: dict[tuple[str, str], AccessTokenVerifier] = {}
        self._documents: dict[tuple[str, int], _Document] = {}
        # Pure functions of their keys, remembered (each bounded, cleared when full):
        self._arns: dict[str, MethodArn] = {}  # method_arn(value) of values that passed it
        # TOKEN: (ARN, map, scope set) -> the request's route and whole-API answer
        self._token_requests: dict[
            tuple[MethodArn, RoutePolicy, frozenset[str]], tuple[Route | None, tuple[_Document, bool] | None]
        ] = {}
        self._scope_texts: dict[frozenset[str], str] = {}  # the context's sorted scope string
        self._usage_keys: dict[str, str] = {}  # usage_key_value(namespace, client_id) of our clients

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
            return self._http_api(event)
        kind = event.get("type")
        if kind == "REQUEST":
            return self._rest_request(event)
        if kind == "TOKEN":
            return self._rest_token(event)
        raise Rejected(Problem.INVALID_EVENT)

    # -- the three formats ------------------------------------------------------------------

    def _rest_request(self, event: dict[str, Any]) -> Decision:
        arn = self._method_arn(event.get("methodArn"))
        method, resource = event.get("httpMethod"), event.get("resource")
        if method != arn.method or not isinstance(resource, str):
            raise Rejected(Problem.INVALID_EVENT)
        profile = self._profile(event.get("stageVariables"))
        value = _single_header(event.get("headers"), event.get("multiValueHeaders"), "authorization")
        token = self._verify(bearer_credential(value), profile)
        route = profile.routes.route_for_template(method, resource)
        return self._route_answer(arn, profile, route, token, usage_key=True)

    def _http_api(self, event: dict[str, Any]) -> Decision:
        arn = self._method_arn(event.get("routeArn"))
        profile = self._profile(event.get("stageVariables"))
        value = _single_header(event.get("headers"), None, "authorization")
        token = self._verify(bearer_credential(value), profile)
        route = None
        route_key = event.get("routeKey")
        if isinstance(route_key, str) and route_key.count(" ") == 1:
            route_method, route_path = route_key.split(" ")
            if route_method in (arn.method, "ANY"):
                route = profile.routes.route_for_template(route_method, route_path)
        if not self._http_api_simple:
            # usageIdentifierKey is a REST API feature; HTTP APIs have no usage plans.
            return self._route_answer(arn, profile, route, token, usage_key=False)
        allowed = route is not None and route.scopes <= token.scopes
        response: dict[str, Any] = (
            {"isAuthorized": True, "context": self._context(token)} if allowed else {"isAuthorized": False}
        )
        return _decision(token, route, profile, allowed=allowed, response=response)

    def _rest_token(self, event: dict[str, Any]) -> Decision:
        arn = self._method_arn(event.get("methodArn"))
        profile = self._profile(None)
        token = self._verify(bearer_credential(event.get("authorizationToken")), profile)
        route, whole_api = self._token_request(arn, profile.routes, token.scopes)
        if whole_api is not None:
            entry, allowed = whole_api
            answer = self._answer(entry, token, usage_key=True)
            if answer is not None:
                return _decision(token, route, profile, allowed=allowed, response=answer)
        # No exact whole-API answer for this map or this token: answer for exactly this request. A cached
        # copy then denies every other request of the token until it expires (safe, never an over-allow).
        allowed = route is not None and route.scopes <= token.scopes
        statement = ((arn.method, arn.path),)
        document = _policy_document(arn.prefix, statement if allowed else (), () if allowed else statement)
        answer = self._answer(_Document(_EMPTY_PLAN, document, _one_request_size(arn)), token, usage_key=True)
        if answer is None:
            raise Rejected(Problem.ANSWER_TOO_LARGE, api=profile.name)
        return _decision(token, route, profile, allowed=allowed, response=answer)

    # -- shared steps --------------------------------------------------------------------

    def _method_arn(self, value: object) -> MethodArn:
        """:func:`method_arn`, remembered per ARN that passed it (one that fails is never remembered)."""
        if not isinstance(value, str):
            return method_arn(value)  # refuses it
        arn = self._arns.get(value)
        if arn is None:
            arn = method_arn(value)
            if len(self._arns) >= MAX_ARNS_CACHED:
                self._arns.clear()
            self._arns[value] = arn
        return arn

    def _token_request(
        self, arn: MethodArn, routes: RoutePolicy, scopes: frozenset[str]
    ) -> tuple[Route | None, tuple[_Document, bool] | None]:
        """A TOKEN request's route and whole-API answer (its document, and whether it allows the request);
        ``None`` for a map without exact whole-API answers.  Remembered per checked ARN (stage, method and
        path), route map (the object: a changed profile is a new map) and scope set - all they depend on."""
        key = (arn, routes, scopes)
        try:
            return self._token_requests[key]
        except KeyError:
            pass
        route = routes.route_for_request(arn.method, arn.path)
        plan = routes.plan(scopes)
        whole_api: tuple[_Document, bool] | None = None
        if plan is not None:
            if route is None:
                # Not a route of the map (or not canonically spelled): deny this exact request too, in
                # case a wildcard of an allowed route reaches it.  Not shared: it names one request.
                document = _policy_document(arn.prefix, plan.allow, (*plan.deny, (arn.method, arn.path)))
                whole_api = (_Document(plan, document, _size(document)), False)
            else:
                whole_api = (self._document(arn.prefix, plan), route in plan.allowed)
        if len(self._token_requests) >= MAX_ARNS_CACHED:
            self._token_requests.clear()
        self._token_requests[key] = (route, whole_api)
        return route, whole_api

    def _profile(self, stage_variables: object) -> ApiProfile:
        name = DEFAULT_PROFILE
        if stage_variables is not None:
            if not isinstance(stage_variables, dict):
                raise Rejected(Problem.INVALID_EVENT)
            name = stage_variables.get(STAGE_VARIABLE, DEFAULT_PROFILE)
            if not isinstance(name, str):
                raise Rejected(Problem.INVALID_EVENT)
        try:
            profile = self._profiles.get(name)
        except ProfileUnavailable:
            raise Rejected(Problem.API_UNAVAILABLE, api=_loggable(name)) from None
        if profile is None:
            raise Rejected(Problem.UNKNOWN_API, api=_loggable(name))
        return profile

    def _verify(self, token: str, profile: ApiProfile) -> VerifiedToken:
        """``token`` comes from :func:`bearer_credential`: its RFC 6750 §2.1 syntax is checked here, when
        the verifier refuses it (every token the verifier accepts is three base64url segments joined by
        ``.``, all b64token characters), so an accepted token is not scanned twice."""
        try:
            verified = self._verifier(profile).verify(token)
        except TokenRejected as rejected:
            if not _B64TOKEN.fullmatch(token):
                raise Rejected(Problem.INVALID_AUTHORIZATION) from None
            raise Rejected(rejected.reason, token, profile.name, rejected.fault) from None
        if self._revocations is not None and verified.issuer == self._own_issuer.issuer:
            self._check_revocation(verified, token, profile)
        return verified

    def _check_revocation(self, verified: VerifiedToken, token: str, profile: ApiProfile) -> None:
        """Our own tokens only (external issuers revoke their own): a dict lookup on the cached list."""
        revocations = self._revocations
        if revocations is None:
            return
        try:
            revoked = revocations.revokes(verified.client_id, verified.jti, verified.issued_at)
        except KeysUnavailable:
            raise Rejected(Problem.REVOCATIONS_UNAVAILABLE, token, profile.name) from None
        if revoked:
            raise Rejected(Problem.REVOKED, token, profile.name)

    def _verifier(self, profile: ApiProfile) -> AccessTokenVerifier:
        """The default profile trusts every configured issuer; another profile trusts our own issuer
        for its own audience only (RFC 9068 §4 item 4: the audience identifies the API)."""
        key = (profile.name, profile.audience)
        verifier = self._verifiers.get(key)
        if verifier is None:
            settings = self._settings
            if profile.name == DEFAULT_PROFILE:
                issuers = settings.issuers
            else:
                issuers = (dataclasses.replace(self._own_issuer, audiences=frozenset({profile.audience})),)
            verifier = AccessTokenVerifier(issuers, self._keys, leeway=settings.leeway, clock=self._clock)
            if len(self._verifiers) >= 1024:
                self._verifiers.clear()
            self._verifiers[key] = verifier
        return verifier

    def _route_answer(
        self,
        arn: MethodArn,
        profile: ApiProfile,
        route: Route | None,
        token: VerifiedToken,
        *,
        usage_key: bool,
    ) -> Decision:
        """An answer for the one route API Gateway matched (cached per route by the identity sources)."""
        if route is None:
            document = _policy_document(arn.prefix, (), ((arn.method, arn.path),))
            entry = _Document(_EMPTY_PLAN, document, _size(document))
            allowed = False
        else:
            allowed = route.scopes <= token.scopes
            entry = self._document(arn.prefix, profile.routes.route_plan(route, allowed=allowed))
        answer = self._answer(entry, token, usage_key=usage_key)
        if answer is None:
            raise Rejected(Problem.ANSWER_TOO_LARGE, api=profile.name)
        return _decision(token, route, profile, allowed=allowed, response=answer)

    def _document(self, prefix: str, plan: PolicyPlan) -> _Document:
        """One policy document per API stage and plan: every caller with the same plan shares it.
        Documents are never modified once built."""
        key = (prefix, id(plan))
        entry = self._documents.get(key)
        if entry is None or entry.plan is not plan:
            document = _policy_document(prefix, plan.allow, plan.deny)
            entry = _Document(plan, document, _size(document))
            if len(self._documents) >= MAX_DOCUMENTS_CACHED:
                self._documents.clear()
            self._documents[key] = entry
        return entry

    def _answer(self, entry: _Document, token: VerifiedToken, *, usage_key: bool) -> dict[str, Any] | None:
        """The REST/policy answer around ``entry``'s document, or ``None`` if it would exceed 8 KB."""
        context = self._context(token)
        answer: dict[str, Any] = {
            "principalId": token.client_id,
            "policyDocument": entry.document,
            "context": context,
        }
        key = self._usage_key(token) if usage_key else None
        if key:
            answer["usageIdentifierKey"] = key
        # Context values come from the token (at most 8 KB); JSON escaping at most triples them.
        estimate = entry.size + 3 * sum(map(len, context.values())) + 512
        if estimate > MAX_ANSWER_BYTES and len(json.dumps(answer)) > MAX_ANSWER_BYTES:
            return None
        return answer

    def _usage_key(self, token: VerifiedToken) -> str | None:
        """The API key a usage plan meters this client with, derived from the client id the verified token
        carries (no lookup: docs/DESIGN.md, "Per-partner quotas").  Client ids are only unique per issuer:
        only our own clients have keys."""
        namespace = self._usage_key_namespace
        if namespace is None or token.issuer != self._own_issuer.issuer:
            return None
        key = self._usage_keys.get(token.client_id)
        if key is None:
            key = usage_key_value(namespace, token.client_id)
            if len(self._usage_keys) >= MAX_CLIENTS_CACHED:
                self._usage_keys.clear()
            self._usage_keys[token.client_id] = key
        return key

    def _context(self, token: VerifiedToken) -> dict[str, str]:
        """What backends see as ``requestContext.authorizer``: strings only, as API Gateway requires;
        ``scope`` is the granted scopes sorted, space-separated (remembered per scope set)."""
        scopes = token.scopes
        scope = self._scope_texts.get(scopes)
        if scope is None:
            scope = token.scope
            if len(self._scope_texts) >= MAX_CLIENTS_CACHED:
                self._scope_texts.clear()
            self._scope_texts[scopes] = scope
        return {
            "client_id": token.client_id,
            "scope": scope,
            "sub": token.subject,
            "jti": token.jti,
            "iss": token.issuer,
        }


_EMPTY_PLAN = PolicyPlan(frozenset(), (), ())


def build_authorizer(
    settings: AuthorizerSettings,
    keys: KeySource,
    clock: Callable[[], float] = time.time,
    *,
    registry: ProfileSource | None = None,
    registry_clock: Callable[[], float] = time.monotonic,
    revocations: RevocationList | None = None,
) -> Authorizer:
    """The authorizer for ``settings`` over ``keys`` (the handler passes its JWKS cache and, when the
    stack has an API registry, its reader; tests pass their own key source, reader and clocks)."""
    cache = None
    if registry is not None:
        cache = ApiProfileCache(registry, max_age=settings.profile_max_age, clock=registry_clock)
    return Authorizer(
        settings, keys, ApiProfiles(settings.profiles, cache), clock=clock, revocations=revocations
    )


def method_arn(value: object) -> MethodArn:
    """Refuse a method/route ARN of any other shape; split it into prefix, method and path."""
    if not isinstance(value, str) or len(value) > MAX_METHOD_ARN_LENGTH or not _METHOD_ARN.fullmatch(value):
        raise Rejected(Problem.INVALID_EVENT)
    resource = value.split(":", 5)[5]
    _api, _stage, method, path = resource.split("/", 3)
    return MethodArn(value[: len(value) - len(method) - len(path) - 1], method, path)


def bearer_credential(value: object) -> str:
    """What follows ``Bearer `` in an ``Authorization`` value (RFC 6750 §2.1), scheme and length checked;
    its b64token syntax is :meth:`Authorizer._verify`'s to check, on refusal.  :func:`bearer_token` checks
    both at once."""
    if value is None or value == "":
        raise Rejected(Problem.MISSING_TOKEN)
    if not isinstance(value, str) or len(value) > MAX_HEADER_LENGTH or value[:7] not in _SCHEMES:
        raise Rejected(Problem.INVALID_AUTHORIZATION)
    return value[7:]


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
    value: object = None
    if isinstance(headers, dict):
        names = _lowered_names(headers)
        count = names.count(name)
        if count > 1:
            raise Rejected(Problem.INVALID_AUTHORIZATION)
        if count == 1:
            value = list(headers.values())[names.index(name)]
    elif headers is not None:
        raise Rejected(Problem.INVALID_EVENT)
    if isinstance(multi_value_headers, dict):
        names = _lowered_names(multi_value_headers)
        if name in names:
            for lowered, values in zip(names, multi_value_headers.values(), strict=True):
                if lowered == name and (not isinstance(values, list) or len(values) != 1):
                    raise Rejected(Problem.INVALID_AUTHORIZATION)
    return value


def _lowered_names(headers: dict[Any, Any]) -> list[str | None]:
    """The header names in lower case, in order (``None`` for a name that is not a string): one pass in C
    when every name is a string, as API Gateway's always are."""
    try:
        return list(map(str.lower, headers))
    except TypeError:
        return [key.lower() if isinstance(key, str) else None for key in headers]


def _policy_document(
    prefix: str, allow: Iterable[tuple[str, str]], deny: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """The IAM policy: one Allow and one Deny statement over ``{prefix}{METHOD}/{pattern}`` resources
    (the root's pattern is empty: ``GET/``).  A policy always has a statement: nothing to allow and
    nothing to deny is written as a Deny of nothing API Gateway can send."""
    statements = []
    allowed = [f"{prefix}{method}/{pattern}" for method, pattern in allow]
    denied = [f"{prefix}{method}/{pattern}" for method, pattern in deny]
    if allowed:
        statements.append({"Action": INVOKE, "Effect": "Allow", "Resource": allowed})
    if denied or not allowed:
        statements.append({"Action": INVOKE, "Effect": "Deny", "Resource": denied or [f"{prefix}*"]})
    return {"Version": "2012-10-17", "Statement": statements}


def _size(document: Mapping[str, Any]) -> int:
    return len(json.dumps(document))


def _one_request_size(arn: MethodArn) -> int:
    """An upper bound of the JSON size of a one-statement policy naming ``arn`` (no need to write it):
    the statement's fixed text is under 150 bytes and JSON escaping at most sextuples the ARN's characters."""
    return 150 + 6 * (len(arn.prefix) + len(arn.method) + len(arn.path) + 1)


def _decision(
    token: VerifiedToken, route: Route | None, profile: ApiProfile, *, allowed: bool, response: dict[str, Any]
) -> Decision:
    if allowed:
        outcome, reason = Outcome.ALLOW, None
    else:
        outcome = Outcome.DENY
        reason = Reason.INSUFFICIENT_SCOPE.value if route is not None else Problem.UNKNOWN_ROUTE.value
    # positional: one is built per decision (outcome, reason, response, route, kid, jti, client_id, api)
    return Decision(
        outcome,
        reason,
        response,
        route.key if route is not None else None,
        token.kid,
        token.jti,
        token.client_id,
        profile.name,
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
    return Decision(
        Outcome.REJECT,
        str(rejection.reason),
        kid=kid,
        jti=jti,
        client_id=client_id,
        api=rejection.api,
        fault=rejection.fault,
    )


def _loggable(value: object) -> str | None:
    return value if isinstance(value, str) and _LOGGABLE.fullmatch(value) else None
