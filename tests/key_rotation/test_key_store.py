"""KeyStore: the item schema, the published JWKS, loading the current key, and failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from partnerauth.algorithms import KeySpec
from partnerauth.errors import ConfigurationError, KeyStoreError
from partnerauth.key_lifecycle import KeyRotator
from partnerauth.key_store import (
    HEAD_KID,
    MAX_DECRYPTED_KEYS,
    ConcurrentChange,
    KeySetHead,
    KeyState,
    KeyStore,
    encryption_context,
)
from partnerauth.keys import SigningKey, generate_signing_key
from tests.key_rotation.conftest import SCHEDULE, START, Recording, issue, verifier
from tests.support.clock import FakeClock


@pytest.fixture(scope="session")
def key_pair() -> tuple[SigningKey, SigningKey]:
    return generate_signing_key(KeySpec.EDDSA), generate_signing_key(KeySpec.EDDSA)


@pytest.fixture
def bootstrapped(store: KeyStore, key_pair: tuple[SigningKey, SigningKey]) -> tuple[SigningKey, SigningKey]:
    store.bootstrap(key_pair[0], key_pair[1], KeySpec.EDDSA, START)
    return key_pair


class Failing:
    """A client whose every call fails the way botocore fails."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            raise self.error

        return call


def test_bootstrap_writes_the_head_and_two_key_items(
    bootstrapped: tuple[SigningKey, SigningKey], dynamodb_client: Any, signing_keys_table: str
) -> None:
    current, upcoming = bootstrapped
    items = {i["kid"]["S"]: i for i in dynamodb_client.scan(TableName=signing_keys_table)["Items"]}
    assert set(items) == {HEAD_KID, current.kid, upcoming.kid}
    head = items[HEAD_KID]
    assert (head["current_kid"]["S"], head["next_kid"]["S"], head["version"]["N"]) == (
        current.kid,
        upcoming.kid,
        "1",
    )
    item = items[current.kid]
    assert item["state"]["S"] == "current"
    assert item["activated_at"]["N"] == str(START)
    assert (item["alg"]["S"], item["key_spec"]["S"]) == ("EdDSA", "EdDSA")
    # RFC 7517 §4: the stored public JWK is the published member; its kid is the RFC 7638 thumbprint
    assert json.loads(item["public_jwk"]["S"]) == current.public_jwk()
    assert "B" in item["private_key_ciphertext"]
    # only retired keys carry the TTL attribute: DynamoDB must never delete a key that signs or will sign
    assert "expires_at" not in item
    assert "expires_at" not in items[upcoming.kid]
    assert items[upcoming.kid]["state"]["S"] == "next"


def test_published_jwks_lists_current_then_next_with_public_members_only(
    bootstrapped: tuple[SigningKey, SigningKey], jwks_reader: KeyStore
) -> None:
    current, upcoming = bootstrapped
    jwks = jwks_reader.published_jwks()
    # RFC 7517 §5: a JWK Set; only public members (no "d")
    assert [k["kid"] for k in jwks["keys"]] == [current.kid, upcoming.kid]
    assert all("d" not in k and k["use"] == "sig" for k in jwks["keys"])


def test_published_jwks_before_bootstrap_is_an_empty_set(jwks_reader: KeyStore) -> None:
    assert jwks_reader.published_jwks() == {"keys": []}


def test_the_current_key_signs_tokens_the_published_jwks_verifies(
    bootstrapped: tuple[SigningKey, SigningKey], store: KeyStore, jwks_reader: KeyStore, clock: FakeClock
) -> None:
    key = store.current_signing_key()
    assert key.kid == bootstrapped[0].kid
    # RFC 9068 §4: the resource server validates the signature with the issuer's published key
    verified = verifier(jwks_reader.published_jwks(), clock).verify(issue(key, clock.now))
    assert verified.kid == key.kid


