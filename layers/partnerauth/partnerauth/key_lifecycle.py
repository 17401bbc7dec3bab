"""When signing keys move through their life, and the reconciler that moves them.

A key is created as ``next`` (published in the JWKS, not signing), becomes ``current``
(the one key that signs), then ``retired`` (published, verify-only), then ``gone``.
:class:`RotationSchedule` holds the timings and refuses any that could make a verifier
reject a valid token; :class:`KeyRotator` compares the key set with the clock and makes
whatever transitions are due, so a run that is repeated, late or concurrent with another
changes nothing that should not change (every write is conditional, see ``key_store``).

Why the relations hold (RFC 7517 §5 JWK Sets are cached by verifiers; RFC 8725 §3.10/§3.12
ask verifiers to select keys by ``kid`` from the issuer's published set):

* ``publish_lead >= jwks_max_age + stale_if_error + authorizer_cache_ttl``: a verifier's copy
  of the JWKS is at most ``jwks_max_age`` old while the endpoint answers, and at most
  ``jwks_max_age + stale_if_error`` old while it fails (our authorizer's cache, and any HTTP
  cache honouring the response's ``stale-if-error``, RFC 5861 §4), so a key published that long
  before it first signs is in every copy that can meet one of its tokens; the authorizer-cache
  TTL is a margin for a decision API Gateway cached from an older copy.
* ``grace >= max_token_lifetime + signing_key_cache_ttl + authorizer_cache_ttl + leeway``:
  the token issuer may sign with a key for ``signing_key_cache_ttl`` after it stopped being
  current (its in-memory cache), that last token lives ``max_token_lifetime`` and is
  accepted until ``leeway`` after its ``exp`` (RFC 7519 §4.1.4 allows the leeway); the TTL is
  a margin.  A verifier's stale copy needs no extra time here: staleness only makes it keep
  a key *longer* than the published set does, never drop it earlier.
* ``period > publish_lead``: the next key is published when its predecessor starts
  signing, so it has been published for one period when it is due; a period shorter than
  the lead would make keys sign longer than their period.
* ``2 + ceil(grace / period) <= MAX_PUBLISHED_KEYS``: what a steady state publishes (current,
  next, the retired keys of one grace) fits under the cap; the rotator never publishes more
  than the cap (for an emergency it first removes retired keys whose tokens have all expired -
  retired ``min_grace`` ago - and refuses the action if that is not enough).

Nothing stored stops a run: unreadable items are skipped (``KeySet.skipped``); ``revoke`` removes
one; a lost or unreadable head is rebuilt from the key items, never making a key sign that the
JWKS has not held (:meth:`KeyRotator.reconcile`).  ``rotate_now`` and ``revoke`` are safe to
repeat after a lost answer (see each).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum

from .algorithms import KeySpec
from .errors import ConfigurationError, KeyStoreError, PartnerAuthError
from .jwk import MAX_KID_LENGTH
from .jwks_cache import stale_if_error_for
from .key_store import (
    HEAD_KID,
    MAX_PUBLISHED_KEYS,
    ConcurrentChange,
    KeyRecord,
    KeySet,
    KeySetHead,
    KeyState,
    KeyStore,
    published,
)
from .keys import SigningKey, generate_signing_key

DAY = 86_400
NEW = "new"  # ``from`` of a transition that creates a key
GONE = "gone"  # ``to`` of a transition that deletes one
MAX_STEPS = 16  # transitions plus lost races in one run; a few are ever needed


class KeyLimitReached(KeyStoreError):
    """Publishing one more key would pass :data:`MAX_PUBLISHED_KEYS`, and no retired key may go yet."""


class UnknownKid(PartnerAuthError):
    """``revoke`` named a key the store does not hold (never existed or already gone)."""


class TransitionReason(StrEnum):
    BOOTSTRAP = "bootstrap"  # the very first run
    SCHEDULED = "scheduled"  # the period of the current key is over
    EMERGENCY = "emergency"  # rotate_now
    REVOKED = "revoked"  # revoke(kid)
    EXPIRED = "expired"  # a retired key's grace is over
    REPAIR = "repair"  # the key set was not in a state our own writes leave
    KEY_LIMIT = "key_limit"  # a retired key whose tokens have all expired, removed to stay under the cap


@dataclass(frozen=True, slots=True)
class Transition:
    """One committed change of one key: what the handler logs (never key material)."""

    kid: str
    from_state: str
    to_state: str
    reason: TransitionReason
    at: int

    def as_dict(self) -> dict[str, str | int]:
        return {
            "kid": self.kid,
            "from": self.from_state,
            "to": self.to_state,
            "reason": self.reason,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class RotationSchedule:
    """Rotation timings and the verifier-side figures that bound them (all in seconds)."""

    period: int = 30 * DAY  # how long a key signs
    publish_lead: int = DAY  # least time a key is published before it signs
    grace: int = DAY  # least time a key stays published after it stopped signing
    max_token_lifetime: int = 3_600
    authorizer_cache_ttl: int = 300
    jwks_max_age: int = 600
    leeway: int = 60
    signing_key_cache_ttl: int = 60  # token issuer's CachedSigningKey TTL

    @property
    def stale_if_error(self) -> int:
        """How long past its max age a verifier may serve a JWKS copy while refreshes fail."""
        return stale_if_error_for(self.jwks_max_age)

    @property
    def min_publish_lead(self) -> int:
        """The oldest JWKS copy any verifier following our headers can hold, plus the TTL margin."""
        return self.jwks_max_age + self.stale_if_error + self.authorizer_cache_ttl

    @property
    def min_grace(self) -> int:
        return self.max_token_lifetime + self.signing_key_cache_ttl + self.authorizer_cache_ttl + self.leeway

    def validate(self) -> RotationSchedule:
        """``self`` if no valid token can be rejected under it, else :class:`ConfigurationError`."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{item.name} must be a whole number of seconds >= 0")
        for name in ("period", "publish_lead", "grace", "max_token_lifetime"):
            if getattr(self, name) == 0:
                raise ConfigurationError(f"{name} must be positive")
        if self.publish_lead < self.min_publish_lead:
            raise ConfigurationError(
                f"publish_lead ({self.publish_lead}s) must be >= jwks_max_age + stale_if_error + "
                f"authorizer_cache_ttl ({self.min_publish_lead}s): a verifier could meet a token "
                "before it has the key"
            )
        if self.grace < self.min_grace:
            raise ConfigurationError(
                f"grace ({self.grace}s) must be >= max_token_lifetime + signing_key_cache_ttl + "
                f"authorizer_cache_ttl + leeway ({self.min_grace}s): a key could leave the JWKS "
                "while its tokens are still valid"
            )
        if self.period <= self.publish_lead:
            raise ConfigurationError(
                f"period ({self.period}s) must be longer than publish_lead ({self.publish_lead}s): "
                "keys would sign longer than their period"
            )
        if 2 + math.ceil(self.grace / self.period) > MAX_PUBLISHED_KEYS:
            raise ConfigurationError(
                f"grace ({self.grace}s) / period ({self.period}s) keeps more than "
                f"{MAX_PUBLISHED_KEYS - 2} retired keys published: past the cap on published keys"
            )
        return self


