"""Concurrent rotation runs (threads against moto) leave exactly one current key and no orphans.

Each thread has its own KeyStore and KeyRotator over clients whose requests are serialized
(:class:`SerializedClient`: DynamoDB's own per-request atomicity, which moto lacks under
threads).  A barrier holds every thread in front of its first write until all of them have
read the key set and planned, so every run plans from the same state: the worst race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.key_lifecycle import KeyRotator, Transition
from partnerauth.key_store import KeyState, KeyStore
from tests.key_rotation.conftest import (
    SCHEDULE,
    START,
    SerializedClient,
    assert_consistent_key_set,
    issue,
    verifier,
)
from tests.support.clock import FakeClock

THREADS = 8
BARRIER_TIMEOUT = 30  # a safety bound so a broken run fails instead of hanging; never reached when correct


class HoldFirstWrite:
    """Makes a thread's first TransactWriteItems wait at ``barrier`` (every thread planned by then)."""

    def __init__(self, client: Any, barrier: threading.Barrier) -> None:
        self._client = client
        self._barrier = barrier
        self._held = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != "transact_write_items":
            return attribute

        def call(**kwargs: Any) -> Any:
            if not self._held:
                self._held = True
                self._barrier.wait(BARRIER_TIMEOUT)
            return attribute(**kwargs)

        return call


@pytest.fixture
def run_concurrently(
    signing_keys_table: str, dynamodb_client: Any, kms_client: Any, kms_key_id: str, clock: FakeClock
) -> Callable[[str], list[list[Transition]]]:
    lock = threading.Lock()
    dynamodb, kms = SerializedClient(dynamodb_client, lock), SerializedClient(kms_client, lock)

    def run(action: str) -> list[list[Transition]]:
        barrier = threading.Barrier(THREADS)

        def one_run(_: int) -> list[Transition]:
            store = KeyStore(signing_keys_table, HoldFirstWrite(dynamodb, barrier), kms, kms_key_id)
            rotator = KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock)
            result: list[Transition] = getattr(rotator, action)()
            return result

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            return list(pool.map(one_run, range(THREADS)))

    return run


def test_concurrent_first_runs_bootstrap_exactly_once(
    run_concurrently: Callable[[str], list[list[Transition]]],
    store: KeyStore,
    jwks_reader: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    results = run_concurrently("reconcile")
    # one run won the bootstrap; every other lost the race and found nothing left to do - not an error
    assert sorted(len(r) for r in results) == [0] * (THREADS - 1) + [2]
    assert len(store.list_keys()) == 2
    assert_consistent_key_set(dynamodb_client, signing_keys_table)
    verifier(jwks_reader.published_jwks(), clock).verify(issue(store.current_signing_key(), clock.now))


def test_concurrent_runs_when_a_rotation_is_due_rotate_exactly_once(
    run_concurrently: Callable[[str], list[list[Transition]]],
    store: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock).reconcile()
    clock.now = START + SCHEDULE.period
    results = run_concurrently("reconcile")
    assert sorted(len(r) for r in results) == [0] * (THREADS - 1) + [3]
    assert sorted(r.state for r in store.list_keys()) == [KeyState.CURRENT, KeyState.NEXT, KeyState.RETIRED]
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


def test_concurrent_emergency_rotations_rotate_once_and_leave_one_current_key(
    run_concurrently: Callable[[str], list[list[Transition]]],
    store: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    # Given eight operators pressing "rotate now" at the same moment
    KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock).reconcile()
    results = run_concurrently("rotate_now")
    # Then one rotation commits (current -> retired, next -> current, a new next); the others, re-reading
    # after losing the race, take it for the repeat it is: a second promotion would make a key sign that
    # was published a moment ago
    assert sorted(len(r) for r in results) == [0] * (THREADS - 1) + [3]
    assert_consistent_key_set(dynamodb_client, signing_keys_table)
    assert sum(r.state is KeyState.RETIRED for r in store.list_keys()) == 1
