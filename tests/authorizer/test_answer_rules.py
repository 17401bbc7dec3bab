"""The rules every authorizer answer keeps, over generated route maps (issue 20: four mutants survived).

* A route needs **all** of its scopes (RFC 6750 §3.1 ``insufficient_scope`` otherwise), in every answer
  form: REST REQUEST and TOKEN policies, HTTP API simple responses and HTTP API policies.
* A request to no route of the map is never allowed by its own answer: a TOKEN answer denies that
  exact method ARN, even when the wildcard of an allowed route reaches it.
* The policy-document cache is invisible: an answer built once and reused is the answer a fresh
  authorizer gives for the same event, whatever the stage, API or account of the ARN, and whatever the
  scopes of the caller before.

Generated maps have routes needing zero to three scopes (so "any of its scopes" and "all of its scopes"
differ); policies are evaluated with ``local.iam_policy`` (IAM's rules, independent of the code under test)
and requests are routed with ``local.routing`` (API Gateway's model).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from authorizer.decision import Authorizer, Outcome
from local.iam_policy import Decision as Iam
from local.iam_policy import evaluate
from local.routing import route_rest
from partnerauth.route_policy import RoutePolicy

from .conftest import AuthorizerFactory, TokenFactory, bearer, http_event, request_event, token_event

SCOPES = ("s1", "s2", "s3")
SCOPE_SETS = [frozenset(c) for n in range(len(SCOPES) + 1) for c in itertools.combinations(SCOPES, n)]
VALUES = ("a", "b", "x")
REST_PREFIXES = (
    "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev",
    "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/prod",
    "arn:aws:execute-api:us-east-1:123456789012:otherapi22/dev",
    "arn:aws:execute-api:eu-west-1:123456789012:sampleapi1/dev",
    "arn:aws:execute-api:us-east-1:210987654321:sampleapi1/dev",
)
HTTP_PREFIXES = (
    "arn:aws:execute-api:us-east-1:123456789012:httpapi123/$default",
    "arn:aws:execute-api:us-east-1:123456789012:httpapi123/prod",
)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Headers(dict[frozenset[str], str]):
    """``Authorization`` values by scope set (shown as a count, not as tokens, in failure reports)."""

    def __repr__(self) -> str:
        return f"<{len(self)} signed tokens>"


@pytest.fixture(scope="module")
def headers(token: TokenFactory) -> Headers:
    return Headers({granted: bearer(token(scope=" ".join(sorted(granted)))) for granted in SCOPE_SETS})


# -- generated maps ------------------------------------------------------------------------------------


@st.composite
def route_maps(draw: st.DrawFn) -> dict[str, list[str]]:
    """Up to six routes, nested literals and parameters, each needing zero to three scopes."""
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["GET", "GET", "POST"]),
                st.lists(st.sampled_from(["a", "b", "{p}", "{p}"]), min_size=0, max_size=3),
            ),
            min_size=1,
            max_size=6,
        )
    )
    mapping: dict[str, list[str]] = {}
    shapes: set[tuple[str, str]] = set()
    for method, segments in keys:
        names = iter(f"{{p{i}}}" for i in range(10))
        path = "/" + "/".join(next(names) if s == "{p}" else s for s in segments)
        shape = (method, re.sub(r"\{[^}]*\}", "{}", path))
        if shape in shapes:
            continue  # one key per API Gateway route
        shapes.add(shape)
        mapping[f"{method} {path}"] = sorted(draw(st.sets(st.sampled_from(SCOPES), max_size=3)))
    return mapping


def concrete(template: str) -> str:
    """A canonical request path for a template (no leading slash, as in a method ARN)."""
    if template == "/":
        return ""
    return "/".join("v1" if s.startswith("{") else s for s in template[1:].split("/"))


def routes_of(mapping: dict[str, list[str]]) -> list[tuple[str, str, frozenset[str]]]:
    """(method, template, scopes) read from the map's text, not through the code under test."""
    routes = []
    for key, scopes in mapping.items():
        method, template = key.split(" ")
        routes.append((method, template, frozenset(scopes)))
    return routes


def authorizers(make_authorizer: AuthorizerFactory, mapping: dict[str, list[str]]) -> tuple[Authorizer, ...]:
    text = json.dumps(mapping)
    return make_authorizer(ROUTE_SCOPES=text), make_authorizer(ROUTE_SCOPES=text, HTTP_API_RESPONSE="policy")


def with_prefix(event: dict[str, Any], key: str, prefix: str) -> dict[str, Any]:
    method_and_path = event[key].split("/", 2)[2]  # after "{api}/{stage}/"
    event[key] = f"{prefix}/{method_and_path}"
    return event


def iam(answer: dict[str, Any] | None, arn: str) -> Iam:
    assert answer is not None
    return evaluate(answer["policyDocument"], arn)


# -- a route needs all of its scopes ---------------------------------------------------------------------


