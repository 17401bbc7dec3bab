"""The per-client token issuance limit (issue 15 item 2): tokens per minute from the client's plan, shared by
every instance, counted only for issued tokens, answered 429 with Retry-After over the limit."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry, IssuedSecret
from partnerauth.token_rate import WINDOW_SECONDS, TokenRateExceeded, TokenRateLimiter, counter_key
from partnerauth.usage_plans import PLAN_TOKEN_RATES, PLANS, token_rate
from tests.support.clock import FakeClock
from tests.support.metrics import emitted

from .conftest import (
    FORM,
    CountingHasher,
    Endpoint,
    RecordingClient,
    Reply,
    aws_error,
    basic,
    form,
)

RATE = 3  # the no-plan rate these tests deploy with (TokenRatePerMinute), small enough to reach


def window_of(now: float) -> int:
    return math.floor(now / WINDOW_SECONDS)


def ask(endpoint: Endpoint, who: IssuedSecret, **params: str) -> Reply:
    body = form(grant_type="client_credentials", **params)
    return endpoint.post(body, headers=(*FORM, basic(who.client.client_id, who.secret)))


def issued_count(dynamodb: Any, table: str, client_id: str, now: float) -> int:
    item = dynamodb.get_item(
        TableName=table, Key={"client_id": {"S": counter_key(client_id, window_of(now))}}, ConsistentRead=True
    ).get("Item")
    return int(item["issued"]["N"]) if item else 0


@pytest.fixture
def limited_endpoint(
    token_module: ModuleType,
    lambda_context: Any,
    recording_dynamodb: RecordingClient,
    recording_kms: RecordingClient,
    hasher: CountingHasher,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Endpoint:
    """The deployed handler with TokenRatePerMinute = RATE (the grant built by the same factory)."""
    from token_issuer.grant import build_grant

    settings = dataclasses.replace(token_module.settings, token_rate_per_minute=RATE)
    grant = build_grant(
        settings,
        dynamodb=recording_dynamodb,
        kms=recording_kms,
        fetch_pepper=lambda: "unused: the hasher is injected",
        clock=clock,
        hasher=hasher,
    )
    monkeypatch.setattr(token_module, "grant", grant)
    return Endpoint(token_module, lambda_context)


@pytest.fixture
def limiter(tables: dict[str, str], dynamodb_client: Any, clock: FakeClock) -> TokenRateLimiter:
    return TokenRateLimiter(tables["AuthAttemptsTable"], dynamodb_client, clock=clock)


# -- the rates -------------------------------------------------------------------------------------------


def test_every_plan_has_a_token_rate_and_larger_plans_allow_more() -> None:
    assert tuple(PLAN_TOKEN_RATES) == PLANS
    rates = [PLAN_TOKEN_RATES[plan] for plan in PLANS]
    assert rates == sorted(rates)
    assert len(set(rates)) == len(rates)


def test_a_client_without_a_plan_or_with_an_unknown_one_gets_the_default_rate() -> None:
    assert token_rate(None, 7) == 7
    assert token_rate("platinum", 7) == 7  # a newer CLI's tier is not a reason to refuse tokens
    assert token_rate("silver", 7) == PLAN_TOKEN_RATES["silver"]


# -- the limiter on the template's table --------------------------------------------------------------------


def test_under_and_at_the_limit_count_over_it_is_refused_until_the_next_window(
    limiter: TokenRateLimiter, clock: FakeClock
) -> None:
    # Given a limit of 3 and 10 seconds into a window
    clock.advance(10)
    for _ in range(3):
        limiter.count("pc_a", 3)  # under, then at the limit
    # When a fourth token is asked for in the same window, it is refused with the seconds left
    with pytest.raises(TokenRateExceeded) as refused:
        limiter.count("pc_a", 3)
    assert refused.value.retry_after == WINDOW_SECONDS - 10
    assert refused.value.client_id == "pc_a"
    # And at the start of the next window the client may have tokens again
    clock.advance(WINDOW_SECONDS - 10)
    limiter.count("pc_a", 3)


def test_retry_after_is_whole_seconds_and_never_zero(limiter: TokenRateLimiter, clock: FakeClock) -> None:
    clock.advance(WINDOW_SECONDS - 0.25)  # a quarter second before the window ends
    limiter.count("pc_a", 1)
    with pytest.raises(TokenRateExceeded) as refused:
        limiter.count("pc_a", 1)
    assert refused.value.retry_after == 1


def test_the_count_is_per_client(limiter: TokenRateLimiter) -> None:
    limiter.count("pc_a", 1)
    limiter.count("pc_b", 1)  # another client's count is its own
    with pytest.raises(TokenRateExceeded):
        limiter.count("pc_a", 1)


def test_two_instances_share_one_count(
    tables: dict[str, str], dynamodb_client: Any, clock: FakeClock
) -> None:
    # Given two function instances (two limiters) on the same table
    first = TokenRateLimiter(tables["AuthAttemptsTable"], dynamodb_client, clock=clock)
    second = TokenRateLimiter(tables["AuthAttemptsTable"], dynamodb_client, clock=clock)
    # When they issue alternately
    first.count("pc_a", 3)
    second.count("pc_a", 3)
    first.count("pc_a", 3)
    # Then the limit holds for both together
    with pytest.raises(TokenRateExceeded):
        second.count("pc_a", 3)
    with pytest.raises(TokenRateExceeded):
        first.count("pc_a", 3)
    assert issued_count(dynamodb_client, tables["AuthAttemptsTable"], "pc_a", clock()) == 3


def test_a_full_window_is_remembered_so_hammering_one_instance_writes_nothing_more(
    tables: dict[str, str], recording_dynamodb: RecordingClient, clock: FakeClock
) -> None:
    limiter = TokenRateLimiter(tables["AuthAttemptsTable"], recording_dynamodb, clock=clock)
    limiter.count("pc_a", 1)
    with pytest.raises(TokenRateExceeded):
        limiter.count("pc_a", 1)  # one refused (conditional) write finds the window full
    writes = len(recording_dynamodb.calls)
    for _ in range(50):
        with pytest.raises(TokenRateExceeded):
            limiter.count("pc_a", 1)
    assert len(recording_dynamodb.calls) == writes
    # A higher limit (a plan change) is tried against the table again at once
    limiter.count("pc_a", 2)
    assert len(recording_dynamodb.calls) == writes + 1


def test_the_counter_item_expires_after_its_window(
    limiter: TokenRateLimiter, tables: dict[str, str], dynamodb_client: Any, clock: FakeClock
) -> None:
    limiter.count("pc_a", 5)
    key = counter_key("pc_a", window_of(clock()))
    item = dynamodb_client.get_item(TableName=tables["AuthAttemptsTable"], Key={"client_id": {"S": key}})[
        "Item"
    ]
    # The template's TTL attribute: DynamoDB deletes the counter once its window (and one more) is over
    assert int(item["expires_at"]["N"]) == (window_of(clock()) + 2) * WINDOW_SECONDS


def test_the_counter_key_is_never_a_presented_client_id() -> None:
    # The throttle's records are keyed by presented ids, which never contain a space (RFC 6749 A.1, as we
    # accept them); the counter's key always does, so the two kinds of item cannot collide.
    assert " " in counter_key("pc_a", 1)


# -- through the token endpoint ---------------------------------------------------------------------------


def test_over_the_limit_the_endpoint_answers_429_with_retry_after_and_an_oauth_body(
    limited_endpoint: Endpoint, partner: IssuedSecret, clock: FakeClock
) -> None:
    clock.advance(15)
    assert [ask(limited_endpoint, partner).status for _ in range(RATE)] == [200] * RATE
    reply = ask(limited_endpoint, partner)
    # RFC 6585 §4 status, RFC 9110 §10.2.3 Retry-After: seconds to the next window
    assert reply.status == 429
    assert reply.header("Retry-After") == str(WINDOW_SECONDS - 15)
    # RFC 6749 §5.2 shape; temporarily_unavailable (docs/token-endpoint.md says why not slow_down)
    assert reply.json() == {
        "error": "temporarily_unavailable",
        "error_description": "too many tokens requested for this client; retry later",
    }
    # RFC 6749 §5.1: never cached
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("Pragma") == "no-cache"
    # Then the next window issues again
    clock.advance(WINDOW_SECONDS - 15)
    assert ask(limited_endpoint, partner).status == 200


def test_a_rate_limited_partner_is_counted_apart_from_a_dependency_failure(
    limited_endpoint: Endpoint, partner: IssuedSecret, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both answer ``temporarily_unavailable``; the 429 of a busy partner must not look like an outage
    (the 503 of a failed dependency) on the dashboard."""
    for _ in range(RATE):
        ask(limited_endpoint, partner)
    capsys.readouterr()
    assert ask(limited_endpoint, partner).status == 429
    counted = emitted(capsys.readouterr().out)
    assert counted.get("TokenRateLimited") == 1
    assert "TokenError.temporarily_unavailable" not in counted


