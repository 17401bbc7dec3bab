"""The rules of the client registry (partnerauth.client_registry), pinned one by one on a fast store.

One moto ClientsTable per module (tests/token_issuer/fast_store.py), emptied per test; the clock is injected.
Each test names the rule it checks: what is validated and refused (RFC 6749 §2.2 client ids, §3.3 scopes,
RFC 7591 §2 metadata), what each write stores and conditions on, the overlap arithmetic of rolled secrets,
and every outcome of ``authenticate_item`` (issue 19: a malformed item authenticates nobody).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from partnerauth.client_items import Client, ClientStatus, MalformedClientItem, StoredSecret, encode_client
from partnerauth.client_registry import (
    INTROSPECT,
    KNOWN_PERMISSIONS,
    MAX_SECRETS,
    AuthFailure,
    ClientAlreadyExists,
    ClientAuthenticationFailed,
    ClientConflict,
    ClientNotFound,
    ClientRegistry,
    InvalidClientMetadata,
    IssuedSecret,
    SecretNotFound,
    TooManySecrets,
    WriteOutcomeUnknown,
    new_request_id,
)
from partnerauth.client_secrets import DUMMY_DIGEST, SecretHasher
from partnerauth.keys import generate_signing_key
from tests.support.clock import FakeClock

from .fast_store import (
    MAX_LIFETIME,
    PEPPER,
    START,
    BeforeWrite,
    Dated,
    FailingCalls,
    FastStore,
    Spy,
    aws_error,
    clients_store,
)

NOW = int(START)
KEY_A = generate_signing_key("ES256").public_jwk()
KEY_B = generate_signing_key("ES256").public_jwk()
REQUEST_ID = re.compile(r"req_[0-9a-f]{16}")
CLIENT_ID = re.compile(r"pc_[0-9a-f]{16}")


@pytest.fixture(scope="module")
def shared_store() -> Iterator[FastStore]:
    with clients_store() as store:
        yield store


@pytest.fixture
def store(shared_store: FastStore) -> FastStore:
    return shared_store.emptied()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def registry(store: FastStore, clock: FakeClock) -> ClientRegistry:
    return store.registry(clock)


def create(registry: ClientRegistry, client_id: str = "pc_a", **overrides: Any) -> IssuedSecret:
    options: dict[str, Any] = {
        "client_name": "Acme",
        "scopes": ["orders:read"],
        "audiences": ["partner-api"],
        "token_lifetime": 900,
        "client_id": client_id,
    }
    options.update(overrides)
    return registry.create(**options)


def hand_written(client_id: str = "pc_h", **changes: Any) -> dict[str, Any]:
    """An item as another tool would write it (no version unless given)."""
    item = encode_client(
        Client(
            client_id=client_id,
            client_name="Hand",
            scopes=("a",),
            audiences=("b",),
            token_lifetime=900,
            status=ClientStatus.ACTIVE,
            created_at=1,
            updated_at=1,
        )
    )
    item.pop("version")
    for name, value in changes.items():
        if value is None:
            item.pop(name, None)
        else:
            item[name] = value
    return item


def failure(registry: ClientRegistry, item: dict[str, Any] | None, secret: str) -> AuthFailure:
    with pytest.raises(ClientAuthenticationFailed) as caught:
        registry.authenticate_item(item, registry.presented_digest(secret))
    return caught.value.reason


class Counting:
    """The real hasher, recording every stored digest it compares with."""

    def __init__(self, algorithm: str | None = None) -> None:
        self._inner = SecretHasher(PEPPER)
        self.algorithm = algorithm or self._inner.algorithm
        self.compared: list[bytes] = []

    def digest(self, secret: str) -> bytes:
        return self._inner.digest(secret)

    def matches(self, presented_digest: bytes, stored_digest: bytes) -> bool:
        self.compared.append(stored_digest)
        return self._inner.matches(presented_digest, stored_digest)


# -- names and constants others rely on -------------------------------------------------------------------


def test_failure_reasons_are_the_logged_and_metric_names() -> None:
    assert {reason.name: reason.value for reason in AuthFailure} == {
        "UNKNOWN_CLIENT": "unknown_client",
        "DISABLED_CLIENT": "disabled_client",
        "EXPIRED_SECRET": "expired_secret",
        "WRONG_SECRET": "wrong_secret",
        "MALFORMED_CLIENT": "malformed_client",
    }


def test_the_only_permission_is_rfc_7662_introspect_and_two_secrets_may_be_live() -> None:
    assert INTROSPECT == "introspect"
    assert frozenset({"introspect"}) == KNOWN_PERMISSIONS
    assert MAX_SECRETS == 2


def test_an_authentication_failure_tells_the_caller_nothing_but_keeps_its_reason() -> None:
    error = ClientAuthenticationFailed(AuthFailure.WRONG_SECRET)
    assert error.reason is AuthFailure.WRONG_SECRET
    assert str(error) == "client authentication failed"


def test_management_errors_say_what_happened_in_fixed_words() -> None:
    assert str(ClientNotFound()) == "no such client"
    assert str(ClientAlreadyExists()) == "a client with this id already exists"
    assert str(ClientConflict()) == "the client was changed concurrently; nothing was written: retry"
    assert str(SecretNotFound()) == (
        "the client has no secret with this id (`show CLIENT_ID` lists its secret ids)"
    )
    assert str(TooManySecrets()) == "the client already has two live secrets; revoke one before rolling."
    assert "revoke-secret CLIENT_ID sec_9" in str(TooManySecrets(newest="sec_9"))


def test_an_unknown_write_outcome_names_the_client_and_the_request_to_look_for() -> None:
    error = WriteOutcomeUnknown("pc_a", "req_00")
    assert error.request == "req_00"
    assert "show pc_a" in str(error)
    assert "last request is req_00" in str(error)


def test_request_ids_and_generated_client_ids_carry_64_random_bits_and_a_prefix(
    registry: ClientRegistry,
) -> None:
    assert REQUEST_ID.fullmatch(new_request_id())
    assert new_request_id() != new_request_id()
    first = registry.create(client_name="A", scopes=["a"], audiences=["b"], token_lifetime=60)
    second = registry.create(client_name="A", scopes=["a"], audiences=["b"], token_lifetime=60)
    assert CLIENT_ID.fullmatch(first.client.client_id)
    assert first.client.client_id != second.client.client_id


def test_an_issued_secrets_repr_hides_the_secret(registry: ClientRegistry) -> None:
    issued = create(registry)
    assert issued.secret not in repr(issued)


def test_the_item_key_is_the_client_id_string(registry: ClientRegistry) -> None:
    assert ClientRegistry.item_key("pc_a") == {"client_id": {"S": "pc_a"}}
    assert registry.table_name == "ClientsTable"


# -- validation (each refusal is InvalidClientMetadata, nothing written) -------------------------------

VALID: dict[str, Any] = {"client_name": "Acme", "scopes": ["a"], "audiences": ["b"], "token_lifetime": 900}


@pytest.mark.parametrize(
    "client_id",
    ["a", "!", "~", "x" * 128, "pc_ABC-def.123:/+=", "\x21\x7e"],
)
def test_client_ids_of_1_to_128_visible_ascii_characters_are_accepted(
    registry: ClientRegistry, client_id: str
) -> None:
    assert create(registry, client_id).client.client_id == client_id


@pytest.mark.parametrize(
    "client_id",
    ["", "x" * 129, "a b", " a", "a\x7f", "a\x00", "a\n", "caf\u00e9", "\u0430"],
)
def test_client_ids_outside_rfc_6749_vschar_or_longer_than_128_are_refused(
    registry: ClientRegistry, store: FastStore, client_id: str
) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, client_id)
    assert store.client.scan(TableName=store.table)["Count"] == 0


@pytest.mark.parametrize(
    "name", ["A", "x" * 200, "Acme Logistics GmbH", "\u00c9toile \u2014 Paris", "a\u00a0b"]
)
def test_client_names_of_1_to_200_printable_characters_are_accepted(
    registry: ClientRegistry, name: str
) -> None:
    assert create(registry, client_name=name).client.client_name == name


@pytest.mark.parametrize(
    "name", ["", "x" * 201, " Acme", "Acme ", "a\tb", "a\nb", "a\x7fb", "a\x1fb", "\u00a0"]
)
def test_client_names_empty_too_long_with_controls_or_edge_spaces_are_refused(
    registry: ClientRegistry, name: str
) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, client_name=name)


def test_scopes_keep_their_order_without_repeats_up_to_50(registry: ClientRegistry) -> None:
    fifty = [f"s{i}" for i in range(50)]
    assert create(registry, "pc_1", scopes=["b", "a", "b"]).client.scopes == ("b", "a")
    assert create(registry, "pc_2", scopes=[*fifty, "s0"]).client.scopes == tuple(fifty)


@pytest.mark.parametrize(
    "scopes", [[], [f"s{i}" for i in range(51)], ["a b"], ["a", '"'], ["a\\b"], [""], ["a", 5]]
)
def test_scopes_must_be_1_to_50_rfc_6749_scope_tokens(registry: ClientRegistry, scopes: list[Any]) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, scopes=scopes)


def test_audiences_keep_their_order_without_repeats_up_to_10(registry: ClientRegistry) -> None:
    ten = [f"https://api{i}.example.test" for i in range(10)]
    assert create(registry, "pc_1", audiences=[*ten, ten[0]]).client.audiences == tuple(ten)
    assert create(registry, "pc_2", audiences=["x" * 512, "!~"]).client.audiences == ("x" * 512, "!~")


@pytest.mark.parametrize(
    "audiences", [[], [f"a{i}" for i in range(11)], ["x" * 513], ["a b"], [""], ["caf\u00e9"], ["a\x7f"]]
)
def test_audiences_must_be_1_to_10_visible_ascii_values_of_at_most_512(
    registry: ClientRegistry, audiences: list[str]
) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, audiences=audiences)


@pytest.mark.parametrize("lifetime", [60, 61, 3599, MAX_LIFETIME])
def test_token_lifetimes_between_60_seconds_and_the_maximum_are_accepted(
    registry: ClientRegistry, lifetime: int
) -> None:
    assert create(registry, token_lifetime=lifetime).client.token_lifetime == lifetime


@pytest.mark.parametrize("lifetime", [59, 0, -1, MAX_LIFETIME + 1, True, 900.0, "900", None])
def test_token_lifetimes_outside_the_range_or_not_integers_are_refused(
    registry: ClientRegistry, lifetime: Any
) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, token_lifetime=lifetime)


def test_the_default_maximum_token_lifetime_is_a_day(store: FastStore, clock: FakeClock) -> None:
    registry = ClientRegistry(store.table, store.client, SecretHasher(PEPPER), clock)
    assert registry.max_token_lifetime == 86400
    assert create(registry, token_lifetime=86400).client.token_lifetime == 86400
    with pytest.raises(InvalidClientMetadata):
        create(registry, "pc_b", token_lifetime=86401)


def test_grant_types_are_client_credentials_only(registry: ClientRegistry) -> None:
    assert create(registry, "pc_1").client.grant_types == ("client_credentials",)
    given = ["client_credentials", "client_credentials"]
    assert create(registry, "pc_2", grant_types=given).client.grant_types == ("client_credentials",)


@pytest.mark.parametrize(
    "grant_types", [["authorization_code"], ["client_credentials", "password"], ["CLIENT_CREDENTIALS"]]
)
def test_other_grant_types_are_refused(registry: ClientRegistry, grant_types: list[str]) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, grant_types=grant_types)


@pytest.mark.parametrize("plan", ["bronze", "silver", "gold", None])
def test_a_plan_is_one_of_the_templates_tiers_or_none(registry: ClientRegistry, plan: str | None) -> None:
    assert create(registry, plan=plan).client.plan == plan


@pytest.mark.parametrize("plan", ["platinum", "", "Gold"])
def test_other_plans_are_refused(registry: ClientRegistry, plan: str) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, plan=plan)


def test_permissions_are_stored_once_sorted_and_only_introspect(registry: ClientRegistry) -> None:
    issued = create(registry, permissions=["introspect", "introspect"])
    assert issued.client.permissions == ("introspect",)
    assert create(registry, "pc_2").client.permissions == ()
    for bad in (["Introspect"], ["introspect", "admin"], ["token"]):
        with pytest.raises(InvalidClientMetadata):
            create(registry, "pc_3", permissions=bad)


# -- create: what is stored ----------------------------------------------------------------------------


def test_create_stores_the_client_stamped_with_one_version_the_actor_and_its_request(
    store: FastStore, clock: FakeClock
) -> None:
    registry = store.registry(clock, actor="arn:aws:iam::1:user/ops")
    issued = create(registry, plan="gold", permissions=["introspect"], secret_expires_at=NOW + 100)
    client = issued.client
    assert client.status is ClientStatus.ACTIVE
    assert (client.created_at, client.updated_at, client.changed_at, client.version) == (NOW, NOW, NOW, 1)
    assert client.changed_by == "arn:aws:iam::1:user/ops"
    assert REQUEST_ID.fullmatch(client.last_request or "")
    assert registry.get("pc_a") == client
    (secret,) = client.secrets
    assert secret.secret_id == issued.secret_id
    assert secret.digest == SecretHasher(PEPPER).digest(issued.secret)
    assert (secret.created_at, secret.expires_at, secret.hash_alg) == (NOW, NOW + 100, "hmac-sha256")
    assert issued.expires_at == NOW + 100
    assert issued.secret not in str(store.item("pc_a"))


def test_a_new_secret_is_stamped_with_the_hashers_algorithm(store: FastStore, clock: FakeClock) -> None:
    hasher = Counting(algorithm="hmac-sha256-v2")
    registry = ClientRegistry(store.table, store.client, hasher, clock)
    issued = create(registry)
    rolled = registry.roll_secret("pc_a", overlap=60)
    assert [s.hash_alg for s in rolled.client.secrets] == ["hmac-sha256-v2", "hmac-sha256-v2"]
    assert registry.authenticate("pc_a", issued.secret).client_id == "pc_a"
    assert registry.authenticate("pc_a", rolled.secret).client_id == "pc_a"


def test_create_without_an_actor_stamps_no_changed_by(registry: ClientRegistry, store: FastStore) -> None:
    assert create(registry).client.changed_by is None
    assert "changed_by" not in (store.item("pc_a") or {})


def test_create_uses_the_secret_generator_and_the_client_id_generator(
    store: FastStore, clock: FakeClock
) -> None:
    registry = store.registry(
        clock, generate_secret=lambda: "the-secret", generate_client_id=lambda: "pc_gen"
    )
    issued = registry.create(**VALID)
    assert (issued.client.client_id, issued.secret) == ("pc_gen", "the-secret")
    assert registry.authenticate("pc_gen", "the-secret") == issued.client


def test_a_generated_client_id_is_validated_too(store: FastStore, clock: FakeClock) -> None:
    registry = store.registry(clock, generate_client_id=lambda: "has space")
    with pytest.raises(InvalidClientMetadata):
        registry.create(**VALID)


def test_create_refuses_an_existing_client_id_and_changes_nothing(registry: ClientRegistry) -> None:
    first = create(registry)
    with pytest.raises(ClientAlreadyExists):
        create(registry, client_name="Other")
    assert registry.get("pc_a") == first.client


@pytest.mark.parametrize("expires_at", [NOW, NOW - 1])
def test_a_new_secret_must_expire_after_now(
    registry: ClientRegistry, store: FastStore, expires_at: int
) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, secret_expires_at=expires_at)
    assert store.item("pc_a") is None


def test_a_new_secret_may_expire_one_second_from_now(registry: ClientRegistry) -> None:
    assert create(registry, secret_expires_at=NOW + 1).expires_at == NOW + 1


@pytest.mark.parametrize("expires_in", [0, -1])
def test_a_new_secret_expires_in_a_positive_number_of_seconds(
    registry: ClientRegistry, expires_in: int
) -> None:
    with pytest.raises(InvalidClientMetadata):
        create(registry, secret_expires_in=expires_in)


def test_expires_in_is_counted_from_the_clock_without_store_time(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    clock.now = START + 0.9
    issued = create(registry, secret_expires_in=10)
    assert issued.expires_at == NOW + 10
    assert issued.client.secrets[0].expires_at == NOW + 10
    assert issued.client.created_at == NOW


def test_expires_in_is_counted_from_the_stores_date_with_store_time(
    store: FastStore, clock: FakeClock
) -> None:
    store_clock = FakeClock(START - 600)  # the operator's clock is 10 minutes fast
    registry = store.registry(clock, Dated(store.client, store_clock), store_time=True)
    issued = create(registry, secret_expires_in=10)
    assert issued.expires_at == NOW - 600 + 10
    assert issued.client.created_at == NOW - 600


def test_store_time_without_a_date_header_falls_back_to_the_clock(store: FastStore, clock: FakeClock) -> None:
    registry = store.registry(clock, Dated(store.client, lambda: None), store_time=True)
    assert create(registry, secret_expires_in=10).expires_at == NOW + 10


def test_expires_at_is_used_as_given_and_dated_by_the_clock_without_a_read(
    store: FastStore, clock: FakeClock
) -> None:
    spy = Spy(Dated(store.client, lambda: START - 600))
    registry = store.registry(clock, spy, store_time=True)
    issued = create(registry, secret_expires_at=NOW + 50)
    assert issued.expires_at == NOW + 50
    assert issued.client.created_at == NOW
    assert spy.of("get_item") == []


def test_store_time_reads_only_the_key_consistently(store: FastStore, clock: FakeClock) -> None:
    spy = Spy(Dated(store.client, lambda: START))
    create(store.registry(clock, spy, store_time=True), secret_expires_in=10)
    (read,) = spy.of("get_item")
    assert read["ConsistentRead"] is True
    assert read["Key"] == {"client_id": {"S": "pc_a"}}
    assert read["ProjectionExpression"] == "#k"
    assert read["ExpressionAttributeNames"] == {"#k": "client_id"}


def test_create_with_keys_stores_a_canonical_key_set_and_no_secret(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    clock.now = START + 0.9
    client = registry.create_with_keys(**VALID, client_id="pc_k", jwks={"keys": [KEY_A]}, plan="silver")
    assert client.secrets == ()
    assert client.jwks is not None
    assert [key["kid"] for key in client.describe(NOW)["keys"]] == [KEY_A["kid"]]
    assert (client.jwks_uri, client.plan, client.version, client.created_at) == (None, "silver", 1, NOW)
    assert registry.get("pc_k") == client


def test_create_with_keys_stores_a_jwks_uri(registry: ClientRegistry) -> None:
    uri = "https://partner.example.test/jwks.json"
    client = registry.create_with_keys(**VALID, client_id="pc_u", jwks_uri=uri, permissions=["introspect"])
    assert (client.jwks, client.jwks_uri, client.permissions) == (None, uri, ("introspect",))


@pytest.mark.parametrize(
    "keys",
    [
        {},
        {"jwks": {"keys": [KEY_A]}, "jwks_uri": "https://partner.example.test/jwks.json"},
        {"jwks": {"keys": []}},
        {"jwks": {"keys": [{**KEY_A, "d": "private"}]}},
        {"jwks_uri": "http://partner.example.test/jwks.json"},
    ],
    ids=["neither", "both", "empty", "private", "http"],
)
def test_keys_are_exactly_one_valid_public_key_set_or_https_uri(
    registry: ClientRegistry, store: FastStore, keys: dict[str, Any]
) -> None:
    with pytest.raises(InvalidClientMetadata):
        registry.create_with_keys(**VALID, client_id="pc_k", **keys)
    assert store.item("pc_k") is None


@pytest.mark.parametrize(("field", "value"), [("plan", "platinum"), ("permissions", ["admin"])])
def test_create_with_keys_validates_plan_and_permissions(
    registry: ClientRegistry, field: str, value: Any
) -> None:
    with pytest.raises(InvalidClientMetadata):
        registry.create_with_keys(**VALID, jwks={"keys": [KEY_A]}, **{field: value})


# -- authenticate_item: every outcome, the same work on each -----------------------------------------


def test_the_right_live_secret_authenticates_the_client(registry: ClientRegistry) -> None:
    issued = create(registry)
    assert registry.authenticate("pc_a", issued.secret) == issued.client


def test_authenticate_reads_the_client_consistently(store: FastStore, clock: FakeClock) -> None:
    spy = Spy(store.client)
    registry = store.registry(clock, spy)
    issued = create(registry)
    spy.calls.clear()
    registry.authenticate("pc_a", issued.secret)
    (read,) = spy.of("get_item")
    assert read == {"TableName": "ClientsTable", "Key": {"client_id": {"S": "pc_a"}}, "ConsistentRead": True}


@pytest.mark.parametrize("item", [None, {}], ids=["none", "empty"])
def test_no_item_is_an_unknown_client(registry: ClientRegistry, item: dict[str, Any] | None) -> None:
    assert failure(registry, item, "anything") is AuthFailure.UNKNOWN_CLIENT


def test_an_unknown_client_id_is_an_unknown_client(registry: ClientRegistry) -> None:
    with pytest.raises(ClientAuthenticationFailed) as caught:
        registry.authenticate("pc_nobody", "anything")
    assert caught.value.reason is AuthFailure.UNKNOWN_CLIENT


def test_a_wrong_secret_is_a_wrong_secret(registry: ClientRegistry) -> None:
    create(registry)
    assert failure(registry, encode_client(registry.get("pc_a")), "wrong") is AuthFailure.WRONG_SECRET


@pytest.mark.parametrize("right", [True, False])
def test_a_disabled_client_is_refused_whatever_the_secret(registry: ClientRegistry, right: bool) -> None:
    issued = create(registry)
    registry.disable("pc_a")
    item = encode_client(registry.get("pc_a"))
    assert failure(registry, item, issued.secret if right else "wrong") is AuthFailure.DISABLED_CLIENT


def secrets_item(*secrets: StoredSecret, status: ClientStatus = ClientStatus.ACTIVE) -> dict[str, Any]:
    return encode_client(
        Client(
            client_id="pc_s",
            client_name="S",
            scopes=("a",),
            audiences=("b",),
            token_lifetime=60,
            status=status,
            created_at=0,
            updated_at=0,
            secrets=secrets,
        )
    )


def stored(
    secret: str, secret_id: str = "sec", expires_at: int | None = None, alg: str = "hmac-sha256"
) -> StoredSecret:
    return StoredSecret(secret_id, SecretHasher(PEPPER).digest(secret), 0, expires_at, alg)


@pytest.mark.parametrize(
    ("now", "outcome"), [(NOW + 99, None), (NOW + 99.5, None), (NOW + 100, AuthFailure.EXPIRED_SECRET)]
)
def test_a_secret_authenticates_strictly_before_its_expiry(
    registry: ClientRegistry, clock: FakeClock, now: float, outcome: AuthFailure | None
) -> None:
    clock.now = now
    item = secrets_item(stored("s1", expires_at=NOW + 100))
    if outcome is None:
        assert registry.authenticate_item(item, registry.presented_digest("s1")).client_id == "pc_s"
    else:
        assert failure(registry, item, "s1") is outcome


@pytest.mark.parametrize("presented", ["s1", "s2"])
def test_either_of_two_live_secrets_authenticates(registry: ClientRegistry, presented: str) -> None:
    item = secrets_item(stored("s1", "a"), stored("s2", "b"))
    assert registry.authenticate_item(item, registry.presented_digest(presented)).client_id == "pc_s"


@pytest.mark.parametrize("order", ["expired first", "expired second"])
def test_an_expired_secret_is_refused_beside_a_live_one_and_the_live_one_works(
    registry: ClientRegistry, order: str
) -> None:
    old, new = stored("old", "a", expires_at=NOW), stored("new", "b")
    item = secrets_item(old, new) if order == "expired first" else secrets_item(new, old)
    assert failure(registry, item, "old") is AuthFailure.EXPIRED_SECRET
    assert failure(registry, item, "other") is AuthFailure.WRONG_SECRET
    assert registry.authenticate_item(item, registry.presented_digest("new")).client_id == "pc_s"


def test_a_secret_hashed_by_another_algorithm_is_not_live(registry: ClientRegistry) -> None:
    item = secrets_item(stored("s1", alg="sha256-old"))
    assert failure(registry, item, "s1") is AuthFailure.EXPIRED_SECRET


def test_a_client_without_secrets_authenticates_nobody(registry: ClientRegistry) -> None:
    assert failure(registry, secrets_item(), "") is AuthFailure.WRONG_SECRET


def test_the_dummy_digest_never_authenticates(registry: ClientRegistry) -> None:
    with pytest.raises(ClientAuthenticationFailed) as caught:
        registry.authenticate_item(secrets_item(), DUMMY_DIGEST)
    assert caught.value.reason is AuthFailure.EXPIRED_SECRET  # it matches a stand-in slot, never a live one
    with pytest.raises(ClientAuthenticationFailed) as unknown:
        registry.authenticate_item(None, DUMMY_DIGEST)
    assert unknown.value.reason is AuthFailure.UNKNOWN_CLIENT


MALFORMED = {
    "unknown status": secrets_item(stored("s1")) | {"status": {"S": "suspended"}},
    "no scopes": {k: v for k, v in secrets_item(stored("s1")).items() if k != "scopes"},
    "lifetime --5": secrets_item(stored("s1")) | {"token_lifetime": {"N": "--5"}},
    "secret hash a string": secrets_item(stored("s1")) | {"secrets": {"L": [{"M": {"hash": {"S": "x"}}}]}},
    "client_id a number": secrets_item(stored("s1")) | {"client_id": {"N": "1"}},
}


@pytest.mark.parametrize("item", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_item_authenticates_nobody_even_with_its_right_secret(
    registry: ClientRegistry, item: dict[str, Any]
) -> None:
    assert failure(registry, item, "s1") is AuthFailure.MALFORMED_CLIENT


@pytest.mark.parametrize(
    "item",
    [
        None,
        secrets_item(),
        secrets_item(stored("s1")),
        secrets_item(stored("s1", "a"), stored("s2", "b")),
        MALFORMED["unknown status"],
        secrets_item(stored("s1"), status=ClientStatus.DISABLED),
    ],
    ids=["unknown", "no secret", "one secret", "two secrets", "malformed", "disabled"],
)
def test_every_path_compares_exactly_two_digests_and_hashes_nothing_more(
    store: FastStore, clock: FakeClock, item: dict[str, Any] | None
) -> None:
    hasher = Counting()
    registry = ClientRegistry(store.table, store.client, hasher, clock)
    presented = hasher.digest("wrong")
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate_item(item, presented)
    assert len(hasher.compared) == MAX_SECRETS
    assert all(len(digest) == len(DUMMY_DIGEST) for digest in hasher.compared)


def test_missing_slots_are_compared_with_the_dummy_digest(store: FastStore, clock: FakeClock) -> None:
    hasher = Counting()
    registry = ClientRegistry(store.table, store.client, hasher, clock)
    one = stored("s1")
    registry.authenticate_item(secrets_item(one), hasher.digest("s1"))
    assert hasher.compared == [one.digest, DUMMY_DIGEST]


def test_authentication_is_dated_by_the_clock_at_the_call(registry: ClientRegistry, clock: FakeClock) -> None:
    item = secrets_item(stored("s1", expires_at=NOW + 10))
    presented = registry.presented_digest("s1")
    registry.authenticate_item(item, presented)
    clock.now = START + 10
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate_item(item, presented)


# -- reads ---------------------------------------------------------------------------------------------


def test_find_lookup_and_get_of_a_good_a_malformed_and_a_missing_item(
    registry: ClientRegistry, store: FastStore
) -> None:
    good = create(registry).client
    store.put(hand_written("pc_bad", status={"S": "suspended"}))
    assert registry.find("pc_a") == good
    assert registry.lookup("pc_a") == good
    assert registry.find("pc_bad") is None
    malformed = registry.lookup("pc_bad")
    assert isinstance(malformed, MalformedClientItem)
    assert (malformed.reason, malformed.client_id) == ("status", "pc_bad")
    assert registry.find("pc_none") is None
    assert registry.lookup("pc_none") is None
    with pytest.raises(ClientNotFound):
        registry.get("pc_none")
    with pytest.raises(MalformedClientItem):
        registry.get("pc_bad")


def test_reads_for_a_change_are_consistent(store: FastStore, clock: FakeClock) -> None:
    spy = Spy(store.client)
    registry = store.registry(clock, spy)
    create(registry)
    spy.calls.clear()
    registry.find("pc_a")
    registry.update("pc_a", client_name="B")
    assert all(read["ConsistentRead"] is True for read in spy.of("get_item"))
    assert len(spy.of("get_item")) == 2


def test_list_names_every_item_by_client_id_good_or_malformed(
    registry: ClientRegistry, store: FastStore
) -> None:
    create(registry, "pc_c")
    create(registry, "pc_a")
    store.put(hand_written("pc_b", scopes={"L": []}))
    entries = registry.list_entries()
    assert [entry.client_id for entry in entries] == ["pc_a", "pc_b", "pc_c"]
    assert isinstance(entries[1], MalformedClientItem)
    assert [client.client_id for client in registry.list_clients()] == ["pc_a", "pc_c"]


class PagedScan:
    """A store whose scan answers in the pages given (items without a readable client_id included)."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.asked: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> PagedScan:
        assert name == "scan"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.asked.append(kwargs)
        return self.pages


