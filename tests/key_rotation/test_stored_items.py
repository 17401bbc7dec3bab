"""Issue 19, item 1 and 4: nothing stored can take the key set down.

A malformed item is that item's problem alone (skipped with a fixed reason, reported without its
content); a key in a state this version does not know is left alone (forward compatibility); the
rotation function can remove any of them; a lost or unreadable head is rebuilt from the key items
without ever making a key sign that the JWKS has not held.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.key_lifecycle import GONE, NEW, KeyRotator, Transition, TransitionReason
from partnerauth.key_store import HEAD_KID, KeyStore, SkippedItem, SkipReason
from partnerauth.keys import generate_signing_key
from tests.key_rotation.conftest import SCHEDULE, START, assert_consistent_key_set, issue, verifier
from tests.support.clock import FakeClock

SECRETISH = "do-not-log-this-content"  # planted in malformed items: must never reach a report


def moves(transitions: list[Transition]) -> list[tuple[str, str]]:
    return [(str(t.from_state), str(t.to_state)) for t in transitions]


def good_item(kid: str = "good") -> dict[str, Any]:
    """A well-formed key item's public part (a real key, so that only the named fault is wrong)."""
    key = generate_signing_key(KeySpec.EDDSA)
    jwk = key.public_jwk()
    return {
        "kid": {"S": kid if kid != "good" else key.kid},
        "alg": {"S": "EdDSA"},
        "key_spec": {"S": "EdDSA"},
        "state": {"S": "retired"},
        "created_at": {"N": str(START)},
        "retired_at": {"N": str(START)},
        "expires_at": {"N": str(START + 10 * 86_400)},
        "public_jwk": {"S": json.dumps(jwk)},
    }


def malformed(shape: str) -> dict[str, Any]:
    item = good_item()
    kid = item["kid"]["S"]
    shapes: dict[str, Callable[[], dict[str, Any]]] = {
        "only a kid": lambda: {"kid": {"S": "test"}},
        "public_jwk not JSON": lambda: {**item, "public_jwk": {"S": "{" + SECRETISH}},
        "public_jwk not an object": lambda: {**item, "public_jwk": {"S": json.dumps([SECRETISH])}},
        "public_jwk of another kid": lambda: {**item, "kid": {"S": "another-" + kid[:20]}},
        "public_jwk with private members": lambda: {
            **item,
            "public_jwk": {"S": json.dumps({**json.loads(item["public_jwk"]["S"]), "d": SECRETISH})},
        },
        "created_at a string": lambda: {**item, "created_at": {"S": str(START)}},
        "created_at not whole": lambda: {**item, "created_at": {"N": "1.5"}},
        "expires_at a string": lambda: {**item, "expires_at": {"S": SECRETISH}},
        "state a number": lambda: {**item, "state": {"N": "1"}},
        "alg missing": lambda: {k: v for k, v in item.items() if k != "alg"},
        "kid with controls": lambda: {**item, "kid": {"S": "bad\nkid " + SECRETISH}},
    }
    return shapes[shape]()


MALFORMED_SHAPES = [
    "only a kid",
    "public_jwk not JSON",
    "public_jwk not an object",
    "public_jwk of another kid",
    "public_jwk with private members",
    "created_at a string",
    "created_at not whole",
    "expires_at a string",
    "state a number",
    "alg missing",
    "kid with controls",
]


class Reports:
    def __init__(self) -> None:
        self.items: list[SkippedItem] = []

    def __call__(self, item: SkippedItem) -> None:
        self.items.append(item)


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def observed(
    signing_keys_table: str,
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
    clock: FakeClock,
    reports: Reports,
) -> KeyStore:
    return KeyStore(
        signing_keys_table, dynamodb_client, kms_client, kms_key_id, clock=clock, on_skipped=reports
    )


@pytest.fixture
def rotator_of(observed: KeyStore, clock: FakeClock) -> KeyRotator:
    return KeyRotator(observed, SCHEDULE, KeySpec.EDDSA, clock)


def put(dynamodb_client: Any, table: str, item: dict[str, Any]) -> None:
    dynamodb_client.put_item(TableName=table, Item=item)


def kids_in_table(dynamodb_client: Any, table: str) -> set[str]:
    return {i["kid"]["S"] for i in dynamodb_client.scan(TableName=table, ConsistentRead=True)["Items"]}