def test_a_client_that_renews_at_80_percent_of_its_lifetime_is_never_limited(
    limited_endpoint: Endpoint, partner: IssuedSecret, clock: FakeClock
) -> None:
    for _ in range(20):
        reply = ask(limited_endpoint, partner)
        assert reply.status == 200
        clock.advance(0.8 * reply.json()["expires_in"])


def test_refused_requests_are_not_counted(
    limited_endpoint: Endpoint,
    partner: IssuedSecret,
    tables: dict[str, str],
    dynamodb_client: Any,
    clock: FakeClock,
) -> None:
    # Wrong secrets, a scope beyond the client's, an audience it may not use: no token, no count
    wrong = limited_endpoint.post(
        form(grant_type="client_credentials"), headers=(*FORM, basic(partner.client.client_id, "pacs_wrong"))
    )
    assert wrong.status == 401
    assert ask(limited_endpoint, partner, scope="admin").status == 400
    assert ask(limited_endpoint, partner, audience="https://elsewhere.example.test").status == 400
    assert issued_count(dynamodb_client, tables["AuthAttemptsTable"], partner.client.client_id, clock()) == 0
    assert [ask(limited_endpoint, partner).status for _ in range(RATE)] == [200] * RATE


def test_the_plan_sets_the_rate_and_a_plan_change_takes_effect_at_once(
    limited_endpoint: Endpoint,
    new_client: Callable[..., IssuedSecret],
    registry: ClientRegistry,
    tables: dict[str, str],
    dynamodb_client: Any,
    clock: FakeClock,
) -> None:
    # Given a bronze partner that has had bronze's whole rate this minute (written as the limiter does)
    partner = new_client(plan="bronze")
    key = counter_key(partner.client.client_id, window_of(clock()))
    dynamodb_client.put_item(
        TableName=tables["AuthAttemptsTable"],
        Item={"client_id": {"S": key}, "issued": {"N": str(PLAN_TOKEN_RATES["bronze"])}},
    )
    # Then it is refused, though the no-plan rate is far lower: its plan's rate is the one that counts
    assert ask(limited_endpoint, partner).status == 429
    # When an operator moves it to silver (admin CLI update --plan), the next request gets its token
    registry.update(partner.client.client_id, plan="silver")
    assert ask(limited_endpoint, partner).status == 200
    # And a move back to bronze applies as soon again
    registry.update(partner.client.client_id, plan="bronze")
    assert ask(limited_endpoint, partner).status == 429


