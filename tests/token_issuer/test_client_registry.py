"""The client registry (ClientsTable) and client secrets: generation, hashing, CRUD, validation."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_items import decode_client
from partnerauth.client_registry import (
    INTROSPECT,
    AuthFailure,
    ClientAlreadyExists,
    ClientAuthenticationFailed,
    ClientConflict,
    ClientNotFound,
    ClientRegistry,
    ClientStatus,
    InvalidClientMetadata,
    IssuedSecret,
    SecretNotFound,
)
from partnerauth.client_secrets import (
    DUMMY_DIGEST,
    SECRET_PREFIX,
    LazySecretHasher,
    SecretHasher,
    new_client_secret,
)

from .conftest import AUDIENCE, MAX_TOKEN_LIFETIME

PEPPER = "p" * 32


# --------------------------------------------------------------------------- secrets and hashing


def test_secrets_carry_256_random_bits_and_a_recognisable_prefix() -> None:
    secrets = {new_client_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert secret.startswith(SECRET_PREFIX)
        body = secret[len(SECRET_PREFIX) :]
        # token_urlsafe(32): 43 base64url characters = 32 random bytes
        assert len(body) == 43
        assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_hash_is_hmac_sha256_keyed_with_the_pepper() -> None:
    digest = SecretHasher(PEPPER).digest("pacs_x")
    assert len(digest) == 32
    assert digest != SecretHasher("q" * 32).digest("pacs_x")
    assert digest != hashlib.sha256(b"pacs_x").digest()  # not unkeyed
    assert (
        digest
        == hmac.new(PEPPER.encode(), b"partnerauth client secret v1\x00pacs_x", hashlib.sha256).digest()
    )


def test_short_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="pepper"):
        SecretHasher("short")


def test_hasher_repr_hides_the_pepper() -> None:
    assert PEPPER not in repr(SecretHasher(PEPPER))
    assert PEPPER not in repr(LazySecretHasher(lambda: PEPPER))


def test_matches_compares_bytes_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    hasher = SecretHasher(PEPPER)
    assert hasher.matches(hasher.digest("a"), hasher.digest("a"))
    assert not hasher.matches(hasher.digest("a"), DUMMY_DIGEST)
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in seen)
    assert len(seen) == 2


def test_dummy_digest_has_the_length_of_a_real_one() -> None:
    assert len(DUMMY_DIGEST) == len(SecretHasher(PEPPER).digest("x"))


def test_lazy_hasher_fetches_the_pepper_once_and_only_when_needed() -> None:
    fetches: list[int] = []

    def fetch() -> str:
        fetches.append(1)
        return PEPPER

    lazy = LazySecretHasher(fetch)
    assert fetches == []
    assert lazy.digest("x") == SecretHasher(PEPPER).digest("x")
    lazy.digest("y")
    assert fetches == [1]


def test_over_long_presented_secret_costs_bounded_work() -> None:
    hasher = SecretHasher(PEPPER)
    assert hasher.digest("a" * 512 + "b") == hasher.digest("a" * 512 + "c")


# --------------------------------------------------------------------------- registry CRUD


def test_create_stores_only_a_hash(
    registry: ClientRegistry, dynamodb_client: Any, tables: dict[str, str], pepper: str
) -> None:
    issued = registry.create(
        client_name="Acme", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900
    )
    item = dynamodb_client.get_item(
        TableName=tables["ClientsTable"], Key={"client_id": {"S": issued.client.client_id}}
    )
    dump = json.dumps(item["Item"], default=lambda b: b.hex())
    assert issued.secret not in dump
    assert issued.secret[len(SECRET_PREFIX) :] not in dump
    stored = item["Item"]["secrets"]["L"][0]["M"]
    assert bytes(stored["hash"]["B"]) == SecretHasher(pepper).digest(issued.secret)
    assert stored["hash_alg"]["S"] == "hmac-sha256"


def test_issued_secret_and_client_reprs_hide_secret_and_hash(registry: ClientRegistry) -> None:
    issued = registry.create(
        client_name="Acme", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900
    )
    digest = issued.client.secrets[0].digest
    for text in (repr(issued), repr(issued.client), str(issued.client.describe(0))):
        assert issued.secret not in text
        assert digest.hex() not in text
        assert repr(digest) not in text


def test_create_get_list_update_delete(registry: ClientRegistry, clock: Any) -> None:
    issued = registry.create(
        client_name="Acme", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900, client_id="acme"
    )
    assert registry.get("acme") == issued.client
    other = registry.create(
        client_name="Beta", scopes=["inventory:read"], audiences=[AUDIENCE], token_lifetime=600
    )
    assert [c.client_id for c in registry.list_clients()] == sorted(["acme", other.client.client_id])
    clock.advance(10)
    updated = registry.update(
        "acme", scopes=["orders:read", "orders:write"], token_lifetime=1200, client_name="Acme2"
    )
    assert updated.scopes == ("orders:read", "orders:write")
    assert updated.token_lifetime == 1200
    assert updated.client_name == "Acme2"
    assert updated.updated_at == issued.client.created_at + 10
    assert updated.secrets == issued.client.secrets  # secrets untouched by an update
    registry.delete("acme")
    with pytest.raises(ClientNotFound):
        registry.get("acme")
    with pytest.raises(ClientNotFound):
        registry.delete("acme")


def test_generated_client_ids_are_unique(registry: ClientRegistry) -> None:
    ids = {
        registry.create(
            client_name="X", scopes=["a"], audiences=[AUDIENCE], token_lifetime=900
        ).client.client_id
        for _ in range(5)
    }
    assert len(ids) == 5


def test_duplicate_client_id_is_refused(registry: ClientRegistry) -> None:
    registry.create(client_name="A", scopes=["a"], audiences=[AUDIENCE], token_lifetime=900, client_id="dup")
    with pytest.raises(ClientAlreadyExists):
        registry.create(
            client_name="B", scopes=["b"], audiences=[AUDIENCE], token_lifetime=900, client_id="dup"
        )


def test_concurrent_change_is_refused_not_lost(
    tables: dict[str, str], dynamodb_client: Any, pepper: str, registry: ClientRegistry
) -> None:
    issued = registry.create(client_name="A", scopes=["a"], audiences=[AUDIENCE], token_lifetime=900)
    stale = registry._existing(issued.client.client_id)
    registry.update(issued.client.client_id, scopes=["b"])
    # A writer that planned from the stale version loses instead of overwriting
    with pytest.raises(ClientConflict):
        registry._save(stale, decode_client(stale.item))
    assert registry.get(issued.client.client_id).scopes == ("b",)


@pytest.mark.parametrize(
    "changes",
    [
        {"scopes": []},
        {"scopes": ['bad"scope']},
        {"scopes": ["has space"]},
        {"audiences": []},
        {"audiences": ["with space"]},
        {"token_lifetime": 59},
        {"token_lifetime": MAX_TOKEN_LIFETIME + 1},
        {"token_lifetime": True},
        {"client_name": ""},
        {"client_name": "line\nbreak"},
        {"client_name": " padded "},
        {"client_id": ""},
        {"client_id": "has space"},
        {"client_id": "x" * 129},
        {"client_id": "caf\u00e9"},
        {"grant_types": ["password"]},
    ],
)
def test_invalid_metadata_is_refused(changes: dict[str, Any], registry: ClientRegistry) -> None:
    options: dict[str, Any] = {
        "client_name": "Acme",
        "scopes": ["orders:read"],
        "audiences": [AUDIENCE],
        "token_lifetime": 900,
        **changes,
    }
    with pytest.raises(InvalidClientMetadata):
        registry.create(**options)


def test_status_round_trip(registry: ClientRegistry, new_client: Callable[..., IssuedSecret]) -> None:
    issued = new_client()
    assert registry.set_status(issued.client.client_id, ClientStatus.DISABLED).status is ClientStatus.DISABLED
    assert registry.set_status(issued.client.client_id, ClientStatus.ACTIVE).active


def test_changes_to_a_missing_client_are_not_found(registry: ClientRegistry) -> None:
    for change in (
        lambda: registry.update("nobody", scopes=["a"]),
        lambda: registry.set_status("nobody", ClientStatus.DISABLED),
        lambda: registry.roll_secret("nobody", overlap=0),
        lambda: registry.revoke_secret("nobody", "sec_x"),
    ):
        with pytest.raises(ClientNotFound):
            change()


def test_revoking_an_unknown_secret_id_names_the_secret_not_the_client(
    registry: ClientRegistry, partner: IssuedSecret
) -> None:
    with pytest.raises(SecretNotFound, match="no secret with this id"):
        registry.revoke_secret(partner.client.client_id, "sec_nope")
    assert registry.get(partner.client.client_id).secrets == partner.client.secrets  # nothing changed


# --------------------------------------------------------------------------- authenticate (the layer's view)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown", AuthFailure.UNKNOWN_CLIENT),
        ("disabled", AuthFailure.DISABLED_CLIENT),
        ("expired", AuthFailure.EXPIRED_SECRET),
        ("wrong", AuthFailure.WRONG_SECRET),
    ],
)
def test_authenticate_raises_one_failure_type_with_a_reason_for_the_logs(
    case: str,
    reason: AuthFailure,
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    clock: Any,
) -> None:
    issued = new_client(secret_expires_at=int(clock()) + 10)
    client_id, secret = issued.client.client_id, issued.secret
    if case == "unknown":
        client_id = "pc_unknown"
    elif case == "disabled":
        registry.set_status(client_id, ClientStatus.DISABLED)
    elif case == "expired":
        clock.advance(10)
    else:
        secret += "x"
    with pytest.raises(ClientAuthenticationFailed) as failure:
        registry.authenticate(client_id, secret)
    assert failure.value.reason is reason
    assert str(failure.value) == "client authentication failed"


def test_authenticate_returns_the_client(registry: ClientRegistry, partner: IssuedSecret) -> None:
    assert (
        registry.authenticate(partner.client.client_id, partner.secret).client_id == partner.client.client_id
    )


def test_secret_hashed_with_another_pepper_does_not_authenticate(
    tables: dict[str, str], dynamodb_client: Any, partner: IssuedSecret
) -> None:
    other = ClientRegistry(
        tables["ClientsTable"], dynamodb_client, SecretHasher("another-pepper-of-enough-length")
    )
    with pytest.raises(ClientAuthenticationFailed):
        other.authenticate(partner.client.client_id, partner.secret)


# --------------------------------------------------------------------------- plans and permissions


def test_plan_and_permissions_are_stored_and_read_back(registry: ClientRegistry) -> None:
    issued = registry.create(
        client_name="RS",
        scopes=["orders:read"],
        audiences=[AUDIENCE],
        token_lifetime=900,
        plan="silver",
        permissions=[INTROSPECT],
    )
    stored = registry.get(issued.client.client_id)
    assert (stored.plan, stored.permissions) == ("silver", (INTROSPECT,))


def test_update_changes_plan_and_permissions_only_when_given(
    registry: ClientRegistry, new_client: Callable[..., IssuedSecret]
) -> None:
    client_id = new_client(plan="bronze", permissions=[INTROSPECT]).client.client_id
    assert registry.update(client_id, client_name="Renamed").permissions == (INTROSPECT,)
    moved = registry.update(client_id, plan="gold", permissions=())
    assert (moved.plan, moved.permissions) == ("gold", ())
    assert registry.get(client_id) == moved


@pytest.mark.parametrize(
    "changes", [{"plan": "platinum"}, {"permissions": ["admin"]}, {"permissions": "introspect"}]
)
def test_unknown_plans_and_permissions_are_refused(changes: dict[str, Any], registry: ClientRegistry) -> None:
    options: dict[str, Any] = {
        "client_name": "X",
        "scopes": ["orders:read"],
        "audiences": [AUDIENCE],
        "token_lifetime": 900,
    }
    with pytest.raises(InvalidClientMetadata):
        registry.create(**options, **changes)
    assert registry.list_clients() == []
