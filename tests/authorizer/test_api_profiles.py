"""Many APIs behind one authorizer: API profiles from the environment and the registry, of any size.

Issue 12: a route map of 1,000 routes (nested, parameters under parameters, greedy ``{proxy+}``) is accepted
and works; every answer stays under 8 KB; another team's API brings its own map and audience without a
deploy of this stack (the registry), read without a network call per request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from authorizer.decision import MAX_ANSWER_BYTES, Authorizer, Outcome, Problem, build_authorizer
from authorizer.settings import AuthorizerSettings
from local.iam_policy import Decision as Iam
from local.iam_policy import evaluate
from partnerauth.api_profiles import (
    ApiProfileCache,
    ProfileUnavailable,
    parse_profile,
    profile_from_item,
    profile_item,
    profiles_from_json,
)
from partnerauth.errors import ConfigurationError, Reason
from partnerauth.key_source import StaticKeySource
from partnerauth.route_map import MAX_ROUTES
from tests.support.clock import FakeClock
from tests.support.route_maps import SCOPE_POOL, concrete_path, enterprise_map

from .conftest import (
    ARN_PREFIX,
    EXTERNAL_JWKS_PATH,
    JWKS_PATH,
    NOW,
    TokenFactory,
    bearer,
    environment,
    http_event,
    request_event,
    token_event,
)

ALL_SCOPES = " ".join(SCOPE_POOL)
BIG = enterprise_map(1000)
INVENTORY_ROUTES = {"GET /warehouses/{id}": ["inventory:read"], "GET /warehouses/{id}/audit": ["audit:read"]}


def registry_item(name: str, audience: str, routes: Mapping[str, Any], version: int = 1) -> dict[str, Any]:
    return profile_item(
        name, audience, json.dumps(routes), version=version, updated_at=1, updated_by="arn:test"
    )


class Registry:
    """A registry reader over a dict of items, counting reads; ``down`` makes every read fail."""

    def __init__(self, items: dict[str, dict[str, Any]] | None = None) -> None:
        self.items = items or {}
        self.reads = 0
        self.down = False

    def __call__(self, name: str) -> Mapping[str, Any] | None:
        self.reads += 1
        if self.down:
            raise ConnectionError("registry unreachable")
        return self.items.get(name)


@pytest.fixture
def keys(own_jwks: dict[str, Any], external_jwks: dict[str, Any]) -> StaticKeySource:
    return StaticKeySource(
        {
            "https://auth.example.test" + JWKS_PATH: own_jwks,
            "https://auth.example.test" + EXTERNAL_JWKS_PATH: external_jwks,
        }
    )


def with_registry(keys: StaticKeySource, registry: Registry, clock: FakeClock, **env: str) -> Authorizer:
    settings = AuthorizerSettings.from_environment(environment(APIS_TABLE="apis", **env))
    return build_authorizer(settings, keys, clock=lambda: NOW, registry=registry, registry_clock=clock)


def stage(name: str) -> dict[str, str]:
    return {"partnerauthApi": name}


# -- any size ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["REQUEST", "HTTP API"])
def test_a_1000_route_api_is_answered_right_on_every_route_in_under_8_kb(
    kind: str, keys: StaticKeySource, token: TokenFactory
) -> None:
    registry = Registry({"big": registry_item("big", "partner-api", BIG)})
    authorizer = with_registry(keys, registry, FakeClock(0))
    holder = bearer(token(scope=ALL_SCOPES))
    nobody = bearer(token(scope="unrelated"))
    for key in BIG:
        method, template = key.split(" ")
        request_method = "GET" if method == "ANY" else method
        path = concrete_path(template)
        arn = f"{ARN_PREFIX}/{request_method}/{path}"
        for header, expected in ((holder, Outcome.ALLOW), (nobody, Outcome.DENY)):
            if kind == "REQUEST":
                event = request_event(header, request_method, path, template)
                event["stageVariables"] = stage("big")
            elif kind == "HTTP API":
                event = http_event(header, key, request_method, path)
                event["stageVariables"] = stage("big")
                arn = (
                    f"arn:aws:execute-api:us-east-1:123456789012:httpapi123/$default/{request_method}/{path}"
                )
            else:  # TOKEN events name no stage variables: this API's map must be the default profile
                continue
            decision = authorizer.decide(event)
            assert decision.outcome is expected, (key, decision)
            assert decision.response is not None
            assert len(json.dumps(decision.response)) <= MAX_ANSWER_BYTES
            if kind == "REQUEST":
                allowed = evaluate(decision.response["policyDocument"], arn) is Iam.ALLOW
                assert allowed is (expected is Outcome.ALLOW), key
    assert registry.reads == 1  # read once, then from the profile cache


def test_a_1000_route_default_map_answers_token_events_for_the_one_request(
    make_authorizer: Any, token: TokenFactory
) -> None:
    # No whole-API policy for 1,000 routes fits in 8 KB: each TOKEN answer allows exactly its request.
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(BIG))
    holder = bearer(token(scope=ALL_SCOPES))
    for key in list(BIG)[::7]:
        method, template = key.split(" ")
        request_method = "GET" if method == "ANY" else method
        path = concrete_path(template)
        decision = authorizer.decide(token_event(holder, request_method, path))
        assert decision.outcome is Outcome.ALLOW, key
        assert decision.response is not None
        document = decision.response["policyDocument"]
        assert len(json.dumps(decision.response)) <= MAX_ANSWER_BYTES
        assert evaluate(document, f"{ARN_PREFIX}/{request_method}/{path}") is Iam.ALLOW
        assert evaluate(document, f"{ARN_PREFIX}/{request_method}/{path}x") is not Iam.ALLOW


def test_maps_up_to_the_limit_are_accepted_and_one_more_route_is_refused() -> None:
    assert len(parse_profile("huge", "aud", enterprise_map(MAX_ROUTES)).routes) == MAX_ROUTES
    with pytest.raises(ConfigurationError, match="at most"):
        parse_profile("huge", "aud", enterprise_map(MAX_ROUTES + 1))


def test_an_oversized_whole_api_answer_falls_back_to_the_one_request(
    make_authorizer: Any, token: TokenFactory
) -> None:
    # 100 flat routes have an exact whole-API policy, but not one that fits in 8 KB.
    flat = {f"GET /resource-number-{i:03d}/{{id}}": ["s1"] for i in range(100)}
    authorizer = make_authorizer(ROUTE_SCOPES=json.dumps(flat))
    decision = authorizer.decide(token_event(bearer(token(scope="s1")), "GET", "resource-number-007/1"))
    assert decision.outcome is Outcome.ALLOW
    assert decision.response is not None
    assert len(json.dumps(decision.response)) <= MAX_ANSWER_BYTES
    document = decision.response["policyDocument"]
    assert evaluate(document, f"{ARN_PREFIX}/GET/resource-number-007/1") is Iam.ALLOW
    assert evaluate(document, f"{ARN_PREFIX}/GET/resource-number-008/1") is not Iam.ALLOW


# -- many APIs -------------------------------------------------------------------------------------------
def test_an_api_names_its_profile_and_gets_its_own_routes(keys: StaticKeySource, token: TokenFactory) -> None:
    registry = Registry({"inventory": registry_item("inventory", "inventory-api", INVENTORY_ROUTES)})
    authorizer = with_registry(keys, registry, FakeClock(0))
    header = bearer(token(scope="inventory:read", aud="inventory-api"))
    event = request_event(header, "GET", "warehouses/7", "/warehouses/{id}")
    event["stageVariables"] = stage("inventory")
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.api, decision.route) == (
        Outcome.ALLOW,
        "inventory",
        "GET /warehouses/{id}",
    )
    audit = request_event(header, "GET", "warehouses/7/audit", "/warehouses/{id}/audit")
    audit["stageVariables"] = stage("inventory")
    assert authorizer.decide(audit).reason == Reason.INSUFFICIENT_SCOPE


def test_a_token_for_one_api_is_refused_by_another(keys: StaticKeySource, token: TokenFactory) -> None:
    # RFC 9068 §4 item 4: the audience names the API; a profile trusts its own audience only.
    registry = Registry({"inventory": registry_item("inventory", "inventory-api", INVENTORY_ROUTES)})
    authorizer = with_registry(keys, registry, FakeClock(0))
    sample_token = bearer(token(scope="inventory:read"))  # aud = partner-api, the default profile's
    event = request_event(sample_token, "GET", "warehouses/7", "/warehouses/{id}")
    event["stageVariables"] = stage("inventory")
    assert authorizer.decide(event).reason == Reason.WRONG_AUDIENCE
    inventory_token = bearer(token(scope="orders:read", aud="inventory-api"))
    default = authorizer.decide(request_event(inventory_token, "GET", "orders/1", "/orders/{id}"))
    assert default.reason == Reason.WRONG_AUDIENCE


def test_an_api_naming_an_unknown_profile_is_401(keys: StaticKeySource, token: TokenFactory) -> None:
    authorizer = with_registry(keys, Registry(), FakeClock(0))
    event = request_event(bearer(token()), "GET", "orders/1", "/orders/{id}")
    event["stageVariables"] = stage("nobody-registered-this")
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.response, decision.reason) == (
        Outcome.REJECT,
        None,
        Problem.UNKNOWN_API,
    )


@pytest.mark.parametrize("value", [7, ["inventory"], "Inventory", "../x", ""])
def test_a_malformed_profile_name_is_never_looked_up(
    value: object, keys: StaticKeySource, token: TokenFactory
) -> None:
    registry = Registry()
    authorizer = with_registry(keys, registry, FakeClock(0))
    event = request_event(bearer(token()), "GET", "orders/1", "/orders/{id}")
    event["stageVariables"] = {"partnerauthApi": value}
    decision = authorizer.decide(event)
    assert decision.outcome is Outcome.REJECT
    assert registry.reads == 0


def test_an_unreadable_registry_is_401_and_never_an_allow(keys: StaticKeySource, token: TokenFactory) -> None:
    registry = Registry()
    registry.down = True
    authorizer = with_registry(keys, registry, FakeClock(0))
    event = request_event(bearer(token()), "GET", "orders/1", "/orders/{id}")
    event["stageVariables"] = stage("inventory")
    decision = authorizer.decide(event)
    assert (decision.outcome, decision.reason) == (Outcome.REJECT, Problem.API_UNAVAILABLE)


def test_profiles_of_the_environment_need_no_registry(make_authorizer: Any, token: TokenFactory) -> None:
    profiles = json.dumps({"sample-http": {"audience": "partner-api", "routes": {"GET /shipments": ["s:r"]}}})
    authorizer = make_authorizer(API_PROFILES=profiles)
    event = http_event(bearer(token(scope="s:r")), "GET /shipments", "GET", "shipments")
    event["stageVariables"] = stage("sample-http")
    assert authorizer.decide(event).outcome is Outcome.ALLOW


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be"),
        ('{"default": {"audience": "a", "routes": {"GET /x": []}}}', "'default' comes from"),
        ('{"x": {"audience": "a"}}', "exactly 'audience' and 'routes'"),
        ('{"Bad_Name": {"audience": "a", "routes": {"GET /x": []}}}', "names are"),
        ('{"x": {"audience": "a b", "routes": {"GET /x": []}}}', "audience"),
        ('{"x": {"audience": "a", "routes": {"GET x": []}}}', "must start with"),
    ],
)
def test_environment_profiles_that_cannot_work_are_refused_at_start(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        profiles_from_json(text)


# -- the registry cache: no network call per request, and never an outage from one bad read ------------------
def test_a_profile_is_read_once_per_max_age() -> None:
    registry, clock = Registry({"inv": registry_item("inv", "aud", INVENTORY_ROUTES)}), FakeClock(0)
    cache = ApiProfileCache(registry, max_age=60, clock=clock)
    for _ in range(100):
        assert cache.get("inv") is not None
    assert registry.reads == 1
    clock.advance(60)
    cache.get("inv")
    assert registry.reads == 2


def test_a_changed_profile_reaches_the_authorizer_within_max_age() -> None:
    registry, clock = Registry({"inv": registry_item("inv", "aud", INVENTORY_ROUTES)}), FakeClock(0)
    cache = ApiProfileCache(registry, max_age=60, clock=clock)
    assert cache.get("inv").version == 1  # type: ignore[union-attr]
    registry.items["inv"] = registry_item("inv", "aud", {"GET /other": []}, version=2)
    clock.advance(59)
    assert cache.get("inv").version == 1  # type: ignore[union-attr]
    clock.advance(1)
    assert cache.get("inv").version == 2  # type: ignore[union-attr]


def test_an_unknown_profile_is_remembered_too() -> None:
    registry, clock = Registry(), FakeClock(0)
    cache = ApiProfileCache(registry, max_age=60, clock=clock)
    assert cache.get("ghost") is None
    assert cache.get("ghost") is None
    assert registry.reads == 1


def test_a_failed_read_keeps_the_last_good_profile_and_waits_a_cooldown() -> None:
    registry, clock = Registry({"inv": registry_item("inv", "aud", INVENTORY_ROUTES)}), FakeClock(0)
    cache = ApiProfileCache(registry, max_age=60, cooldown=10, stale_for=3600, clock=clock)
    good = cache.get("inv")
    registry.down = True
    clock.advance(61)
    assert cache.get("inv") is good  # stale-if-error
    assert cache.get("inv") is good  # within the cooldown: not read again
    assert registry.reads == 2
    clock.advance(10)
    assert cache.get("inv") is good
    assert registry.reads == 3
    clock.advance(3600)
    with pytest.raises(ProfileUnavailable):
        cache.get("inv")


def test_a_malformed_item_keeps_the_last_good_profile() -> None:
    registry, clock = Registry({"inv": registry_item("inv", "aud", INVENTORY_ROUTES)}), FakeClock(0)
    cache = ApiProfileCache(registry, max_age=60, clock=clock)
    good = cache.get("inv")
    registry.items["inv"] = {**registry.items["inv"], "routes": {"S": "{not json"}}
    clock.advance(61)
    assert cache.get("inv") is good


def test_a_profile_never_read_and_unreadable_is_unavailable() -> None:
    registry = Registry()
    registry.down = True
    with pytest.raises(ProfileUnavailable):
        ApiProfileCache(registry, clock=FakeClock(0)).get("inv")


@pytest.mark.parametrize(
    "change",
    [
        {"version": {"S": "1"}},
        {"version": {"N": "-1"}},
        {"name": {"S": "other"}},
        {"audience": {"N": "1"}},
        {"routes": {"S": "[]"}},
    ],
)
def test_registry_items_of_any_other_shape_are_refused(change: dict[str, Any]) -> None:
    item = {**registry_item("inv", "aud", INVENTORY_ROUTES), **change}
    if "name" in change:
        registry = Registry({"inv": item})
        assert registry("inv") is not None
        with pytest.raises(ProfileUnavailable):  # a name that does not match its key is never used
            ApiProfileCache(registry, clock=FakeClock(0)).get("inv")
        return
    with pytest.raises(ConfigurationError):
        profile_from_item(item)