def test_current_key_is_decrypted_once_per_kid_but_the_head_is_read_every_time(
    bootstrapped: tuple[SigningKey, SigningKey],
    signing_keys_table: str,
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
) -> None:
    kms, dynamodb = Recording(kms_client), Recording(dynamodb_client)
    issuer = KeyStore(signing_keys_table, dynamodb, kms, kms_key_id)
    for _ in range(3):
        issuer.current_signing_key()
    assert [name for name, _ in kms.calls] == ["decrypt"]
    assert [c["Key"]["kid"]["S"] for n, c in dynamodb.calls if n == "get_item"].count(HEAD_KID) == 3
    assert all(c.get("ConsistentRead") for n, c in dynamodb.calls if n == "get_item")


def test_decrypt_binds_the_ciphertext_to_its_kid(
    bootstrapped: tuple[SigningKey, SigningKey],
    signing_keys_table: str,
    dynamodb_client: Any,
    kms_client: Any,
) -> None:
    kms = Recording(kms_client)
    KeyStore(signing_keys_table, dynamodb_client, kms).current_signing_key()  # no key id: the item's ARN
    ((_name, call),) = kms.calls
    assert call["EncryptionContext"] == {"kid": bootstrapped[0].kid, "purpose": "partnerauth-signing-key"}
    assert call["KeyId"].startswith("arn:aws:kms:")


def test_a_ciphertext_moved_to_another_item_does_not_decrypt(
    bootstrapped: tuple[SigningKey, SigningKey],
    store: KeyStore,
    dynamodb_client: Any,
    signing_keys_table: str,
) -> None:
    # Given the next key's ciphertext copied into the current key's item
    current, upcoming = bootstrapped
    stolen = dynamodb_client.get_item(TableName=signing_keys_table, Key={"kid": {"S": upcoming.kid}})["Item"]
    dynamodb_client.update_item(
        TableName=signing_keys_table,
        Key={"kid": {"S": current.kid}},
        UpdateExpression="SET private_key_ciphertext = :c",
        ExpressionAttributeValues={":c": stolen["private_key_ciphertext"]},
    )
    # Then KMS refuses it: the encryption context names the other kid
    with pytest.raises(KeyStoreError, match="unavailable"):
        store.current_signing_key()


def test_a_plaintext_that_is_not_the_published_key_is_refused(
    bootstrapped: tuple[SigningKey, SigningKey],
    store: KeyStore,
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
    signing_keys_table: str,
) -> None:
    # Given another key's PEM encrypted under the current kid's context (a writer with Encrypt rights)
    current, upcoming = bootstrapped
    forged = kms_client.encrypt(
        KeyId=kms_key_id, Plaintext=upcoming.private_pem(), EncryptionContext=encryption_context(current.kid)
    )["CiphertextBlob"]
    dynamodb_client.update_item(
        TableName=signing_keys_table,
        Key={"kid": {"S": current.kid}},
        UpdateExpression="SET private_key_ciphertext = :c",
        ExpressionAttributeValues={":c": {"B": forged}},
    )
    # Then the issuer does not sign with a key whose thumbprint differs from the kid it would announce
    with pytest.raises(KeyStoreError, match="unusable"):
        store.current_signing_key()


def test_no_signing_key_before_bootstrap(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="no signing key"):
        store.current_signing_key()


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "GetItem"),
        ClientError({"Error": {"Code": "AccessDeniedException", "Message": "x"}}, "GetItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
)
def test_aws_failures_become_a_key_store_error_with_a_fixed_message(error: Exception) -> None:
    store = KeyStore("SigningKeysTable", Failing(error), Failing(error), "key")
    for call in (store.current_signing_key, store.published_jwks, store.read_key_set):
        with pytest.raises(KeyStoreError) as raised:
            call()
        assert str(raised.value) == "signing-key store unavailable"


def test_kms_failure_on_decrypt_is_a_key_store_error(
    bootstrapped: tuple[SigningKey, SigningKey], signing_keys_table: str, dynamodb_client: Any
) -> None:
    denied = Failing(ClientError({"Error": {"Code": "AccessDeniedException", "Message": "x"}}, "Decrypt"))
    with pytest.raises(KeyStoreError, match="unavailable"):
        KeyStore(signing_keys_table, dynamodb_client, denied, "key").current_signing_key()


