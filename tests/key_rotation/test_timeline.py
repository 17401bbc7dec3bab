"""A simulated year of scheduled rotations: no valid token is ever rejected, no key signs past its time.

The clock is injected, never slept.  What is simulated:

* the rotation schedule: a run every 6 hours (template.yaml runs it hourly; a scan in moto costs
  ~5 ms, so 8,760 hourly runs alone would take ~45 s - a sparser schedule only loosens the bound on
  how late a key may still sign, which is asserted against the gaps actually simulated), each run
  delivered up to 30 minutes late, 5 % of runs lost, 3 % delivered twice, and a two-day outage of
  the function across a due rotation;
* DynamoDB TTL at its most eager: a retired key's item vanishes the very second its ``expires_at``
  passes, between runs (the real TTL deletes within days; the rotation function at its next run);
* the token function: a token every 30 minutes, signed with the key ``current_signing_key()``
  returns - once with the fresh answer and, after a change, once more with the answer it may still
  hold in its cache (``signing_key_cache_ttl`` old);
* verifiers (the authorizer, partners): each holds a copy of the JWKS that may be up to
  ``jwks_max_age`` old.  Every token is verified at issue with the oldest and the newest copy
  allowed, at the last instant it is valid (``exp + leeway``) with the newest, and at a random
  instant with a copy of random age.  A copy is never older than the first published set (nobody
  can cache the JWKS of a service that has not started).

Keys are EdDSA to keep the run short (~17,500 tokens; a check whose copy and instant repeat an
earlier one is not redone); the lifecycle does not depend on the algorithm
(tests/key_rotation/test_rotator.py covers each one).
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from partnerauth.algorithms import KeySpec
from partnerauth.errors import TokenRejected
from partnerauth.key_lifecycle import NEW, KeyRotator
from partnerauth.key_store import KeyState, KeyStore
from partnerauth.keys import SigningKey
from partnerauth.verification import AccessTokenVerifier
from tests.key_rotation.conftest import DAY, HOUR, SCHEDULE, START, issue, verifier
from tests.support.clock import FakeClock

YEAR = 365 * DAY
TOKEN_EVERY = 30 * 60
RUN_EVERY = 6 * HOUR  # template.yaml: rate(1 hour); see the module docstring
OUTAGE = (START + 89 * DAY, START + 91 * DAY)  # the third rotation is due at START + 90 d
SEED = 20_270_115


@dataclass
class History:
    """What happened, in time order: published sets, issuer answers, runs, key lifetimes."""

    jwks_at: list[int] = field(default_factory=list)
    jwks: list[dict[str, Any]] = field(default_factory=list)
    issuer_at: list[int] = field(default_factory=list)
    issuer_key: list[SigningKey] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    activated: dict[str, int] = field(default_factory=dict)
    first_signed: dict[str, int] = field(default_factory=dict)

    def copy_index(self, at: float) -> int:
        """The published set a verifier holds when its copy was fetched at ``at``."""
        return max(0, bisect.bisect_right(self.jwks_at, at) - 1)

    def issuer_answer(self, at: float) -> SigningKey:
        return self.issuer_key[max(0, bisect.bisect_right(self.issuer_at, at) - 1)]


def run_times(rng: random.Random) -> list[int]:
    times = []
    for slot in range(YEAR // RUN_EVERY + 1):
        at = START + slot * RUN_EVERY + rng.randrange(1_800)
        if OUTAGE[0] <= at < OUTAGE[1] or (slot > 0 and rng.random() < 0.05):
            continue
        times.append(at)
        if rng.random() < 0.03:
            times.append(at + rng.randrange(120))
    return times


class EagerTtl:
    """DynamoDB TTL deleting each expired item the moment it expires (the worst case for verifiers)."""

    def __init__(self, dynamodb_client: Any, table: str) -> None:
        self._dynamodb = dynamodb_client
        self._table = table
        self.pending: list[tuple[int, str]] = []

    def watch(self, store: KeyStore) -> None:
        self.pending = sorted((r.expires_at, r.kid) for r in store.list_keys() if r.expires_at is not None)

    def due(self, until: int) -> list[int]:
        """Delete every item expiring before ``until``; the instants at which the table changed."""
        instants = []
        while self.pending and self.pending[0][0] < until:
            expires_at, kid = self.pending.pop(0)
            self._dynamodb.delete_item(
                TableName=self._table,
                Key={"kid": {"S": kid}},
                ConditionExpression="attribute_not_exists(kid) OR expires_at <= :t",
                ExpressionAttributeValues={":t": {"N": str(expires_at)}},
            )
            instants.append(expires_at)
        return instants


def simulate(
    rotator: KeyRotator, store: KeyStore, ttl: EagerTtl, clock: FakeClock, rng: random.Random
) -> tuple[History, list]:
    history = History()
    tokens: list[tuple[str, int, str]] = []
    runs = run_times(rng)
    next_token = runs[0]
    for index, at in enumerate([*runs, START + YEAR]):
        while next_token < at and history.jwks:  # tokens issued until the next run
            fresh, cached = history.issuer_answer(next_token), history.issuer_answer(next_token - 60)
            for key in {fresh.kid: fresh, cached.kid: cached}.values():
                tokens.append((issue(key, next_token), next_token, key.kid))
                history.first_signed.setdefault(key.kid, next_token)
            next_token += TOKEN_EVERY
        if index == len(runs):
            break
        for instant in ttl.due(at):
            clock.now = instant
            history.jwks_at.append(instant)
            history.jwks.append(store.published_jwks())
        clock.now = at
        history.runs.append(at)
        transitions = rotator.reconcile()
        for t in transitions:
            if t.from_state == NEW:
                history.created[t.kid] = t.at
            if t.to_state == KeyState.CURRENT:
                history.activated[t.kid] = t.at
        if transitions:
            history.jwks_at.append(at)
            history.jwks.append(store.published_jwks())
            history.issuer_at.append(at)
            history.issuer_key.append(store.current_signing_key())
            ttl.watch(store)
    return history, tokens


def test_a_year_of_rotations_rejects_no_valid_token_and_retires_every_key_on_time(
    store: KeyStore, clock: FakeClock, dynamodb_client: Any, signing_keys_table: str
) -> None:
    rng = random.Random(SEED)
    rotator = KeyRotator(store, SCHEDULE, KeySpec.EDDSA, clock)
    history, tokens = simulate(rotator, store, EagerTtl(dynamodb_client, signing_keys_table), clock, rng)

    now = [0.0]
    verifiers: dict[int, AccessTokenVerifier] = {}

    def verify(token: str, at: float, copy_fetched_at: float) -> str | None:
        index = history.copy_index(copy_fetched_at)
        if (index, at) in done:
            return None
        done.add((index, at))
        if index not in verifiers:
            verifiers[index] = verifier(history.jwks[index], lambda: now[0])
        now[0] = at
        try:
            verifiers[index].verify(token)
        except TokenRejected as rejected:
            return rejected.reason
        return None

    rejected = []
    done: set[tuple[int, float]] = set()
    max_age, lifetime, leeway = SCHEDULE.jwks_max_age, SCHEDULE.max_token_lifetime, SCHEDULE.leeway
    for token, issued, kid in tokens:
        done.clear()
        last_valid = issued + lifetime + leeway - 1
        sometime = rng.uniform(issued, last_valid)
        checks = [
            (issued, issued - max_age),  # at issue, with the oldest copy a verifier may hold
            (issued, issued),  # at issue, with a fresh copy
            (last_valid, last_valid),  # RFC 7519 §4.1.4: still accepted until exp (+ leeway)
            (sometime, sometime - rng.uniform(0, max_age)),
        ]
        rejected += [(kid, issued, at, r) for at, fetched in checks if (r := verify(token, at, fetched))]

    # Then no valid token was rejected, ever
    assert rejected == [], f"{len(rejected)} rejections, first: {rejected[:3]}"
    assert len(tokens) > 17_000
    # And the year saw its rotations (12 in 365 days at a 30-day period, one delayed by the outage)
    assert len(history.activated) == 1 + 12
    # And each rotation happened at the first run after the current key's period was over, and no key
    # signed after that (but for the issuer's cache of the key it loaded)
    activations = sorted(history.activated.values())
    for activated, replaced in itertools.pairwise(activations):
        due_run = history.runs[bisect.bisect_left(history.runs, activated + SCHEDULE.period)]
        assert replaced == due_run
    stopped = dict(
        zip(sorted(history.activated, key=history.activated.__getitem__), activations[1:], strict=False)
    )
    assert all(
        issued <= stopped.get(kid, issued) + SCHEDULE.signing_key_cache_ttl for _, issued, kid in tokens
    )
    assert max(b - a for a, b in itertools.pairwise(activations)) > SCHEDULE.period + DAY  # outage
    # And every key but the first was published a whole lead before it signed a token
    bootstrap = min(history.created, key=history.created.__getitem__)
    leads = [
        history.first_signed[kid] - history.created[kid] for kid in history.first_signed if kid != bootstrap
    ]
    assert min(leads) >= SCHEDULE.publish_lead
    # And the JWKS stayed small: current, next and at most one retired key at these timings
    assert max(len(doc["keys"]) for doc in history.jwks) == 3
    assert sorted(r.state for r in store.list_keys()) == [KeyState.CURRENT, KeyState.NEXT]
