"""Which requests a set of scopes opens, written as IAM resource patterns API Gateway evaluates.

API Gateway caches a Lambda authorizer's answer under its identity sources and evaluates the cached
policy against the method ARN of every request it answers.  Two answer shapes follow, one per kind
of cache key (docs/authorizer.md, "Answers and caching"):

**Per-route answers** (:meth:`RoutePolicy.route_plan`) - REQUEST authorizers whose identity sources
include ``context.httpMethod`` and ``context.resourcePath``, and HTTP API authorizers keyed by
``$context.routeKey``.  A cached answer is only ever applied to requests that API Gateway routed to
the same route, so the answer speaks for that route alone: allow (or deny) the route's own pattern,
and deny what the pattern's wildcards reach beyond the route's shape.  Constant size, whatever the
number of routes; right for every spelling, because the route is the one API Gateway chose.

**Whole-API answers** (:meth:`RoutePolicy.plan`) - TOKEN authorizers, cached per token and applied
to every route.  Two IAM rules shape them:

* ``*`` in a resource matches any characters **including** ``/``: the pattern ``GET/orders/*``
  written for ``GET /orders/{id}`` also matches ``GET/orders/1/secret``;
* an explicit ``Deny`` beats every ``Allow``, so a catch-all ``Deny */*`` would deny everything.

So a plan **allows** the pattern of each route the scopes cover and **denies** (a) the pattern of
every route they do not cover, (b) for each allowed pattern, the
requests its wildcards reach beyond the route's own shape, unless that deny would also match a
request to an allowed route, and (c) every non-canonical spelling (:data:`SPELLING_GUARDS`):
API Gateway may route ``/orders/1/payments/`` or ``/orders/1/p%61yments`` to a route while the
method ARN keeps the caller's spelling, which the patterns of (a) and (b) cannot foresee.  Maps for
which such a plan cannot be exact (overlapping routes, a denied route between two allowed ones, ``ANY``
or greedy routes, more than :data:`MAX_WHOLE_API_ROUTES` routes) have no whole-API plans:
:meth:`RoutePolicy.plan` returns ``None`` and the authorizer answers for the one request instead.

``tests/authorizer/test_route_policy.py`` and ``test_path_spellings.py`` prove both shapes by
evaluating them as IAM does, over generated maps and spellings.  Pure Python, no AWS, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

from .route_map import (
    ANY_METHOD,
    GREEDY,
    HTTP_METHODS,
    MAX_ROUTES,
    Route,
    RouteMap,
    Segment,
    is_canonical_path,
    render,
)

__all__ = [
    "HTTP_METHODS",
    "MAX_ROUTES",
    "MAX_WHOLE_API_ROUTES",
    "SPELLING_GUARDS",
    "PolicyPlan",
    "Route",
    "RoutePolicy",
    "covers",
    "is_canonical_path",
]

MAX_WHOLE_API_ROUTES: Final = 100  # beyond this a whole-API answer cannot stay under 8 KB anyway
MAX_PLANS_CACHED: Final = 1024
MAX_SCOPE_SETS_CACHED: Final = 4096

# Deny patterns (method "*", then the path pattern) for every spelling of a path that is not the
# canonical one (route_map.is_canonical_path): "*" spans "/" in IAM, so "*" + "/" + "*/" is any
# method-ARN path ending in "/" except the root "GET/".
SPELLING_GUARDS: Final[tuple[tuple[str, str], ...]] = (
    ("*", "*/"),  # a trailing slash
    ("*", "/*"),  # an empty segment: "//" anywhere
    ("*", "*%*"),  # percent-encoding anywhere
    ("*", "./*"),  # dot-segments (RFC 3986 §5.2.4) inside ...
    ("*", "."),  # ... or at the end
    ("*", "../*"),
    ("*", ".."),
)


class PolicyPlan(NamedTuple):
    """What to put in an authorizer policy: ``(method, resource pattern)`` pairs."""

    allowed: frozenset[Route]
    allow: tuple[tuple[str, str], ...]
    deny: tuple[tuple[str, str], ...]


def _overlap(a: Route, b: Route) -> bool:
    """Whether some request is a request to both ``a`` and ``b`` (maps without greedy routes)."""
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
    and each ``*`` (a parameter) stands for one or more whole segments (any content, ``/``
    included).  A literal fits a route literal when equal and a route parameter when not
    empty (parameter values are never empty).  Dynamic programming over segment positions.
    """
    target = route.segments
    reachable = {0}
    for segment in pattern:
        following: set[int] = set()
        for position in reachable:
            if not isinstance(segment, str):
                following.update(range(position + 1, len(target) + 1))
            elif position < len(target) and _literal_fits(segment, target[position]):
                following.add(position + 1)
        if not following:
            return False
        reachable = following
    return len(target) in reachable