def test_list_reads_every_page_consistently_and_puts_unnamed_items_last(clock: FakeClock) -> None:
    nameless = hand_written() | {"client_id": {"N": "5"}}
    pages = [
        {"Items": [hand_written("pc_z"), nameless]},
        {},
        {"Items": [hand_written("pc_a"), hand_written("pc_e") | {"status": {"S": "x"}}]},
        {"Items": [hand_written("A1"), hand_written() | {"client_id": {"S": ""}}]},
    ]
    scan = PagedScan(pages)
    registry = ClientRegistry("T", scan, SecretHasher(PEPPER), clock)
    entries = registry.list_entries()
    assert [entry.client_id for entry in entries] == ["", "A1", "pc_a", "pc_e", "pc_z", None]
    assert scan.asked == [{"TableName": "T", "ConsistentRead": True}]


# -- update, status, keys --------------------------------------------------------------------------------


def test_update_changes_only_what_is_given(registry: ClientRegistry) -> None:
    before = create(registry, plan="gold", permissions=["introspect"]).client
    after = registry.update("pc_a", client_name="New")
    assert after.client_name == "New"
    assert (after.scopes, after.audiences, after.token_lifetime) == (before.scopes, before.audiences, 900)
    assert (after.grant_types, after.plan, after.permissions) == (
        ("client_credentials",),
        "gold",
        ("introspect",),
    )
    assert after.secrets == before.secrets