@SETTINGS
@given(mapping=route_maps(), granted=st.sampled_from(SCOPE_SETS))
@example(mapping={"GET /a": ["s1", "s2"]}, granted=frozenset({"s1"}))
def test_a_route_is_open_only_to_a_token_holding_every_one_of_its_scopes(
    make_authorizer: AuthorizerFactory,
    headers: Headers,
    mapping: dict[str, list[str]],
    granted: frozenset[str],
) -> None:
    simple, policy_form = authorizers(make_authorizer, mapping)
    header = headers[granted]
    prefix = REST_PREFIXES[0]
    for method, template, scopes in routes_of(mapping):
        # RFC 6750 §3.1: a token without every scope the route needs is insufficient
        expected = scopes <= granted
        outcome = Outcome.ALLOW if expected else Outcome.DENY
        path = concrete(template)
        arn = f"{prefix}/{method}/{path}"

        rest = simple.decide(request_event(header, method, path, template))
        assert (rest.outcome, iam(rest.response, arn) is Iam.ALLOW) == (outcome, expected), (
            template,
            granted,
        )

        token = simple.decide(token_event(header, method, path, prefix))
        assert (token.outcome, iam(token.response, arn) is Iam.ALLOW) == (outcome, expected), (
            template,
            granted,
        )

        event = http_event(header, f"{method} {template}", method, path)
        answer = simple.decide(event)
        assert answer.response is not None
        assert (answer.outcome, answer.response["isAuthorized"]) == (outcome, expected), (template, granted)

        policy = policy_form.decide(event)
        http_arn = event["routeArn"]
        assert (policy.outcome, iam(policy.response, http_arn) is Iam.ALLOW) == (outcome, expected)


# -- a request outside the map -----------------------------------------------------------------------------


def unmapped_requests(mapping: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Canonical requests (method, path) that API Gateway's routing matches to no route of the map."""
    api_routes = [(method, template) for method, template, _ in routes_of(mapping)]
    paths = ["/".join(p) for n in range(5) for p in itertools.product(VALUES, repeat=n)]
    return [
        (method, path)
        for method in ("GET", "POST")
        for path in paths
        if route_rest(api_routes, method, "/" + path) is None
    ]


@SETTINGS
@given(mapping=route_maps(), granted=st.sampled_from(SCOPE_SETS))
@example(mapping={"GET /{p0}": ["s1"], "GET /x/b/a": ["s2"]}, granted=frozenset({"s1", "s2"}))
def test_a_token_answer_never_allows_the_request_outside_the_map_it_was_asked_for(
    make_authorizer: AuthorizerFactory,
    headers: Headers,
    mapping: dict[str, list[str]],
    granted: frozenset[str],
) -> None:
    # Given a map (with or without whole-API answers) and a request to none of its routes, e.g. GET /x/a
    # reached by the pattern GET/* of an allowed GET /{p0}
    simple, _ = authorizers(make_authorizer, mapping)
    prefix = REST_PREFIXES[0]
    for method, path in unmapped_requests(mapping)[::7]:
        # When the TOKEN authorizer answers that request
        decision = simple.decide(token_event(headers[granted], method, path, prefix))
        # Then the answer denies it (explicitly: an allowed wildcard may reach it), and says why
        assert iam(decision.response, f"{prefix}/{method}/{path}") is Iam.EXPLICIT_DENY, (method, path)
        assert (decision.outcome, decision.reason) == (Outcome.DENY, "unknown_route")


def test_a_whole_api_plan_alone_can_allow_a_request_outside_the_map() -> None:
    # The case the property above is about, spelled out: GET/* (for GET /{id}) reaches GET/x/b
    policy = RoutePolicy.from_json(json.dumps({"GET /{id}": ["s1"], "GET /x/b/a": ["s2"]}))
    plan = policy.plan({"s1", "s2"})
    assert plan is not None
    prefix = REST_PREFIXES[0]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": effect,
                "Action": "execute-api:Invoke",
                "Resource": [f"{prefix}/{m}/{p}" for m, p in pairs],
            }
            for effect, pairs in (("Allow", plan.allow), ("Deny", plan.deny))
        ],
    }
    # The whole-API plan alone lets GET/x/b through; only the answer's own deny of that ARN stops it
    assert evaluate(document, f"{prefix}/GET/x/b") is Iam.ALLOW


def test_a_request_or_http_answer_for_a_route_outside_the_map_denies_its_own_arn(
    make_authorizer: AuthorizerFactory, headers: Headers
) -> None:
    simple, policy_form = authorizers(make_authorizer, {"GET /{id}": ["s1"]})
    header = headers[frozenset(SCOPES)]
    rest = simple.decide(request_event(header, "GET", "x/b", "/x/b"))
    assert iam(rest.response, f"{REST_PREFIXES[0]}/GET/x/b") is Iam.EXPLICIT_DENY
    event = http_event(header, "GET /x/b", "GET", "x/b")
    assert simple.decide(event).response == {"isAuthorized": False}
    assert iam(policy_form.decide(event).response, event["routeArn"]) is Iam.EXPLICIT_DENY


# -- the policy-document cache is invisible ----------------------------------------------------------------


