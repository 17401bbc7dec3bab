"""Fixtures for the signing-key store and its rotation: a moto table and KMS key built from
template.yaml (tests/support), an injected clock, and the test doubles the concurrency and
crash tests wrap around the real (moto) clients."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.access_token import AccessTokenRequest, sign_access_token
from partnerauth.algorithms import KeySpec
from partnerauth.key_lifecycle import KeyRotator, RotationSchedule, Transition
from partnerauth.key_source import StaticKeySource
from partnerauth.key_store import HEAD_KID, KeyStore
from partnerauth.keys import SigningKey, generate_signing_key
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy
from tests.support.clock import FakeClock

ISSUER = "https://auth.example.test"
JWKS_URI = f"{ISSUER}/.well-known/jwks.json"
AUDIENCE = "partner-api"
START = 1_800_000_000  # 2027-01-15, the simulated epoch of every test
HOUR, DAY = 3_600, 86_400
SCHEDULE = RotationSchedule()  # the template's defaults: 30 d period, 1 d lead, 1 d grace


class SerializedClient:
    """A boto3 client whose calls run one at a time.

    Real DynamoDB makes every request - a TransactWriteItems included - atomic and
    serializable; moto's in-memory backend does not when threads call it at once (it
    checks conditions and writes in separate steps, and restores a copied table when a
    transaction fails).  Serializing whole *requests* gives moto DynamoDB's guarantee and
    nothing more: requests of different threads still interleave arbitrarily.
    """

    def __init__(self, client: Any, lock: threading.Lock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


class InjectedCrash(Exception):
    """Raised by :class:`Faults` after the step it was told to crash behind."""


class Faults:
    """Counts the externally visible steps of a run (AWS calls, key generations, reports)
    and raises :class:`InjectedCrash` right *after* step ``crash_after`` completed - the
    write landed, the process died before it could go on."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.steps: list[str] = []

    def step(self, name: str) -> None:
        self.steps.append(name)
        if self.crash_after is not None and len(self.steps) == self.crash_after:
            raise InjectedCrash(name)

    def client(self, client: Any, service: str) -> Any:
        faults = self

        class Wrapped:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(client, name)
                if not callable(attribute):
                    return attribute

                def call(*args: Any, **kwargs: Any) -> Any:
                    result = attribute(*args, **kwargs)
                    faults.step(f"{service}.{name}")
                    return result

                return call

        return Wrapped()

    def generator(self) -> Callable[[KeySpec], SigningKey]:
        def generate(spec: KeySpec) -> SigningKey:
            key = generate_signing_key(spec)
            self.step("generate_signing_key")
            return key

        return generate

    def observer(self, transition: Transition) -> None:
        self.step(f"report {transition.from_state}->{transition.to_state}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def signing_keys_table(tables: dict[str, str]) -> str:
    return tables["SigningKeysTable"]


@pytest.fixture
def store(
    signing_keys_table: str, dynamodb_client: Any, kms_client: Any, kms_key_id: str, clock: FakeClock
) -> KeyStore:
    """The rotation function's view: may encrypt (and, in moto, decrypt)."""
    return KeyStore(signing_keys_table, dynamodb_client, kms_client, kms_key_id, clock=clock)


@pytest.fixture
def jwks_reader(signing_keys_table: str, dynamodb_client: Any, clock: FakeClock) -> KeyStore:
    """The JWKS function's view: no KMS client at all."""
    return KeyStore(signing_keys_table, dynamodb_client, clock=clock)


@pytest.fixture
def make_rotator(store: KeyStore, clock: FakeClock) -> Callable[..., KeyRotator]:
    """``make_rotator(spec=..., schedule=..., store=..., **kwargs)``; EdDSA keys by default (fast)."""

    def make(
        spec: KeySpec | str = KeySpec.EDDSA,
        schedule: RotationSchedule = SCHEDULE,
        key_store: KeyStore | None = None,
        **kwargs: Any,
    ) -> KeyRotator:
        return KeyRotator(key_store or store, schedule, spec, clock, **kwargs)

    return make


@pytest.fixture
def rotator(make_rotator: Callable[..., KeyRotator]) -> KeyRotator:
    return make_rotator()


def verifier(
    jwks: dict[str, Any], clock: Callable[[], float], leeway: int = SCHEDULE.leeway
) -> AccessTokenVerifier:
    """The authorizer's verifier over one JWKS document (its cached copy)."""
    policy = IssuerPolicy(
        issuer=ISSUER,
        jwks_uri=JWKS_URI,
        audiences=frozenset({AUDIENCE}),
        algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        max_lifetime=SCHEDULE.max_token_lifetime,
    )
    return AccessTokenVerifier([policy], StaticKeySource({JWKS_URI: jwks}), leeway=leeway, clock=clock)


def issue(key: SigningKey, now: float, lifetime: int = SCHEDULE.max_token_lifetime) -> str:
    """An RFC 9068 access token for a partner, signed as the token function signs it."""
    request = AccessTokenRequest(
        issuer=ISSUER, client_id="partner-1", audience=AUDIENCE, scopes=("orders:read",), lifetime=lifetime
    )
    return sign_access_token(key, request, now).token


def assert_consistent_key_set(dynamodb_client: Any, table: str, *, next_required: bool = True) -> None:
    """Exactly one current key, the one the head names; every other key is the head's next key or
    retired: no item in ``next``/``current`` that the head does not name (no orphans)."""
    items = {i["kid"]["S"]: i for i in dynamodb_client.scan(TableName=table, ConsistentRead=True)["Items"]}
    head = items.pop(HEAD_KID)
    by_state: dict[str, set[str]] = {"current": set(), "next": set(), "retired": set()}
    for kid, item in items.items():
        by_state[item["state"]["S"]].add(kid)
    assert by_state["current"] == {head["current_kid"]["S"]}
    named_next = {head["next_kid"]["S"]} if "next_kid" in head else set()
    assert by_state["next"] == named_next
    assert named_next or not next_required


class Recording:
    """Passes calls through to a boto3 client and remembers them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return getattr(self.client, name)(**kwargs)

        return call