def test_update_validates_and_sets_every_field(registry: ClientRegistry) -> None:
    create(registry, permissions=["introspect"])
    after = registry.update(
        "pc_a",
        scopes=["x", "y", "x"],
        audiences=["aud"],
        token_lifetime=60,
        grant_types=["client_credentials"],
        plan="bronze",
        permissions=(),
    )
    assert (after.scopes, after.audiences, after.token_lifetime) == (("x", "y"), ("aud",), 60)
    assert (after.plan, after.permissions) == ("bronze", ())
    assert registry.get("pc_a") == after


@pytest.mark.parametrize(
    "change",
    [
        {"client_name": " x"},
        {"scopes": []},
        {"audiences": ["a b"]},
        {"token_lifetime": 59},
        {"token_lifetime": MAX_LIFETIME + 1},
        {"grant_types": ["password"]},
        {"plan": "platinum"},
        {"permissions": ["admin"]},
    ],
)
def test_update_refuses_what_create_refuses_and_writes_nothing(
    registry: ClientRegistry, change: dict[str, Any]
) -> None:
    before = create(registry).client
    with pytest.raises(InvalidClientMetadata):
        registry.update("pc_a", **change)
    assert registry.get("pc_a") == before


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update("pc_x", client_name="N"),
        lambda r: r.set_status("pc_x", ClientStatus.ACTIVE),
        lambda r: r.set_status("pc_x", ClientStatus.DISABLED),
        lambda r: r.disable("pc_x"),
        lambda r: r.roll_secret("pc_x", overlap=0),
        lambda r: r.revoke_secret("pc_x", "sec"),
        lambda r: r.use_keys("pc_x", jwks={"keys": [KEY_A]}, secret_overlap=0),
        lambda r: r.add_key("pc_x", KEY_A),
        lambda r: r.remove_key("pc_x", "k"),
        lambda r: r.delete("pc_x"),
    ],
    ids=[
        "update",
        "enable",
        "set-disabled",
        "disable",
        "roll",
        "revoke",
        "use-keys",
        "add-key",
        "remove-key",
        "delete",
    ],
)
def test_every_change_to_a_missing_client_is_not_found(registry: ClientRegistry, change: Any) -> None:
    with pytest.raises(ClientNotFound):
        change(registry)