Step = Callable[[], list[Transition]]


class KeyRotator:
    """Reconciles the key set with the schedule; also the two manual actions.

    ``observer`` is called with each transition right after its write committed (the
    handler logs and counts there), so a run that dies later still reported it.
    """

    def __init__(
        self,
        store: KeyStore,
        schedule: RotationSchedule,
        key_spec: KeySpec | str,
        clock: Callable[[], float] = time.time,
        *,
        observer: Callable[[Transition], None] | None = None,
        generate: Callable[[KeySpec], SigningKey] = generate_signing_key,
    ) -> None:
        try:
            self._key_spec = KeySpec(key_spec)
        except ValueError:
            raise ConfigurationError("unsupported signing algorithm") from None
        self._store = store
        self._schedule = schedule.validate()
        self._clock = clock
        self._observer = observer
        self._generate = generate

    @property
    def schedule(self) -> RotationSchedule:
        return self._schedule

    # ------------------------------------------------------------------ actions

    def reconcile(self, now: float | None = None) -> list[Transition]:
        """Make every transition that is due at ``now``; ``[]`` when none is.

        Losing a race to a concurrent run is not an error: the key set is read again and
        whatever the winner left undone (usually nothing) is done.
        """
        at = self._at(now)
        done: list[Transition] = []
        for _ in range(MAX_STEPS):
            try:
                step = self._due(self._store.read_key_set(), at)
                if step is None:
                    return done
                done.extend(self._report(step()))
            except ConcurrentChange:
                continue
        raise KeyStoreError("the key set kept changing; the next run will finish")

    def rotate_now(self, now: float | None = None, *, kid: str | None = None) -> list[Transition]:
        """Emergency rotation: the current key stops signing at once and is retired (its tokens
        stay valid for ``grace``).

        The ``next`` key takes over: it has never signed, the issuer has never decrypted it,
        and it is already published, so verifiers know it and no new token meets an unknown
        ``kid``.  A fresh ``next`` is made in the same transaction.  Only when there is no
        ``next`` key does a brand-new, unpublished key sign (verifiers then learn it on their
        next JWKS refetch).  A ``next`` key that is itself suspect is revoked first.

        Safe to repeat after a lost answer: ``kid`` names the key to rotate away from, and once
        it no longer signs nothing more is done.  Without ``kid``, a rotate_now within
        ``min_publish_lead`` of the previous one is taken for a repeat of it (``[]``): promoting
        the ``next`` key that one published would make a key sign that verifiers' copies may not
        hold.  Name the current ``kid`` to rotate again all the same."""
        at = self._at(now)
        for _ in range(MAX_STEPS):
            try:
                key_set = self._store.read_key_set()
                head = key_set.head
                if head is None:
                    return self.reconcile(at)  # bootstrapping / rebuilding makes a current key
                if kid is not None and kid != head.current_kid:
                    if kid in key_set.keys or kid in head.revoked:
                        return self.reconcile(at)  # it no longer signs: done already
                    raise UnknownKid("no such signing key")
                if kid is None and self._rotated_recently(head, at):
                    return self.reconcile(at)
                current, upcoming = key_set.current, key_set.next
                if current is not None and upcoming is not None:
                    step = self._promote(head, at, TransitionReason.EMERGENCY, key_set=key_set)
                else:
                    step = self._replace_current(key_set, at, TransitionReason.EMERGENCY)
                return self._report(step) + self.reconcile(at)
            except ConcurrentChange:
                continue
        raise KeyStoreError("the key set kept changing; try again")

    def revoke(self, kid: str, now: float | None = None) -> list[Transition]:
        """Drop ``kid`` from the JWKS at once (its tokens stop verifying when verifiers refetch).
        A revoked current key is replaced by the published ``next`` key (a brand-new key only
        when there is none), a revoked next key by the next run.  An unreadable item, or one in
        a state this version does not know, is deleted whatever it holds.

        Safe to repeat: the head remembers the last :data:`MAX_REVOKED_REMEMBERED` revocations,
        and revoking one of them again changes nothing (``[]``)."""
        if not 0 < len(kid) <= MAX_KID_LENGTH or kid == HEAD_KID:
            raise UnknownKid("no such signing key")
        at = self._at(now)
        done: list[Transition] = []
        for _ in range(MAX_STEPS):
            try:
                key_set = self._store.read_key_set()
                if key_set.head is None:  # rebuild the head first, then revoke against it
                    done.extend(self.reconcile(at))
                    key_set = self._store.read_key_set()
                done.extend(self._report(self._revoke(key_set, kid, at)))
                break
            except ConcurrentChange:
                continue
        else:
            raise KeyStoreError("the key set kept changing; try again")
        return done + self.reconcile(at)

    # ----------------------------------------------------------------- planning

    def _due(self, key_set: KeySet, at: int) -> Step | None:
        """The first transition due, in the order that keeps a usable current key:
        bootstrap or head rebuild, repair of the current key, promotion, a next key, then tidying up."""
        head, current, upcoming = key_set.head, key_set.current, key_set.next
        if head is None:
            return self._restore_head(key_set, at)
        if current is None or current.state is not KeyState.CURRENT:
            if upcoming is not None and upcoming.state is KeyState.NEXT:
                return lambda: self._promote(head, at, TransitionReason.REPAIR, old="keep", key_set=key_set)
            return lambda: self._replace_current(key_set, at, TransitionReason.REPAIR)
        if upcoming is None or upcoming.state is not KeyState.NEXT:
            return lambda: self._add_next(key_set, head, at)
        if self._promotion_due(head, current, upcoming, at):
            return lambda: self._promote(head, at, key_set=key_set)
        return self._tidy_up(key_set, head, at)

    def _restore_head(self, key_set: KeySet, at: int) -> Step:
        """No readable head: name the key that signs (the most recently activated ``current``
        key), else make the ``next`` key published longest sign; only a table without either
        gets brand-new keys (the first key of all cannot have been published before it signs)."""
        slot = key_set.head_slot
        currents = [r for r in key_set.keys.values() if r.state is KeyState.CURRENT]
        nexts = sorted(
            (r for r in key_set.keys.values() if r.state is KeyState.NEXT),
            key=lambda r: (r.created_at, r.kid),
        )
        if currents:
            current = max(currents, key=lambda r: (r.activated_at or r.created_at, r.kid))
            upcoming = nexts[0] if nexts else None

            def rebuild() -> list[Transition]:
                self._store.rebuild_head(slot, current, upcoming, at, promote=False)
                return []  # no key changed state; the head names what was already true

            return rebuild
        if nexts:
            promoted = nexts[0]

            def promote() -> list[Transition]:
                self._store.rebuild_head(slot, promoted, None, at, promote=True)
                return [
                    Transition(promoted.kid, KeyState.NEXT, KeyState.CURRENT, TransitionReason.REPAIR, at)
                ]

            return promote
        return lambda: self._bootstrap(key_set, at)

    def _tidy_up(self, key_set: KeySet, head: KeySetHead, at: int) -> Step | None:
        unreferenced = key_set.unreferenced()
        if unreferenced:
            return lambda: self._retire_unreferenced(head, unreferenced, at)
        expired = [
            r
            for r in key_set.keys.values()
            if r.state is KeyState.RETIRED and r.expires_at is not None and r.expires_at <= at
        ]
        if expired:
            return lambda: self._remove_expired(expired, at)
        return None

    def _promotion_due(self, head: KeySetHead, current: KeyRecord, upcoming: KeyRecord, at: int) -> bool:
        activated = current.activated_at if current.activated_at is not None else head.activated_at
        return (
            at >= activated + self._schedule.period
            and at >= upcoming.created_at + self._schedule.publish_lead
        )

    def _rotated_recently(self, head: KeySetHead, at: int) -> bool:
        return (
            head.rotated_now_at is not None
            and 0 <= at - head.rotated_now_at < self._schedule.min_publish_lead
        )

    def _make_room(self, key_set: KeySet, at: int, adding: int) -> list[Transition]:
        """Keep the published set at most :data:`MAX_PUBLISHED_KEYS` once ``adding`` more keys are
        published: remove retired keys whose every token has expired (retired ``min_grace`` ago,
        oldest first), or refuse with :class:`KeyLimitReached`."""
        live = published(key_set.keys.values(), at)
        excess = len(live) + adding - MAX_PUBLISHED_KEYS
        if excess <= 0:
            return []
        spent = sorted(
            (
                r
                for r in live
                if r.state is KeyState.RETIRED
                and r.retired_at is not None
                and r.retired_at + self._schedule.min_grace <= at
            ),
            key=lambda r: (r.retired_at or 0, r.kid),
        )
        if len(spent) < excess:
            raise KeyLimitReached("publishing another key would pass the cap on published keys")
        for record in spent[:excess]:
            self._store.delete_retired(record.kid)
        reason = TransitionReason.KEY_LIMIT
        return [Transition(r.kid, KeyState.RETIRED, GONE, reason, at) for r in spent[:excess]]

    # -------------------------------------------------------------------- steps

    def _bootstrap(self, key_set: KeySet, at: int) -> list[Transition]:
        room = self._make_room(key_set, at, adding=2)
        current, upcoming = self._generate(self._key_spec), self._generate(self._key_spec)
        self._store.bootstrap(current, upcoming, self._key_spec, at, key_set.head_slot)
        return [
            *room,
            Transition(current.kid, NEW, KeyState.CURRENT, TransitionReason.BOOTSTRAP, at),
            Transition(upcoming.kid, NEW, KeyState.NEXT, TransitionReason.BOOTSTRAP, at),
        ]

    def _promote(
        self,
        head: KeySetHead,
        at: int,
        reason: TransitionReason = TransitionReason.SCHEDULED,
        *,
        old: str = "retire",
        key_set: KeySet | None = None,
    ) -> list[Transition]:
        assert head.next_kid is not None  # noqa: S101 - only planned with a next key
        room = [] if key_set is None else self._make_room(key_set, at, adding=0 if old != "retire" else 1)
        new_next = self._generate(self._key_spec)
        self._store.promote_next(
            head,
            new_next,
            self._key_spec,
            at,
            self._schedule.grace,
            old=old,
            emergency=reason is TransitionReason.EMERGENCY,
        )
        promoted = [
            Transition(head.next_kid, KeyState.NEXT, KeyState.CURRENT, reason, at),
            Transition(new_next.kid, NEW, KeyState.NEXT, reason, at),
        ]
        if old == "retire":
            promoted.insert(0, Transition(head.current_kid, KeyState.CURRENT, KeyState.RETIRED, reason, at))
        elif old in ("delete", "drop"):
            promoted.insert(0, Transition(head.current_kid, KeyState.CURRENT, GONE, reason, at))
        return [*room, *promoted]

    def _add_next(self, key_set: KeySet, head: KeySetHead, at: int) -> list[Transition]:
        room = self._make_room(key_set, at, adding=1)
        new_next = self._generate(self._key_spec)
        self._store.add_next(head, new_next, self._key_spec, at)
        reason = TransitionReason.SCHEDULED if head.next_kid is None else TransitionReason.REPAIR
        return [*room, Transition(new_next.kid, NEW, KeyState.NEXT, reason, at)]

    def _replace_current(
        self, key_set: KeySet, at: int, reason: TransitionReason, *, unreadable: bool = False
    ) -> list[Transition]:
        head, current = key_set.head, key_set.current
        assert head is not None  # noqa: S101 - callers bootstrap first
        usable = current is not None and current.state is KeyState.CURRENT
        if unreadable:
            old = "drop"
        else:
            old = ("delete" if reason is TransitionReason.REVOKED else "retire") if usable else "keep"
        room = self._make_room(key_set, at, adding=0 if old in ("delete", "drop") else 1)
        fresh = self._generate(self._key_spec)
        self._store.replace_current(
            head,
            fresh,
            self._key_spec,
            at,
            old=old,
            grace=self._schedule.grace,
            emergency=reason is TransitionReason.EMERGENCY,
        )
        made = [Transition(fresh.kid, NEW, KeyState.CURRENT, reason, at)]
        if old == "retire":
            made.insert(0, Transition(head.current_kid, KeyState.CURRENT, KeyState.RETIRED, reason, at))
        elif old in ("delete", "drop"):
            made.insert(0, Transition(head.current_kid, KeyState.CURRENT, GONE, reason, at))
        return [*room, *made]

    def _revoke(self, key_set: KeySet, kid: str, at: int) -> list[Transition]:
        record, head = key_set.keys.get(kid), key_set.head
        skipped = key_set.skipped.get(kid)
        if head is None or (record is None and skipped is None):
            if head is not None and kid in head.revoked:
                return []  # revoked already: a repeat after a lost answer
            raise UnknownKid("no such signing key")
        reason = TransitionReason.REVOKED
        if kid == head.current_kid:
            upcoming = key_set.next
            if upcoming is not None:  # published already: verifiers hold it (RFC 7517 §5)
                return self._promote(head, at, reason, old="drop" if skipped else "delete", key_set=key_set)
            return self._replace_current(key_set, at, reason, unreadable=skipped is not None)
        if kid == head.next_kid:
            self._store.drop_next(head, at, unreadable=skipped is not None)
            return [Transition(kid, KeyState.NEXT, GONE, reason, at)]
        if record is not None:
            self._store.delete_key(kid, record.state, head, at)
            return [Transition(kid, record.state, GONE, reason, at)]
        assert skipped is not None  # noqa: S101 - one of the two, checked above
        self._store.delete_key(kid, None, head, at)
        return [Transition(skipped.label, skipped.reason, GONE, reason, at)]

    def _retire_unreferenced(
        self, head: KeySetHead, records: Sequence[KeyRecord], at: int
    ) -> list[Transition]:
        self._store.retire_unreferenced(head, records, at, self._schedule.grace)
        return [Transition(r.kid, r.state, KeyState.RETIRED, TransitionReason.REPAIR, at) for r in records]

    def _remove_expired(self, records: Sequence[KeyRecord], at: int) -> list[Transition]:
        removed = []
        for record in records:
            try:
                self._store.delete_retired(record.kid, expired_by=at)
            except ConcurrentChange:
                continue  # another run (or DynamoDB TTL) removed it first
            removed.append(Transition(record.kid, KeyState.RETIRED, GONE, TransitionReason.EXPIRED, at))
        return removed

    # ------------------------------------------------------------------ helpers

    def _at(self, now: float | None) -> int:
        return int(self._clock() if now is None else now)

    def _report(self, transitions: list[Transition]) -> list[Transition]:
        if self._observer is not None:
            for transition in transitions:
                self._observer(transition)
        return transitions
