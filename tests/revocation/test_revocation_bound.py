"""Token revocation reaches a verifier within the stated bound, never earlier for other clients, and is never
lost by a cache, a failed fetch or a bad document (issue 14 items 1 and 2; docs/DESIGN.md "Token revocation").

The publisher serves what RevocationsTable holds at each request (as JwksFunction does); the verifier learns
it through the JWKS machinery (DocumentCache: max age M, cooldown C, stale-if-error S). One injected clock
drives both: no sleeps. The authorizer's bound is ``M`` here, plus API Gateway's cached answer ``T``.
"""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.errors import JwksFetchError, KeysUnavailable
from partnerauth.jwks_cache import DocumentCache, stale_if_error_for
from partnerauth.revocations import (
    Revocation,
    RevocationList,
    RevocationStore,
    parse_revocations,
    revocation_document,
)
from tests.support.clock import FakeClock

URI = "https://auth.example.test/.well-known/revocations.json"
MAX_AGE = 600
COOLDOWN = 30
LIFETIME = 3600
LEEWAY = 60
NOW = 1_800_000_000.0


class Publisher:
    """JwksFunction's revocations route over the store: the table as it is now; can be made to fail."""

    def __init__(self, store: RevocationStore) -> None:
        self.store = store
        self.failure: Exception | None = None
        self.override: Any = None
        self.calls = 0

    def fetch(self, uri: str) -> Any:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        if self.override is not None:
            return self.override
        return revocation_document(self.store.published())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(tables: dict[str, str], dynamodb_client: Any, clock: FakeClock) -> RevocationStore:
    return RevocationStore(
        tables["RevocationsTable"], dynamodb_client, max_token_lifetime=LIFETIME, leeway=LEEWAY, clock=clock
    )


@pytest.fixture
def publisher(store: RevocationStore) -> Publisher:
    return Publisher(store)


@pytest.fixture
def revocations(publisher: Publisher, clock: FakeClock) -> RevocationList:
    cache: DocumentCache[Revocation] = DocumentCache(
        publisher, parse=parse_revocations, allow_empty=True, max_age=MAX_AGE, cooldown=COOLDOWN, clock=clock
    )
    revocations = RevocationList(cache, URI, clock=clock)
    assert revocations.prefetch()  # the authorizer's cold start
    return revocations


def issued(clock: FakeClock, ago: float = 10) -> int:
    return int(clock() - ago)


def test_a_client_revocation_reaches_the_verifier_within_max_age_and_never_touches_another_client(
    store: RevocationStore, revocations: RevocationList, clock: FakeClock
) -> None:
    acme_iat, other_iat = issued(clock), issued(clock)
    assert not revocations.revokes("acme", "jti-1", acme_iat)
    # When the operator revokes acme's tokens (revoke-tokens acme)
    t0 = clock()
    store.revoke_client("acme")
    # Then, every 10 s until the bound: the other partner is never refused; acme's token is refused
    # at the latest once the verifier's copy is older than max age (the bound, plus the authorizer cache TTL)
    refused_at = None
    while clock() <= t0 + MAX_AGE:
        assert not revocations.revokes("other", "jti-2", other_iat)
        if refused_at is None and revocations.revokes("acme", "jti-1", acme_iat):
            refused_at = clock()
        if refused_at is not None:
            assert revocations.revokes("acme", "jti-1", acme_iat)  # once refused, refused for good
        clock.advance(10)
    assert refused_at is not None
    assert refused_at - t0 <= MAX_AGE
    # And tokens issued after the revocation (from the next second on) are accepted
    assert not revocations.revokes("acme", "jti-3", int(t0) + 1)


def test_a_token_revocation_refuses_that_jti_only(
    store: RevocationStore, revocations: RevocationList, clock: FakeClock
) -> None:
    store.revoke_token("jti-leaked", "acme", expires_at=int(clock()) + 900)
    clock.advance(MAX_AGE)
    assert revocations.revokes("acme", "jti-leaked", issued(clock))
    assert not revocations.revokes("acme", "jti-other", issued(clock))  # RFC 7009 §2: that token only