def test_disable_then_enable(registry: ClientRegistry) -> None:
    create(registry)
    disabled = registry.set_status("pc_a", ClientStatus.DISABLED)
    assert disabled.status is ClientStatus.DISABLED
    assert registry.get("pc_a").status is ClientStatus.DISABLED
    enabled = registry.set_status("pc_a", "active")  # type: ignore[arg-type]  # the CLI passes text
    assert enabled.status is ClientStatus.ACTIVE
    assert registry.get("pc_a") == enabled
    assert registry.set_status("pc_a", "disabled").status is ClientStatus.DISABLED  # type: ignore[arg-type]


def test_disable_of_a_malformed_item_disables_it_and_says_why_it_cannot_be_read(
    registry: ClientRegistry, store: FastStore
) -> None:
    store.put(hand_written("pc_bad", scopes={"L": []}, future={"S": "kept"}))
    outcome = registry.disable("pc_bad")
    assert isinstance(outcome, MalformedClientItem)
    assert outcome.reason == "scopes"
    item = store.item("pc_bad") or {}
    assert item["status"] == {"S": "disabled"}
    assert item["future"] == {"S": "kept"}
    with pytest.raises(MalformedClientItem):
        registry.set_status("pc_bad", ClientStatus.DISABLED)
    with pytest.raises(MalformedClientItem):
        registry.set_status("pc_bad", ClientStatus.ACTIVE)
    assert (store.item("pc_bad") or {})["status"] == {"S": "disabled"}