def test_a_write_planned_from_a_stale_head_loses(
    bootstrapped: tuple[SigningKey, SigningKey], store: KeyStore
) -> None:
    # Given a head read at version 1, then changed by another writer
    stale = store.read_key_set().head
    assert stale is not None
    store.add_next(stale, generate_signing_key(KeySpec.EDDSA), KeySpec.EDDSA, START)
    # When a second writer commits from the version it saw / Then it loses, and nothing is written
    before = {r.kid: r.state for r in store.list_keys()}
    with pytest.raises(ConcurrentChange):
        store.promote_next(stale, generate_signing_key(KeySpec.EDDSA), KeySpec.EDDSA, START, 86_400)
    assert {r.kid: r.state for r in store.list_keys()} == before


def test_an_expired_key_is_deleted_only_once_it_expired(
    bootstrapped: tuple[SigningKey, SigningKey], store: KeyStore
) -> None:
    head = store.read_key_set().head
    assert isinstance(head, KeySetHead)
    retired = head.current_kid
    store.promote_next(head, generate_signing_key(KeySpec.EDDSA), KeySpec.EDDSA, START + 10, grace=100)
    assert store.read_key_set().keys[retired].expires_at == START + 110  # the TTL attribute
    with pytest.raises(ConcurrentChange):
        store.delete_retired(retired, expired_by=START + 109)
    store.delete_retired(retired, expired_by=START + 110)
    assert retired not in {r.kid for r in store.list_keys()}
    assert {r.state for r in store.list_keys()} == {KeyState.CURRENT, KeyState.NEXT}


def test_a_retired_key_leaves_the_jwks_when_its_grace_ends_even_before_it_is_deleted(
    bootstrapped: tuple[SigningKey, SigningKey], store: KeyStore, jwks_reader: KeyStore, clock: FakeClock
) -> None:
    # Given a key retired at START + 10 with a grace of 100 s, its item not yet deleted by anyone
    head = store.read_key_set().head
    assert isinstance(head, KeySetHead)
    store.promote_next(head, generate_signing_key(KeySpec.EDDSA), KeySpec.EDDSA, START + 10, grace=100)
    clock.now = START + 109
    assert head.current_kid in {k["kid"] for k in jwks_reader.published_jwks()["keys"]}
    clock.now = START + 110
    assert head.current_kid not in {k["kid"] for k in jwks_reader.published_jwks()["keys"]}
    assert head.current_kid in {r.kid for r in jwks_reader.list_keys()}


class StaleScan:
    """A client whose Scan shows the head as it is now but the key items as they were earlier:
    what a real (non-snapshot) Scan can return when a transaction commits while it runs."""

    def __init__(self, client: Any, earlier: list[dict[str, Any]]) -> None:
        self.client = client
        self.earlier = [i for i in earlier if i["kid"]["S"] != HEAD_KID]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        now = self.client.scan(**kwargs)["Items"]
        return {"Items": [i for i in now if i["kid"]["S"] == HEAD_KID] + self.earlier}


def test_a_scan_that_is_not_a_snapshot_is_checked_transactionally(
    bootstrapped: tuple[SigningKey, SigningKey],
    store: KeyStore,
    dynamodb_client: Any,
    kms_client: Any,
    signing_keys_table: str,
) -> None:
    # Given a Scan that shows the head after a rotation but the keys from before it
    earlier = dynamodb_client.scan(TableName=signing_keys_table)["Items"]
    head = store.read_key_set().head
    assert head is not None
    store.promote_next(head, generate_signing_key(KeySpec.EDDSA), KeySpec.EDDSA, START + 10, grace=100)
    reader = KeyStore(signing_keys_table, StaleScan(dynamodb_client, earlier), kms_client)
    # When the rotator reads the key set / Then the head and its keys agree (re-read in one transaction)
    key_set = reader.read_key_set()
    assert key_set.current is not None
    assert key_set.current.kid == bootstrapped[1].kid
    assert key_set.current.state is KeyState.CURRENT
    assert key_set.next is not None
    assert key_set.next.state is KeyState.NEXT