def test_two_function_instances_share_the_limit(
    token_module: ModuleType,
    lambda_context: Any,
    dynamodb_client: Any,
    kms_client: Any,
    hasher: CountingHasher,
    partner: IssuedSecret,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from token_issuer.grant import build_grant

    settings = dataclasses.replace(token_module.settings, token_rate_per_minute=RATE)
    grants = [
        build_grant(
            settings,
            dynamodb=dynamodb_client,
            kms=kms_client,
            fetch_pepper=lambda: "",
            clock=clock,
            hasher=hasher,
        )
        for _ in range(2)
    ]
    endpoint = Endpoint(token_module, lambda_context)
    statuses = []
    for turn in range(RATE + 2):  # alternate between the two instances
        monkeypatch.setattr(token_module, "grant", grants[turn % 2])
        statuses.append(ask(endpoint, partner).status)
    assert statuses == [200] * RATE + [429, 429]


def test_a_dynamodb_failure_of_the_limiter_is_503_and_issues_nothing(
    limited_endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    tables: dict[str, str],
    dynamodb_client: Any,
    clock: FakeClock,
) -> None:
    # Given the limiter's write fails (the success path's only write to the attempts table)
    recording_dynamodb.fail(
        "update_item",
        aws_error("ProvisionedThroughputExceededException", "UpdateItem"),
        tables["AuthAttemptsTable"],
    )
    reply = ask(limited_endpoint, partner)
    # Then: 503 temporarily_unavailable with Retry-After, no token, nothing counted
    assert reply.status == 503
    assert reply.json()["error"] == "temporarily_unavailable"
    assert (reply.header("Retry-After") or "").isdigit()
    assert b"access_token" not in reply.body
    assert issued_count(dynamodb_client, tables["AuthAttemptsTable"], partner.client.client_id, clock()) == 0


def test_a_token_whose_signing_key_cannot_be_loaded_is_not_counted(
    limited_endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    tables: dict[str, str],
    dynamodb_client: Any,
    clock: FakeClock,
) -> None:
    recording_dynamodb.fail(
        "get_item", aws_error("InternalServerError", status=500), tables["SigningKeysTable"]
    )
    assert ask(limited_endpoint, partner).status == 503
    assert issued_count(dynamodb_client, tables["AuthAttemptsTable"], partner.client.client_id, clock()) == 0


def test_the_limit_answer_logs_the_client_and_the_limit() -> None:
    from token_issuer.oauth_errors import as_oauth_error

    refusal = as_oauth_error(TokenRateExceeded("pc_a", 12, RATE))
    assert (refusal.status, refusal.headers()) == (429, {"Retry-After": "12"})
    assert refusal.log_fields == {"reason": "token_rate", "client_id": "pc_a", "limit": RATE}


@pytest.mark.parametrize(("value", "rate"), [("", 60), ("1", 1), ("600", 600)])
def test_the_default_rate_is_read_from_the_environment(
    value: str, rate: int, token_env: dict[str, str]
) -> None:
    from token_issuer.settings import TokenSettings

    assert TokenSettings.from_env({**token_env, "TOKEN_RATE_PER_MINUTE": value}).token_rate_per_minute == rate


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_a_default_rate_that_cannot_work_is_refused_at_cold_start(
    value: str, token_env: dict[str, str]
) -> None:
    from partnerauth.errors import ConfigurationError
    from token_issuer.settings import TokenSettings

    with pytest.raises(ConfigurationError):
        TokenSettings.from_env({**token_env, "TOKEN_RATE_PER_MINUTE": value})