@pytest.mark.parametrize("version", [{"S": "3"}, {"N": "-2"}, {"N": "1.5"}], ids=repr)
def test_disable_repairs_an_unreadable_version_to_1(
    registry: ClientRegistry, store: FastStore, version: Any
) -> None:
    store.put(hand_written("pc_v", version=version))
    registry.disable("pc_v")
    item = store.item("pc_v") or {}
    assert item["version"] == {"N": "1"}
    assert item["status"] == {"S": "disabled"}


def test_disable_stamps_the_next_version_time_actor_and_request(store: FastStore, clock: FakeClock) -> None:
    create(store.registry(clock))
    clock.now = START + 30.7
    disabled = store.registry(clock, actor="ops").disable("pc_a")
    assert isinstance(disabled, Client)
    assert (disabled.version, disabled.updated_at, disabled.changed_at) == (2, NOW + 30, NOW + 30)
    assert disabled.changed_by == "ops"
    assert disabled.created_at == NOW
    assert REQUEST_ID.fullmatch(disabled.last_request or "")


@pytest.mark.parametrize(
    "write",
    [
        lambda r: r.update("pc_a", client_name="B"),
        lambda r: r.roll_secret("pc_a", overlap=0).client,
        lambda r: r.set_status("pc_a", ClientStatus.ACTIVE),
    ],
    ids=["update", "roll", "enable"],
)
def test_a_rewrite_stamps_its_time_actor_and_request_and_keeps_created_at(
    store: FastStore, clock: FakeClock, write: Any
) -> None:
    first = create(store.registry(clock, actor="creator")).client
    clock.now = START + 30.7
    saved = write(store.registry(clock, actor="ops"))
    assert (saved.created_at, saved.updated_at, saved.changed_at) == (NOW, NOW + 30, NOW + 30)
    assert saved.changed_by == "ops"
    assert saved.version == 2
    assert REQUEST_ID.fullmatch(saved.last_request or "")
    assert saved.last_request != first.last_request
    assert store.registry(clock).get("pc_a") == saved


