"""A run that dies after any step leaves a usable key set, and the next run finishes the job.

The steps of a run are everything it does outside its own memory: each AWS call, each key
generation, each report of a transition.  :class:`Faults` counts them in a clean run, then
for every k the same run is repeated on a fresh table with a crash injected right after
step k (the call landed; the process died before it could use the answer).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.key_lifecycle import KeyRotator, UnknownKid
from partnerauth.key_store import KeyState, KeyStore
from tests.key_rotation.conftest import (
    SCHEDULE,
    START,
    Faults,
    InjectedCrash,
    assert_consistent_key_set,
    issue,
    verifier,
)
from tests.support.clock import FakeClock
from tests.support.template import create_table_from_template

PERIOD, GRACE = SCHEDULE.period, SCHEDULE.grace


@dataclass
class Scenario:
    """``prepare`` brings a table to the starting state (and returns the kids the goal needs);
    ``act`` is the run that will crash; ``goal`` checks the finished state by those kids."""

    prepare: Callable[[KeyRotator, FakeClock], dict[str, str]]
    act: Callable[[KeyRotator, dict[str, str]], object]
    goal: Callable[[dict[str, KeyState], dict[str, str]], bool]
    manual: bool = False  # a manual action: if it had not committed, the operator repeats it


def bootstrapped(rotator: KeyRotator, clock: FakeClock) -> dict[str, str]:
    current, upcoming = (t.kid for t in rotator.reconcile())
    return {"current": current, "next": upcoming}


def rotated_once(rotator: KeyRotator, clock: FakeClock) -> dict[str, str]:
    bootstrapped(rotator, clock)
    clock.now = START + PERIOD
    retired, current, upcoming = (t.kid for t in rotator.reconcile())
    clock.now = START + 2 * PERIOD  # the next rotation is due, and the first key's grace is over
    return {"retired": retired, "current": current, "next": upcoming}


def due_for_rotation(rotator: KeyRotator, clock: FakeClock) -> dict[str, str]:
    kids = bootstrapped(rotator, clock)
    clock.now = START + PERIOD
    return kids


def empty(rotator: KeyRotator, clock: FakeClock) -> dict[str, str]:
    return {}


def shape(states: dict[str, KeyState]) -> list[str]:
    return sorted(states.values())


SCENARIOS = {
    "bootstrap": Scenario(empty, lambda r, k: r.reconcile(), lambda s, k: shape(s) == ["current", "next"]),
    "scheduled rotation": Scenario(
        due_for_rotation,
        lambda r, k: r.reconcile(),
        lambda s, k: s[k["current"]] == "retired" and s[k["next"]] == "current" and len(s) == 3,
    ),
    "rotation and expiry in one run": Scenario(
        rotated_once,
        lambda r, k: r.reconcile(),
        lambda s, k: (
            k["retired"] not in s
            and s[k["current"]] == "retired"
            and s[k["next"]] == "current"
            and len(s) == 3
        ),
    ),
    "rotate now": Scenario(
        bootstrapped,
        lambda r, k: r.rotate_now(),
        lambda s, k: (
            s[k["current"]] == "retired"
            and s[k["next"]] == "current"
            and shape(s) == ["current", "next", "retired"]
        ),
        manual=True,
    ),
    "revoke current": Scenario(
        bootstrapped,
        lambda r, k: r.revoke(k["current"]),
        # the published next key signs in its place, and a fresh next key is published
        lambda s, k: k["current"] not in s and s[k["next"]] == "current" and shape(s) == ["current", "next"],
        manual=True,
    ),
    "revoke next": Scenario(
        bootstrapped,
        lambda r, k: r.revoke(k["next"]),
        lambda s, k: k["next"] not in s and s[k["current"]] == "current" and shape(s) == ["current", "next"],
        manual=True,
    ),
}


@pytest.fixture
def world(dynamodb_client: Any, kms_client: Any, kms_key_id: str, clock: FakeClock) -> Callable[..., Any]:
    counter = iter(range(1_000))

    def make(faults: Faults | None = None) -> tuple[KeyStore, KeyRotator, KeyRotator]:
        """A fresh table; a clean store and rotator, and a rotator whose steps go through ``faults``."""
        clock.now = START
        table = create_table_from_template(
            dynamodb_client, "SigningKeysTable", f"SigningKeys-{next(counter)}"
        )
        store = KeyStore(table, dynamodb_client, kms_client, kms_key_id)
        clean = KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock)
        if faults is None:
            return store, clean, clean
        faulty_store = KeyStore(
            table, faults.client(dynamodb_client, "dynamodb"), faults.client(kms_client, "kms"), kms_key_id
        )
        faulty = KeyRotator(
            faulty_store,
            SCHEDULE,
            KeySpec.EDDSA,
            clock,
            observer=faults.observer,
            generate=faults.generator(),
        )
        return store, clean, faulty

    return make


def states(store: KeyStore) -> dict[str, KeyState]:
    return {r.kid: r.state for r in store.list_keys()}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_crash_after_any_step_leaves_usable_keys_and_the_next_run_finishes(
    name: str, world: Callable[..., Any], dynamodb_client: Any, clock: FakeClock
) -> None:
    scenario = SCENARIOS[name]
    # Given the number of steps of a clean run (which reaches the goal)
    faults = Faults()
    store, clean, faulty = world(faults)
    kids = scenario.prepare(clean, clock)
    scenario.act(faulty, kids)
    assert scenario.goal(states(store), kids)
    steps = list(faults.steps)
    assert len(steps) >= 3

    for crash_after in range(1, len(steps) + 1):
        faults = Faults(crash_after)
        store, clean, faulty = world(faults)
        kids = scenario.prepare(clean, clock)
        earlier = issue(store.current_signing_key(), clock.now - 60) if kids else None
        # When the run dies right after that step
        with pytest.raises(InjectedCrash):
            scenario.act(faulty, kids)
        # Then the table is as before the run (bootstrap not committed) or there is one current key:
        # tokens can be issued with it and verified with the published set
        if not states(store):
            assert name == "bootstrap"
        else:
            assert_consistent_key_set(dynamodb_client, store._table, next_required=False)
            check = verifier(store.published_jwks(), clock)
            check = verifier(store.published_jwks(), clock)
            check.verify(issue(store.current_signing_key(), clock.now))
            if earlier is not None and name != "revoke current":
                check.verify(earlier)  # and tokens signed before the crash still verify
        # And the next run finishes the job (a manual action that never committed is repeated first)
        if scenario.manual and not scenario.goal(states(store), kids):
            with contextlib.suppress(UnknownKid):  # the revocation had committed; only the follow-up was lost
                scenario.act(clean, kids)
        clean.reconcile()
        assert scenario.goal(states(store), kids), (
            f"{name}: crash after step {crash_after} ({steps[crash_after - 1]})"
        )
        assert_consistent_key_set(dynamodb_client, store._table)