@pytest.mark.parametrize("shape", MALFORMED_SHAPES)
def test_a_malformed_item_is_skipped_and_everything_else_keeps_working(
    shape: str,
    rotator_of: KeyRotator,
    observed: KeyStore,
    reports: Reports,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    # Given a working key set and one malformed item written by hand
    current, upcoming = (t.kid for t in rotator_of.reconcile())
    bad = malformed(shape)
    put(dynamodb_client, signing_keys_table, bad)
    # When the JWKS is read / Then the good keys are published, the bad item is not, and it is reported
    # with a fixed reason and nothing of its content
    token = issue(observed.current_signing_key(), clock.now)
    jwks = observed.published_jwks()
    assert [k["kid"] for k in jwks["keys"]] == [current, upcoming]
    assert verifier(jwks, clock).verify(token)
    assert {(r.kid, r.reason.malformed) for r in reports.items} == {(bad["kid"]["S"], True)}
    assert all(SECRETISH not in (r.label + r.reason) for r in reports.items)
    # And the rotation's actions all still run: scheduled, emergency, revocation of a good key
    assert rotator_of.reconcile() == []
    assert moves(rotator_of.rotate_now()) == [("current", "retired"), ("next", "current"), (NEW, "next")]
    assert moves(rotator_of.revoke(current)) == [("retired", GONE)]
    assert_consistent_key_set_ignoring(dynamodb_client, signing_keys_table, {bad["kid"]["S"]})
    # And the rotation function can remove the malformed item itself
    done = rotator_of.revoke(bad["kid"]["S"])
    assert [(t.to_state, t.reason) for t in done] == [(GONE, TransitionReason.REVOKED)]
    assert SECRETISH not in done[0].kid
    assert bad["kid"]["S"] not in kids_in_table(dynamodb_client, signing_keys_table)
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


def assert_consistent_key_set_ignoring(dynamodb_client: Any, table: str, ignored: set[str]) -> None:
    items = dynamodb_client.scan(TableName=table, ConsistentRead=True)["Items"]
    kept = [i for i in items if i["kid"]["S"] not in ignored]
    head = next(i for i in kept if i["kid"]["S"] == HEAD_KID)
    current = [i["kid"]["S"] for i in kept if i.get("state") == {"S": "current"}]
    assert current == [head["current_kid"]["S"]]


def test_a_key_in_a_state_this_version_does_not_know_is_left_alone(
    rotator_of: KeyRotator,
    observed: KeyStore,
    reports: Reports,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    # Given a newer version's item (forward compatibility: say a state "staged") during a rolling deploy
    rotator_of.reconcile()
    newer = {**good_item(), "state": {"S": "staged"}, "written_by": {"S": "v2"}}
    put(dynamodb_client, signing_keys_table, newer)
    # When every action of this version runs, a year of schedule included
    for _ in range(12):
        clock.advance(SCHEDULE.period)
        rotator_of.reconcile()
    rotator_of.rotate_now()
    # Then the item is untouched: not published, never signing, not retired nor deleted
    stored = dynamodb_client.get_item(TableName=signing_keys_table, Key={"kid": newer["kid"]})["Item"]
    assert stored == newer
    assert newer["kid"]["S"] not in {k["kid"] for k in observed.published_jwks()["keys"]}
    # And it is counted apart from malformed items (no alarm for a newer version's state)
    assert {(r.reason, r.reason.malformed) for r in reports.items} == {(SkipReason.UNKNOWN_STATE, False)}
    # And an operator can still remove it explicitly
    rotator_of.revoke(newer["kid"]["S"])
    assert newer["kid"]["S"] not in kids_in_table(dynamodb_client, signing_keys_table)


def test_an_unknown_state_is_reported_as_such_whatever_else_the_item_holds(
    observed: KeyStore, reports: Reports, dynamodb_client: Any, signing_keys_table: str
) -> None:
    # A newer version may also change other attributes of its own state's items
    put(
        dynamodb_client,
        signing_keys_table,
        {"kid": {"S": "k"}, "state": {"S": "staged"}, "created_at": {"S": "x"}},
    )
    assert observed.list_keys() == []
    assert [r.reason for r in reports.items] == [SkipReason.UNKNOWN_STATE]


def test_a_malformed_current_key_is_replaced_by_the_published_next_key(
    rotator_of: KeyRotator,
    observed: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    # Given the current key's item damaged (its public JWK is gone: it can no longer be published)
    current, upcoming = (t.kid for t in rotator_of.reconcile())
    dynamodb_client.update_item(
        TableName=signing_keys_table,
        Key={"kid": {"S": current}},
        UpdateExpression="SET public_jwk = :bad",
        ExpressionAttributeValues={":bad": {"S": "{" + SECRETISH}},
    )
    # When reconciled / Then the next key - published already, never a brand-new one - signs
    done = rotator_of.reconcile()
    assert moves(done) == [("next", "current"), (NEW, "next")]
    assert {t.reason for t in done} == {TransitionReason.REPAIR}
    assert observed.current_signing_key().kid == upcoming
    # And revoking the damaged item removes it
    assert moves(rotator_of.revoke(current)) == [("bad_public_jwk", GONE)]
    assert current not in kids_in_table(dynamodb_client, signing_keys_table)


def test_revoking_a_current_key_that_is_unreadable_drops_it_and_promotes_the_next(
    rotator_of: KeyRotator, observed: KeyStore, dynamodb_client: Any, signing_keys_table: str
) -> None:
    current, upcoming = (t.kid for t in rotator_of.reconcile())
    dynamodb_client.update_item(
        TableName=signing_keys_table,
        Key={"kid": {"S": current}},
        UpdateExpression="SET created_at = :bad",
        ExpressionAttributeValues={":bad": {"S": "yesterday"}},
    )
    done = rotator_of.revoke(current)
    assert moves(done)[:2] == [("current", GONE), ("next", "current")]
    assert current not in kids_in_table(dynamodb_client, signing_keys_table)
    assert observed.current_signing_key().kid == upcoming
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


# -- the head item --------------------------------------------------------------------------------------


def test_a_lost_head_is_rebuilt_naming_the_keys_that_were_current_and_next(
    rotator_of: KeyRotator,
    observed: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    # Given a key set a day old, then the head deleted by hand
    current, upcoming = (t.kid for t in rotator_of.reconcile())
    clock.advance(86_400)
    token = issue(observed.current_signing_key(), clock.now)
    dynamodb_client.delete_item(TableName=signing_keys_table, Key={"kid": {"S": HEAD_KID}})
    # When the rotation runs / Then the head names the same keys again: no key changed state,
    # nothing new signs
    assert rotator_of.reconcile() == []
    head = observed.read_key_set().head
    assert head is not None
    assert (head.current_kid, head.next_kid) == (current, upcoming)
    assert head.version >= clock.now  # above any version the lost head had: old plans cannot commit
    assert observed.current_signing_key().kid == current
    assert verifier(observed.published_jwks(), clock).verify(token)
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


def test_a_lost_head_with_no_current_key_promotes_the_next_key_published_longest(
    rotator_of: KeyRotator,
    observed: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
) -> None:
    current, upcoming = (t.kid for t in rotator_of.reconcile())
    for kid in (HEAD_KID, current):
        dynamodb_client.delete_item(TableName=signing_keys_table, Key={"kid": {"S": kid}})
    clock.advance(60)
    done = rotator_of.reconcile()
    # the next key was published when the set was made: it signs; no never-published key does
    assert moves(done) == [("next", "current"), (NEW, "next")]
    assert observed.current_signing_key().kid == upcoming
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


def test_an_unreadable_head_is_rebuilt_the_same_way(
    rotator_of: KeyRotator,
    observed: KeyStore,
    reports: Reports,
    dynamodb_client: Any,
    signing_keys_table: str,
) -> None:
    current, upcoming = (t.kid for t in rotator_of.reconcile())
    dynamodb_client.put_item(
        TableName=signing_keys_table, Item={"kid": {"S": HEAD_KID}, "current_kid": {"N": "7"}}
    )
    assert rotator_of.reconcile() == []
    assert (HEAD_KID, SkipReason.WRONG_TYPE) in {(r.kid, r.reason) for r in reports.items}
    assert observed.current_signing_key().kid == current
    head = observed.read_key_set().head
    assert head is not None
    assert head.next_kid == upcoming
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


def test_an_unreadable_head_is_a_503_for_the_issuer_not_a_crash(
    rotator_of: KeyRotator, observed: KeyStore, dynamodb_client: Any, signing_keys_table: str
) -> None:
    from partnerauth.errors import KeyStoreError

    rotator_of.reconcile()
    dynamodb_client.put_item(
        TableName=signing_keys_table, Item={"kid": {"S": HEAD_KID}, "current_kid": {"N": "7"}}
    )
    fresh_issuer = KeyStore(signing_keys_table, dynamodb_client, observed._kms, observed._kms_key_id)
    with pytest.raises(KeyStoreError, match="unreadable"):
        fresh_issuer.current_signing_key()


def test_a_lost_head_on_a_table_of_retired_keys_only_bootstraps(
    rotator_of: KeyRotator, observed: KeyStore, dynamodb_client: Any, signing_keys_table: str
) -> None:
    # Nothing published can sign: the first key of a new set cannot have a lead (as on the first deploy)
    put(dynamodb_client, signing_keys_table, good_item())
    done = rotator_of.reconcile()
    assert moves(done) == [(NEW, "current"), (NEW, "next")]
    assert_consistent_key_set(dynamodb_client, signing_keys_table)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("alg", None),
        ("alg", {"N": "256"}),
        ("private_key_ciphertext", {"S": "not bytes"}),
        ("kms_key_arn", {"N": "1"}),
    ],
)
def test_a_damaged_current_key_item_is_a_store_error_for_the_issuer_not_a_crash(
    attribute: str,
    value: dict[str, str] | None,
    rotator_of: KeyRotator,
    signing_keys_table: str,
    dynamodb_client: Any,
    kms_client: Any,
) -> None:
    from partnerauth.errors import KeyStoreError

    current = rotator_of.reconcile()[0].kid
    if value is None:
        expression, values = f"REMOVE {attribute}", None
    else:
        expression, values = f"SET {attribute} = :v", {":v": value}
    update: dict[str, Any] = {
        "TableName": signing_keys_table,
        "Key": {"kid": {"S": current}},
        "UpdateExpression": expression,
    }
    if values:
        update["ExpressionAttributeValues"] = values
    dynamodb_client.update_item(**update)
    issuer = KeyStore(signing_keys_table, dynamodb_client, kms_client)  # no key id: kms_key_arn is read
    with pytest.raises(KeyStoreError):  # the token endpoint's 503, never a 500
        issuer.current_signing_key()
