"""Brute-force throttling per presented client id: delays grow, then cap; nobody is locked out for good."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.auth_throttle import AuthThrottle, ClientThrottled, ThrottlePolicy
from partnerauth.client_registry import IssuedSecret
from partnerauth.errors import ConfigurationError

from .conftest import FORM, Endpoint, Reply, basic, form

POLICY = ThrottlePolicy()


def attempt(endpoint: Endpoint, client_id: str, secret: str) -> Reply:
    return endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, basic(client_id, secret)))


def fail(endpoint: Endpoint, client_id: str, times: int) -> None:
    for _ in range(times):
        assert attempt(endpoint, client_id, "pacs_wrong").status == 401


def test_policy_delays_start_after_the_free_failures_double_and_cap() -> None:
    policy = ThrottlePolicy(free_failures=3, base_delay=2, max_delay=60, reset_after=600)
    delays = [policy.delay_after(n) for n in range(1, 12)]
    assert delays == [0, 0, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert policy.delay_after(10_000) == 60  # bounded, whatever the count


@pytest.mark.parametrize(
    "options",
    [
        {"free_failures": 0},
        {"base_delay": 0},
        {"base_delay": 10, "max_delay": 5},
        {"max_delay": 900, "reset_after": 60},
    ],
)
def test_policy_refuses_settings_that_cannot_work(options: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        ThrottlePolicy(**options)


def test_free_failures_are_not_throttled(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures - 1)
    assert attempt(token_endpoint, partner.client.client_id, partner.secret).status == 200


def test_too_many_failures_delay_wrong_secrets_but_never_the_right_one(
    token_endpoint: Endpoint, partner: IssuedSecret, clock: Any
) -> None:
    # Given as many failures as are free: the last one opens a delay
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures)
    # When a wrong secret comes at once, it is refused: 429 + Retry-After (RFC 6585 §4)
    reply = attempt(token_endpoint, partner.client.client_id, "pacs_wrong")
    assert reply.status == 429
    assert reply.json()["error"] == "invalid_client"
    assert reply.header("Retry-After") == str(POLICY.delay_after(POLICY.free_failures))
    assert reply.header("Cache-Control") == "no-store"
    # But the right secret is never stopped by the throttle (issue 14 item 6: no lockout by strangers)
    assert attempt(token_endpoint, partner.client.client_id, partner.secret).status == 200
    # And after the delay, a success clears the counter
    clock.advance(POLICY.delay_after(POLICY.free_failures))
    assert attempt(token_endpoint, partner.client.client_id, partner.secret).status == 200
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures - 1)
    assert attempt(token_endpoint, partner.client.client_id, partner.secret).status == 200


def test_throttled_attempts_are_not_counted_and_the_wait_is_capped(
    token_endpoint: Endpoint, partner: IssuedSecret, clock: Any
) -> None:
    client_id = partner.client.client_id
    # An attacker keeps failing, each time as soon as allowed, far past the cap
    for _ in range(30):
        reply = attempt(token_endpoint, client_id, "pacs_wrong")
        if reply.status == 429:
            retry_after = int(reply.header("Retry-After") or "0")
            assert 1 <= retry_after <= POLICY.max_delay
            clock.advance(retry_after)
    # The legitimate client never waits at all, and the attacker's delay is capped
    assert attempt(token_endpoint, client_id, partner.secret).status == 200
    clock.advance(POLICY.max_delay)
    assert attempt(token_endpoint, client_id, "pacs_wrong").status in (401, 429)


def test_counter_is_forgotten_after_reset_after(
    token_endpoint: Endpoint, partner: IssuedSecret, clock: Any, throttle: AuthThrottle
) -> None:
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures - 1)
    clock.advance(POLICY.reset_after)
    # The item is expired (DynamoDB TTL may not have deleted it yet): treated as gone
    assert throttle.check(partner.client.client_id).failures == 0
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures - 1)
    assert attempt(token_endpoint, partner.client.client_id, partner.secret).status == 200


def test_unknown_ids_are_throttled_exactly_like_known_ones(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # Throttling must not reveal which ids exist
    fail(token_endpoint, "pc_nobody", POLICY.free_failures)
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures)
    unknown = attempt(token_endpoint, "pc_nobody", "pacs_wrong")
    known = attempt(token_endpoint, partner.client.client_id, "pacs_wrong")
    assert (unknown.status, unknown.headers, unknown.body) == (known.status, known.headers, known.body)


def test_throttle_of_one_id_does_not_touch_another(
    token_endpoint: Endpoint, partner: IssuedSecret, new_client: Any
) -> None:
    other = new_client()
    fail(token_endpoint, partner.client.client_id, POLICY.free_failures)
    assert attempt(token_endpoint, other.client.client_id, other.secret).status == 200


def test_check_raises_with_whole_seconds(throttle: AuthThrottle, clock: Any) -> None:
    for _ in range(POLICY.free_failures + 2):
        throttle.record_failure("pc_someone")
    clock.advance(0.5)
    with pytest.raises(ClientThrottled) as raised:
        throttle.check("pc_someone")
    assert raised.value.retry_after == POLICY.delay_after(POLICY.free_failures + 2)  # ceil(delay - 0.5)


def test_stale_item_is_replaced_by_a_fresh_count(throttle: AuthThrottle, clock: Any) -> None:
    for _ in range(POLICY.free_failures + 3):
        throttle.record_failure("pc_someone")
    clock.advance(POLICY.reset_after + 1)
    assert throttle.record_failure("pc_someone") == 1
