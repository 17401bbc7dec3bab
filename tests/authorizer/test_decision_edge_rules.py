"""The authorizer's answers at their edges: what a 401 names, the 8 KB answer bound, the bearer header's
own bounds, and how long a stale API profile may still be used.

Written to kill the mutants `make mutate` found alive in decision.py / api_profiles.py (issue 20
item 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from authorizer.decision import (
    MAX_ANSWER_BYTES,
    MAX_HEADER_LENGTH,
    MAX_METHOD_ARN_LENGTH,
    Authorizer,
    Outcome,
    Problem,
    Rejected,
    bearer_token,
    build_authorizer,
)
from authorizer.settings import AuthorizerSettings
from local.iam_policy import Decision as Iam
from local.iam_policy import evaluate
from partnerauth.api_profiles import (
    MAX_ROUTES_BYTES,
    ApiProfileCache,
    ProfileUnavailable,
    parse_profile,
    profile_from_item,
    profile_item,
)
from partnerauth.errors import ConfigurationError, Reason
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey
from tests.support.clock import FakeClock

from .conftest import (
    ARN_PREFIX,
    AUDIENCE,
    ISSUER,
    JWKS_PATH,
    NOW,
    TokenFactory,
    bearer,
    environment,
    http_event,
    request_event,
    token_event,
)

# -- what a 401 names ------------------------------------------------------------------------------


def test_a_rejected_token_names_the_claim_at_fault(authorizer: Authorizer, token: TokenFactory) -> None:
    decision = authorizer.decide(token_event(bearer(token(aud="https://elsewhere.test"))))
    assert (decision.outcome, decision.reason, decision.fault) == (
        Outcome.REJECT,
        Reason.WRONG_AUDIENCE.value,
        "claim.aud",
    )
    assert decision.log_fields()["fault"] == "claim.aud"


def test_a_401_without_a_token_names_no_token_fields(authorizer: Authorizer) -> None:
    decision = authorizer.decide(token_event(None))
    assert (decision.outcome, decision.reason) == (Outcome.REJECT, Problem.MISSING_TOKEN.value)
    assert (decision.kid, decision.jti, decision.client_id, decision.fault) == (None, None, None, None)
    assert set(decision.log_fields()) == {"outcome", "reason"}


# -- the 8 KB answer bound -------------------------------------------------------------------------


def test_an_answer_over_8_kb_is_never_given(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    # a greedy route: no whole-API answer, so a TOKEN event gets a one-request policy naming its long path,
    # and a long subject fills the context: together more than API Gateway takes
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps({"GET /files/{proxy+}": ["s1"]}))
    path = "files/" + "a" * (MAX_METHOD_ARN_LENGTH - len(ARN_PREFIX) - len("/GET/files/"))
    decision = authorizer.decide(token_event(bearer(token(scope="s1", sub="s" * 4000)), "GET", path))
    assert (decision.outcome, decision.reason) == (Outcome.REJECT, Problem.ANSWER_TOO_LARGE.value)
    assert decision.api == "default"
    # a path JSON writes six bytes a character for (the ARN may hold any character but * ? and space)
    escaped = "files/" + "\u00e9" * 1400
    too_large = authorizer.decide(token_event(bearer(token(scope="s1")), "GET", escaped))
    assert (too_large.outcome, too_large.reason) == (Outcome.REJECT, Problem.ANSWER_TOO_LARGE.value)
    # the same request with a short subject fits, and is allowed
    fits = authorizer.decide(token_event(bearer(token(scope="s1")), "GET", path))
    assert fits.outcome is Outcome.ALLOW
    assert fits.response is not None
    assert len(json.dumps(fits.response)) <= MAX_ANSWER_BYTES


def test_a_whole_api_answer_for_an_unmapped_long_path_stays_under_8_kb(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    # the whole-API answer of a 40-route map, plus a deny naming this one unmapped request: too large
    # together, so the answer falls back to the one request (and is measured, never guessed)
    routes = {f"GET /resource-number-{index:03d}/{{id}}": [f"s{index % 2}"] for index in range(40)}
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(routes))
    mapped = authorizer.decide(token_event(bearer(token(scope="s1")), "GET", "resource-number-001/1"))
    assert mapped.outcome is Outcome.ALLOW
    assert mapped.response is not None
    assert len(json.dumps(mapped.response)) > MAX_ANSWER_BYTES - 3500  # the whole-API answer is large
    path = "unmapped/" + "a" * (MAX_METHOD_ARN_LENGTH - len(ARN_PREFIX) - len("/GET/unmapped/"))
    decision = authorizer.decide(token_event(bearer(token(scope="s1")), "GET", path))
    assert decision.outcome is Outcome.DENY
    assert decision.response is not None
    assert len(json.dumps(decision.response)) <= MAX_ANSWER_BYTES


def test_a_route_key_split_by_other_whitespace_is_an_unknown_route_not_a_fault(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer()
    decision = authorizer.decide(http_event(bearer(token()), route_key="GET /orders\t/42"))
    assert decision.outcome is Outcome.DENY
    assert decision.response == {"isAuthorized": False}


# -- a TOKEN request answered for itself alone --------------------------------------------------------

GREEDY_MAP = {"GET /files/{proxy+}": ["files:read"], "GET /admin/{proxy+}": ["admin"]}


def effects(response: dict[str, Any]) -> set[str]:
    return {statement["Effect"] for statement in response["policyDocument"]["Statement"]}


def test_a_one_request_answer_allows_exactly_an_allowed_request_and_meters_it(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    # greedy routes: no whole-API answer, so each TOKEN request is answered for itself
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    decision = authorizer.decide(token_event(bearer(token(scope="files:read")), "GET", "files/a/b"))
    assert (decision.outcome, decision.route) == (Outcome.ALLOW, "GET /files/{proxy+}")
    assert decision.response is not None
    assert effects(decision.response) == {"Allow"}
    assert evaluate(decision.response["policyDocument"], f"{ARN_PREFIX}/GET/files/a/b") is Iam.ALLOW
    assert decision.response["usageIdentifierKey"]  # the usage plan meters the call


def test_a_one_request_answer_for_a_denied_request_allows_nothing(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    decision = authorizer.decide(token_event(bearer(token(scope="files:read")), "GET", "admin/x"))
    assert (decision.outcome, decision.route) == (Outcome.DENY, "GET /admin/{proxy+}")
    assert decision.response is not None
    assert effects(decision.response) == {"Deny"}
    assert evaluate(decision.response["policyDocument"], f"{ARN_PREFIX}/GET/admin/x") is Iam.EXPLICIT_DENY


# -- a REQUEST event's answer for its route ----------------------------------------------------------


def test_a_request_to_a_resource_outside_the_map_is_denied_and_says_so(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    decision = authorizer.decide(request_event(bearer(token()), "GET", "unmapped/1", "/unmapped/{id}"))
    assert (decision.outcome, decision.reason, decision.route) == (
        Outcome.DENY,
        Problem.UNKNOWN_ROUTE.value,
        None,
    )
    assert decision.response is not None
    assert effects(decision.response) == {"Deny"}


@pytest.mark.parametrize("change", [{"httpMethod": "DELETE"}, {"resource": None}, {"resource": 7}])
def test_a_request_event_whose_method_is_not_its_arns_or_without_a_resource_is_invalid(
    authorizer: Authorizer, token: TokenFactory, change: dict[str, Any]
) -> None:
    # the answer speaks for the ARN's method and the event's resource: they must be one request
    event = request_event(bearer(token()), "GET", "orders/42", "/orders/{id}") | change
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.reason) == (Outcome.REJECT, Problem.INVALID_EVENT.value)


def test_a_route_answer_over_8_kb_is_never_given(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    path = "unmapped/" + "a" * (MAX_METHOD_ARN_LENGTH - len(ARN_PREFIX) - len("/GET/unmapped/"))
    decision = authorizer.decide(request_event(bearer(token(sub="s" * 4000)), "GET", path, "/unmapped/{p}"))
    assert (decision.outcome, decision.reason, decision.api) == (
        Outcome.REJECT,
        Problem.ANSWER_TOO_LARGE.value,
        "default",
    )
    # a path JSON writes six bytes a character for, with a short subject: measured, never guessed
    escaped = "unmapped/" + "\u00e9" * 1400
    too_large = authorizer.decide(request_event(bearer(token()), "GET", escaped, "/unmapped/{p}"))
    assert (too_large.outcome, too_large.reason) == (Outcome.REJECT, Problem.ANSWER_TOO_LARGE.value)


def test_a_rest_route_answer_is_metered_by_the_clients_usage_key(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    decision = authorizer.decide(
        request_event(bearer(token(scope="files:read")), "GET", "files/a", "/files/{proxy+}")
    )
    assert decision.outcome is Outcome.ALLOW
    assert decision.response is not None
    assert decision.response["usageIdentifierKey"]


def test_no_route_answer_exceeds_8_kb_whatever_the_paths_length(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    # unknown-route answers sized exactly, around the bound: each answer given is measured under it
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    bearer_value = bearer(token())
    given = refused = 0
    for length in range(1150, 1350, 5):
        path = "unmapped/" + "\u00e9" * length
        decision = authorizer.decide(request_event(bearer_value, "GET", path, "/unmapped/{p}"))
        if decision.response is None:
            assert decision.reason == Problem.ANSWER_TOO_LARGE.value
            refused += 1
        else:
            assert len(json.dumps(decision.response)) <= MAX_ANSWER_BYTES, length
            given += 1
    # the range straddles the bound
    assert given > 0
    assert refused > 0


def test_a_header_map_with_a_name_that_is_not_a_string_still_yields_its_authorization(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    event = request_event(bearer(token(scope="files:read")), "GET", "files/a", "/files/{proxy+}")
    event["headers"] = {**event["headers"], 7: "seven"}
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.route) == (Outcome.ALLOW, "GET /files/{proxy+}")


# -- the bearer header (RFC 6750 §2.1) -------------------------------------------------------------


def rejection_of(value: object) -> str:
    with pytest.raises(Rejected) as caught:
        bearer_token(value)
    return caught.value.reason


@pytest.mark.parametrize(("value", "reason"), [(None, Problem.MISSING_TOKEN), ("", Problem.MISSING_TOKEN)])
def test_no_header_or_an_empty_one_is_a_missing_token(value: object, reason: Problem) -> None:
    assert rejection_of(value) == reason


@pytest.mark.parametrize(
    "value",
    [7, b"Bearer abc", "Bearer " + "a" * (MAX_HEADER_LENGTH - 6), "Basic abc", "Bearer  abc", "Bearer a b"],
)
def test_a_header_that_is_not_one_bearer_token_within_the_bound_is_invalid(value: object) -> None:
    assert rejection_of(value) == Problem.INVALID_AUTHORIZATION


def test_a_header_of_exactly_the_maximum_length_is_read() -> None:
    value = "Bearer " + "a" * (MAX_HEADER_LENGTH - 7)
    assert bearer_token(value) == "a" * (MAX_HEADER_LENGTH - 7)


# -- stale API profiles ----------------------------------------------------------------------------


def registry_item(name: str) -> dict[str, Any]:
    # a registry item in low-level DynamoDB JSON (partnerauth.api_profiles.profile_from_item)
    return {
        "name": {"S": name},
        "audience": {"S": AUDIENCE},
        "routes": {"S": json.dumps({"GET /orders": ["orders:read"]})},
        "version": {"N": "1"},
    }


def test_a_stale_profile_is_used_until_exactly_max_age_plus_stale_for_and_not_then() -> None:
    reads: list[str] = []
    down = False

    def source(name: str) -> dict[str, Any]:
        reads.append(name)
        if down:
            raise ConnectionError("registry unreachable")
        return registry_item(name)

    clock = FakeClock(0)
    cache = ApiProfileCache(source, max_age=60, cooldown=0, stale_for=100, clock=clock)
    good = cache.get("inv")
    assert good is not None
    down = True
    clock.advance(159)
    assert cache.get("inv") is good  # stale-if-error, one second before the end
    clock.advance(1)
    with pytest.raises(ProfileUnavailable):
        cache.get("inv")


def test_a_registry_item_holds_every_attribute_and_reads_back_as_its_profile() -> None:
    routes = json.dumps({"GET /orders": ["orders:read"]})
    item = profile_item("inv", AUDIENCE, routes, version=3, updated_at=1_800_000_000, updated_by="admin")
    assert item == {
        "name": {"S": "inv"},
        "audience": {"S": AUDIENCE},
        "routes": {"S": routes},
        "version": {"N": "3"},
        "updated_at": {"N": "1800000000"},
        "updated_by": {"S": "admin"},
    }
    profile = profile_from_item(item)
    assert (profile.name, profile.audience, profile.version) == ("inv", AUDIENCE, 3)


class CountingRegistry:
    def __init__(self) -> None:
        self.reads = 0
        self.down = False

    def __call__(self, name: str) -> dict[str, Any]:
        self.reads += 1
        if self.down:
            raise ConnectionError("registry unreachable")
        return registry_item(name)


def test_a_profile_is_read_once_per_max_age_whatever_the_clocks_origin() -> None:
    registry, clock = CountingRegistry(), FakeClock(1_000)
    cache = ApiProfileCache(registry, max_age=60, clock=clock)
    cache.get("inv")
    clock.advance(30)
    cache.get("inv")
    assert registry.reads == 1


def test_a_name_never_read_and_unreadable_waits_its_cooldown_too() -> None:
    registry, clock = CountingRegistry(), FakeClock(0)
    registry.down = True
    cache = ApiProfileCache(registry, cooldown=10, clock=clock)
    for _ in range(3):
        with pytest.raises(ProfileUnavailable):
            cache.get("inv")
    assert registry.reads == 1


def test_the_profile_cache_keeps_at_most_max_entries_dropping_the_oldest() -> None:
    registry, clock = CountingRegistry(), FakeClock(0)
    cache = ApiProfileCache(registry, max_age=60, clock=clock, max_entries=2)
    for name in ("a", "b", "c"):
        cache.get(name)
    cache.get("c")
    cache.get("b")
    assert registry.reads == 3  # b and c still held
    cache.get("a")
    assert registry.reads == 4  # a was dropped for c


# -- settings reach the parts they configure ---------------------------------------------------------


def test_the_configured_leeway_reaches_the_verifier(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    # RFC 7519 §4.1.4: expired 90 s ago - inside a 120 s leeway, outside the default 60 s
    late = token(exp=NOW - 90, iat=NOW - 300, nbf=NOW - 300)
    assert make_authorizer(LEEWAY="120").decide(token_event(bearer(late))).outcome is Outcome.ALLOW
    assert make_authorizer().decide(token_event(bearer(late))).reason == Reason.EXPIRED.value


def with_stage(event: dict[str, Any], stage_variables: object) -> dict[str, Any]:
    return {**event, "stageVariables": stage_variables}


def test_a_registry_profile_is_read_again_after_its_configured_max_age(
    own_jwks: dict[str, Any], token: TokenFactory
) -> None:
    registry, clock = CountingRegistry(), FakeClock(0)
    settings = AuthorizerSettings.from_environment(environment(APIS_TABLE="apis", API_PROFILE_MAX_AGE="300"))
    keys = StaticKeySource({ISSUER + JWKS_PATH: own_jwks})
    authorizer = build_authorizer(settings, keys, clock=lambda: NOW, registry=registry, registry_clock=clock)
    event = with_stage(request_event(bearer(token()), "GET", "orders", "/orders"), {"partnerauthApi": "inv"})
    assert authorizer.decide(event).outcome is Outcome.ALLOW
    clock.advance(120)  # past the default 60 s, within the configured 300 s
    authorizer.decide(event)
    assert registry.reads == 1
    clock.advance(200)
    authorizer.decide(event)
    assert registry.reads == 2


@pytest.mark.parametrize(
    ("stage_variables", "reason", "api"),
    [
        ({"partnerauthApi": "ghost"}, Problem.UNKNOWN_API, "ghost"),
        ("not-a-map", Problem.INVALID_EVENT, None),
        ({"partnerauthApi": 7}, Problem.INVALID_EVENT, None),
    ],
)
def test_an_api_profile_that_cannot_be_named_or_found_is_a_401_naming_it(
    authorizer: Authorizer, token: TokenFactory, stage_variables: object, reason: Problem, api: str | None
) -> None:
    event = with_stage(request_event(bearer(token()), "GET", "orders", "/orders"), stage_variables)
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.reason, decision.api) == (Outcome.REJECT, reason.value, api)


def test_stage_variables_without_a_profile_name_use_the_default_profile(
    authorizer: Authorizer, token: TokenFactory
) -> None:
    event = with_stage(request_event(bearer(token()), "GET", "orders/42", "/orders/{id}"), {"other": "x"})
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.api) == (Outcome.ALLOW, "default")


def test_an_unreadable_registry_is_a_401_naming_the_api(
    own_jwks: dict[str, Any], token: TokenFactory
) -> None:
    registry = CountingRegistry()
    registry.down = True
    settings = AuthorizerSettings.from_environment(environment(APIS_TABLE="apis"))
    keys = StaticKeySource({ISSUER + JWKS_PATH: own_jwks})
    authorizer = build_authorizer(
        settings, keys, clock=lambda: NOW, registry=registry, registry_clock=FakeClock(0)
    )
    event = with_stage(request_event(bearer(token()), "GET", "orders", "/orders"), {"partnerauthApi": "inv"})
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.reason, decision.api) == (
        Outcome.REJECT,
        Problem.API_UNAVAILABLE.value,
        "inv",
    )


# -- method ARNs and the bearer credential of TOKEN events --------------------------------------------


@pytest.mark.parametrize("method_arn", [["arn"], {"arn": 1}, 7])
def test_a_method_arn_that_is_not_a_string_is_an_invalid_event(
    authorizer: Authorizer, method_arn: object
) -> None:
    event = {**token_event(bearer("x.y.z")), "methodArn": method_arn}
    assert authorizer.decide(event).reason == Problem.INVALID_EVENT.value


def test_a_method_arn_of_exactly_the_maximum_length_is_read(
    authorizer: Authorizer, token: TokenFactory
) -> None:
    path = "orders/" + "a" * (MAX_METHOD_ARN_LENGTH - len(ARN_PREFIX) - len("/GET/orders/"))
    assert len(f"{ARN_PREFIX}/GET/{path}") == MAX_METHOD_ARN_LENGTH
    decision = authorizer.decide(token_event(bearer(token()), "GET", path))
    assert decision.reason != Problem.INVALID_EVENT.value


def test_a_path_with_a_colon_is_named_whole_in_the_answer(
    authorizer: Authorizer, token: TokenFactory, rsa_key: SigningKey
) -> None:
    decision = authorizer.decide(token_event(bearer(token()), "GET", "orders/a:b"))
    assert (decision.outcome, decision.route) == (Outcome.ALLOW, "GET /orders/{id}")
    assert decision.response is not None
    document = decision.response["policyDocument"]
    assert document["Version"] == "2012-10-17"  # the IAM policy language version
    assert evaluate(document, f"{ARN_PREFIX}/GET/orders/a:b") is Iam.ALLOW
    # what the decision logs: the token's identifiers and the API
    assert (decision.kid, decision.jti, decision.client_id, decision.api) == (
        rsa_key.kid,
        "jti-0001",
        "partner-1",
        "default",
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", Problem.MISSING_TOKEN.value),
        (7, Problem.INVALID_AUTHORIZATION.value),
        ("Bearer " + "a" * (MAX_HEADER_LENGTH - 6), Problem.INVALID_AUTHORIZATION.value),
        ("Bearer " + "a" * (MAX_HEADER_LENGTH - 7), Reason.MALFORMED.value),  # read, then refused as a token
    ],
)
def test_a_token_events_authorization_is_judged_by_its_own_bounds(
    authorizer: Authorizer, value: object, reason: str
) -> None:
    assert authorizer.decide(token_event(value)).reason == reason


def test_an_answer_of_exactly_8000_bytes_is_given_and_one_byte_more_is_not(
    make_authorizer: Callable[..., Authorizer], token: TokenFactory
) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(GREEDY_MAP))
    path = "unmapped/" + "a" * 3000  # a large one-statement deny, measured exactly

    def answer(sub_length: int) -> dict[str, Any] | None:
        event = request_event(bearer(token(sub="s" * sub_length)), "GET", path, "/unmapped/{p}")
        return authorizer.decide(event).response

    probe = answer(1)
    assert probe is not None
    exact = 1 + MAX_ANSWER_BYTES - len(json.dumps(probe))  # each subject character is one byte more
    at_bound = answer(exact)
    assert at_bound is not None
    assert len(json.dumps(at_bound)) == MAX_ANSWER_BYTES
    assert answer(exact + 1) is None


def test_a_profile_read_without_a_version_is_version_0() -> None:
    assert parse_profile("inv", AUDIENCE, json.dumps({"GET /orders": ["s"]})).version == 0


def test_a_route_map_text_of_exactly_the_byte_limit_is_accepted_and_one_more_is_not() -> None:
    text = json.dumps({"GET /orders": ["s"]})
    padded = text[:-1] + " " * (MAX_ROUTES_BYTES - len(text)) + "}"
    assert len(padded.encode("utf-8")) == MAX_ROUTES_BYTES
    assert parse_profile("inv", AUDIENCE, padded).name == "inv"
    with pytest.raises(ConfigurationError):
        parse_profile("inv", AUDIENCE, " " + padded)