def test_a_failed_fetch_never_readmits_a_revoked_token_and_no_usable_copy_fails_closed(
    store: RevocationStore, revocations: RevocationList, publisher: Publisher, clock: FakeClock
) -> None:
    iat = issued(clock)
    store.revoke_client("acme")
    clock.advance(MAX_AGE)
    assert revocations.revokes("acme", "j", iat)
    # When the revocation endpoint fails for as long as stale-if-error allows, the revocation holds
    publisher.failure = JwksFetchError("jwks fetch failed")
    end_of_stale = clock() + MAX_AGE + stale_if_error_for(MAX_AGE)
    while clock() < end_of_stale - 1:
        assert revocations.revokes("acme", "j", iat)
        assert not revocations.revokes("other", "k", iat)
        clock.advance(60)
    # Then past it, with no usable copy, nothing of ours is admitted (fail closed: the authorizer's 401)
    clock.advance(60)
    with pytest.raises(KeysUnavailable):
        revocations.revokes("other", "k", iat)


def test_a_later_copy_that_lost_a_revocation_or_a_bad_document_readmits_nothing(
    store: RevocationStore, revocations: RevocationList, publisher: Publisher, clock: FakeClock
) -> None:
    iat = issued(clock)
    store.revoke_client("acme")
    clock.advance(MAX_AGE)
    assert revocations.revokes("acme", "j", iat)
    # a document that is not a revocation document replaces nothing
    publisher.override = {"revoked_clients": [{"client_id": "acme"}], "revoked_tokens": []}
    clock.advance(MAX_AGE)
    assert revocations.revokes("acme", "j", iat)
    # a well-formed copy without it (a restored table, a lagging replica) does not undo it either
    publisher.override = revocation_document({})
    clock.advance(MAX_AGE)
    assert revocations.revokes("acme", "j", iat)
    # until every token it covers has expired
    clock.advance(LIFETIME + LEEWAY)
    assert not revocations.revokes("acme", "j", int(clock()))


def test_the_warm_path_makes_no_fetch_per_request(
    revocations: RevocationList, publisher: Publisher, clock: FakeClock
) -> None:
    calls = publisher.calls
    for _ in range(1000):
        revocations.revokes("acme", "j", issued(clock))
        clock.advance(0.1)
    assert publisher.calls == calls  # 100 s of requests, within max age: no network call


def test_revocations_only_widen_and_leave_the_published_set_once_expired(
    store: RevocationStore, clock: FakeClock
) -> None:
    first = store.revoke_client("acme")
    clock.advance(100)
    second = store.revoke_client("acme")
    assert store.live()["client:acme"] == second != first
    store.revoke_token("jti-1", "acme", expires_at=int(clock()) + 10)
    clock.advance(10 + LEEWAY)
    assert "jti:jti-1" not in store.live()
    clock.advance(LIFETIME)
    assert store.live() == {}


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {},
        {"revoked_clients": [], "revoked_tokens": [], "extra": 1},
        {"revoked_clients": {}, "revoked_tokens": []},
        {"revoked_clients": [{"client_id": "", "issued_before": 1, "until": 2}], "revoked_tokens": []},
        {"revoked_clients": [{"client_id": "a", "issued_before": "1", "until": 2}], "revoked_tokens": []},
        {"revoked_clients": [{"client_id": "a", "issued_before": True, "until": 2}], "revoked_tokens": []},
        {"revoked_clients": [], "revoked_tokens": [{"jti": 5, "until": 2}]},
        {"revoked_clients": [], "revoked_tokens": [{"jti": "x" * 300, "until": 2}]},
        {"revoked_clients": [], "revoked_tokens": [{"jti": "x", "until": -1}]},
    ],
)
def test_a_malformed_document_is_refused_whole(document: Any) -> None:
    with pytest.raises(ValueError, match="revocation"):
        parse_revocations(document)


def test_the_document_round_trips() -> None:
    members = {"client:a": Revocation(5, 9), "jti:x": Revocation(0, 7)}
    assert parse_revocations(revocation_document(members)) == members
