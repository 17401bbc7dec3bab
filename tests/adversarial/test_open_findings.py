"""Defects the campaign found in other modules, pinned as strict xfails until their owners fix them.

Each test states the rule as it should hold and fails today; ``strict=True`` turns the fix into a
failure here too (XPASS), so whoever fixes it removes the mark and the test guards the rule from then
on.  SECURITY.md lists them under "Open findings".
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from partnerauth.auth_throttle import AuthThrottle, ClientThrottled
from partnerauth.client_registry import ClientAuthenticationFailed, ClientRegistry
from partnerauth.client_secrets import SecretHasher

from .conftest import NOW, TokenWorld
from .test_hostile_token_requests import basic_header
from .token_endpoint import FORM_TYPE

FORM = ("Content-Type", FORM_TYPE)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "partnerauth.auth_throttle stores last_failure_at rounded to the millisecond (_number: '%.3f'), "
        "which can round up; AuthThrottle.check then sees now < last_failure_at + delay_after(failures) "
        "even when the delay is 0 (a free failure) and raises ClientThrottled(1): a 429 for the next "
        "attempt within the same half millisecond. Fix: compare against the stored value without "
        "rounding up (floor, or full precision), or skip the comparison when the delay is 0."
    ),
)
def test_a_free_failure_never_delays_the_next_attempt(token_world: TokenWorld) -> None:
    world, valid = token_world, token_world.principals["valid"]
    # Given a clock whose sub-millisecond fraction rounds up (time.time() has one most of the time)
    world.forget_failures()
    world.clock.now = float(int(world.clock.now)) + 0.0006
    # When a partner mistypes its secret once (the first of ThrottlePolicy.free_failures = 5)
    wrong = world.endpoint.post(b"grant_type=client_credentials", [FORM, basic_header(valid.client_id, "x")])
    assert wrong.status == 401
    # Then its next, correct attempt is served, not refused with 429 (RFC 6585 §4)
    right = world.endpoint.post(
        b"grant_type=client_credentials", [FORM, basic_header(valid.client_id, valid.secret)]
    )
    assert right.status == 200


def test_the_throttle_rounding_defect_is_exactly_that(token_world: TokenWorld) -> None:
    """The xfail above fails for the reason it names, and only then: whole seconds are fine."""
    throttle = AuthThrottle(token_world.tables["AuthAttemptsTable"], token_world.dynamodb, clock=lambda: NOW)
    throttle.record_failure("whole-seconds")
    throttle.check("whole-seconds")  # no delay after one free failure
    fraction = NOW + 0.0006
    rounding = AuthThrottle(
        token_world.tables["AuthAttemptsTable"], token_world.dynamodb, clock=lambda: fraction
    )
    rounding.record_failure("fraction")
    with pytest.raises(ClientThrottled):
        rounding.check("fraction")


@contextmanager
def calls_counted() -> Iterator[dict[str, int]]:
    """Python and C function calls made on this thread meanwhile (a deterministic measure of work)."""
    counts: dict[str, int] = {"call": 0, "c_call": 0}

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in counts:
            counts[event] += 1

    sys.setprofile(profile)
    try:
        yield counts
    finally:
        sys.setprofile(None)


class StoredItems:
    """The ClientsTable's items in memory: GetItem without I/O, so only the registry's own code is counted."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self._items = {item["client_id"]["S"]: item for item in items}

    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        item = self._items.get(Key["client_id"]["S"])
        return {"Item": item} if item is not None else {}


def work_per_failure_path(world: TokenWorld) -> dict[str, dict[str, int]]:
    items = world.dynamodb.scan(TableName=world.tables["ClientsTable"], ConsistentRead=True)["Items"]
    registry = ClientRegistry(
        "ClientsTable", StoredItems(items), SecretHasher("adversarial-pepper-0123456789"), world.clock
    )
    work = {}
    for name in ("unknown", "disabled", "expired", "wrong"):
        principal = world.principals[name]
        with calls_counted() as counts, pytest.raises(ClientAuthenticationFailed):
            registry.authenticate(principal.client_id, principal.secret)
        work[name] = dict(counts)
    return work


def test_disabled_expired_and_wrong_secret_run_the_same_code(token_world: TokenWorld) -> None:
    work = work_per_failure_path(token_world)
    assert work["disabled"] == work["expired"] == work["wrong"]


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "ClientRegistry.authenticate decodes the stored item (_decode: the client and its secrets) only when "
        "the id is registered, so the unknown-client path runs about a third of the code of the others "
        "(12 vs 32 Python calls) and is measurably faster: ~6 us in-process, ~1.3 ms through the handler on "
        "moto (benchmarks/bench_auth_timing.py). It tells whether a client id exists (ids are not secrets, "
        "RFC 6749 §2.2, but SECURITY.md promises the same work). Fix: decode a fixed dummy item of the "
        "same shape when there is none; the size of the GetItem answer (an item or none) remains."
    ),
)
def test_an_unknown_client_runs_the_same_code_as_a_wrong_secret(token_world: TokenWorld) -> None:
    work = work_per_failure_path(token_world)
    assert work["unknown"] == work["wrong"]
