"""No spelling of a path changes the answer, also through an answer cached from an earlier request.

Issue 12: for every route map the authorizer accepts, every spelling API Gateway may deliver for a request
(trailing slash, repeated slashes, empty and dot segments, percent-encoded characters, letter case) gets the
same answer as the canonical path, or a deny.  Generated maps (nested routes, parameters under parameters,
literal siblings of parameters, greedy ``{proxy+}``, ``ANY``), generated requests and spellings; API Gateway's
routing is ``local.routing`` (its model and sources are in that module), its authorizer cache is keyed as the
identity sources say, and policies are evaluated with ``local.iam_policy`` (IAM's rules, written
independently of the authorizer).  The API may also have routes the map does not know.

For each generated case, a first request fills API Gateway's cache and a second request is answered from it:

* REST REQUEST authorizer, cached per (token, method, resource): the second request has the first's resource;
* HTTP API, cached per (token, route key): simple responses and IAM policy responses;
* REST TOKEN authorizer, cached per token: the second request may go to any route.  A TOKEN event names no
  resource, so there the map must list every route of the API (the per-route forms deny unknown routes).

The rule checked: an Allow only ever admits a request whose routed route is in the map with all its scopes
held; and a canonically spelled request to a covered route is allowed whenever the cached answer can speak
for it (per-route answers always; TOKEN answers when the map has exact whole-API answers).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from authorizer.decision import Authorizer, Outcome
from local.iam_policy import Decision as Iam
from local.iam_policy import evaluate
from local.routing import RouteMatch, route_http, route_rest
from partnerauth.route_policy import RoutePolicy

from .conftest import (
    ARN_PREFIX,
    AuthorizerFactory,
    TokenFactory,
    bearer,
    http_event,
    request_event,
    token_event,
)

SCOPES = ("s1", "s2", "s3")
SCOPE_SETS = [frozenset(c) for n in range(len(SCOPES) + 1) for c in itertools.combinations(SCOPES, n)]
LITERALS = ("a", "b")
VALUES = ("a", "X")  # parameter values: one equal to a literal, one in upper case
FIRSTS = 12  # requests per case whose answers fill the cache (each checked against every later request)
HTTP_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:httpapi123/$default"


# -- generated APIs --------------------------------------------------------------------------------------
@st.composite
def templates(draw: st.DrawFn) -> str:
    segments = draw(st.lists(st.sampled_from([*LITERALS, "{p}", "{p}"]), min_size=0, max_size=3))
    if draw(st.integers(0, 5)) == 0:
        segments.append("{rest+}")
    names = iter(f"{{p{i}}}" for i in range(10))
    return "/" + "/".join(next(names) if s == "{p}" else s for s in segments)


@st.composite
def apis(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """A route map, and the API's routes: the map's, plus sometimes routes the map does not know."""
    routes: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}
    for _ in range(draw(st.integers(1, 7))):
        method = draw(st.sampled_from(["GET", "GET", "POST", "ANY"]))
        template = draw(templates())
        shape = tuple("{}" if s.startswith("{") else s for s in template.strip("/").split("/"))
        routes.setdefault((method, shape), (method, template))
    api_routes = list(routes.values())
    unmapped = draw(st.integers(0, min(2, len(api_routes) - 1)))
    mapped = api_routes[unmapped:]
    mapping = {
        f"{method} {template}": sorted(draw(st.sets(st.sampled_from(SCOPES), max_size=2)))
        for method, template in mapped
    }
    return mapping, api_routes


@st.composite
def resource_families(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The most common REST shape (issue 12): a parameter resource and sibling sub-resources under it
    needing different scopes, e.g. /orders/{id}, /orders/{id}/items, /orders/{id}/payments."""
    parent = draw(st.sampled_from(["/a/{p0}", "/{p0}", "/a/{p0}/b/{p1}"]))
    children = draw(st.lists(st.sampled_from(["a", "b", "{c}"]), min_size=1, max_size=3, unique=True))
    templates_ = [parent, *(f"{parent}/{child}" for child in children)]
    if draw(st.booleans()):
        templates_.append(f"{parent}/a/{{d}}")
    mapping = {f"GET {parent}": ["s1"]}  # the parent, and children needing the same scope or another
    mapping.update({f"GET {t}": [draw(st.sampled_from(["s1", "s2"]))] for t in templates_[1:]})
    return mapping, [("GET", template) for template in templates_]


def canonical_paths(template: str) -> list[str]:
    segments = [s for s in template.strip("/").split("/") if s]
    options = [
        [s] if not s.startswith("{") else (list(VALUES) if not s.endswith("+}") else ["a", "b/X"])
        for s in segments
    ]
    return ["/" + "/".join(values) for values in itertools.product(*options)] or ["/"]


