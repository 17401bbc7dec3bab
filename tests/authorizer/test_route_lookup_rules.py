"""Finding a request's route, rule by rule: only canonical paths are looked up, a greedy ``{proxy+}``
needs at least one segment, an exact method wins over ``ANY`` and ``ANY`` answers the rest, and a
route's answer names exactly that route.

Written to kill the mutants `make mutate` found alive in route_map.py / route_policy.py (issue 20
item 2): each of these, broken, widens or narrows what a token reaches.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.iam_policy import Decision, evaluate
from partnerauth.errors import ConfigurationError
from partnerauth.route_map import MAX_ROUTES, MAX_SCOPES_PER_ROUTE, MAX_SEGMENTS
from partnerauth.route_policy import MAX_WHOLE_API_ROUTES, PolicyPlan, Route, RoutePolicy, is_canonical_path

from .conftest import ARN_PREFIX


def key_of(route: Route | None) -> str | None:
    return None if route is None else route.key


# -- canonical paths (docs/authorizer.md, "Path spellings") ----------------------------------------


@pytest.mark.parametrize("path", ["", "orders", "orders/42", "a/b/c", "orders/4.2", "orders/..x", "x y/z"])
def test_a_canonical_path_is_accepted(path: str) -> None:
    assert is_canonical_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "orders/",  # a trailing slash: an empty last segment
        "/orders",  # an empty first segment
        "orders//42",
        "orders/./42",  # RFC 3986 §3.3 dot-segments
        "orders/../admin",
        ".",
        "..",
        "orders/%34%32",  # percent-encoding: another spelling of orders/42
        "%",
    ],
)
def test_any_other_spelling_of_a_path_is_not_canonical(path: str) -> None:
    assert not is_canonical_path(path)


@given(st.lists(st.sampled_from(["a", "42", "", ".", "..", "%2F", "b c"]), min_size=1, max_size=5))
def test_a_path_is_canonical_exactly_when_no_segment_is_empty_a_dot_segment_or_percent_encoded(
    segments: list[str],
) -> None:
    path = "/".join(segments)
    expected = path == "" or all(s not in ("", ".", "..") and "%" not in s for s in segments)
    assert is_canonical_path(path) is expected


def test_a_spelling_that_is_not_canonical_finds_no_route() -> None:
    policy = RoutePolicy.from_mapping({"GET /orders/{id}": ["orders:read"]})
    assert policy.route_for_request("GET", "orders/42") is not None
    for spelling in ("orders/42/", "orders//42", "orders/./42", "orders/%34%32"):
        assert policy.route_for_request("GET", spelling) is None


# -- greedy routes ---------------------------------------------------------------------------------


def test_a_greedy_route_needs_at_least_one_segment_below_it() -> None:
    policy = RoutePolicy.from_mapping({"GET /files/{proxy+}": ["files:read"]})
    assert key_of(policy.route_for_request("GET", "files/a/b")) == "GET /files/{proxy+}"
    assert key_of(policy.route_for_request("GET", "files/a")) == "GET /files/{proxy+}"
    assert policy.route_for_request("GET", "files") is None


def test_a_greedy_route_beside_an_exact_one_answers_only_below_it() -> None:
    policy = RoutePolicy.from_mapping({"GET /files": ["list"], "GET /files/{proxy+}": ["read"]})
    assert key_of(policy.route_for_request("GET", "files")) == "GET /files"
    assert key_of(policy.route_for_request("GET", "files/x")) == "GET /files/{proxy+}"


# -- methods: exact before ANY, ANY for the rest ---------------------------------------------------


MAP = {
    "GET /orders/{id}": ["orders:read"],
    "ANY /orders/{id}": ["orders:admin"],
    "GET /orders/{id}/items": ["items:read"],
}


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "orders/42", "GET /orders/{id}"),
        ("DELETE", "orders/42", "ANY /orders/{id}"),  # two candidates: ANY answers a method it lacks
        ("POST", "orders/42", "ANY /orders/{id}"),
        ("GET", "orders/42/items", "GET /orders/{id}/items"),
    ],
)
def test_the_exact_method_wins_and_any_answers_the_other_methods(method: str, path: str, key: str) -> None:
    policy = RoutePolicy.from_mapping(MAP)
    assert key_of(policy.route_for_request(method, path)) == key


def test_a_method_with_neither_its_own_route_nor_any_finds_none() -> None:
    policy = RoutePolicy.from_mapping(MAP)
    assert policy.route_for_request("POST", "orders/42/items") is None


@pytest.mark.parametrize(
    ("method", "template", "key"),
    [
        ("GET", "/orders/{id}", "GET /orders/{id}"),
        ("PATCH", "/orders/{id}", "ANY /orders/{id}"),  # API Gateway routed PATCH to the ANY route
        ("POST", "/orders/{id}/items", None),
        ("GET", "orders", None),  # not a template: no route
    ],
)
def test_a_template_finds_its_exact_method_route_else_its_any_route(
    method: str, template: str, key: str | None
) -> None:
    policy = RoutePolicy.from_mapping(MAP)
    assert key_of(policy.route_for_template(method, template)) == key


# -- a route's answer ------------------------------------------------------------------------------


def test_a_route_plan_names_exactly_the_route_it_allows_and_none_when_it_denies() -> None:
    policy = RoutePolicy.from_mapping(MAP)
    route = policy.route_for_template("GET", "/orders/{id}")
    assert route is not None
    allowed = policy.route_plan(route, allowed=True)
    denied = policy.route_plan(route, allowed=False)
    assert allowed.allowed == frozenset({route})
    assert denied.allowed == frozenset()
    assert denied.allow == ()
    assert denied.deny == (("GET", "orders/*"),)
    # asked again: the same answers
    assert policy.route_plan(route, allowed=True) == allowed
    assert policy.route_plan(route, allowed=False) == denied


def policy_document(plan: PolicyPlan) -> dict[str, Any]:
    def resources(pairs: tuple[tuple[str, str], ...]) -> list[str]:
        return [f"{ARN_PREFIX}/{method}/{resource}" for method, resource in pairs]

    statements = [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resources(plan.allow)}]
    if plan.deny:
        statements.append(
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": resources(plan.deny)}
        )
    return {"Version": "2012-10-17", "Statement": statements}


@pytest.mark.parametrize(
    ("template", "requests", "refused"),
    [
        ("/files/{id}/{proxy+}", ["files/a/b", "files/a/b/c", "files/a/b/c/d/e"], ["files/a/", "files//b"]),
        ("/{tenant}/{proxy+}", ["t/x", "t/x/y/z"], ["t/"]),  # "//x": not canonical, left to the lookup
        ("/files/{proxy+}", ["files/a", "files/a/b/c"], ["files/"]),
        ("/files/{id}/meta", ["files/a/meta"], ["files//meta", "files/a/b/meta", "files/a/meta/x"]),
        ("/files/{id}", ["files/a"], ["files/", "files/a/b"]),
        ("/{tenant}", ["t"], ["", "t/x"]),
    ],
)
def test_an_allowed_route_opens_its_canonical_requests_and_no_empty_or_deeper_segment(
    template: str, requests: list[str], refused: list[str]
) -> None:
    # a {p} spans no "/" and matches no empty segment; a greedy {p+} reaches any depth by design, so its
    # plan must not deny a deeper canonical request
    policy = RoutePolicy.from_mapping({f"GET {template}": ["files:read"]})
    route = policy.route_for_template("GET", template)
    assert route is not None
    document = policy_document(policy.route_plan(route, allowed=True))
    for path in requests:
        assert evaluate(document, f"{ARN_PREFIX}/GET/{path}") is Decision.ALLOW, path
    for path in refused:
        assert evaluate(document, f"{ARN_PREFIX}/GET/{path}") is not Decision.ALLOW, path


# -- whole-API answers -----------------------------------------------------------------------------


def literal_routes(count: int) -> dict[str, list[str]]:
    return {f"GET /r{index}": [f"s{index}"] for index in range(count)}


def test_a_map_of_exactly_the_whole_api_limit_has_whole_api_answers() -> None:
    policy = RoutePolicy.from_mapping(literal_routes(MAX_WHOLE_API_ROUTES))
    assert policy.whole_api_problem is None
    assert policy.plan({"s0"}) is not None


def test_a_map_over_the_whole_api_limit_has_none() -> None:
    policy = RoutePolicy.from_mapping(literal_routes(MAX_WHOLE_API_ROUTES + 1))
    assert policy.whole_api_problem == f"more than {MAX_WHOLE_API_ROUTES} routes"
    assert policy.plan({"s0"}) is None


def test_a_route_between_two_whose_scopes_it_needs_together_still_has_whole_api_answers() -> None:
    # outer's pattern reaches inner, whose pattern reaches deeper: a token holding outer's and deeper's
    # scopes but not inner's would open inner, unless inner needs no more than those two together
    mapping = {"GET /a/{x}": ["o"], "GET /a/{y}/c": ["o", "d"], "GET /a/b/{z}/c": ["d"]}
    assert RoutePolicy.from_mapping(mapping).whole_api_problem is None
    mapping["GET /a/{y}/c"] = ["o", "d", "i"]
    assert RoutePolicy.from_mapping(mapping).whole_api_problem is not None


@pytest.mark.parametrize(
    "mapping",
    [
        {"GET /a/{x}": ["s1"], "GET /a/b": ["s2"]},  # a/b is a request to both
        {"GET /a/b": ["s2"], "GET /a/{x}": ["s1"]},
    ],
)
def test_two_routes_matching_one_request_have_no_whole_api_answers(mapping: dict[str, list[str]]) -> None:
    problem = RoutePolicy.from_mapping(mapping).whole_api_problem
    assert problem is not None
    assert problem.endswith("match the same requests")


@pytest.mark.parametrize(
    "mapping",
    [
        {"GET /": ["root"], "GET /{page}": ["pages"]},  # a parameter never matches the root's empty segment
        {"GET /{page}": ["pages"], "GET /": ["root"]},
    ],
)
def test_the_root_and_a_parameter_beside_it_are_different_requests(mapping: dict[str, list[str]]) -> None:
    assert RoutePolicy.from_mapping(mapping).whole_api_problem is None


# -- what a route map may hold ---------------------------------------------------------------------


def test_a_map_at_every_size_limit_is_accepted() -> None:
    deepest = "/" + "/".join(f"s{index}" for index in range(MAX_SEGMENTS))
    scopes = [f"scope{index}" for index in range(MAX_SCOPES_PER_ROUTE)]
    policy = RoutePolicy.from_mapping({f"GET {deepest}": scopes})
    assert key_of(policy.route_for_template("GET", deepest)) == f"GET {deepest}"
    assert (
        len(RoutePolicy.from_mapping({f"GET /r{index}": ["s"] for index in range(MAX_ROUTES)})) == MAX_ROUTES
    )


@pytest.mark.parametrize(
    "mapping",
    [
        {"GET /" + "/".join(["s"] * (MAX_SEGMENTS + 1)): ["s"]},
        {"GET /a": [f"scope{index}" for index in range(MAX_SCOPES_PER_ROUTE + 1)]},
        {f"GET /r{index}": ["s"] for index in range(MAX_ROUTES + 1)},
        {"GET /a\tb": ["s"]},  # a key splits on its one space only: the tab is refused in the path
    ],
)
def test_a_map_beyond_a_limit_or_with_a_bad_key_is_refused_as_configuration(
    mapping: dict[str, list[str]],
) -> None:
    with pytest.raises(ConfigurationError):
        RoutePolicy.from_mapping(mapping)
