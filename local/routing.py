"""How API Gateway picks a route for a request: pure functions, shared by the local gateways and tests.

``route_rest(routes, method, raw_path)`` (REST API resources) and ``route_http(routes, method,
raw_path)`` (HTTP API route keys) take the request method and the path as the caller spelled it
(without the query string, and for an HTTP API without the stage prefix) and answer the matched
route template, its path parameters and the path of the method / route ARN, or ``None``.

The model of API Gateway's path handling, and where each rule comes from:

* **Letter case** is significant: ``/Orders`` is not ``/orders`` (resource paths and route keys are
  case-sensitive; an unknown path is ``403 Missing Authentication Token`` in a REST API, ``404 Not
  Found`` in an HTTP API).
* **One trailing slash** is ignored for routing: ``/orders/`` goes to ``/orders`` and
  ``/orders/1/`` to ``/orders/{id}``, in REST and HTTP APIs alike (public reports:
  aws-powertools/powertools-lambda-python#1552 and #1609, "both API Gateway REST and HTTP route both
  /hello and /hello/ to the Lambda"; aws/chalice#65; middyjs/middy#910; SAM trims a trailing slash
  from an ``HttpApi`` event's path, aws/serverless-application-model#1949).  The event's ``path`` /
  ``rawPath`` and the method ARN carry the path **as the caller spelled it**
  (``.../GET/orders/1/``): issue 12 says to design as if this is true, and an authorizer whose
  policy is cached must therefore answer every spelling.
* **Empty segments** (``//orders``, ``/orders//1``, ``/orders/1//``) match no resource: an empty
  segment is neither a literal nor a path parameter value, and no public report shows API Gateway
  merging slashes.  A greedy ``{proxy+}`` does not take them either.
* **Percent-encoding** is decoded once, per segment, after the path is split on ``/``: path
  parameters reach the backend decoded (HTTP API routes docs: "API Gateway decodes URL-encoded
  request parameters before passing them to your backend integration"), ``%2F`` never splits a
  segment (``/orders/a%2Fb`` is ``{id}`` = ``a/b``), and a literal segment matches its encoded
  spelling too (``/%6Frders`` reaches ``/orders``).  That last rule is the permissive reading
  (no report either way): it lets more spellings reach an authorizer, which is what the
  property tests of the authorizer need to be sure of.
* **Dot segments** (``.``, ``..``) are not resolved: they are ordinary segment values, so they
  match ``{id}`` but no literal.

Route choice (REST: "Set up a proxy integration with a proxy resource"; HTTP: "Working with routes
for HTTP APIs", "Routing API requests"): per segment, a literal beats ``{param}``, which beats
``{proxy+}``; a REST API then takes the method of that resource, or its ``ANY``, or nothing (it does
not fall back to a less specific resource); an HTTP API takes, in order, a full match of route and
method, a route with a greedy variable, ``ANY``, and finally ``$default``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

ANY: Final = "ANY"
DEFAULT_ROUTE: Final = "$default"


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A routed request: which route, with which path parameters, and its ARN path."""

    method: str  # the route's method: an HTTP method or ANY
    template: str  # "/orders/{id}"; "$default" for an HTTP API's default route
    path_parameters: dict[str, str] = field(default_factory=dict)
    arn_path: str = ""  # "GET/orders/1/": the request's method and path as spelled, as in the ARN

    @property
    def route_key(self) -> str:
        """The HTTP API route key (``GET /orders/{id}``, ``$default``)."""
        return self.template if self.template == DEFAULT_ROUTE else f"{self.method} {self.template}"


def arn_path(method: str, raw_path: str) -> str:
    """``{METHOD}/{path}`` of ``arn:aws:execute-api:...:{api}/{stage}/{METHOD}/{path}``, path as spelled."""
    return f"{method}/{raw_path.removeprefix('/')}"


def template_segments(template: str) -> tuple[str, ...]:
    stripped = template.strip("/")
    return tuple(stripped.split("/")) if stripped else ()


def specificity(template: str) -> tuple[int, ...]:
    """Per segment: literal (0) before ``{param}`` (1) before ``{proxy+}`` (2); smaller is more specific."""
    return tuple(2 if _greedy(s) else 1 if _parameter(s) else 0 for s in template_segments(template))


def match_template(template: str, raw_path: str) -> dict[str, str] | None:
    """The path parameters if ``raw_path`` spells a request for ``template`` (rules above), else None."""
    if not raw_path.startswith("/"):
        return None
    body = raw_path[1:]
    body = body.removesuffix("/")  # one trailing slash is ignored
    raw = body.split("/") if body else []
    wanted = template_segments(template)
    parameters: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        if _greedy(segment):
            rest = raw[index:]
            if index != len(wanted) - 1 or not rest or not all(rest):
                return None
            parameters[segment[1:-2]] = "/".join(unquote(part) for part in rest)
            return parameters
        if index >= len(raw) or not raw[index]:
            return None
        value = unquote(raw[index])
        if _parameter(segment):
            parameters[segment[1:-1]] = value
        elif segment != value:
            return None
    return parameters if len(raw) == len(wanted) else None


def route_rest(routes: Iterable[tuple[str, str]], method: str, raw_path: str) -> RouteMatch | None:
    """REST API: the most specific resource matching the path, then its ``method`` or its ``ANY``."""
    matches = [
        (route_method, template, parameters)
        for route_method, template in routes
        if (parameters := match_template(template, raw_path)) is not None
    ]
    if not matches:
        return None
    best = min(specificity(template) for _, template, _ in matches)
    same_resource = [m for m in matches if specificity(m[1]) == best]
    for wanted in (method, ANY):
        for route_method, template, parameters in same_resource:
            if route_method == wanted:
                return RouteMatch(route_method, template, parameters, arn_path(method, raw_path))
    return None


def route_http(routes: Iterable[str], method: str, raw_path: str) -> RouteMatch | None:
    """HTTP API: the route key (``"GET /orders/{id}"``, ``"ANY /{proxy+}"``, ``"$default"``) to use."""
    keys = list(routes)
    candidates: list[tuple[tuple[int, int, tuple[int, ...]], RouteMatch]] = []
    for key in keys:
        if key == DEFAULT_ROUTE:
            continue
        route_method, _, template = key.partition(" ")
        if route_method not in (method, ANY):
            continue
        parameters = match_template(template, raw_path)
        if parameters is None:
            continue
        greedy = int(any(_greedy(s) for s in template_segments(template)))
        rank = (greedy, int(route_method == ANY), specificity(template))
        candidates.append((rank, RouteMatch(route_method, template, parameters, arn_path(method, raw_path))))
    if candidates:
        return min(candidates, key=lambda candidate: candidate[0])[1]
    if DEFAULT_ROUTE in keys:
        return RouteMatch(ANY, DEFAULT_ROUTE, {}, arn_path(method, raw_path))
    return None


def route_keys(routes: Sequence[tuple[str, str]]) -> list[str]:
    """``(method, path)`` pairs as HTTP API route keys."""
    return [path if path == DEFAULT_ROUTE else f"{method} {path}" for method, path in routes]


def _greedy(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("+}")


def _parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}") and not _greedy(segment)