class Paged:
    """A client whose Scan returns one item per page (DynamoDB pages at 1 MB)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        start = kwargs.pop("ExclusiveStartKey", None)
        items = sorted(self.client.scan(**kwargs)["Items"], key=lambda i: i["kid"]["S"])
        position = 0 if start is None else [i["kid"] for i in items].index(start["kid"]) + 1
        page: dict[str, Any] = {"Items": items[position : position + 1]}
        if position + 1 < len(items):
            page["LastEvaluatedKey"] = {"kid": items[position]["kid"]}
        return page


def test_every_page_of_the_scan_is_read(
    bootstrapped: tuple[SigningKey, SigningKey], dynamodb_client: Any, signing_keys_table: str
) -> None:
    reader = KeyStore(signing_keys_table, Paged(dynamodb_client))
    assert len(reader.published_jwks()["keys"]) == 2


class KeyVanishesOnce:
    """A client that answers the first GetItem of a key item with nothing (revoked in between)."""

    def __init__(self, client: Any, times: int = 1) -> None:
        self.client = client
        self.times = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs["Key"]["kid"]["S"] != HEAD_KID and self.times > 0:
            self.times -= 1
            return {}
        result: dict[str, Any] = self.client.get_item(**kwargs)
        return result


def test_the_head_is_read_again_when_its_key_vanished_in_between(
    bootstrapped: tuple[SigningKey, SigningKey],
    signing_keys_table: str,
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
) -> None:
    issuer = KeyStore(signing_keys_table, KeyVanishesOnce(dynamodb_client), kms_client, kms_key_id)
    assert issuer.current_signing_key().kid == bootstrapped[0].kid
    with pytest.raises(KeyStoreError, match="no signing key"):
        KeyStore(signing_keys_table, KeyVanishesOnce(dynamodb_client, 2), kms_client).current_signing_key()


@pytest.mark.parametrize(
    "plaintext", [b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]
)
def test_a_plaintext_that_is_no_key_at_all_is_refused(
    bootstrapped: tuple[SigningKey, SigningKey],
    store: KeyStore,
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
    signing_keys_table: str,
    plaintext: bytes,
) -> None:
    kid = bootstrapped[0].kid
    blob = kms_client.encrypt(
        KeyId=kms_key_id, Plaintext=plaintext, EncryptionContext=encryption_context(kid)
    )
    dynamodb_client.update_item(
        TableName=signing_keys_table,
        Key={"kid": {"S": kid}},
        UpdateExpression="SET private_key_ciphertext = :c",
        ExpressionAttributeValues={":c": {"B": blob["CiphertextBlob"]}},
    )
    with pytest.raises(KeyStoreError, match="unusable"):
        store.current_signing_key()


def test_creating_keys_without_kms_is_a_configuration_error(
    jwks_reader: KeyStore, key_pair: tuple[SigningKey, SigningKey]
) -> None:
    with pytest.raises(ConfigurationError, match="KMS"):
        jwks_reader.bootstrap(key_pair[0], key_pair[1], KeySpec.EDDSA, START)
    assert jwks_reader.list_keys() == []


def test_the_issuer_keeps_only_a_few_decrypted_keys(
    store: KeyStore, signing_keys_table: str, dynamodb_client: Any, kms_client: Any, clock: FakeClock
) -> None:
    issuer = KeyStore(signing_keys_table, dynamodb_client, kms_client)
    rotator = KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock)
    rotator.reconcile()
    seen = {issuer.current_signing_key().kid}
    for _ in range(MAX_DECRYPTED_KEYS + 1):
        rotator.rotate_now(kid=issuer.current_signing_key().kid)  # named: each one a new rotation
        seen.add(issuer.current_signing_key().kid)
    assert len(seen) == MAX_DECRYPTED_KEYS + 2
    assert len(issuer._decrypted) == MAX_DECRYPTED_KEYS