def _literal_fits(literal: str, segment: Segment) -> bool:
    return literal == segment if isinstance(segment, str) else literal != ""


def _overreach(segments: tuple[Segment, ...]) -> list[tuple[Segment, ...]]:
    """Patterns for what the route's own pattern matches beyond the route's shape.

    A request with more segments than the route matches its pattern only if some ``*`` of a
    ``{p}`` spans a ``/``: replacing that ``*`` by ``*/*`` matches exactly those.  An empty
    segment (``orders/``) matches only if some ``*`` matches nothing: replacing it by ``""``.
    Neither can match a canonical request to the route itself.  A route ending in a greedy ``{p+}``
    reaches any depth by design (a ``*`` of an earlier ``{p}`` spanning ``/`` is the greedy taking
    more), so only empty matches are denied for it.  One empty-segment pattern is left out: a leading
    empty segment followed by more (``GET//items``), which is not a canonical path.
    """
    patterns: list[tuple[Segment, ...]] = []
    greedy = bool(segments) and segments[-1] is GREEDY  # then depth is the route's own: no "deeper"
    for index, segment in enumerate(segments):
        if isinstance(segment, str):
            continue
        if segment is None and not greedy:
            patterns.append((*segments[:index], None, None, *segments[index + 1 :]))
        if index > 0 or len(segments) == 1:
            patterns.append((*segments[:index], "", *segments[index + 1 :]))
    return patterns