def spellings(path: str) -> list[str]:
    """``path`` and other spellings of it that API Gateway may route to the same route."""
    body = path[1:]
    result = [path, path + "/", "/" + path, path + "//"]
    if body:
        segments = body.split("/")
        for index, segment in enumerate(segments):
            encoded = f"%{ord(segment[0]):02X}{segment[1:]}"
            result.append("/" + "/".join([*segments[:index], encoded, *segments[index + 1 :]]))
            result.append("/" + "/".join([*segments[:index], segment.upper(), *segments[index + 1 :]]))
            result.append("/" + "/".join([*segments[:index], ".", *segments[index:]]))
            result.append("/" + "/".join([*segments[: index + 1], "", *segments[index + 1 :]]))
    return result


def requests_of(api_routes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(method, raw path) of every canonical request to every route, and of every spelling of them."""
    methods = {"GET", "POST"}
    requests = []
    for route_method, template in api_routes:
        for path in canonical_paths(template):
            for method in sorted(methods if route_method == "ANY" else {route_method}):
                requests += [(method, spelled) for spelled in spellings(path)]
    return list(dict.fromkeys(requests))


def is_canonical(raw_path: str) -> bool:
    body = raw_path[1:]
    return raw_path == "/" or (
        "%" not in body and all(segment not in ("", ".", "..") for segment in body.split("/"))
    )


# -- the checks ---------------------------------------------------------------------------------------
class Case:
    def __init__(self, mapping: dict[str, list[str]], make_authorizer: AuthorizerFactory) -> None:
        self.mapping = mapping
        self.policy = RoutePolicy.from_json(json.dumps(mapping))
        self.authorizer: Authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(mapping))
        self.policy_form: Authorizer = make_authorizer(
            ROUTE_SCOPES=json.dumps(mapping), HTTP_API_RESPONSE="policy"
        )

    def covered(self, match: RouteMatch, granted: frozenset[str]) -> bool:
        """What the answer must be for a request API Gateway routed to ``match``: all scopes held of the
        map's entry for that method and resource, or else of its ``ANY`` entry for that resource (the
        map's ``ANY`` stands for every method without an entry of its own); nothing without an entry."""
        scopes = self.mapping.get(f"{match.method} {match.template}")
        if scopes is None:
            scopes = self.mapping.get(f"ANY {match.template}")
        return scopes is not None and frozenset(scopes) <= granted


def _path(raw_path: str) -> str:
    return raw_path.removeprefix("/")


Routed = list[tuple[str, str, RouteMatch]]


def routed_rest(api_routes: list[tuple[str, str]]) -> Routed:
    requests = ((m, p, route_rest(api_routes, m, p)) for m, p in requests_of(api_routes))
    return [(m, p, match) for m, p, match in requests if match is not None]  # else 403 before any authorizer


def firsts(routed: Routed) -> Routed:
    return routed[:: max(1, len(routed) // FIRSTS)]


def check_rest_request(
    case: Case, api_routes: list[tuple[str, str]], header: str, granted: frozenset[str]
) -> None:
    routed = routed_rest(api_routes)
    for method, raw_path, first in firsts(routed):
        decision = case.authorizer.decide(request_event(header, method, _path(raw_path), first.template))
        assert decision.response is not None, decision
        cached = decision.response["policyDocument"]
        for second_method, second_path, second in routed:
            if (second_method, second.template) != (method, first.template):
                continue  # another cache key
            answer = evaluate(cached, f"{ARN_PREFIX}/{second_method}/{_path(second_path)}")
            if answer is Iam.ALLOW:
                assert case.covered(second, granted), (raw_path, second_path, granted)
            elif is_canonical(second_path) and case.covered(second, granted):
                pytest.fail(f"canonical {second_method} {second_path} denied by the answer for {raw_path}")


def check_http_api(
    case: Case, api_routes: list[tuple[str, str]], header: str, granted: frozenset[str]
) -> None:
    keys = [f"{m} {template}" for m, template in api_routes]
    requests = ((m, p, route_http(keys, m, p)) for m, p in requests_of(api_routes))
    routed = [(m, p, match) for m, p, match in requests if match is not None]  # else 404
    for method, raw_path, first in firsts(routed):
        event = http_event(header, first.route_key, method, _path(raw_path))
        simple = case.authorizer.decide(event)
        assert simple.response is not None
        assert simple.response["isAuthorized"] is case.covered(first, granted), (first.route_key, raw_path)
        cached = case.policy_form.decide(event).response
        assert cached is not None
        for second_method, second_path, second in routed:
            if second.route_key != first.route_key:
                continue  # another cache key
            answer = evaluate(cached["policyDocument"], f"{HTTP_PREFIX}/{second_method}/{_path(second_path)}")
            if answer is Iam.ALLOW:
                assert case.covered(second, granted), (raw_path, second_path)
            elif is_canonical(second_path) and case.covered(second, granted):
                pytest.fail(f"canonical {second_method} {second_path} denied by the answer for {raw_path}")


def check_rest_token(
    case: Case, api_routes: list[tuple[str, str]], header: str, granted: frozenset[str]
) -> None:
    routed = routed_rest(api_routes)
    exact_whole_api = case.policy.whole_api_problem is None
    for method, raw_path, _first in firsts(routed):
        decision = case.authorizer.decide(token_event(header, method, _path(raw_path)))
        assert decision.response is not None, decision
        cached = decision.response["policyDocument"]
        whole_api = exact_whole_api and _lists_every_route(cached, case)
        for second_method, second_path, second in routed:  # cached per token: every request
            answer = evaluate(cached, f"{ARN_PREFIX}/{second_method}/{_path(second_path)}")
            if answer is Iam.ALLOW:
                assert case.covered(second, granted), (raw_path, second_method, second_path, granted)
            elif whole_api and is_canonical(second_path) and case.covered(second, granted):
                pytest.fail(f"canonical {second_method} {second_path} denied by the whole-API answer")


def _lists_every_route(document: dict[str, Any], case: Case) -> bool:
    resources = {r for statement in document["Statement"] for r in statement["Resource"]}
    return all(f"{ARN_PREFIX}/{route.method}/{route.resource}" in resources for route in case.policy.routes)


class Headers(dict[frozenset[str], str]):
    """``Authorization`` values by scope set (shown as a count, not as tokens, in failure reports)."""

    def __repr__(self) -> str:
        return f"<{len(self)} signed tokens>"


@pytest.fixture(scope="module")
def headers(token: TokenFactory) -> Headers:
    """One signed token per scope set, signed once (signing is the slow part)."""
    return Headers({granted: bearer(token(scope=" ".join(sorted(granted)))) for granted in SCOPE_SETS})


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(api=st.one_of(apis(), resource_families()), granted=st.sampled_from(SCOPE_SETS))
def test_no_spelling_changes_a_per_route_answer(
    api: tuple[dict[str, list[str]], list[tuple[str, str]]],
    granted: frozenset[str],
    make_authorizer: AuthorizerFactory,
    headers: Headers,
) -> None:
    mapping, api_routes = api
    case = Case(mapping, make_authorizer)
    check_rest_request(case, api_routes, headers[granted], granted)
    check_http_api(case, api_routes, headers[granted], granted)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(api=st.one_of(apis(), resource_families()), granted=st.sampled_from(SCOPE_SETS))
@example(  # issue 12: /orders/{id} and /orders/{id}/items on one scope, /orders/{id}/payments on another
    api=(
        {"GET /a/{p0}": ["s1"], "GET /a/{p0}/a": ["s1"], "GET /a/{p0}/b": ["s2"]},
        [("GET", "/a/{p0}"), ("GET", "/a/{p0}/a"), ("GET", "/a/{p0}/b")],
    ),
    granted=frozenset({"s1"}),
)
def test_no_spelling_changes_a_whole_api_answer(
    api: tuple[dict[str, list[str]], list[tuple[str, str]]],
    granted: frozenset[str],
    make_authorizer: AuthorizerFactory,
    headers: Headers,
) -> None:
    mapping, api_routes = api
    # A TOKEN event carries no resource: the map must list every route of the API (docs/authorizer.md).
    mapped = [(method, template) for method, template in api_routes if f"{method} {template}" in mapping]
    check_rest_token(Case(mapping, make_authorizer), mapped, headers[granted], granted)


# -- the cases issue 12 reported ---------------------------------------------------------------------------
SIBLINGS = {
    "GET /orders/{id}": ["orders:read"],
    "GET /orders/{id}/items": ["orders:read"],
    "GET /orders/{id}/payments": ["payments:read"],
}


@pytest.mark.parametrize(
    "spelling", ["orders/1/payments", "orders/1/payments/", "orders//1/payments", "orders/1/p%61yments"]
)
def test_a_sibling_sub_resource_needing_another_scope_is_never_opened_by_a_spelling(
    spelling: str, make_authorizer: AuthorizerFactory, token: TokenFactory
) -> None:
    # Issue 12: a token with only orders:read got 200 on GET /orders/1/payments/ (trailing slash).
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(SIBLINGS))
    header = bearer(token(scope="orders:read"))
    arn = f"{ARN_PREFIX}/GET/{spelling}"
    for first in ("orders/1", "orders/1/items", spelling):  # whatever request filled the cache
        answer = authorizer.decide(token_event(header, "GET", first)).response
        assert answer is not None
        assert evaluate(answer["policyDocument"], arn) is not Iam.ALLOW, (first, spelling)
    per_route = authorizer.decide(request_event(header, "GET", spelling, "/orders/{id}/payments"))
    assert per_route.outcome is Outcome.DENY
    assert per_route.response is not None
    assert evaluate(per_route.response["policyDocument"], arn) is not Iam.ALLOW