@st.composite
def event_sequences(
    draw: st.DrawFn,
) -> tuple[dict[str, list[str]], list[tuple[str, frozenset[str], int, int]]]:
    """A map and requests to its routes: (form, scopes, route index, prefix index) each."""
    mapping = draw(route_maps())
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["request", "token", "http-policy"]),
                st.sampled_from(SCOPE_SETS),
                st.integers(0, len(mapping) - 1),
                st.integers(0, len(REST_PREFIXES) - 1),
            ),
            min_size=2,
            max_size=12,
        )
    )
    return mapping, steps


def event_for(
    form: str, header: str, route: tuple[str, str, frozenset[str]], prefix_index: int
) -> tuple[str, dict[str, Any]]:
    method, template, _ = route
    path = concrete(template)
    if form == "request":
        event = request_event(header, method, path, template)
        return "simple", with_prefix(event, "methodArn", REST_PREFIXES[prefix_index])
    if form == "token":
        return "simple", token_event(header, method, path, REST_PREFIXES[prefix_index])
    event = http_event(header, f"{method} {template}", method, path)
    return "policy", with_prefix(event, "routeArn", HTTP_PREFIXES[prefix_index % len(HTTP_PREFIXES)])


@SETTINGS
@given(case=event_sequences())
@example(
    case=(
        {"GET /a": ["s1"]},
        [("request", frozenset({"s1"}), 0, 0), ("request", frozenset(), 0, 0)],
    )
)
@example(
    case=(
        {"GET /a": ["s1"]},
        [("request", frozenset({"s1"}), 0, 0), ("request", frozenset({"s1"}), 0, 1)],
    )
)
def test_an_answer_from_the_document_cache_is_the_answer_a_fresh_authorizer_gives(
    make_authorizer: AuthorizerFactory,
    headers: Headers,
    case: tuple[dict[str, list[str]], list[tuple[str, frozenset[str], int, int]]],
) -> None:
    mapping, steps = case
    routes = routes_of(mapping)
    warm = dict(zip(("simple", "policy"), authorizers(make_authorizer, mapping), strict=True))
    for form, granted, route_index, prefix_index in steps:
        kind, event = event_for(form, headers[granted], routes[route_index], prefix_index)
        fresh = dict(zip(("simple", "policy"), authorizers(make_authorizer, mapping), strict=True))
        assert warm[kind].decide(event).response == fresh[kind].decide(event).response, (form, granted)


def test_an_answer_built_for_one_stage_is_never_given_for_another(
    make_authorizer: AuthorizerFactory, headers: Headers
) -> None:
    authorizer, _ = authorizers(make_authorizer, {"GET /a": ["s1"], "GET /b": ["s2"]})
    header = headers[frozenset({"s1"})]
    for prefix in REST_PREFIXES:
        for event in (
            with_prefix(request_event(header, "GET", "a", "/a"), "methodArn", prefix),
            token_event(header, "GET", "a", prefix),
        ):
            answer = authorizer.decide(event).response
            assert answer is not None
            resources = [r for s in answer["policyDocument"]["Statement"] for r in s["Resource"]]
            # Every resource names the event's own partition, region, account, API and stage
            assert all(r.startswith(f"{prefix}/") for r in resources), (prefix, resources)


def first_route_event(form: str, header: str) -> dict[str, Any]:
    """GET /a of the first REST stage, as a REQUEST or a TOKEN event."""
    if form == "request":
        return request_event(header, "GET", "a", "/a")
    return token_event(header, "GET", "a", REST_PREFIXES[0])


@pytest.mark.parametrize("form", ["request", "token"])
def test_an_answer_built_for_one_caller_is_never_given_to_a_caller_with_other_scopes(
    make_authorizer: AuthorizerFactory, headers: Headers, form: str
) -> None:
    authorizer, _ = authorizers(make_authorizer, {"GET /a": ["s1"], "GET /b": ["s2"]})
    arn = f"{REST_PREFIXES[0]}/GET/a"
    # Given a first caller holding s1, allowed on GET /a
    first = authorizer.decide(first_route_event(form, headers[frozenset({"s1"})]))
    assert iam(first.response, arn) is Iam.ALLOW
    # When a caller holding only s2 asks for the same route of the same stage
    second = authorizer.decide(first_route_event(form, headers[frozenset({"s2"})]))
    # Then it gets its own answer: denied
    assert (second.outcome, iam(second.response, arn)) == (Outcome.DENY, Iam.EXPLICIT_DENY)


def test_an_http_api_policy_built_for_one_caller_is_never_given_to_a_caller_with_other_scopes(
    make_authorizer: AuthorizerFactory, headers: Headers
) -> None:
    _, policy_form = authorizers(make_authorizer, {"GET /a": ["s1"], "GET /b": ["s2"]})
    event = http_event(headers[frozenset({"s1"})], "GET /a", "GET", "a")
    assert iam(policy_form.decide(event).response, event["routeArn"]) is Iam.ALLOW
    event = http_event(headers[frozenset({"s2"})], "GET /a", "GET", "a")
    assert iam(policy_form.decide(event).response, event["routeArn"]) is Iam.EXPLICIT_DENY
