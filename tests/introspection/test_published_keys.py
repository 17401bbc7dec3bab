"""PublishedSigningKeys: the keys the JWKS publishes, read by kid, never the private key's ciphertext."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.errors import KeyNotFound, KeysUnavailable
from partnerauth.key_store import HEAD_KID, KeyStore
from partnerauth.keys import SigningKey
from partnerauth.published_keys import PublishedSigningKeys
from tests.support.clock import FakeClock
from tests.token_issuer.conftest import aws_error

URI = "https://auth.example.test/.well-known/jwks.json"


@pytest.fixture
def keys(tables: dict[str, str], recording_dynamodb: Any, clock: FakeClock) -> PublishedSigningKeys:
    return PublishedSigningKeys(tables["SigningKeysTable"], recording_dynamodb, clock)


def test_the_current_and_next_keys_are_found_as_the_jwks_publishes_them(
    keys: PublishedSigningKeys, key_store: KeyStore, session_keys: tuple[SigningKey, SigningKey]
) -> None:
    published = {jwk["kid"] for jwk in key_store.published_jwks()["keys"]}
    for key in session_keys:
        assert key.kid in published
        assert keys.key_for(URI, key.kid).kid == key.kid


def test_only_public_members_are_read(
    keys: PublishedSigningKeys,
    key_store: KeyStore,
    session_keys: tuple[SigningKey, SigningKey],
    recording_dynamodb: Any,
    tables: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []
    real = recording_dynamodb._client.get_item

    def spy(**arguments: Any) -> Any:
        seen.append(arguments)
        return real(**arguments)

    monkeypatch.setattr(recording_dynamodb._client, "get_item", spy)
    keys.key_for(URI, session_keys[0].kid)
    (call,) = seen
    assert call["ConsistentRead"] is True  # an emergency revocation is seen by the next request
    assert "private_key_ciphertext" not in call["ProjectionExpression"]


def test_a_retired_key_past_its_grace_is_not_found(
    keys: PublishedSigningKeys,
    key_store: KeyStore,
    session_keys: tuple[SigningKey, SigningKey],
    tables: dict[str, str],
    dynamodb_client: Any,
    clock: FakeClock,
) -> None:
    kid = session_keys[0].kid
    dynamodb_client.update_item(
        TableName=tables["SigningKeysTable"],
        Key={"kid": {"S": kid}},
        UpdateExpression="SET #s = :retired, expires_at = :at",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":retired": {"S": "retired"}, ":at": {"N": str(int(clock()) + 10)}},
    )
    assert keys.key_for(URI, kid).kid == kid  # retired, still published
    clock.advance(10)
    with pytest.raises(KeyNotFound):  # past expires_at: the JWKS no longer has it (TTL or not)
        keys.key_for(URI, kid)


@pytest.mark.parametrize("kid", [HEAD_KID, "no-such-kid", "x" * 300, ""])
def test_the_head_an_unknown_or_an_oversized_kid_is_not_found(
    keys: PublishedSigningKeys, key_store: KeyStore, kid: str
) -> None:
    with pytest.raises(KeyNotFound):
        keys.key_for(URI, kid)


@pytest.mark.parametrize(
    "damage",
    [
        {"public_jwk": {"S": "not json"}},
        {"public_jwk": {"S": '{"kty": "RSA"}'}},
        {"state": {"S": "from-the-future"}},
        {"alg": {"S": "HS256"}},
        {"expires_at": {"S": "soon"}},
    ],
)
def test_an_unreadable_key_item_is_not_found(
    keys: PublishedSigningKeys,
    key_store: KeyStore,
    session_keys: tuple[SigningKey, SigningKey],
    tables: dict[str, str],
    dynamodb_client: Any,
    damage: dict[str, Any],
) -> None:
    kid = session_keys[0].kid
    item = dynamodb_client.get_item(TableName=tables["SigningKeysTable"], Key={"kid": {"S": kid}})["Item"]
    dynamodb_client.put_item(TableName=tables["SigningKeysTable"], Item={**item, **damage})
    with pytest.raises(KeyNotFound):
        keys.key_for(URI, kid)


def test_a_table_that_cannot_be_read_is_keys_unavailable(
    keys: PublishedSigningKeys,
    key_store: KeyStore,
    session_keys: tuple[SigningKey, SigningKey],
    recording_dynamodb: Any,
    tables: dict[str, str],
) -> None:
    recording_dynamodb.fail("get_item", aws_error("ProvisionedThroughputExceededException"))
    with pytest.raises(KeysUnavailable):
        keys.key_for(URI, session_keys[0].kid)
