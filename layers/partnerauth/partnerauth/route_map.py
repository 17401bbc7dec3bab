"""A route map: which scopes each route of an API needs, parsed, validated and indexed.

The ``ROUTE_SCOPES`` format (docs/authorizer.md)::

    {
        "GET /orders": ["orders:read"],
        "GET /orders/{id}": ["orders:read"],
        "POST /orders": ["orders:write"],
        "ANY /files/{proxy+}": ["files:rw"],
    }

A key is ``METHOD /path`` as API Gateway writes a resource and method (REST) or a route key (HTTP
API): literal segments, ``{name}`` parameters (one non-empty segment), and a greedy ``{name+}`` as the
last segment (one or more segments).  ``ANY`` stands for every method without a route of its own.
A route needs **all** of its scopes (RFC 6750 §3.1 ``insufficient_scope`` otherwise).

Two lookups, both independent of the number of routes:

* :meth:`RouteMap.route_for_template` - from the resource or route key API Gateway matched
  (REQUEST and HTTP API events carry it): one dictionary lookup;
* :meth:`RouteMap.route_for_path` - from a concrete, canonical path (TOKEN events carry only the
  method ARN): a walk down a trie, one step per segment, choosing as API Gateway does (a literal
  segment before a parameter before a greedy parameter).

Pure Python, no AWS and no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple, Self

from .errors import ConfigurationError
from .scopes import is_scope_token

HTTP_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ANY_METHOD: Final = "ANY"
MAX_ROUTES: Final = 5000  # an API Gateway REST API has at most 300 resources by default; HTTP APIs 300 routes
MAX_SEGMENTS: Final = 16
MAX_SCOPES_PER_ROUTE: Final = 16

# Literal path segments: letters, digits, "." "_" "-" (RFC 3986 unreserved minus "~"); not "." or "..",
# which are dot-segments (RFC 3986 §5.2.4).  No "*" or "?": they are IAM wildcards.
_LITERAL = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]+")
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")


class _Greedy:
    """The segment kind of a greedy ``{name+}`` parameter: one or more whole segments."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "GREEDY"


GREEDY: Final = _Greedy()

# A segment of a route: a literal string; ``None`` for a parameter (one non-empty segment); GREEDY.
Segment = str | None | _Greedy


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
        return render(self.segments)

    @property
    def specificity(self) -> tuple[int, ...]:
        """API Gateway's preference between routes matching one path: literal, then ``{p}``, then ``{p+}``."""
        return tuple(0 if isinstance(s, str) else 1 if s is None else 2 for s in self.segments)


def render(segments: Iterable[Segment]) -> str:
    """IAM resource pattern of a route's path: parameters become ``*``."""
    return "/".join(segment if isinstance(segment, str) else "*" for segment in segments)


def parse_route(key: object, scopes: object) -> Route:
    if not isinstance(key, str) or key.count(" ") != 1:
        raise ConfigurationError('route map: keys look like "GET /orders/{id}"')
    method, path = key.split(" ")
    if method not in HTTP_METHODS and method != ANY_METHOD:
        raise ConfigurationError(f"route map: {key!r}: method must be ANY or one of {sorted(HTTP_METHODS)}")
    return Route(method=method, path=path, segments=parse_path(key, path), scopes=_parse_scopes(key, scopes))


def parse_path(key: str, path: str) -> tuple[Segment, ...]:
    if not path.startswith("/") or (path != "/" and path.endswith("/")):
        raise ConfigurationError(f"route map: {key!r}: path must start with '/' and not end with one")
    if path == "/":
        return ("",)  # the root: one empty segment, as in the method ARN ``GET/``
    raw_segments = path[1:].split("/")
    if len(raw_segments) > MAX_SEGMENTS:
        raise ConfigurationError(f"route map: {key!r}: more than {MAX_SEGMENTS} segments")
    segments: list[Segment] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_segments):
        parameter = _PARAMETER.fullmatch(raw)
        if parameter is not None:
            name, greedy = parameter.groups()
            if name in names:
                raise ConfigurationError(f"route map: {key!r}: parameter {{{name}}} appears twice")
            names.add(name)
            if greedy and index != len(raw_segments) - 1:
                raise ConfigurationError(f"route map: {key!r}: a greedy {{{name}+}} must be the last segment")
            segments.append(GREEDY if greedy else None)
        elif _LITERAL.fullmatch(raw):
            segments.append(raw)
        else:
            raise ConfigurationError(
                f"route map: {key!r}: segments are literals [A-Za-z0-9._-] (not '.' or '..'), "
                "{name} parameters, or a last {name+}"
            )
    return tuple(segments)


def _parse_scopes(key: str, scopes: object) -> frozenset[str]:
    if not isinstance(scopes, list) or len(scopes) > MAX_SCOPES_PER_ROUTE:
        raise ConfigurationError(f"route map: {key!r}: scopes are a list of at most {MAX_SCOPES_PER_ROUTE}")
    for scope in scopes:
        # RFC 6749 §3.3: scope tokens are case-sensitive strings of printable ASCII without
        # space, '"' or '\'.
        if not is_scope_token(scope):
            raise ConfigurationError(f"route map: {key!r}: scopes must be RFC 6749 §3.3 scope tokens")
    return frozenset(scopes)