def test_a_write_without_actor_removes_the_previous_writers_name(store: FastStore, clock: FakeClock) -> None:
    create(store.registry(clock, actor="ops"))
    anonymous = store.registry(clock)
    assert anonymous.disable("pc_a").changed_by is None  # type: ignore[union-attr]
    assert "changed_by" not in (store.item("pc_a") or {})
    store.registry(clock, actor="ops").update("pc_a", client_name="B")
    assert anonymous.update("pc_a", client_name="C").changed_by is None
    assert "changed_by" not in (store.item("pc_a") or {})


def test_each_write_stamps_a_new_request_id(registry: ClientRegistry) -> None:
    first = create(registry).client.last_request
    second = registry.update("pc_a", client_name="B").last_request
    third = registry.disable("pc_a").last_request  # type: ignore[union-attr]
    assert len({first, second, third}) == 3


def test_use_keys_registers_keys_and_ends_live_secrets_after_the_overlap(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    issued = create(registry)
    client = registry.use_keys("pc_a", jwks={"keys": [KEY_A]}, secret_overlap=60)
    assert client.has_keys
    assert client.secrets[0].expires_at == NOW + 60
    clock.now = START + 59
    registry.authenticate("pc_a", issued.secret)
    clock.now = START + 60
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate("pc_a", issued.secret)


def test_use_keys_with_zero_overlap_removes_every_secret_and_replaces_old_keys(
    registry: ClientRegistry,
) -> None:
    create(registry)
    registry.use_keys("pc_a", jwks={"keys": [KEY_A]}, secret_overlap=0)
    uri = "https://partner.example.test/jwks.json"
    client = registry.use_keys("pc_a", jwks_uri=uri, secret_overlap=0)
    assert client.secrets == ()
    assert (client.jwks, client.jwks_uri) == (None, uri)
    assert registry.get("pc_a") == client


def test_use_keys_prunes_expired_secrets(registry: ClientRegistry, clock: FakeClock) -> None:
    create(registry, secret_expires_at=NOW + 10)
    clock.now = START + 10
    assert registry.use_keys("pc_a", jwks={"keys": [KEY_A]}, secret_overlap=60).secrets == ()


@pytest.mark.parametrize(
    "keys",
    [
        {"secret_overlap": -1, "jwks": {"keys": [KEY_A]}},
        {"secret_overlap": 0},
        {"secret_overlap": 0, "jwks": {}},
    ],
    ids=["negative overlap", "no keys", "bad keys"],
)
def test_use_keys_refuses_negative_overlap_and_invalid_keys(
    registry: ClientRegistry, keys: dict[str, Any]
) -> None:
    before = create(registry).client
    with pytest.raises(InvalidClientMetadata):
        registry.use_keys("pc_a", **keys)
    assert registry.get("pc_a") == before


def test_add_and_remove_inline_keys(registry: ClientRegistry) -> None:
    registry.create_with_keys(**VALID, client_id="pc_k", jwks={"keys": [KEY_A]})
    added = registry.add_key("pc_k", KEY_B)
    assert [key["kid"] for key in added.describe(NOW)["keys"]] == [KEY_A["kid"], KEY_B["kid"]]
    assert registry.get("pc_k") == added
    removed = registry.remove_key("pc_k", KEY_A["kid"])
    assert [key["kid"] for key in removed.describe(NOW)["keys"]] == [KEY_B["kid"]]
    assert registry.get("pc_k") == removed


def test_key_changes_need_inline_keys_and_valid_changes(registry: ClientRegistry) -> None:
    create(registry)
    registry.create_with_keys(**VALID, client_id="pc_k", jwks={"keys": [KEY_A]})
    changes: list[Callable[[], object]] = [
        lambda: registry.add_key("pc_a", KEY_B),
        lambda: registry.remove_key("pc_a", KEY_A["kid"]),
        lambda: registry.add_key("pc_k", KEY_A),  # the same key twice
        lambda: registry.add_key("pc_k", {**KEY_B, "d": "private"}),
        lambda: registry.remove_key("pc_k", "no-such-kid"),
        lambda: registry.remove_key("pc_k", KEY_A["kid"]),  # the last key
    ]
    for change in changes:
        with pytest.raises(InvalidClientMetadata):
            change()
    assert registry.get("pc_k").version == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.add_key("pc_k", KEY_A), "two keys have the same kid"),
        (lambda r: r.remove_key("pc_k", "no-such-kid"), "the client has no key with this kid"),
        (
            lambda r: r.use_keys("pc_k", jwks={"keys": []}, secret_overlap=0),
            "the JWK Set holds no key",
        ),
    ],
    ids=["add-key", "remove-key", "use-keys"],
)
def test_a_refused_key_change_gives_the_operator_the_key_checks_own_reason(
    registry: ClientRegistry, change: Any, message: str
) -> None:
    registry.create_with_keys(**VALID, client_id="pc_k", jwks={"keys": [KEY_A]})
    with pytest.raises(InvalidClientMetadata) as caught:
        change(registry)
    assert str(caught.value) == message


# -- secrets: roll, overlap, revoke ---------------------------------------------------------------------


