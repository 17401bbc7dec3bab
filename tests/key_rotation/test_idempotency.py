"""Issue 19, items 2 and 4: rotate_now and revoke survive a lost answer; the cap on published keys.

A write that commits and then errors (a 500 after the commit, or botocore's retry losing its
condition against our own commit) is found through the head's ``last_write`` and reported as
done; a retry of the whole action changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from partnerauth.algorithms import KeySpec
from partnerauth.errors import KeyStoreError
from partnerauth.key_lifecycle import GONE, NEW, KeyLimitReached, KeyRotator, Transition, TransitionReason
from partnerauth.key_store import MAX_PUBLISHED_KEYS, KeyState, KeyStore
from tests.key_rotation.conftest import SCHEDULE, assert_consistent_key_set
from tests.support.clock import FakeClock


def moves(transitions: list[Transition]) -> list[tuple[str, str]]:
    return [(str(t.from_state), str(t.to_state)) for t in transitions]


def server_error(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, operation)


def cancelled_by_our_own_commit() -> ClientError:
    # What botocore's retry of a committed transaction sees once the head's version has moved on
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "x"},
            "CancellationReasons": [{"Code": "ConditionalCheckFailed"}],
        },
        "TransactWriteItems",
    )


class LostAnswers:
    """A DynamoDB client whose next ``lose`` transactions commit and then answer ``error``; with
    ``blind`` the read that would find the commit fails too (the caller cannot know)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lose = 0
        self.error: ClientError = server_error("TransactWriteItems")
        self.blind = False
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if name == "get_item":

            def get_item(**kwargs: Any) -> Any:
                if self.blind:
                    raise server_error("GetItem")
                return attribute(**kwargs)

            return get_item
        if name != "transact_write_items":
            return attribute

        def transact(**kwargs: Any) -> Any:
            result = attribute(**kwargs)
            self.commits += 1
            if self.lose:
                self.lose -= 1
                raise self.error
            return result

        return transact


@pytest.fixture
def lossy(dynamodb_client: Any) -> LostAnswers:
    return LostAnswers(dynamodb_client)


@pytest.fixture
def lossy_rotator(
    lossy: LostAnswers, signing_keys_table: str, kms_client: Any, kms_key_id: str, clock: FakeClock
) -> KeyRotator:
    store = KeyStore(signing_keys_table, lossy, kms_client, kms_key_id, clock=clock)
    return KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock)


def retired(store: KeyStore) -> int:
    return sum(r.state is KeyState.RETIRED for r in store.list_keys())


@pytest.mark.parametrize("answer", ["500 after commit", "retry lost to our own commit"])
def test_rotate_now_whose_answer_is_lost_reports_its_own_commit_and_rotates_once(
    answer: str,
    lossy: LostAnswers,
    lossy_rotator: KeyRotator,
    store: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
) -> None:
    lossy_rotator.reconcile()
    lossy.lose = 1
    lossy.error = (
        server_error("TransactWriteItems") if answer == "500 after commit" else cancelled_by_our_own_commit()
    )
    done = lossy_rotator.rotate_now()
    assert moves(done) == [("current", "retired"), ("next", "current"), (NEW, "next")]
    assert lossy.commits == 2  # the bootstrap and one rotation: the lost answer was not re-planned
    assert retired(store) == 1
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