class RoutePolicy(RouteMap):
    """The validated route map with its answers: per route, or (when exact) for the whole API."""

    __slots__ = ("_allowed", "_plans", "_route_plans", "_whole_api")

    def __init__(self, routes: tuple[Route, ...]) -> None:
        super().__init__(routes)
        self._allowed: dict[frozenset[str], frozenset[Route]] = {}
        self._plans: dict[frozenset[Route], PolicyPlan] = {}
        self._route_plans: dict[tuple[Route, bool], PolicyPlan] = {}
        self._whole_api: tuple[bool, str, dict[Route, list[Route]]] | None = None

    # -- lookups -------------------------------------------------------------------------

    def route_for_request(self, method: str, path: str) -> Route | None:
        """The route of a concrete request (``GET``, ``orders/42``); ``None`` unless canonically spelled."""
        return self.route_for_path(method, path) if is_canonical_path(path) else None

    def required_scopes(self, method: str, path: str) -> frozenset[str] | None:
        """Scopes a route template needs; ``None`` for a route not in the map."""
        route = self.route_for_template(method, path)
        return None if route is None else route.scopes

    def allowed_routes(self, scopes: Iterable[str]) -> frozenset[Route]:
        """The routes whose scopes are all in ``scopes`` (one scan per distinct scope set, then cached)."""
        granted = scopes if isinstance(scopes, frozenset) else frozenset(scopes)
        allowed = self._allowed.get(granted)
        if allowed is None:
            allowed = frozenset(route for route in self.routes if route.scopes <= granted)
            if len(self._allowed) >= MAX_SCOPE_SETS_CACHED:
                self._allowed.clear()
            self._allowed[granted] = allowed
        return allowed

    # -- per-route answers -------------------------------------------------------------------

    def route_plan(self, route: Route, *, allowed: bool) -> PolicyPlan:
        """The answer for requests API Gateway routed to ``route``.

        Allowed: allow the route's pattern, deny its overreach (so the answer allows exactly the
        canonical requests of the route's shape).  Not allowed: deny the route's pattern.  An ``ANY``
        route's answer names every method (``*``): an HTTP API caches it per route key, which is the
        same for every method.
        """
        key = (route, allowed)
        plan = self._route_plans.get(key)
        if plan is None:
            method = "*" if route.method == ANY_METHOD else route.method
            pattern = (method, route.resource)
            if allowed:
                deny = tuple((method, render(p)) for p in _overreach(route.segments))
                plan = PolicyPlan(frozenset({route}), (pattern,), deny)
            else:
                plan = PolicyPlan(frozenset(), (), (pattern,))
            self._route_plans[key] = plan  # at most two per route
        return plan

    # -- whole-API answers -------------------------------------------------------------------

    @property
    def whole_api_problem(self) -> str | None:
        """Why this map has no exact whole-API answers (``None``: it has them)."""
        return self._whole_api_analysis()[1] or None

    def plan(self, scopes: Iterable[str]) -> PolicyPlan | None:
        """Allow and deny patterns right for every request to the API (module doc); ``None`` when the
        map cannot have such answers (:attr:`whole_api_problem`)."""
        if not self._whole_api_analysis()[0]:
            return None
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
            (method, render(pattern))
            for method, pattern in candidates
            if not any(route.method == method and covers(pattern, route) for route in allow)
        ]
        return PolicyPlan(
            allowed=allowed,
            allow=tuple((route.method, route.resource) for route in allow),
            deny=(*deny, *SPELLING_GUARDS),
        )

    def _whole_api_analysis(self) -> tuple[bool, str, dict[Route, list[Route]]]:
        """Once per map, on first use: can whole-API answers be exact, and which routes each route's
        pattern reaches (``covers``).  Quadratic in the routes, so bounded by MAX_WHOLE_API_ROUTES."""
        if self._whole_api is None:
            self._whole_api = _analyse(self.routes)
        return self._whole_api


def _analyse(routes: tuple[Route, ...]) -> tuple[bool, str, dict[Route, list[Route]]]:
    if len(routes) > MAX_WHOLE_API_ROUTES:
        return False, f"more than {MAX_WHOLE_API_ROUTES} routes", {}
    for route in routes:
        if route.method == ANY_METHOD or GREEDY in route.segments:
            return False, f"{route.key!r} is an ANY or greedy route", {}
    for index, route in enumerate(routes):
        for other in routes[:index]:
            if _overlap(route, other):
                return False, f"{other.key!r} and {route.key!r} match the same requests", {}
    reach = {
        route: [
            other
            for other in routes
            if other is not route and other.method == route.method and covers(route.segments, other)
        ]
        for route in routes
    }
    # A denied route between two allowed ones: if the pattern of ``outer`` reaches ``inner``,
    # ``inner`` must be denied by its own pattern whenever ``outer`` is allowed and ``inner`` is not.
    # That deny has to be left out when it also reaches an allowed ``deeper`` route; if some token can
    # hold the scopes of ``outer`` and ``deeper`` but not ``inner``, ``inner`` would then be open
    # (IAM wildcards cannot say "any segment but this one").
    for outer, inners in reach.items():
        for inner in inners:
            for deeper in reach[inner]:
                if not inner.scopes <= outer.scopes | deeper.scopes:
                    return False, f"{outer.key!r} reaches {inner.key!r}, which reaches {deeper.key!r}", {}
    return True, "", reach