def test_a_roll_keeps_the_old_secret_for_exactly_the_overlap(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    old = create(registry)
    clock.now = START + 0.5
    new = registry.roll_secret("pc_a", overlap=100)
    assert [s.expires_at for s in new.client.secrets] == [NOW + 100, None]
    assert new.client.secrets[1].created_at == NOW
    clock.now = START + 99.9
    registry.authenticate("pc_a", old.secret)
    clock.now = START + 100
    with pytest.raises(ClientAuthenticationFailed) as caught:
        registry.authenticate("pc_a", old.secret)
    assert caught.value.reason is AuthFailure.EXPIRED_SECRET
    assert registry.authenticate("pc_a", new.secret).client_id == "pc_a"


def test_a_roll_with_overlap_0_removes_the_old_secret_from_the_item(registry: ClientRegistry) -> None:
    old = create(registry)
    new = registry.roll_secret("pc_a", overlap=0)
    assert [s.secret_id for s in new.client.secrets] == [new.secret_id]
    with pytest.raises(ClientAuthenticationFailed) as caught:
        registry.authenticate("pc_a", old.secret)
    assert caught.value.reason is AuthFailure.WRONG_SECRET


def test_a_roll_with_overlap_1_ends_the_old_secret_one_second_later(registry: ClientRegistry) -> None:
    create(registry)
    assert registry.roll_secret("pc_a", overlap=1).client.secrets[0].expires_at == NOW + 1


def test_a_roll_keeps_an_earlier_end_and_shortens_a_later_one(registry: ClientRegistry) -> None:
    create(registry, secret_expires_at=NOW + 50)
    assert registry.roll_secret("pc_a", overlap=100).client.secrets[0].expires_at == NOW + 50
    create(registry, "pc_b", secret_expires_at=NOW + 500)
    assert registry.roll_secret("pc_b", overlap=100).client.secrets[0].expires_at == NOW + 100
    create(registry, "pc_c", secret_expires_at=NOW + 100)
    assert registry.roll_secret("pc_c", overlap=100).client.secrets[0].expires_at == NOW + 100


def test_a_roll_prunes_a_secret_that_expires_exactly_now(registry: ClientRegistry, clock: FakeClock) -> None:
    create(registry, secret_expires_at=NOW + 10)
    clock.now = START + 10
    issued = registry.roll_secret("pc_a", overlap=100)
    assert [s.secret_id for s in issued.client.secrets] == [issued.secret_id]


def test_a_roll_is_refused_while_two_secrets_are_live_and_names_the_newest(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    create(registry)
    clock.now = START + 5
    newer = registry.roll_secret("pc_a", overlap=100)
    before = registry.get("pc_a")
    with pytest.raises(TooManySecrets) as caught:
        registry.roll_secret("pc_a", overlap=100)
    assert newer.secret_id in str(caught.value)
    assert registry.get("pc_a") == before


def test_the_newest_named_is_the_latest_created_whatever_its_place(
    registry: ClientRegistry, store: FastStore
) -> None:
    item = secrets_item(stored("n", "sec_newest"), stored("o", "sec_oldest"))
    item["secrets"]["L"][0]["M"]["created_at"] = {"N": "20"}
    item["secrets"]["L"][1]["M"]["created_at"] = {"N": "10"}
    store.put(item)
    with pytest.raises(TooManySecrets) as caught:
        registry.roll_secret("pc_s", overlap=0)
    assert "sec_newest" in str(caught.value)


def test_a_roll_is_allowed_beside_one_live_and_one_expired_secret(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    create(registry)
    clock.now = START + 5
    registry.roll_secret("pc_a", overlap=10)
    clock.now = START + 15
    issued = registry.roll_secret("pc_a", overlap=0)
    assert [s.secret_id for s in issued.client.secrets] == [issued.secret_id]


@pytest.mark.parametrize(
    "options", [{"overlap": -1}, {"overlap": 0, "expires_in": 0}, {"overlap": 0, "expires_at": NOW}]
)
def test_a_roll_refuses_negative_overlap_and_a_new_secret_ending_now(
    registry: ClientRegistry, options: dict[str, Any]
) -> None:
    before = create(registry).client
    with pytest.raises(InvalidClientMetadata):
        registry.roll_secret("pc_a", **options)
    assert registry.get("pc_a") == before


def test_a_rolled_secret_ends_at_expires_at_or_expires_in_from_now(
    registry: ClientRegistry, clock: FakeClock
) -> None:
    create(registry)
    clock.now = START + 0.9
    assert registry.roll_secret("pc_a", overlap=0, expires_in=30).expires_at == NOW + 30
    assert registry.roll_secret("pc_a", overlap=0, expires_at=NOW + 40).expires_at == NOW + 40
    assert registry.get("pc_a").secrets[0].expires_at == NOW + 40


def test_a_roll_by_store_time_dates_the_overlap_by_the_store(store: FastStore, clock: FakeClock) -> None:
    create(store.registry(clock))
    operator = store.registry(
        FakeClock(START + 600), Dated(store.client, lambda: START + 0.5), store_time=True
    )
    issued = operator.roll_secret("pc_a", overlap=100, expires_in=1000)
    assert issued.client.secrets[0].expires_at == NOW + 100
    assert issued.expires_at == NOW + 1000
    assert issued.client.changed_at == NOW


def test_revoke_removes_only_the_named_secret(registry: ClientRegistry) -> None:
    old = create(registry)
    new = registry.roll_secret("pc_a", overlap=100)
    client = registry.revoke_secret("pc_a", old.secret_id)
    assert [s.secret_id for s in client.secrets] == [new.secret_id]
    with pytest.raises(SecretNotFound):
        registry.revoke_secret("pc_a", old.secret_id)
    assert registry.get("pc_a") == client


# -- writes: versions, conditions, unknown attributes, lost answers --------------------------------------


def test_each_write_bumps_the_version_by_one(registry: ClientRegistry) -> None:
    create(registry)
    assert registry.update("pc_a", client_name="B").version == 2
    assert registry.disable("pc_a").version == 3  # type: ignore[union-attr]
    assert registry.roll_secret("pc_a", overlap=0).client.version == 4
    assert registry.get("pc_a").version == 4


def test_an_item_without_version_is_version_0_and_its_next_write_version_1(
    registry: ClientRegistry, store: FastStore
) -> None:
    store.put(hand_written("pc_h", future={"S": "kept"}))
    assert registry.get("pc_h").version == 0
    assert registry.update("pc_h", client_name="B").version == 1
    item = store.item("pc_h") or {}
    assert item["version"] == {"N": "1"}
    assert item["future"] == {"S": "kept"}


@pytest.mark.parametrize(
    ("operation", "write"),
    [
        ("put_item", lambda r: r.update("pc_h", client_name="Late")),
        ("update_item", lambda r: r.disable("pc_h")),
        ("delete_item", lambda r: r.delete("pc_h")),
    ],
    ids=["save", "disable", "delete"],
)
def test_a_write_based_on_an_item_without_version_loses_to_a_concurrent_first_write(
    store: FastStore, clock: FakeClock, operation: str, write: Any
) -> None:
    store.put(hand_written("pc_h"))
    first = store.registry(clock)
    late = store.registry(
        clock, BeforeWrite(store.client, operation, lambda: first.update("pc_h", client_name="First"))
    )
    with pytest.raises(ClientConflict):
        write(late)
    assert first.get("pc_h").client_name == "First"


@pytest.mark.parametrize(
    ("operation", "write"),
    [
        ("put_item", lambda r: r.update("pc_a", client_name="Late")),
        ("update_item", lambda r: r.disable("pc_a")),
        ("put_item", lambda r: r.roll_secret("pc_a", overlap=0)),
        ("put_item", lambda r: r.revoke_secret("pc_a", r.get("pc_a").secrets[0].secret_id)),
        ("delete_item", lambda r: r.delete("pc_a")),
    ],
    ids=["update", "disable", "roll", "revoke", "delete"],
)
def test_a_write_based_on_a_stale_version_is_refused_not_lost(
    store: FastStore, clock: FakeClock, operation: str, write: Any
) -> None:
    create(store.registry(clock))
    first = store.registry(clock)
    late = store.registry(
        clock, BeforeWrite(store.client, operation, lambda: first.update("pc_a", client_name="First"))
    )
    with pytest.raises(ClientConflict):
        write(late)
    assert first.get("pc_a").client_name == "First"
    assert first.get("pc_a").version == 2


@pytest.mark.parametrize(
    ("operation", "write"),
    [
        ("put_item", lambda r: r.update("pc_a", client_name="Late")),
        ("update_item", lambda r: r.disable("pc_a")),
    ],
    ids=["save", "disable"],
)
def test_a_write_to_an_item_deleted_meanwhile_is_a_conflict(
    store: FastStore, clock: FakeClock, operation: str, write: Any
) -> None:
    create(store.registry(clock))
    other = store.registry(clock)
    late = store.registry(clock, BeforeWrite(store.client, operation, lambda: other.delete("pc_a")))
    with pytest.raises(ClientConflict):
        write(late)
    assert store.item("pc_a") is None


def test_every_rewrite_keeps_attributes_this_version_does_not_know(
    registry: ClientRegistry, store: FastStore
) -> None:
    store.put(hand_written("pc_h", future={"S": "kept"}, version={"N": "4"}))
    registry.update("pc_h", client_name="B")
    registry.roll_secret("pc_h", overlap=0)
    registry.disable("pc_h")
    item = store.item("pc_h") or {}
    assert item["future"] == {"S": "kept"}
    assert item["version"] == {"N": "7"}


def test_delete_removes_any_item_even_a_malformed_one(registry: ClientRegistry, store: FastStore) -> None:
    create(registry)
    store.put(hand_written("pc_bad", status={"S": "suspended"}, version={"N": "9"}))
    registry.delete("pc_a")
    registry.delete("pc_bad")
    assert store.item("pc_a") is None
    assert store.item("pc_bad") is None


def test_deletes_and_writes_are_conditional_on_the_version_as_read(
    store: FastStore, clock: FakeClock
) -> None:
    spy = Spy(store.client)
    registry = store.registry(clock, spy)
    create(registry)
    registry.update("pc_a", client_name="B")
    registry.delete("pc_a")
    insert, save = spy.of("put_item")
    assert insert["ConditionExpression"] == "attribute_not_exists(client_id)"
    assert save["ConditionExpression"] == "#v = :v"
    assert save["ExpressionAttributeNames"] == {"#v": "version"}
    assert save["ExpressionAttributeValues"] == {":v": {"N": "1"}}
    (delete,) = spy.of("delete_item")
    assert delete["ConditionExpression"] == "#v = :v"
    assert delete["ExpressionAttributeValues"] == {":v": {"N": "2"}}
    assert delete["Key"] == {"client_id": {"S": "pc_a"}}


def test_a_write_on_an_item_without_version_accepts_only_no_version_or_0(
    store: FastStore, clock: FakeClock
) -> None:
    spy = Spy(store.client)
    store.put(hand_written("pc_h"))
    store.registry(clock, spy).update("pc_h", client_name="B")
    (save,) = spy.of("put_item")
    assert save["ConditionExpression"] == "attribute_not_exists(#v) OR #v = :v"
    assert save["ExpressionAttributeNames"] == {"#v": "version"}
    assert save["ExpressionAttributeValues"] == {":v": {"N": "0"}}


def lost(operation: str) -> Exception:
    return aws_error("InternalServerError", operation)


@pytest.mark.parametrize(
    ("operation", "write"),
    [
        ("put_item", lambda r: r.update("pc_a", client_name="B")),
        ("update_item", lambda r: r.disable("pc_a")),
        ("put_item", lambda r: r.roll_secret("pc_a", overlap=0)),
        ("delete_item", lambda r: r.delete("pc_a")),
    ],
    ids=["save", "disable", "roll", "delete"],
)
def test_a_committed_write_whose_answer_is_lost_succeeds_once(
    store: FastStore, clock: FakeClock, operation: str, write: Any
) -> None:
    create(store.registry(clock))
    failing = FailingCalls(store.client)
    failing.fail(operation, lost(operation), commit_first=True)
    write(store.registry(clock, failing))
    item = store.item("pc_a")
    assert item is None if operation == "delete_item" else (item or {})["version"] == {"N": "2"}


def test_a_lost_create_answer_still_shows_the_secret(store: FastStore, clock: FakeClock) -> None:
    failing = FailingCalls(store.client)
    failing.fail("put_item", lost("PutItem"), commit_first=True)
    issued = create(store.registry(clock, failing))
    assert store.registry(clock).authenticate("pc_a", issued.secret).client_id == "pc_a"


def test_a_write_that_failed_uncommitted_raises_its_own_error_and_changes_nothing(
    store: FastStore, clock: FakeClock
) -> None:
    before = create(store.registry(clock)).client
    failing = FailingCalls(store.client)
    error = lost("PutItem")
    failing.fail("put_item", error)
    with pytest.raises(type(error)) as caught:
        store.registry(clock, failing).update("pc_a", client_name="B")
    assert caught.value is error
    assert store.registry(clock).get("pc_a") == before


def test_a_delete_that_failed_uncommitted_raises_its_error(store: FastStore, clock: FakeClock) -> None:
    create(store.registry(clock))
    failing = FailingCalls(store.client)
    error = lost("DeleteItem")
    failing.fail("delete_item", error)
    with pytest.raises(type(error)) as caught:
        store.registry(clock, failing).delete("pc_a")
    assert caught.value is error
    assert store.item("pc_a") is not None


def test_when_the_read_back_fails_too_the_request_to_look_for_is_named(
    store: FastStore, clock: FakeClock
) -> None:
    create(store.registry(clock))
    failing = FailingCalls(store.client)
    failing.fail("put_item", lost("PutItem"))
    failing.fail("get_item", lost("GetItem"), after=1)
    with pytest.raises(WriteOutcomeUnknown) as caught:
        store.registry(clock, failing).update("pc_a", client_name="B")
    assert REQUEST_ID.fullmatch(caught.value.request)
    assert "pc_a" in str(caught.value)


def test_a_delete_whose_answer_and_read_back_are_lost_names_no_request(
    store: FastStore, clock: FakeClock
) -> None:
    """A delete stamps nothing (it is committed when the item is gone), so it names no request id."""
    create(store.registry(clock))
    failing = FailingCalls(store.client)
    failing.fail("delete_item", lost("DeleteItem"))
    failing.fail("get_item", lost("GetItem"), after=1)
    with pytest.raises(WriteOutcomeUnknown) as caught:
        store.registry(clock, failing).delete("pc_a")
    assert caught.value.request == ""
    assert "show pc_a" in str(caught.value)


def test_a_retried_write_whose_first_attempt_committed_is_success(store: FastStore, clock: FakeClock) -> None:
    """botocore re-sends a write whose answer was lost: the retry's version condition fails, the item holds
    our request id, so the write is done."""
    create(store.registry(clock))

    class Resent(FailingCalls):
        def _call(self, name: str, attribute: Any, kwargs: dict[str, Any]) -> Any:
            if name in {"put_item", "update_item", "delete_item"}:
                attribute(**kwargs)
            return attribute(**kwargs)

    registry = store.registry(clock, Resent(store.client))
    assert registry.update("pc_a", client_name="B").version == 2
    assert registry.disable("pc_a").version == 3  # type: ignore[union-attr]
    registry.delete("pc_a")
    assert store.item("pc_a") is None


def test_a_read_back_is_consistent_and_asks_only_for_last_request(store: FastStore, clock: FakeClock) -> None:
    create(store.registry(clock))
    failing = FailingCalls(store.client)
    failing.fail("put_item", lost("PutItem"), commit_first=True)
    spy = Spy(failing)
    store.registry(clock, spy).update("pc_a", client_name="B")
    read_back = spy.of("get_item")[-1]
    assert read_back["ConsistentRead"] is True
    assert read_back["ProjectionExpression"] == "#r"
    assert read_back["ExpressionAttributeNames"] == {"#r": "last_request"}
    assert read_back["Key"] == {"client_id": {"S": "pc_a"}}
