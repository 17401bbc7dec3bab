"""KeyRotator: the lifecycle next -> current -> retired -> gone, driven by an injected clock."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from partnerauth.algorithms import KeySpec
from partnerauth.errors import ConfigurationError, KeyNotFound, KeyStoreError
from partnerauth.key_lifecycle import GONE, NEW, KeyRotator, Transition, TransitionReason, UnknownKid
from partnerauth.key_store import HEAD_KID, ConcurrentChange, KeyState, KeyStore
from partnerauth.keys import generate_signing_key
from tests.key_rotation.conftest import DAY, HOUR, SCHEDULE, START, issue, verifier
from tests.support.clock import FakeClock

PERIOD, LEAD, GRACE = SCHEDULE.period, SCHEDULE.publish_lead, SCHEDULE.grace


def states(store: KeyStore) -> dict[str, KeyState]:
    return {r.kid: r.state for r in store.list_keys()}


def moves(transitions: list[Transition]) -> list[tuple[str, str]]:
    return [(str(t.from_state), str(t.to_state)) for t in transitions]


def test_the_first_run_bootstraps_a_current_key_and_publishes_the_next(
    rotator: KeyRotator, store: KeyStore, jwks_reader: KeyStore
) -> None:
    done = rotator.reconcile()
    assert moves(done) == [(NEW, "current"), (NEW, "next")]
    assert {t.reason for t in done} == {TransitionReason.BOOTSTRAP}
    assert store.current_signing_key().kid == done[0].kid
    assert [k["kid"] for k in jwks_reader.published_jwks()["keys"]] == [done[0].kid, done[1].kid]


def test_running_again_changes_nothing(rotator: KeyRotator, store: KeyStore, clock: FakeClock) -> None:
    rotator.reconcile()
    before = store.list_keys()
    clock.advance(HOUR)
    assert rotator.reconcile() == []
    assert rotator.reconcile() == []
    assert store.list_keys() == before


def test_the_next_key_takes_over_exactly_when_the_period_is_over(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    first, second = (t.kid for t in rotator.reconcile())
    clock.now = START + PERIOD - 1
    assert rotator.reconcile() == []
    clock.now = START + PERIOD
    done = rotator.reconcile()
    assert moves(done) == [("current", "retired"), ("next", "current"), (NEW, "next")]
    assert [t.kid for t in done[:2]] == [first, second]
    assert store.current_signing_key().kid == second
    retired = next(r for r in store.list_keys() if r.kid == first)
    assert (retired.retired_at, retired.expires_at) == (START + PERIOD, START + PERIOD + GRACE)


def test_a_late_run_promotes_once_and_restarts_the_period(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    rotator.reconcile()
    clock.now = START + 2 * PERIOD + 5 * DAY  # the schedule missed two rotations
    assert moves(rotator.reconcile()) == [("current", "retired"), ("next", "current"), (NEW, "next")]
    # the fresh next key was published just now: it must wait its lead, so nothing more is due
    assert rotator.reconcile() == []
    current = next(r for r in store.list_keys() if r.state is KeyState.CURRENT)
    assert current.activated_at == clock.now


def test_a_retired_key_stays_published_for_the_grace_then_goes(
    rotator: KeyRotator, jwks_reader: KeyStore, clock: FakeClock
) -> None:
    first = rotator.reconcile()[0].kid
    clock.now = START + PERIOD
    rotator.reconcile()
    clock.now = START + PERIOD + GRACE - 1
    assert rotator.reconcile() == []
    assert first in {k["kid"] for k in jwks_reader.published_jwks()["keys"]}
    clock.now = START + PERIOD + GRACE
    done = rotator.reconcile()
    assert [(t.kid, t.to_state, t.reason) for t in done] == [(first, GONE, TransitionReason.EXPIRED)]
    assert first not in {k["kid"] for k in jwks_reader.published_jwks()["keys"]}


def test_a_replacement_next_key_waits_its_whole_publish_lead(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    _, upcoming = (t.kid for t in rotator.reconcile())
    clock.now = START + PERIOD - HOUR
    replacement = next(t for t in rotator.revoke(upcoming) if t.to_state == KeyState.NEXT).kid
    clock.now = START + PERIOD  # the period is over, but the replacement was published an hour ago
    assert rotator.reconcile() == []
    clock.now = START + PERIOD - HOUR + LEAD
    rotator.reconcile()
    assert store.current_signing_key().kid == replacement


def test_rotate_now_promotes_the_published_next_key_at_once_and_keeps_old_tokens_valid(
    rotator: KeyRotator, store: KeyStore, jwks_reader: KeyStore, clock: FakeClock
) -> None:
    first, upcoming = (t.kid for t in rotator.reconcile())
    old_token = issue(store.current_signing_key(), clock.now)
    jwks_before = jwks_reader.published_jwks()  # what verifiers cached before the emergency
    clock.advance(HOUR)
    done = rotator.rotate_now()
    assert moves(done) == [("current", "retired"), ("next", "current"), (NEW, "next")]
    assert {t.reason for t in done} == {TransitionReason.EMERGENCY}
    signing = store.current_signing_key()
    assert signing.kid == upcoming
    replacement = done[-1].kid
    assert states(store) == {first: "retired", upcoming: "current", replacement: "next"}
    jwks = jwks_reader.published_jwks()
    verifier(jwks, clock).verify(old_token)  # retired, not revoked: still verifies
    # a verifier that has not refetched since before the emergency already knows the new signer
    verifier(jwks_before, clock).verify(issue(signing, clock.now))


def test_rotate_now_without_a_next_key_signs_with_a_fresh_one(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    first, upcoming = (t.kid for t in rotator.reconcile())
    head = store.read_key_set().head
    assert head is not None
    store.drop_next(head)  # as a revoke of the next key that crashed before its reconcile
    assert store.read_key_set().next is None
    clock.advance(HOUR)
    done = rotator.rotate_now()
    assert moves(done)[:2] == [("current", "retired"), (NEW, "current")]
    assert store.current_signing_key().kid not in {first, upcoming}


def test_rotate_now_on_an_empty_table_bootstraps(rotator: KeyRotator, store: KeyStore) -> None:
    assert moves(rotator.rotate_now()) == [(NEW, "current"), (NEW, "next")]
    assert store.current_signing_key()


def test_revoking_the_current_key_drops_it_and_signs_with_the_published_next_key(
    rotator: KeyRotator, store: KeyStore, jwks_reader: KeyStore, clock: FakeClock
) -> None:
    first, upcoming = (t.kid for t in rotator.reconcile())
    token = issue(store.current_signing_key(), clock.now)
    done = rotator.revoke(first)
    # the next key is in every verifier's copy already: nothing new signs (no unknown-kid window)
    assert moves(done) == [("current", GONE), ("next", "current"), (NEW, "next")]
    assert done[0].reason is TransitionReason.REVOKED
    assert store.current_signing_key().kid == upcoming
    assert states(store) == {upcoming: "current", done[2].kid: "next"}
    # RFC 8725 §3.10 / RFC 7517 §4.5: a kid that is no longer published cannot verify a token
    with pytest.raises(KeyNotFound):
        verifier(jwks_reader.published_jwks(), clock).verify(token)


def test_revoking_the_next_key_publishes_another(rotator: KeyRotator, store: KeyStore) -> None:
    first, upcoming = (t.kid for t in rotator.reconcile())
    done = rotator.revoke(upcoming)
    assert moves(done) == [("next", GONE), (NEW, "next")]
    assert states(store) == {first: "current", done[1].kid: "next"}


def test_revoking_a_retired_key_removes_it(rotator: KeyRotator, store: KeyStore, clock: FakeClock) -> None:
    first = rotator.reconcile()[0].kid
    clock.now = START + PERIOD
    rotator.reconcile()
    assert moves(rotator.revoke(first)) == [("retired", GONE)]
    assert first not in states(store)


@pytest.mark.parametrize(
    "kid", ["NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", HEAD_KID, "", "a" * 257, "a b"]
)
def test_revoking_an_unknown_or_malformed_kid_is_refused_and_changes_nothing(
    rotator: KeyRotator, store: KeyStore, kid: str
) -> None:
    rotator.reconcile()
    before = store.list_keys()
    with pytest.raises(UnknownKid):
        rotator.revoke(kid)
    assert store.list_keys() == before


def test_a_head_naming_a_vanished_current_key_is_repaired_with_the_published_next_key(
    rotator: KeyRotator, store: KeyStore, dynamodb_client: Any, signing_keys_table: str
) -> None:
    first, upcoming = (t.kid for t in rotator.reconcile())
    dynamodb_client.delete_item(TableName=signing_keys_table, Key={"kid": {"S": first}})
    done = rotator.reconcile()
    assert [(t.from_state, t.to_state, t.reason) for t in done] == [
        ("next", "current", TransitionReason.REPAIR),
        (NEW, "next", TransitionReason.REPAIR),
    ]
    assert states(store) == {upcoming: "current", done[1].kid: "next"}
    assert store.current_signing_key().kid == upcoming


def test_a_key_the_head_does_not_name_is_retired_not_left_signing(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    # Given a key item in state "next" that no head names (written by hand, outside the rotator)
    rotator.reconcile()
    head = store.read_key_set().head
    assert head is not None
    stray = generate_signing_key(KeySpec.EDDSA)
    store._transact(
        [store._put_new(store._key_item(stray, KeyState.NEXT, KeySpec.EDDSA, clock.now))], "stray-write"
    )
    # When reconciled / Then it is retired (still published for the grace: it might have been used)
    done = rotator.reconcile()
    assert [(t.kid, t.to_state, t.reason) for t in done] == [(stray.kid, "retired", TransitionReason.REPAIR)]
    assert states(store)[stray.kid] is KeyState.RETIRED


@pytest.mark.parametrize(
    ("spec", "key_type", "size", "alg"),
    [
        (KeySpec.RS256, rsa.RSAPrivateKey, 2048, "RS256"),
        (KeySpec.RS256_3072, rsa.RSAPrivateKey, 3072, "RS256"),
        (KeySpec.ES256, ec.EllipticCurvePrivateKey, 256, "ES256"),
        (KeySpec.EDDSA, ed25519.Ed25519PrivateKey, None, "EdDSA"),
    ],
)
def test_keys_follow_the_signing_algorithm_parameter(
    make_rotator: Callable[..., KeyRotator],
    store: KeyStore,
    jwks_reader: KeyStore,
    clock: FakeClock,
    spec: KeySpec,
    key_type: type,
    size: int | None,
    alg: str,
) -> None:
    make_rotator(spec=spec).reconcile()
    key = store.current_signing_key()
    assert isinstance(key.private_key, key_type)
    if size is not None:
        assert key.private_key.key_size == size  # type: ignore[union-attr]
    assert key.alg == alg
    assert {r.key_spec for r in store.list_keys()} == {spec.value}
    # RFC 7517 §4.4: the published JWK names its algorithm
    assert {k["alg"] for k in jwks_reader.published_jwks()["keys"]} == {alg}
    verifier(jwks_reader.published_jwks(), clock).verify(issue(key, clock.now))


def test_each_committed_transition_is_reported_as_it_happens(
    make_rotator: Callable[..., KeyRotator], clock: FakeClock
) -> None:
    seen: list[Transition] = []
    rotator = make_rotator(observer=seen.append)
    done = rotator.reconcile()
    clock.now = START + PERIOD
    done += rotator.reconcile()
    assert seen == done
    assert all(t.as_dict().keys() == {"kid", "from", "to", "reason", "at"} for t in seen)


def test_an_invalid_schedule_or_algorithm_is_refused_at_construction(
    make_rotator: Callable[..., KeyRotator],
) -> None:
    with pytest.raises(ConfigurationError, match="grace"):
        make_rotator(schedule=dataclasses.replace(SCHEDULE, grace=60))
    with pytest.raises(ConfigurationError, match="algorithm"):
        make_rotator(spec="HS256")


def test_a_run_that_keeps_losing_races_gives_up_with_a_store_error(
    rotator: KeyRotator, store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key set that changes under every read (bounded: the run must not loop forever)
    def always_changing() -> Any:
        raise ConcurrentChange("the key set changed; re-read it")

    monkeypatch.setattr(store, "read_key_set", always_changing)
    actions: list[Callable[[], list[Transition]]] = [
        rotator.reconcile,
        rotator.rotate_now,
        lambda: rotator.revoke("a" * 43),
    ]
    for action in actions:
        with pytest.raises(KeyStoreError, match="kept changing"):
            action()


def test_an_expired_key_someone_else_deleted_first_is_not_reported(
    rotator: KeyRotator,
    store: KeyStore,
    clock: FakeClock,
    dynamodb_client: Any,
    signing_keys_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = rotator.reconcile()[0].kid
    clock.now = START + PERIOD
    rotator.reconcile()
    clock.now = START + PERIOD + GRACE
    delete_retired = store.delete_retired

    def ttl_got_there_first(kid: str, *, expired_by: float | None = None) -> None:
        dynamodb_client.delete_item(TableName=signing_keys_table, Key={"kid": {"S": kid}})  # DynamoDB TTL
        delete_retired(kid, expired_by=expired_by)

    monkeypatch.setattr(store, "delete_retired", ttl_got_there_first)
    assert rotator.reconcile() == []
    assert first not in states(store)


def record_write(writes: list[str], name: str, *args: object, **kwargs: object) -> None:
    writes.append(name)


def test_the_rotator_never_writes_when_nothing_is_due(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    rotator.reconcile()
    writes: list[str] = []
    for name in ("bootstrap", "promote_next", "add_next", "replace_current", "drop_next", "delete_key"):
        monkeypatch.setattr(store, name, functools.partial(record_write, writes, name))
    for hours in range(0, PERIOD // HOUR, 7):
        clock.now = START + hours * HOUR
        rotator.reconcile()
    assert writes == []
