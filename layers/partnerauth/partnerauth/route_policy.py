"""Which routes a set of scopes opens, and the IAM resource patterns that say so exactly.

A route map says which scopes each route of an API needs (RFC 6750 §3.1 ``insufficient_scope``
when they are missing)::

    {"GET /orders": ["orders:read"], "GET /orders/{id}": ["orders:read"], "POST /orders": ["orders:write"]}

API Gateway caches a Lambda authorizer's answer per token and applies it to *every* route of the
API, so the authorizer answers with a policy for all routes at once: :meth:`RoutePolicy.plan`.
The policy is evaluated by IAM rules, and two of them shape everything here:

* ``*`` in a resource matches any characters **including** ``/``: the pattern ``GET/orders/*``
  written for ``GET /orders/{id}`` also matches ``GET/orders/1/secret``.
* An explicit ``Deny`` beats every ``Allow``, so a catch-all ``Deny */*`` would deny everything.

So a plan **allows** the pattern of each route the scopes cover (nothing else: IAM denies
what no statement allows) and **denies** (a) the pattern of every route they do not cover and
(b) for each allowed pattern, the requests its wildcards reach beyond the route's own shape
(a ``*`` standing for one or more segments, or for an empty one) - except that a deny is left
out when it would also match a request to an allowed route.  :class:`RoutePolicy` refuses, at
start, a map in which leaving such a deny out could let a request reach a route it does not
cover, and a map in which two routes match the same request.  With those refused, the
plan's answer for every request to a route of the map is exactly "are its scopes covered"
(``tests/authorizer/test_route_policy.py`` proves it by evaluating plans as IAM does).
``docs/authorizer.md`` walks through the reasoning.

Pure Python, no AWS and no I/O: the authorizer builds one at import from its configuration.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .errors import ConfigurationError

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_ROUTES = 100  # each route becomes ARNs in every policy; API Gateway caps the policy's size
MAX_SEGMENTS = 16
MAX_SCOPES_PER_ROUTE = 16
MAX_SCOPE_LENGTH = 128
MAX_PLANS_CACHED = 1024

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Literal path segments: letters, digits, "." "_" "-" (RFC 3986 unreserved minus "~", which
# Powertools' policy builder refuses).  No "*" or "?": they are IAM wildcards.
_LITERAL = re.compile(r"[A-Za-z0-9._-]+")
_PARAMETER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

# Records are NamedTuples, not frozen dataclasses: a frozen dataclass costs about a millisecond to
# define, and this module is on the authorizer's cold-start path.

# A segment of a route or of a pattern: a literal string, or ``None`` - in a route, a path
# parameter (any non-empty segment); in a pattern, ``*`` standing for whole segments.
Segment = str | None


def _parse_json_object(text: str) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise ConfigurationError("route map: a route appears twice")
        return result

    try:
        value = json.loads(text, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError):
        raise ConfigurationError("route map: not valid JSON") from None
    if not isinstance(value, dict):
        raise ConfigurationError('route map: expected a JSON object {"METHOD /path": ["scope", ...]}')
    return value


class Route(NamedTuple):
    """One ``METHOD /path`` of the map and the scopes it needs."""

    method: str
    path: str
    segments: tuple[Segment, ...]
    scopes: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def shape(self) -> tuple[str, tuple[Segment, ...]]:
        """Method and segments with parameter names dropped: ``/orders/{id}`` = ``/orders/{oid}``."""
        return self.method, self.segments

    @property
    def resource(self) -> str:
        """The method-ARN resource pattern after ``METHOD/``: ``orders/*`` for ``/orders/{id}``."""
        return _render(self.segments)

    def matches(self, method: str, path_segments: tuple[str, ...]) -> bool:
        """Whether a concrete request (``orders``, ``42``) is a request to this route."""
        return (
            method == self.method
            and len(path_segments) == len(self.segments)
            and all(
                _fits(value, segment) for value, segment in zip(path_segments, self.segments, strict=True)
            )
        )


class PolicyPlan(NamedTuple):
    """What to put in an authorizer policy: ``(method, resource pattern)`` pairs."""

    allowed: frozenset[Route]
    allow: tuple[tuple[str, str], ...]
    deny: tuple[tuple[str, str], ...]


def _fits(value: str, segment: Segment) -> bool:
    """A concrete segment against a route segment (a parameter takes any non-empty value)."""
    return value != "" if segment is None else value == segment


def _render(segments: Iterable[Segment]) -> str:
    return "/".join("*" if segment is None else segment for segment in segments)


def _parse_route(key: object, scopes: object) -> Route:
    if not isinstance(key, str) or key.count(" ") != 1:
        raise ConfigurationError('route map: keys look like "GET /orders/{id}"')
    method, path = key.split(" ")
    if method not in HTTP_METHODS:
        raise ConfigurationError(f"route map: {key!r}: method must be one of {sorted(HTTP_METHODS)}")
    if not path.startswith("/") or (path != "/" and path.endswith("/")):
        raise ConfigurationError(f"route map: {key!r}: path must start with '/' and not end with one")
    raw_segments = path[1:].split("/")
    if len(raw_segments) > MAX_SEGMENTS:
        raise ConfigurationError(f"route map: {key!r}: more than {MAX_SEGMENTS} segments")
    segments: list[Segment] = []
    names: set[str] = set()
    for raw in raw_segments:
        if path == "/":
            segments.append("")  # the root: one empty segment, as in the method ARN ``GET/``
        elif _PARAMETER.fullmatch(raw):
            if raw in names:
                raise ConfigurationError(f"route map: {key!r}: parameter {raw} appears twice")
            names.add(raw)
            segments.append(None)
        elif _LITERAL.fullmatch(raw):
            segments.append(raw)
        else:
            # Greedy {proxy+}, ANY, wildcards and odd characters have no exact IAM pattern.
            raise ConfigurationError(
                f"route map: {key!r}: segments are literals [A-Za-z0-9._-] or {{name}} parameters"
            )
    return Route(method=method, path=path, segments=tuple(segments), scopes=_parse_scopes(key, scopes))


def _parse_scopes(key: str, scopes: object) -> frozenset[str]:
    if not isinstance(scopes, list) or len(scopes) > MAX_SCOPES_PER_ROUTE:
        raise ConfigurationError(f"route map: {key!r}: scopes are a list of at most {MAX_SCOPES_PER_ROUTE}")
    for scope in scopes:
        # RFC 6749 §3.3: scope tokens are case-sensitive strings of printable ASCII without
        # space, '"' or '\'.
        if not isinstance(scope, str) or len(scope) > MAX_SCOPE_LENGTH or not _SCOPE_TOKEN.fullmatch(scope):
            raise ConfigurationError(f"route map: {key!r}: scopes must be RFC 6749 §3.3 scope tokens")
    return frozenset(scopes)


def _overlap(a: Route, b: Route) -> bool:
    """Whether some request is a request to both ``a`` and ``b``."""
    if a.method != b.method or len(a.segments) != len(b.segments):
        return False
    for x, y in zip(a.segments, b.segments, strict=True):
        if x is not None and y is not None and x != y:
            return False
        if (x is None and y == "") or (y is None and x == ""):
            return False
    return True


def covers(pattern: tuple[Segment, ...], route: Route) -> bool:
    """Whether the IAM pattern ``METHOD/<pattern>`` (same method) matches some request to ``route``.

    Pattern literals are whole segments, so they line up with whole segments of a request,
    and each ``*`` (``None``) stands for one or more whole segments (any content, ``/``
    included).  A literal fits a route literal when equal and a route parameter when not
    empty (parameter values are never empty).  Dynamic programming over segment positions.
    """
    target = route.segments
    reachable = {0}
    for segment in pattern:
        following: set[int] = set()
        for position in reachable:
            if segment is None:
                following.update(range(position + 1, len(target) + 1))
            elif position < len(target) and _literal_fits(segment, target[position]):
                following.add(position + 1)
        if not following:
            return False
        reachable = following
    return len(target) in reachable


def _literal_fits(literal: str, segment: Segment) -> bool:
    return literal != "" if segment is None else literal == segment


def _overreach(segments: tuple[Segment, ...]) -> list[tuple[Segment, ...]]:
    """Patterns for what the route's own pattern matches beyond the route's shape.

    A request with more segments than the route matches its pattern only if some ``*``
    spans a ``/``: replacing that ``*`` by ``*/*`` matches exactly those.  An empty segment
    (``orders/``) matches only if some ``*`` matches nothing: replacing it by ``""``.
    Neither can match a request to the route itself.  One empty-segment pattern is left out:
    a leading empty segment followed by more (``GET//items``), which Powertools' policy
    builder cannot write (it strips leading slashes) and API Gateway does not route.
    """
    patterns: list[tuple[Segment, ...]] = []
    for index, segment in enumerate(segments):
        if segment is None:
            patterns.append((*segments[:index], None, None, *segments[index + 1 :]))
            if index > 0 or len(segments) == 1:
                patterns.append((*segments[:index], "", *segments[index + 1 :]))
    return patterns


class RoutePolicy:
    """The validated route map: lookups by request, and policy plans by scope set."""

    __slots__ = ("_by_shape", "_plans", "routes")

    def __init__(self, routes: tuple[Route, ...]) -> None:
        if not routes:
            raise ConfigurationError("route map: at least one route is required")
        if len(routes) > MAX_ROUTES:
            raise ConfigurationError(f"route map: at most {MAX_ROUTES} routes")
        self.routes = routes
        self._by_shape: dict[tuple[str, tuple[Segment, ...]], Route] = {}
        self._plans: dict[frozenset[Route], PolicyPlan] = {}
        for index, route in enumerate(routes):
            for other in routes[:index]:
                if _overlap(route, other):
                    raise ConfigurationError(
                        f"route map: {other.key!r} and {route.key!r} match the same requests; "
                        "give them different shapes"
                    )
            self._by_shape[route.shape] = route
        self._refuse_inseparable()

    def __repr__(self) -> str:
        return f"RoutePolicy({[route.key for route in self.routes]!r})"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> RoutePolicy:
        return cls(tuple(_parse_route(key, scopes) for key, scopes in mapping.items()))

    @classmethod
    def from_json(cls, text: str) -> RoutePolicy:
        """Parse the ``ROUTE_SCOPES`` document (duplicate keys refused)."""
        return cls.from_mapping(_parse_json_object(text))

    # -- lookups -------------------------------------------------------------------------

    def route_for_request(self, method: str, path: str) -> Route | None:
        """The route a concrete request belongs to (``GET``, ``orders/42``), if any."""
        values = tuple(path.split("/"))
        for route in self.routes:
            if route.matches(method, values):
                return route
        return None

    def route_for_template(self, method: str, path: str) -> Route | None:
        """The route of an API Gateway resource or route key (``GET``, ``/orders/{orderId}``)."""
        try:
            route = _parse_route(f"{method} {path}", [])
        except ConfigurationError:
            return None
        return self._by_shape.get(route.shape)

    def required_scopes(self, method: str, path: str) -> frozenset[str] | None:
        """Scopes a route template needs; ``None`` for a route not in the map."""
        route = self.route_for_template(method, path)
        return None if route is None else route.scopes

    def allowed_routes(self, scopes: Iterable[str]) -> frozenset[Route]:
        granted = scopes if isinstance(scopes, frozenset) else frozenset(scopes)
        return frozenset(route for route in self.routes if route.scopes <= granted)

    # -- policy plans ----------------------------------------------------------------------

    def plan(self, scopes: Iterable[str]) -> PolicyPlan:
        """Allow and deny patterns that give the right answer for every route (see module doc)."""
        allowed = self.allowed_routes(scopes)
        plan = self._plans.get(allowed)
        if plan is None:
            plan = self._build_plan(allowed)
            if len(self._plans) < MAX_PLANS_CACHED:  # bounded: at most one plan per route subset seen
                self._plans[allowed] = plan
        return plan

    def _build_plan(self, allowed: frozenset[Route]) -> PolicyPlan:
        allow = [route for route in self.routes if route in allowed]
        candidates: dict[tuple[str, tuple[Segment, ...]], None] = {}
        for route in self.routes:
            if route not in allowed:
                candidates[route.shape] = None
        for route in allow:
            for pattern in _overreach(route.segments):
                candidates[(route.method, pattern)] = None
        deny = [
            (method, pattern)
            for method, pattern in candidates
            if not any(route.method == method and covers(pattern, route) for route in allow)
        ]
        return PolicyPlan(
            allowed=allowed,
            allow=tuple((route.method, route.resource) for route in allow),
            deny=tuple((method, _render(pattern)) for method, pattern in deny),
        )

    def _refuse_inseparable(self) -> None:
        """Refuse maps where a denied route could hide between two allowed ones.

        If the pattern of ``outer`` reaches requests of ``inner`` (a deeper route), ``inner``
        must be denied by its own pattern whenever ``outer`` is allowed and ``inner`` is not.
        That deny has to be left out when it also reaches an allowed ``deeper`` route; if some
        token can hold the scopes of ``outer`` and ``deeper`` but not ``inner``, ``inner``
        would then be open.  Such maps are refused (API Gateway evaluates IAM wildcards, which
        cannot say "any segment but this one").
        """
        reach = {
            route: [
                other
                for other in self.routes
                if other is not route and other.method == route.method and covers(route.segments, other)
            ]
            for route in self.routes
        }
        for outer, inners in reach.items():
            for inner in inners:
                for deeper in reach[inner]:
                    if not inner.scopes <= outer.scopes | deeper.scopes:
                        raise ConfigurationError(
                            f"route map: {outer.key!r} also matches {inner.key!r}, which matches "
                            f"{deeper.key!r}; IAM patterns cannot open the first and last without "
                            "the middle one: give the middle route the scopes of one of the others, "
                            "or a different shape"
                        )
