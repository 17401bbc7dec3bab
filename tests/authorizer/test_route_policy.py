"""RoutePolicy: the route map's validation, and policies that are right for every route when cached.

Plans are evaluated with local.iam_policy (IAM's rules: ``*`` matches across ``/``, an explicit
Deny beats any Allow, no statement means deny), written independently of the code under test.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from local.iam_policy import Decision, evaluate
from partnerauth.errors import ConfigurationError
from partnerauth.route_policy import MAX_ROUTES, SPELLING_GUARDS, PolicyPlan, Route, RoutePolicy

from .conftest import ARN_PREFIX, ROUTE_SCOPES

SCOPES = ("orders:read", "orders:write", "inventory:read")


def document(plan: PolicyPlan | None) -> dict[str, Any]:
    assert plan is not None, "this map has whole-API answers"
    statements = []
    if plan.allow:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": [f"{ARN_PREFIX}/{m}/{r}" for m, r in plan.allow],
            }
        )
    if plan.deny:
        statements.append(
            {
                "Effect": "Deny",
                "Action": "execute-api:Invoke",
                "Resource": [f"{ARN_PREFIX}/{m}/{r}" for m, r in plan.deny],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


_DOCUMENTS: dict[int, tuple[PolicyPlan, dict[str, Any]]] = {}


def allows(plan: PolicyPlan | None, method: str, path: str) -> bool:
    assert plan is not None, "this map has whole-API answers"
    cached = _DOCUMENTS.get(id(plan))
    if cached is None or cached[0] is not plan:
        cached = _DOCUMENTS[id(plan)] = (plan, document(plan))
    return evaluate(cached[1], f"{ARN_PREFIX}/{method}/{path}") is Decision.ALLOW


def scope_sets(scopes: tuple[str, ...]) -> list[frozenset[str]]:
    return [frozenset(c) for n in range(len(scopes) + 1) for c in itertools.combinations(scopes, n)]


@pytest.fixture(scope="module")
def sample() -> RoutePolicy:
    return RoutePolicy.from_json(json.dumps(ROUTE_SCOPES))


# -- the sample API under a cached policy -----------------------------------------------------------
REQUESTS = {  # concrete requests to each route of the sample API
    "GET /orders": [("GET", "orders")],
    "GET /orders/{id}": [("GET", "orders/42"), ("GET", "orders/abc-DEF_1.2"), ("GET", "orders/orders")],
    "POST /orders": [("POST", "orders")],
    "GET /inventory": [("GET", "inventory")],
}
NOT_ROUTES = [  # requests to no route of the map: never allowed, whatever the scopes
    ("GET", "orders/42/secret"),
    ("GET", "orders/42/items/7"),
    ("GET", "orders/"),
    ("GET", "orders//x"),
    ("GET", ""),
    ("GET", "inventory/1"),
    ("GET", "admin"),
    ("DELETE", "orders/42"),
    ("PUT", "orders"),
    ("POST", "orders/42"),
    ("HEAD", "orders"),
    ("GET", "Orders"),
]


@pytest.mark.parametrize("granted", scope_sets(SCOPES), ids=lambda s: "+".join(sorted(s)) or "none")
def test_a_cached_policy_answers_every_route_of_the_sample_api(
    sample: RoutePolicy, granted: frozenset[str]
) -> None:
    # Given the policy a token with these scopes gets, cached by API Gateway for every route,
    plan = sample.plan(granted)
    for key, requests in REQUESTS.items():
        required = frozenset(ROUTE_SCOPES[key])
        for method, path in requests:
            # then each route is allowed exactly when its scopes are covered (RFC 6750 §3.1) ...
            assert allows(plan, method, path) is (required <= granted), (key, path)
    # ... and requests to routes outside the map never are.
    for method, path in NOT_ROUTES:
        assert not allows(plan, method, path), (method, path)


def test_a_route_the_scopes_do_not_cover_is_denied_explicitly(sample: RoutePolicy) -> None:
    plan = sample.plan({"orders:read"})
    document_ = document(plan)
    # RFC 6750 §3.1 insufficient_scope: explicit Deny, so API Gateway answers 403.
    assert evaluate(document_, f"{ARN_PREFIX}/POST/orders") is Decision.EXPLICIT_DENY
    assert evaluate(document_, f"{ARN_PREFIX}/GET/inventory") is Decision.EXPLICIT_DENY
    # The wildcard of GET /orders/{id} does not reach deeper paths.
    assert evaluate(document_, f"{ARN_PREFIX}/GET/orders/1/secret") is Decision.EXPLICIT_DENY


def test_the_policy_never_denies_everything_with_a_catch_all(sample: RoutePolicy) -> None:
    plan = sample.plan(set(SCOPES))
    assert plan is not None
    # The only any-method denies are the spelling guards, none of which matches a canonical path.
    assert [deny for deny in plan.deny if "*" in deny[0]] == list(SPELLING_GUARDS)
    assert ("GET", "*") not in plan.deny
    assert {key: allows(plan, *requests[0]) for key, requests in REQUESTS.items()} == dict.fromkeys(
        REQUESTS, True
    )


def test_a_token_without_any_route_gets_deny_statements_only(sample: RoutePolicy) -> None:
    plan = sample.plan(set())
    assert plan is not None
    assert plan.allow == ()
    assert {f"{m} /{r}" for m, r in plan.deny if m != "*"} == {
        "GET /orders",
        "GET /orders/*",
        "POST /orders",
        "GET /inventory",
    }


def test_plans_are_computed_once_per_set_of_allowed_routes(sample: RoutePolicy) -> None:
    assert sample.plan({"orders:read", "unrelated"}) is sample.plan({"orders:read"})


# -- nesting: the cases wildcards make hard ----------------------------------------------------------
NESTED = {
    "GET /orders/{id}": ["orders:read"],
    "GET /orders/{id}/items": ["items:read"],
    "GET /orders/{id}/items/{item}": ["items:read"],
    "POST /orders/{id}/notes": ["notes:write"],
    "GET /exports/{year}/{month}": ["orders:export"],
    "GET /": [],
}


@pytest.mark.parametrize(
    "granted",
    scope_sets(("orders:read", "items:read", "notes:write", "orders:export")),
    ids=lambda s: "+".join(sorted(s)) or "none",
)
def test_nested_routes_each_get_their_own_answer(granted: frozenset[str]) -> None:
    policy = RoutePolicy.from_json(json.dumps(NESTED))
    plan = policy.plan(granted)
    requests = {
        "GET /orders/{id}": ["orders/1", "orders/items", "orders/notes"],
        "GET /orders/{id}/items": ["orders/1/items", "orders/export/items"],
        "GET /orders/{id}/items/{item}": ["orders/1/items/2", "orders/notes/items/items"],
        "POST /orders/{id}/notes": ["orders/1/notes", "orders/items/notes"],
        "GET /exports/{year}/{month}": ["exports/2026/11"],
        "GET /": [""],
    }
    for key, paths in requests.items():
        method = key.split(" ")[0]
        for path in paths:
            assert allows(plan, method, path) is (frozenset(NESTED[key]) <= granted), (key, path)


def test_a_root_route_and_a_parameter_route_are_told_apart() -> None:
    policy = RoutePolicy.from_json('{"GET /": ["root"], "GET /{page}": ["pages"]}')
    assert allows(policy.plan({"pages"}), "GET", "about")
    assert not allows(policy.plan({"pages"}), "GET", "")
    assert allows(policy.plan({"root"}), "GET", "")
    assert not allows(policy.plan({"root"}), "GET", "about")


# -- a property: for any map RoutePolicy accepts, every cached plan is exact --------------------------
VALUES = ("a", "b", "x")
segment_strategy = st.sampled_from(["a", "b", "{p}", "{p}"])  # parameters nest, and nesting is the hard part


@st.composite
def route_maps(draw: st.DrawFn) -> dict[str, list[str]]:
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["GET", "GET", "POST"]), st.lists(segment_strategy, min_size=0, max_size=3)
            ),
            min_size=1,
            max_size=6,
        )
    )
    result: dict[str, list[str]] = {}
    for method, segments in keys:
        names = iter(f"{{p{i}}}" for i in range(10))
        path = "/" + "/".join(next(names) if s == "{p}" else s for s in segments)
        result[f"{method} {path}"] = sorted(draw(st.sets(st.sampled_from(["s1", "s2", "s3"]), max_size=2)))
    return result


def fillings(route: Route) -> list[str]:
    options = [[s] if isinstance(s, str) else list(VALUES) for s in route.segments]
    return ["/".join(values) for values in itertools.product(*options)]


PROBES = ["/".join(p) for n in range(5) for p in itertools.product(VALUES, repeat=n)] + [
    "a/",
    "a/b/",
    "x/",
    "a//b",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=route_maps())
@example(mapping={"GET /{p0}": ["s1"], "GET /{p0}/{p1}": ["s2"], "GET /{p0}/{p1}/a": ["s1"]})  # no plans
def test_any_accepted_map_gets_exact_answers_for_its_routes(mapping: dict[str, list[str]]) -> None:
    shapes = [(key.split(" ")[0], re.sub(r"\{[^}]*\}", "{}", key.split(" ")[1])) for key in mapping]
    if len(set(shapes)) != len(shapes):
        # The only map refused: two keys for one API Gateway route (parameters named differently).
        with pytest.raises(ConfigurationError, match="are the same route"):
            RoutePolicy.from_json(json.dumps(mapping))
        return
    policy = RoutePolicy.from_json(json.dumps(mapping))
    if policy.whole_api_problem is not None:
        # No whole-API answers (TOKEN events get one-request answers); test_path_spellings.py covers
        # the per-route answers of every map.
        assert policy.plan({"s1", "s2", "s3"}) is None
        return
    for granted in scope_sets(("s1", "s2", "s3")):
        plan = policy.plan(granted)
        assert plan is not None
        known: set[tuple[str, str]] = set()
        for route in policy.routes:
            for path in fillings(route):
                known.add((route.method, path))
                # Every request to a route of the map: allowed exactly when its scopes are held.
                assert allows(plan, route.method, path) is (route.scopes <= granted), (
                    route.key,
                    path,
                    granted,
                )
        open_nesting = _allowed_wildcard_route_with_allowed_route_below(policy, plan)
        for method in ("GET", "POST"):
            for path in PROBES:
                if (method, path) not in known and allows(plan, method, path):
                    # Requests to no route of the map are denied, except (documented limit) below
                    # the wildcard of an allowed route that has an allowed route nested under it.
                    assert open_nesting, (method, path, granted)


def _allowed_wildcard_route_with_allowed_route_below(policy: RoutePolicy, plan: PolicyPlan) -> bool:
    from partnerauth.route_policy import covers

    return any(
        outer is not inner and outer.method == inner.method and covers(outer.segments, inner)
        for outer in plan.allowed
        for inner in plan.allowed
    )


# -- validation of the map ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ("{}", "at least one route"),
        ('{"GET /a": ["x"], "GET /a": ["y"]}', "appears twice"),
        ('{"GET/orders": ["x"]}', "keys look like"),
        ('{"GET  /orders": ["x"]}', "keys look like"),
        ('{"get /orders": ["x"]}', "method must be ANY or one of"),
        ('{"GET /orders/{p+}/x": ["x"]}', "greedy"),
        ('{"GET /a/../b": ["x"]}', "segments are literals"),
        ('{"GET /a/.": ["x"]}', "segments are literals"),
        ('{"GET orders": ["x"]}', "must start with '/'"),
        ('{"GET /orders/": ["x"]}', "not end with one"),
        ('{"GET /orders//x": ["x"]}', "segments are literals"),
        ('{"GET /orders/*": ["x"]}', "segments are literals"),
        ('{"GET /ord?rs": ["x"]}', "segments are literals"),
        ('{"GET /a~b": ["x"]}', "segments are literals"),
        ('{"GET /orders/{id}/{id}": ["x"]}', "appears twice"),
        ('{"GET /orders": "orders:read"}', "list of at most"),
        ('{"GET /orders": ["orders read"]}', "RFC 6749"),
        ('{"GET /orders": ["say \\"hi\\""]}', "RFC 6749"),
        ('{"GET /orders": ["back\\\\slash"]}', "RFC 6749"),
        ('{"GET /orders": [""]}', "RFC 6749"),
        ('{"GET /orders": [7]}', "RFC 6749"),
        ('{"GET /orders": ["caf\\u00e9"]}', "RFC 6749"),
        ('{"GET /orders/{id}": ["a"], "GET /orders/{oid}": ["a"]}', "are the same route"),
    ],
)
def test_a_route_map_that_cannot_work_is_refused_at_start(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RoutePolicy.from_json(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"ANY /orders": ["x"]}', "ANY or greedy"),
        ('{"GET /orders/{proxy+}": ["x"]}', "ANY or greedy"),
        ('{"GET /orders/{id}": ["a"], "GET /orders/summary": ["b"]}', "match the same requests"),
        (
            '{"GET /files/{f}": ["r"], "GET /files/{f}/{v}": ["s"], "GET /files/{f}/{v}/meta": ["r"]}',
            "reaches",
        ),
        (  # orders/*/notes also matches orders/1/items/notes (item = "notes")
            (
                '{"GET /orders/{id}": ["o"], "GET /orders/{id}/notes": ["n"], '
                '"GET /orders/{id}/items/{item}": ["i"]}'
            ),
            "reaches",
        ),
    ],
)
def test_a_map_without_exact_whole_api_answers_is_accepted_for_per_route_answers(
    text: str, problem: str
) -> None:
    # API Gateway routes these maps; IAM wildcards cannot answer for all their routes at once.
    policy = RoutePolicy.from_json(text)
    assert policy.whole_api_problem is not None
    assert problem in policy.whole_api_problem
    assert policy.plan({"a", "b", "x", "r", "s", "o", "n", "i"}) is None
    for route in policy.routes:
        method = "*" if route.method == "ANY" else route.method
        assert policy.route_plan(route, allowed=True).allow == ((method, route.resource),)


def test_too_many_routes_are_refused() -> None:
    mapping = {f"GET /r{i}": ["s"] for i in range(MAX_ROUTES + 1)}
    with pytest.raises(ConfigurationError, match="at most"):
        RoutePolicy.from_mapping(mapping)


def test_a_nested_route_with_the_scopes_of_its_parent_is_accepted() -> None:
    # The middle route needs nothing the outer one does not: no token can be refused it while
    # holding both others, so no deny has to be left out.
    RoutePolicy.from_json(
        '{"GET /files/{f}": ["r"], "GET /files/{f}/{v}": ["r"], "GET /files/{f}/{v}/meta": ["s"]}'
    )


def test_a_route_may_need_no_scope() -> None:
    policy = RoutePolicy.from_json('{"GET /health": []}')
    assert allows(policy.plan(set()), "GET", "health")


# -- lookups ------------------------------------------------------------------------------------------
def test_requests_are_matched_to_their_route(sample: RoutePolicy) -> None:
    found = sample.route_for_request("GET", "orders/42")
    assert found is not None
    assert found.key == "GET /orders/{id}"
    assert sample.route_for_request("GET", "orders/42/x") is None
    assert sample.route_for_request("GET", "orders/") is None
    assert sample.route_for_request("DELETE", "orders") is None


def test_templates_are_matched_whatever_the_parameter_is_called(sample: RoutePolicy) -> None:
    assert sample.required_scopes("GET", "/orders/{orderId}") == frozenset({"orders:read"})
    assert sample.required_scopes("POST", "/orders") == frozenset({"orders:write"})
    assert sample.required_scopes("GET", "/unknown") is None
    assert sample.required_scopes("$default", "") is None
    assert sample.route_for_template("GET", "/orders/{proxy+}") is None


def test_allowed_routes_are_those_whose_scopes_are_all_held(sample: RoutePolicy) -> None:
    keys = {route.key for route in sample.allowed_routes({"orders:read", "inventory:read", "other"})}
    assert keys == {"GET /orders", "GET /orders/{id}", "GET /inventory"}