def parse_json_object(text: str) -> dict[str, Any]:
    """The ``ROUTE_SCOPES`` document as a dict; duplicate keys refused (JSON allows them, we do not)."""

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


class _Node:
    """One trie level: literal children, the parameter child, and the routes that end here."""

    __slots__ = ("greedy", "literals", "parameter", "routes")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.parameter: _Node | None = None
        self.routes: dict[str, Route] = {}  # method (or ANY) -> route ending at this node
        self.greedy: dict[str, Route] = {}  # method (or ANY) -> greedy route whose {p+} starts below


class RouteMap:
    """The validated routes of one API and their indexes."""

    __slots__ = ("_by_shape", "_by_template", "_root", "_specificity", "routes")

    def __init__(self, routes: tuple[Route, ...]) -> None:
        if not routes:
            raise ConfigurationError("route map: at least one route is required")
        if len(routes) > MAX_ROUTES:
            raise ConfigurationError(f"route map: at most {MAX_ROUTES} routes")
        self.routes = routes
        self._by_shape: dict[tuple[str, tuple[Segment, ...]], Route] = {}
        self._specificity = {route: route.specificity for route in routes}
        self._by_template: dict[tuple[str, str], Route | None] = {}  # lookups seen, each parsed once
        self._root = _Node()
        for route in routes:
            other = self._by_shape.get(route.shape)
            if other is not None:
                raise ConfigurationError(
                    f"route map: {other.key!r} and {route.key!r} are the same route; give them one key"
                )
            self._by_shape[route.shape] = route
            self._insert(route)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({[route.key for route in self.routes]!r})"

    def __len__(self) -> int:
        return len(self.routes)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> Self:
        return cls(tuple(parse_route(key, scopes) for key, scopes in mapping.items()))

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Parse the ``ROUTE_SCOPES`` document (duplicate keys refused)."""
        return cls.from_mapping(parse_json_object(text))

    def _insert(self, route: Route) -> None:
        node = self._root
        for segment in route.segments:
            if segment is GREEDY:
                node.greedy[route.method] = route
                return
            if isinstance(segment, str):
                node = node.literals.setdefault(segment, _Node())
            else:
                if node.parameter is None:
                    node.parameter = _Node()
                node = node.parameter
        node.routes[route.method] = route

    # -- lookups -------------------------------------------------------------------------

    def route_for_template(self, method: str, template: str) -> Route | None:
        """The route of a resource (REST: ``GET``, ``/orders/{orderId}``) or route key (HTTP API).

        An exact method route wins over ``ANY`` on the same path, as in API Gateway.  Templates come
        from API Gateway (an API has a bounded number), so each is parsed once and remembered.
        """
        key = (method, template)
        try:
            return self._by_template[key]
        except KeyError:
            pass
        try:
            segments = parse_path("", template)
        except ConfigurationError:
            route = None
        else:
            route = self._by_shape.get((method, segments)) or self._by_shape.get((ANY_METHOD, segments))
        if len(self._by_template) >= 4 * MAX_ROUTES:
            self._by_template.clear()
        self._by_template[key] = route
        return route

    def route_for_path(self, method: str, path: str) -> Route | None:
        """The route a concrete, **canonical** request belongs to (``GET``, ``orders/42``), if any.

        Canonical: no empty segment (so no ``//`` and no trailing ``/`` except the root ``""``),
        no percent-encoding, no dot-segments - the caller checks (:func:`is_canonical_path`).
        Among matching routes the most specific wins (literal before ``{p}`` before ``{p+}``,
        segment by segment), then the exact method before ``ANY``.
        """
        candidates = self._candidates(tuple(path.split("/")))
        if not candidates:
            return None
        # The resource first (most specific path), then the method on it: exact, else ANY.
        if len(candidates) == 1:
            only = candidates[0]
            return only if only.method in (method, ANY_METHOD) else None
        specificity = self._specificity
        resource = min(specificity[route] for route in candidates)
        on_resource = {route.method: route for route in candidates if specificity[route] == resource}
        return on_resource.get(method) or on_resource.get(ANY_METHOD)

    def _candidates(self, values: tuple[str, ...]) -> list[Route]:
        """Every route matching ``values`` (depth-first over the trie: at most two branches a level)."""
        found: list[Route] = []
        stack: list[tuple[_Node, int]] = [(self._root, 0)]
        while stack:
            node, depth = stack.pop()
            if node.greedy and depth < len(values) and all(values[depth:]):
                found.extend(node.greedy.values())
            if depth == len(values):
                found.extend(node.routes.values())
                continue
            value = values[depth]
            literal = node.literals.get(value)
            if literal is not None:
                stack.append((literal, depth + 1))
            if node.parameter is not None and value:
                stack.append((node.parameter, depth + 1))
        return found


def is_canonical_path(path: str) -> bool:
    """Whether a method-ARN path (after ``METHOD/``) is spelled the one canonical way.

    The root is ``""``; otherwise non-empty segments without ``%`` and without dot-segments.
    API Gateway may route other spellings (``/orders/1/``, ``/orders//1``, ``%61``) to a route
    while the method ARN keeps the caller's spelling (docs/authorizer.md, "Path spellings").
    """
    if path == "":
        return True
    if "%" in path:
        return False
    return all(segment not in ("", ".", "..") for segment in path.split("/"))
