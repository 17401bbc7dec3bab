"""What partners write through RFC 7009 cannot grow the published revocation document past a bound far below
what the authorizer fetches (issue 14 item 2; docs/DESIGN.md "Token revocation", SECURITY.md).

* a partner has at most ``TOKEN_REVOCATION_QUOTA`` jti revocations per window (max lifetime + leeway), so at
  most twice that many live; past the quota its own tokens are cut instead (one item, however many requests);
* the document holds at most ``MAX_PUBLISHED_TOKEN_REVOCATIONS`` jti revocations: past it, the clients with
  the most are folded into a cut of their own tokens (wider, never narrower: no revoked token is re-admitted).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from partnerauth.jwks_cache import DocumentCache
from partnerauth.jwks_fetch import DEFAULT_MAX_BYTES
from partnerauth.revocations import (
    MAX_PUBLISHED_TOKEN_REVOCATIONS,
    TOKEN_REVOCATION_QUOTA,
    Revocation,
    RevocationList,
    RevocationStore,
    parse_revocations,
    revocation_document,
)
from tests.support.clock import FakeClock

LIFETIME = 3600
LEEWAY = 60
NOW = 1_800_000_000.0
DOCUMENT_BOUND = DEFAULT_MAX_BYTES // 4  # far below the authorizer's fetch cap (128 KiB)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(tables: dict[str, str], dynamodb_client: Any, clock: FakeClock) -> RevocationStore:
    return RevocationStore(
        tables["RevocationsTable"], dynamodb_client, max_token_lifetime=LIFETIME, leeway=LEEWAY, clock=clock
    )


def document_bytes(store: RevocationStore) -> int:
    return len(json.dumps(revocation_document(store.published()), separators=(",", ":")))


def verifier_over(store: RevocationStore, clock: FakeClock) -> RevocationList:
    class Published:
        def fetch(self, uri: str) -> Any:
            return json.loads(json.dumps(revocation_document(store.published())))

    cache: DocumentCache[Revocation] = DocumentCache(
        Published(), parse=parse_revocations, allow_empty=True, max_age=600, clock=clock
    )
    return RevocationList(cache, "https://auth.example.test/.well-known/revocations.json", clock=clock)


def test_a_hostile_partner_revoking_a_thousand_of_its_own_tokens_stays_within_twice_its_quota(
    store: RevocationStore, clock: FakeClock
) -> None:
    # Given a partner that revokes a fresh token of its own every 10 s, 1,000 times (close to three windows)
    revoked: list[tuple[str, int]] = []
    for n in range(1000):
        iat = int(clock()) - 1
        store.revoke_own_token(f"jti-{n:04d}", "mallory", issued_at=iat, expires_at=iat + LIFETIME)
        revoked.append((f"jti-{n:04d}", iat))
        if n % 25 == 0 or n % 366 < 20:  # often, and around each new window (366 calls of 10 s)
            live_tokens = [m for m in store.live() if m.startswith("jti:")]
            # Then it never holds more than two windows' quota of jti revocations
            assert len(live_tokens) <= 2 * TOKEN_REVOCATION_QUOTA
        clock.advance(10)
    # and the published document stays small: a partner's writes cannot lock everyone out
    assert document_bytes(store) <= 2 * TOKEN_REVOCATION_QUOTA * 64 + 256
    # and every token it revoked that has not expired is refused, none of another partner's
    verifier = verifier_over(store, clock)
    now = clock()
    for jti, iat in revoked:
        if iat + LIFETIME + LEEWAY > now:
            assert verifier.revokes("mallory", jti, iat)
    assert not verifier.revokes("acme", "jti-0001", int(now) - 1)


def test_past_the_cap_the_document_folds_the_busiest_clients_and_readmits_nothing(
    store: RevocationStore, clock: FakeClock
) -> None:
    # Given 40 partners with a full quota of jti revocations each (640, more than the cap)
    clients = [f"partner-{n:02d}" for n in range(40)]
    revoked: list[tuple[str, str, int]] = []
    for c, client in enumerate(clients):
        for n in range(TOKEN_REVOCATION_QUOTA + c % 3):  # some have more: they are folded first
            iat = int(clock()) - 100 + n
            store.revoke_token(f"{client}-{n}", client, expires_at=iat + 900, issued_at=iat)
            revoked.append((client, f"{client}-{n}", iat))
    assert len(revoked) > MAX_PUBLISHED_TOKEN_REVOCATIONS
    # Then the document holds at most the cap of jti revocations and stays far below the fetch cap
    published = store.published()
    assert len([m for m in published if m.startswith("jti:")]) <= MAX_PUBLISHED_TOKEN_REVOCATIONS
    assert document_bytes(store) <= DOCUMENT_BOUND
    # and an authorizer reading it still refuses every revoked token
    verifier = verifier_over(store, clock)
    for client, jti, iat in revoked:
        assert verifier.revokes(client, jti, iat)
    # while a client with no revocation is untouched, and so are tokens issued after a folded cut
    assert not verifier.revokes("bystander", "b-1", int(clock()) - 500)
    folded = [m.removeprefix("client:") for m in published if m.startswith("client:")]
    assert folded  # the cap was reached: some clients were folded
    latest = max(iat for client, _, iat in revoked if client == folded[0])
    assert not verifier.revokes(folded[0], "issued-later", latest + 1)


def test_a_jti_revocation_a_client_cut_covers_is_not_published_again(
    store: RevocationStore, clock: FakeClock
) -> None:
    iat = int(clock()) - 10
    store.revoke_token("jti-a", "acme", expires_at=iat + 900, issued_at=iat)
    store.revoke_client("acme")
    published = store.published()
    assert "jti:jti-a" not in published  # redundant: the cut covers it
    assert verifier_over(store, clock).revokes("acme", "jti-a", iat)
    # a jti revocation without iat (written by hand) is never dropped or folded
    store.revoke_token("jti-hand", "acme", expires_at=iat + 900)
    assert "jti:jti-hand" in store.published()


def test_the_quota_counter_is_never_published(store: RevocationStore, clock: FakeClock) -> None:
    iat = int(clock()) - 1
    store.revoke_own_token("jti-1", "acme", issued_at=iat, expires_at=iat + 900)
    assert set(store.published()) == {"jti:jti-1"}
    assert parse_revocations(revocation_document(store.published())) == store.published()


def test_writes_record_who_asked_for_the_audit_trail(
    store: RevocationStore, tables: dict[str, str], dynamodb_client: Any
) -> None:
    store.revoke_client("acme", actor="arn:aws:iam::123456789012:user/oncall")
    store.revoke_token("jti-1", "acme", expires_at=int(NOW) + 900, actor="client:acme")
    store.revoke_token("jti-2", "acme", expires_at=int(NOW) + 900)
    items = {
        item["member"]["S"]: item
        for item in dynamodb_client.scan(TableName=tables["RevocationsTable"], ConsistentRead=True)["Items"]
    }
    assert items["client:acme"]["changed_by"]["S"] == "arn:aws:iam::123456789012:user/oncall"
    assert items["jti:jti-1"]["changed_by"]["S"] == "client:acme"
    assert "changed_by" not in items["jti:jti-2"]
