"""Custody of the private signing keys: only ciphertext in the table, only the issuer decrypts.

SECURITY.md promises that a reader of the table without kms:Decrypt (the JWKS function; the
authorizer has no table access at all) finds no private material in clear.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from partnerauth import base64url
from partnerauth.algorithms import KeySpec
from partnerauth.errors import ConfigurationError, KeyStoreError
from partnerauth.key_lifecycle import KeyRotator
from partnerauth.key_store import ENCRYPTION_PURPOSE, KeyStore, encryption_context
from partnerauth.keys import SigningKey
from tests.key_rotation.conftest import SCHEDULE, START, Recording
from tests.support.clock import FakeClock
from tests.support.template import Template


def private_fragments(key: SigningKey) -> list[bytes]:
    """Byte strings any leak of ``key`` would contain: its PEM, its private numbers, their JWK form."""
    pem = key.private_pem()
    body = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    private = key.private_key
    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        secrets = [numbers.d, numbers.p, numbers.q]
        raw = [n.to_bytes((n.bit_length() + 7) // 8, "big") for n in secrets]
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        raw = [private.private_numbers().private_value.to_bytes(32, "big")]
    else:
        assert isinstance(private, ed25519.Ed25519PrivateKey)
        raw = [private.private_bytes_raw()]
    return [b"PRIVATE KEY", *body[:2], *raw, *(base64url.encode(r).encode() for r in raw)]


def decrypt_as_issuer(kms_client: Any, item: dict[str, Any]) -> SigningKey:
    kid = item["kid"]["S"]
    plaintext = kms_client.decrypt(
        CiphertextBlob=item["private_key_ciphertext"]["B"], EncryptionContext=encryption_context(kid)
    )["Plaintext"]
    return SigningKey.from_pem(plaintext, item["alg"]["S"])


@pytest.mark.parametrize("spec", [KeySpec.RS256, KeySpec.ES256, KeySpec.EDDSA])
def test_a_reader_without_kms_finds_no_private_material_in_the_table(
    make_rotator: Callable[..., KeyRotator],
    jwks_reader: KeyStore,
    dynamodb_client: Any,
    kms_client: Any,
    signing_keys_table: str,
    clock: FakeClock,
    spec: KeySpec,
) -> None:
    # Given keys in every published state: current, next and retired
    rotator = make_rotator(spec=spec)
    rotator.reconcile()
    clock.now = START + SCHEDULE.period
    rotator.reconcile()
    # When everything the JWKS function's role can read is read: every item, every attribute
    items = dynamodb_client.scan(TableName=signing_keys_table, ConsistentRead=True)["Items"]
    everything = repr(items).encode() + b"".join(
        value["B"] for item in items for value in item.values() if "B" in value
    )
    published = json.dumps(jwks_reader.published_jwks()).encode()
    # Then no fragment of any private key is in it, in any encoding (PEM, raw numbers, JWK "d")
    keys = [decrypt_as_issuer(kms_client, i) for i in items if "private_key_ciphertext" in i]
    assert len(keys) == 3
    for key in keys:
        for fragment in private_fragments(key):
            assert fragment not in everything
            assert fragment not in published
    # RFC 7517 §4 / RFC 7518 §6.3.2, §6.2.2: no private JWK member is published
    assert not {"d", "p", "q", "dp", "dq", "qi"} & {
        m for k in jwks_reader.published_jwks()["keys"] for m in k
    }


def test_the_jwks_reader_publishes_without_kms_but_cannot_load_a_signing_key(
    rotator: KeyRotator, jwks_reader: KeyStore
) -> None:
    rotator.reconcile()
    assert len(jwks_reader.published_jwks()["keys"]) == 2
    with pytest.raises(ConfigurationError, match="KMS"):
        jwks_reader.current_signing_key()


def test_the_ciphertext_does_not_decrypt_without_its_encryption_context(
    rotator: KeyRotator, dynamodb_client: Any, kms_client: Any, signing_keys_table: str
) -> None:
    rotator.reconcile()
    item = next(
        i
        for i in dynamodb_client.scan(TableName=signing_keys_table)["Items"]
        if "private_key_ciphertext" in i
    )
    blob = item["private_key_ciphertext"]["B"]
    for context in ({}, {"kid": item["kid"]["S"]}, {"kid": "other", "purpose": ENCRYPTION_PURPOSE}):
        with pytest.raises(ClientError, match="InvalidCiphertext"):
            kms_client.decrypt(CiphertextBlob=blob, EncryptionContext=context)


def test_publishing_and_rotating_never_fetch_or_decrypt_private_material(
    signing_keys_table: str, dynamodb_client: Any, kms_client: Any, kms_key_id: str, clock: FakeClock
) -> None:
    # Given the rotation role's and the JWKS role's stores, recording every call they make
    dynamodb, kms = Recording(dynamodb_client), Recording(kms_client)
    store = KeyStore(signing_keys_table, dynamodb, kms, kms_key_id, clock=clock)
    rotator = KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock)
    # When a whole lifecycle runs and the JWKS is published at every step
    for at in (START, START + SCHEDULE.period, START + SCHEDULE.period + SCHEDULE.grace):
        rotator.reconcile(at)
        store.published_jwks()
        store.list_keys()
    rotator.rotate_now(at)
    rotator.revoke(store.read_key_set().head.current_kid, at)  # type: ignore[union-attr]
    # Then KMS was only asked to encrypt (the rotation role has no kms:Decrypt), with the bound context
    assert {name for name, _ in kms.calls} == {"encrypt"}
    assert all(call["EncryptionContext"]["purpose"] == ENCRYPTION_PURPOSE for _, call in kms.calls)
    # And no read asked DynamoDB for the ciphertext
    reads = [call for name, call in dynamodb.calls if name in ("scan", "get_item", "transact_get_items")]
    assert reads
    assert all("private_key_ciphertext" not in json.dumps(call, default=str) for call in reads)


def test_the_key_policy_lets_only_the_token_function_decrypt(cfn_template: Template) -> None:
    """template.yaml: kms:Decrypt for TokenFunctionRole only, kms:Encrypt for KeyRotationFunctionRole only,
    both bound to the encryption-context purpose this store writes."""
    policy = cfn_template["Resources"]["SigningKeyEncryptionKey"]["Properties"]["KeyPolicy"]
    grants: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        principal = statement["Principal"]["AWS"]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            if action in ("kms:Decrypt", "kms:Encrypt", "kms:*", "kms:ReEncrypt*", "kms:GenerateDataKey*"):
                role = principal["Fn::GetAtt"][0] if isinstance(principal, dict) else str(principal)
                grants.setdefault(action, set()).add(role)
                condition = statement["Condition"]["StringEquals"]["kms:EncryptionContext:purpose"]
                assert condition == ENCRYPTION_PURPOSE
    assert grants == {"kms:Decrypt": {"TokenFunctionRole"}, "kms:Encrypt": {"KeyRotationFunctionRole"}}
    for function in ("JwksFunction", "AuthorizerFunction", "KeyRotationFunction"):
        policies = json.dumps(cfn_template["Resources"][function]["Properties"].get("Policies", []))
        assert "kms:Decrypt" not in policies


def test_an_issuer_pinned_to_its_kms_key_refuses_a_key_encrypted_under_another(
    dynamodb_client: Any, kms_client: Any, kms_key_id: str, signing_keys_table: str, clock: FakeClock
) -> None:
    # Given a signing key written under some other KMS key the issuer's role might be allowed to use
    # (a table writer pointing an item's kms_key_arn elsewhere)
    other_key = kms_client.create_key(Description="not the stack's key")["KeyMetadata"]["KeyId"]
    elsewhere = KeyStore(signing_keys_table, dynamodb_client, kms_client, other_key, clock=clock)
    KeyRotator(elsewhere, SCHEDULE, KeySpec.EDDSA, clock).reconcile()
    # When the token issuer, pinned to the stack's key (KMS_KEY_ID), loads the current key
    issuer = KeyStore(signing_keys_table, dynamodb_client, kms_client, kms_key_id, clock=clock)
    # Then KMS refuses the decrypt (IncorrectKeyException) and no key is loaded
    with pytest.raises(KeyStoreError):
        issuer.current_signing_key()
    # ...while a store that trusts the item's own key reference would have loaded it
    assert KeyStore(signing_keys_table, dynamodb_client, kms_client, clock=clock).current_signing_key()