def test_a_rotate_now_retried_after_it_failed_without_knowing_changes_nothing(
    lossy: LostAnswers, lossy_rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    # Given a rotate_now that committed, but whose answer and check were both lost: it reports failure
    first = lossy_rotator.reconcile()[0].kid
    lossy.lose, lossy.blind = 1, True
    with pytest.raises(KeyStoreError):
        lossy_rotator.rotate_now()
    lossy.blind = False
    promoted = store.read_key_set().head
    assert promoted is not None
    assert promoted.current_kid != first
    # When the operator retries, with or without the kid it meant / Then nothing more rotates:
    # the key it promoted keeps signing (a second promotion would make a key published seconds ago sign)
    clock.advance(30)
    assert lossy_rotator.rotate_now() == []
    assert lossy_rotator.rotate_now(kid=first) == []
    head = store.read_key_set().head
    assert head is not None
    assert head.current_kid == promoted.current_kid
    assert retired(store) == 1


def test_a_rotate_now_naming_the_current_kid_rotates_even_right_after_another(
    rotator: KeyRotator, store: KeyStore
) -> None:
    rotator.reconcile()
    rotator.rotate_now()
    head = store.read_key_set().head
    assert head is not None
    # the operator's explicit intent: the window of SECURITY.md applies (the promoted key is young)
    assert moves(rotator.rotate_now(kid=head.current_kid))[0] == ("current", "retired")
    assert retired(store) == 2


def test_rotate_now_naming_an_unknown_kid_is_refused(rotator: KeyRotator) -> None:
    from partnerauth.key_lifecycle import UnknownKid

    rotator.reconcile()
    with pytest.raises(UnknownKid):
        rotator.rotate_now(kid="NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")


def test_a_rotate_now_without_kid_is_a_new_rotation_once_the_publish_lead_has_passed(
    rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    rotator.reconcile()
    rotator.rotate_now()
    clock.advance(SCHEDULE.min_publish_lead - 1)
    assert rotator.rotate_now() == []
    clock.advance(1)  # the next key has now been published longer than any verifier's copy can be old
    assert len(rotator.rotate_now()) == 3


@pytest.mark.parametrize("which", ["current", "next", "retired"])
def test_revoke_whose_answer_is_lost_is_reported_once_and_its_retry_changes_nothing(
    which: str, lossy: LostAnswers, lossy_rotator: KeyRotator, store: KeyStore, clock: FakeClock
) -> None:
    current, upcoming = (t.kid for t in lossy_rotator.reconcile())
    kid = {"current": current, "next": upcoming}.get(which)
    if kid is None:
        clock.advance(SCHEDULE.period)
        lossy_rotator.reconcile()
        kid = current
    lossy.lose = 1
    done = lossy_rotator.revoke(kid)
    assert (done[0].kid, done[0].to_state, done[0].reason) == (kid, GONE, TransitionReason.REVOKED)
    before = {r.kid: r.state for r in store.list_keys()}
    # a retry after a lost answer: nothing changes, and it is not an "unknown kid"
    assert lossy_rotator.revoke(kid) == []
    assert {r.kid: r.state for r in store.list_keys()} == before


# -- the cap on published keys ---------------------------------------------------------------------------


def test_the_rotation_never_publishes_more_than_the_cap(
    rotator: KeyRotator, store: KeyStore, jwks_reader: KeyStore, clock: FakeClock
) -> None:
    # Given operators rotating again and again (each rotation keeps the old key published for grace)
    rotator.reconcile()
    for _ in range(MAX_PUBLISHED_KEYS - 2):
        head = store.read_key_set().head
        assert head is not None
        rotator.rotate_now(kid=head.current_kid)
    assert len(jwks_reader.published_jwks()["keys"]) == MAX_PUBLISHED_KEYS
    # When one more is asked while every retired key may still have valid tokens / Then it is refused
    head = store.read_key_set().head
    assert head is not None
    with pytest.raises(KeyLimitReached):
        rotator.rotate_now(kid=head.current_kid)
    assert len(jwks_reader.published_jwks()["keys"]) == MAX_PUBLISHED_KEYS
    # And once the oldest retired key's tokens have all expired, it makes room (oldest first)
    clock.advance(SCHEDULE.min_grace)
    done = rotator.rotate_now(kid=head.current_kid)
    assert [(t.to_state, t.reason) for t in done[:1]] == [(GONE, TransitionReason.KEY_LIMIT)]
    assert len(jwks_reader.published_jwks()["keys"]) == MAX_PUBLISHED_KEYS
