"""Signing keys in DynamoDB, private halves encrypted with KMS.

Table ``SigningKeysTable`` (HASH key ``kid``, TTL attribute ``expires_at``) holds:

* one item per signing key, ``kid`` = the RFC 7638 thumbprint of its public JWK::

    kid, alg, key_spec, state (next | current | retired), created_at, activated_at,
    retired_at, expires_at (retired keys only: DynamoDB TTL), public_jwk (JSON),
    private_key_ciphertext (KMS Encrypt of the PKCS#8 PEM), kms_key_arn

* the head item ``kid = "#current"`` naming the one current key and the one next key::

    current_kid, next_kid, activated_at, version, last_write (the id of the transaction that
    wrote it), rotated_now_at (the last emergency rotation), revoked (kid -> when, the last few)

Nothing stored can take a reader down: an item that cannot be read (a missing or mistyped
attribute, a ``public_jwk`` that is not a usable public JWK of its ``kid``) is skipped with a
fixed :class:`SkipReason` and reported to the ``on_skipped`` observer (kid only, never content);
so is a key in a state this version does not know (forward compatibility: such an item is left
alone, neither published, nor signing, nor retired or deleted by the rotation).

Every write made inside :meth:`KeyStore.changes_by` stamps ``changed_by`` (who asked: an STS ARN, or
the schedule) and ``changed_at`` on the head and on every key item it writes, for the audit trail
(:mod:`.audit_trail`); a deleted item carries no stamp, but the head written in the same transaction does.

Every change of the head is a transaction that also writes the key items it names, with
``version = :seen`` as its condition: two writers that planned from the same head cannot
both commit, so there is never more than one current key and never an unreferenced one.

The private key is encrypted with KMS directly (a PEM is < 4 KiB) under the encryption
context ``{"kid": kid, "purpose": "partnerauth-signing-key"}``: a ciphertext copied to
another item does not decrypt.  Readers that only publish keys (:meth:`KeyStore.published_jwks`,
:meth:`KeyStore.list_keys`, the rotator) project the item without its ciphertext, so only
:meth:`KeyStore.current_signing_key` ever fetches it, and only a role with ``kms:Decrypt``
can turn it into a key.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]
from cryptography.exceptions import UnsupportedAlgorithm

from .errors import ConfigurationError, KeyStoreError
from .jwk import build_jwks, parse_jwk
from .keys import SigningKey

HEAD_KID = "#current"  # cannot collide with a key: thumbprints are base64url (RFC 7638 §3)
ENCRYPTION_PURPOSE = "partnerauth-signing-key"
MAX_SCAN_PAGES = 50
MAX_DECRYPTED_KEYS = 4
MAX_HEAD_READS = 3
# Published keys at most: a steady state holds 3 (current, next, one retired); verifiers refuse a
# set past 128 KiB (about 289 RS256 keys), so 32 is far below.  The rotation never publishes more.
MAX_PUBLISHED_KEYS = 32
MAX_REVOKED_REMEMBERED = 16  # revocations the head remembers, so that a repeated revoke is a no-op
_SAFE_KID = re.compile(r"[A-Za-z0-9_.:#-]{1,64}")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_UNAVAILABLE = "signing-key store unavailable"
_CONFLICT_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
# What the publishing readers fetch: never the ciphertext.
_METADATA = "kid, alg, key_spec, #state, created_at, activated_at, retired_at, expires_at, public_jwk"
_HEAD = "current_kid, next_kid, version, last_write, rotated_now_at, revoked"
MAX_CHANGED_BY = 512  # a stamp longer than this is cut (audit_trail records at most as much)
_PROJECTION = f"{_METADATA}, {_HEAD}"

DynamoDBClient = Any  # botocore client for "dynamodb", injected by the handler
KMSClient = Any  # botocore client for "kms", injected by the handler


class KeyState(StrEnum):
    """Where a signing key is in its life (published in the JWKS in all three)."""

    NEXT = "next"  # published, not yet signing
    CURRENT = "current"  # the one key that signs
    RETIRED = "retired"  # published, verify-only, until expires_at


class ConcurrentChange(KeyStoreError):
    """A conditional write lost against another writer: re-read and plan again (not a failure)."""


class SkipReason(StrEnum):
    """Why a stored item was left out of a read (fixed strings: safe to log and to count)."""

    MISSING_ATTRIBUTE = "missing_attribute"
    WRONG_TYPE = "wrong_type"
    BAD_PUBLIC_JWK = "bad_public_jwk"  # not JSON, not a usable public JWK, or not the item's kid
    UNKNOWN_STATE = "unknown_state"  # forward compatibility: a state a newer version may write

    @property
    def malformed(self) -> bool:
        """A defect (alarmed), as opposed to an item a newer version wrote (only counted)."""
        return self is not SkipReason.UNKNOWN_STATE


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """An item a reader could not use.  ``kid`` is the item's key as stored (the head's is
    :data:`HEAD_KID`); :attr:`label` is what may be logged."""

    kid: str
    reason: SkipReason

    @property
    def label(self) -> str:
        return kid_label(self.kid)


def kid_label(kid: str) -> str:
    """What may be logged for a stored or operator-given ``kid``: itself if it is short and plain,
    else a fingerprint (a hand-written item's key may hold anything)."""
    if _SAFE_KID.fullmatch(kid):
        return kid
    return "sha256:" + hashlib.sha256(kid.encode("utf-8", "replace")).hexdigest()[:16]


class _Unreadable(Exception):
    def __init__(self, reason: SkipReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


def encryption_context(kid: str) -> dict[str, str]:
    """Binds a ciphertext to its key item (KMS ``EncryptionContext``, checked on Decrypt)."""
    return {"kid": kid, "purpose": ENCRYPTION_PURPOSE}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A signing key's metadata: everything but the private half."""

    kid: str
    alg: str
    state: KeyState
    created_at: int
    public_jwk: dict[str, str] = field(repr=False)
    key_spec: str = ""
    activated_at: int | None = None
    retired_at: int | None = None
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class KeySetHead:
    """The ``#current`` item: which key signs, which one signs next."""

    current_kid: str
    next_kid: str | None
    activated_at: int
    version: int
    last_write: str | None = None
    rotated_now_at: int | None = None
    revoked: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KeySet:
    """One read of the table: the head (``None`` before bootstrap) and every key record."""

    head: KeySetHead | None
    keys: Mapping[str, KeyRecord]
    skipped: Mapping[str, SkippedItem] = field(default_factory=dict)
    # What stands at HEAD_KID when ``head`` is None: ``None`` (nothing) or the version seen on an
    # unreadable head (``-1`` when it has none): the condition a rebuild of the head writes under.
    unreadable_head: int | None = None

    @property
    def head_slot(self) -> HeadSlot:
        if self.head is not None:
            return HeadSlot(exists=True, version=self.head.version)
        if self.unreadable_head is None:
            return HeadSlot(exists=False, version=None)
        return HeadSlot(exists=True, version=None if self.unreadable_head < 0 else self.unreadable_head)

    @property
    def current(self) -> KeyRecord | None:
        return self.keys.get(self.head.current_kid) if self.head else None

    @property
    def next(self) -> KeyRecord | None:
        return self.keys.get(self.head.next_kid) if self.head and self.head.next_kid else None

    def unreferenced(self) -> list[KeyRecord]:
        """Keys claiming ``next``/``current`` that the head does not name (must not exist)."""
        named = {self.head.current_kid, self.head.next_kid} if self.head else set()
        return [r for r in self.keys.values() if r.state is not KeyState.RETIRED and r.kid not in named]


@dataclass(frozen=True, slots=True)
class HeadSlot:
    """What a head rebuild found at ``#current``: nothing, or an unreadable item (with the
    numeric ``version`` it still had, if any)."""

    exists: bool
    version: int | None


def _named(head: KeySetHead) -> tuple[str, ...]:
    return (head.current_kid, head.next_kid) if head.next_kid else (head.current_kid,)


def _consistent(head: KeySetHead, keys: Mapping[str, KeyRecord]) -> bool:
    """Whether the head and the records it names agree (a Scan may show them at different times)."""
    current = keys.get(head.current_kid)
    upcoming = keys.get(head.next_kid) if head.next_kid else None
    return (
        current is not None
        and current.state is KeyState.CURRENT
        and (head.next_kid is None or (upcoming is not None and upcoming.state is KeyState.NEXT))
    )


def _n(value: int | float) -> dict[str, str]:
    return {"N": str(int(value))}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _value(item: Mapping[str, Any], name: str, kind: str) -> Any:
    value = item.get(name)
    if value is None:
        raise _Unreadable(SkipReason.MISSING_ATTRIBUTE)
    if not isinstance(value, Mapping) or kind not in value:
        raise _Unreadable(SkipReason.WRONG_TYPE)
    return value[kind]


def _int(item: Mapping[str, Any], name: str) -> int | None:
    if name not in item:
        return None
    raw = _value(item, name, "N")
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        raise _Unreadable(SkipReason.WRONG_TYPE)  # "1.5", "1e3": not a whole number of seconds
    return int(raw)


def _required_int(item: Mapping[str, Any], name: str) -> int:
    value = _int(item, name)
    if value is None:
        raise _Unreadable(SkipReason.MISSING_ATTRIBUTE)
    return value


def _str(item: Mapping[str, Any], name: str) -> str | None:
    if name not in item:
        return None
    raw = _value(item, name, "S")
    if not isinstance(raw, str):
        raise _Unreadable(SkipReason.WRONG_TYPE)
    return raw


def _required_str(item: Mapping[str, Any], name: str) -> str:
    value = _str(item, name)
    if not value:
        raise _Unreadable(SkipReason.MISSING_ATTRIBUTE)
    return value


def _public_jwk(item: Mapping[str, Any], kid: str, alg: str) -> dict[str, str]:
    try:
        jwk = json.loads(_required_str(item, "public_jwk"))
        usable = (
            isinstance(jwk, dict)
            and all(isinstance(v, str) for v in jwk.values())
            and jwk.get("kid") == kid
            and jwk.get("alg") == alg
        )
        if usable:
            parse_jwk(jwk)  # a member verifiers can use (RFC 7517 §4), public members only
    except (ValueError, RecursionError):
        usable = False
    if not usable:
        raise _Unreadable(SkipReason.BAD_PUBLIC_JWK)
    return dict(jwk)


def _record(item: Mapping[str, Any]) -> KeyRecord:
    """A key item as a :class:`KeyRecord`; :class:`_Unreadable` with the first problem found."""
    kid = _required_str(item, "kid")
    try:  # first: an item in a newer version's state is that version's business, whatever its shape
        state = KeyState(_required_str(item, "state"))
    except ValueError:
        raise _Unreadable(SkipReason.UNKNOWN_STATE) from None
    alg = _required_str(item, "alg")
    return KeyRecord(
        kid=kid,
        alg=alg,
        state=state,
        created_at=_required_int(item, "created_at"),
        key_spec=_str(item, "key_spec") or "",
        activated_at=_int(item, "activated_at"),
        retired_at=_int(item, "retired_at"),
        expires_at=_int(item, "expires_at"),
        public_jwk=_public_jwk(item, kid, alg),
    )


def _revoked(item: Mapping[str, Any]) -> dict[str, int]:
    if "revoked" not in item:
        return {}
    raw = _value(item, "revoked", "M")
    if not isinstance(raw, Mapping):
        raise _Unreadable(SkipReason.WRONG_TYPE)
    return {str(kid): _required_int(raw, kid) for kid in raw}


def _head(item: Mapping[str, Any]) -> KeySetHead:
    return KeySetHead(
        current_kid=_required_str(item, "current_kid"),
        next_kid=_str(item, "next_kid"),
        activated_at=_required_int(item, "activated_at"),
        version=_required_int(item, "version"),
        last_write=_str(item, "last_write"),
        rotated_now_at=_int(item, "rotated_now_at"),
        revoked=_revoked(item),
    )


def _seen_version(item: Mapping[str, Any]) -> int:
    """The numeric version of an unreadable head, ``-1`` when it has none."""
    try:
        return _required_int(item, "version")
    except _Unreadable:
        return -1


def _write_id() -> str:
    return str(uuid.uuid4())  # 36 characters: a valid ClientRequestToken


def published(records: Iterable[KeyRecord], now: float) -> list[KeyRecord]:
    """What the JWKS holds at ``now``, in its order (current, next, retired newest first), at
    most :data:`MAX_PUBLISHED_KEYS`: every readable key but the retired ones past ``expires_at``."""
    order = {KeyState.CURRENT: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}
    live = sorted(
        (r for r in records if r.expires_at is None or now < r.expires_at),
        key=lambda r: (order[r.state], -(r.retired_at or 0), r.kid),
    )
    return live[:MAX_PUBLISHED_KEYS]


class KeyStore:
    """Signing keys and the head item in one DynamoDB table; private keys only KMS-encrypted.

    ``kms_client``/``kms_key_id`` are needed only to create keys (``kms:Encrypt``, the rotation
    role) and to load the current key (``kms:Decrypt``, the issuer role); publishing works
    without them.
    """

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient,
        kms_client: KMSClient | None = None,
        kms_key_id: str | None = None,
        clock: Callable[[], float] = time.time,
        *,
        on_skipped: Callable[[SkippedItem], None] | None = None,
    ) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._kms = kms_client
        self._kms_key_id = kms_key_id
        self._clock = clock
        self._on_skipped = on_skipped
        self._decrypted: dict[str, SigningKey] = {}
        self._changed_by: str | None = None

    @contextmanager
    def changes_by(self, actor: str) -> Iterator[None]:
        """Writes inside stamp ``changed_by = actor`` and ``changed_at`` (the audit trail's who and when)
        on the head and on the key items they write.  One action at a time (a Lambda runs one event)."""
        previous, self._changed_by = self._changed_by, actor[:MAX_CHANGED_BY]
        try:
            yield
        finally:
            self._changed_by = previous

    def _stamp(self) -> dict[str, dict[str, str]]:
        if self._changed_by is None:
            return {}
        # milliseconds: two writes of one actor within a second are still two stamps (audit_trail)
        return {"changed_by": _s(self._changed_by), "changed_at": {"N": f"{self._clock():.3f}"}}

    # ----------------------------------------------------------------- readers

    def published_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set (RFC 7517 §5) of every next, current and retired key: current first,
        then next, then retired keys newest first, at most :data:`MAX_PUBLISHED_KEYS` (the
        rotation never makes more; past it, the oldest retired keys are left out).  A retired
        key leaves the set the second its ``expires_at`` passes, whether or not TTL or the
        rotator has deleted the item yet.  Reads no private material; unreadable items are
        skipped (and reported), never a failure of the whole set."""
        return build_jwks(r.public_jwk for r in published(self.list_keys(), self._clock()))

    def list_keys(self) -> list[KeyRecord]:
        """Metadata of every readable key (no ciphertext), for operators, publishing and tests."""
        items = self._scan()
        items.pop(HEAD_KID, None)
        return list(self._records(items).values())

    def read_key_set(self) -> KeySet:
        """The head and all key records, for the rotator (one consistent Scan of a few items).

        A Scan is not a snapshot: when the head and the keys it names disagree (a key missing
        or in another state), they are read again in one transaction (TransactGetItems is
        serializable) before anyone acts on what may only be the Scan's timing.  Unreadable
        items are in ``skipped``; an unreadable head reads as no head (``unreadable_head``).
        """
        items = self._scan()
        head_item = items.pop(HEAD_KID, None)
        head, unreadable_head = self._read_head(head_item)
        skipped: dict[str, SkippedItem] = {}
        keys = self._records(items, skipped)
        for _ in range(MAX_HEAD_READS):
            if head is None or _consistent(head, keys):
                return KeySet(head=head, keys=keys, skipped=skipped, unreadable_head=unreadable_head)
            fresh_item, named_items = self._read_head_with_keys(_named(head))
            fresh, unreadable_head = self._read_head(fresh_item)
            if fresh is None or _named(fresh) == _named(head):
                for kid in _named(head):
                    keys.pop(kid, None)
                    skipped.pop(kid, None)
                keys.update(self._records(named_items, skipped))
                return KeySet(head=fresh, keys=keys, skipped=skipped, unreadable_head=unreadable_head)
            head = fresh
        raise ConcurrentChange("the key set kept changing while it was read")

    def current_signing_key(self) -> SigningKey:
        """The key that signs now: the head read consistently on every call (a revoked key
        stops signing at once), the private key decrypted with KMS once per ``kid``.  An
        unreadable head or key item is :class:`KeyStoreError` (the issuer answers 503)."""
        for _ in range(2):  # the head may move between our two reads: read it once more
            head = self._get(HEAD_KID, "current_kid")
            if head is None:
                raise KeyStoreError("no signing key yet")
            try:
                kid = _required_str(head, "current_kid")
            except _Unreadable as problem:
                self._skip(SkippedItem(HEAD_KID, problem.reason))
                raise KeyStoreError("the signing-key head is unreadable") from None
            cached = self._decrypted.get(kid)
            if cached is not None:
                return cached
            item = self._get(kid, "kid, alg, #state, private_key_ciphertext, kms_key_arn")
            if item is None or "private_key_ciphertext" not in item:
                continue
            key = self._decrypt(kid, item)
            if len(self._decrypted) >= MAX_DECRYPTED_KEYS:
                self._decrypted.pop(next(iter(self._decrypted)))
            self._decrypted[kid] = key
            return key
        raise KeyStoreError("no signing key yet")

    def _records(
        self, items: Mapping[str, Mapping[str, Any]], skipped: dict[str, SkippedItem] | None = None
    ) -> dict[str, KeyRecord]:
        records: dict[str, KeyRecord] = {}
        for kid, item in items.items():
            try:
                records[kid] = _record(item)
            except _Unreadable as problem:
                entry = SkippedItem(kid, problem.reason)
                self._skip(entry)
                if skipped is not None:
                    skipped[kid] = entry
        return records

    def _read_head(self, item: Mapping[str, Any] | None) -> tuple[KeySetHead | None, int | None]:
        if item is None:
            return None, None
        try:
            return _head(item), None
        except _Unreadable as problem:
            self._skip(SkippedItem(HEAD_KID, problem.reason))
            return None, _seen_version(item)

    def _skip(self, item: SkippedItem) -> None:
        if self._on_skipped is not None:
            self._on_skipped(item)

    # -------------------------------------------------------------- transitions
    # Each method is one atomic write whose conditions restate what the caller saw;
    # losing against a concurrent writer raises ConcurrentChange.  Every one of them writes
    # the head with a fresh write id (``last_write``): when the answer to a write that did
    # commit is lost, the write is found there and reported as done (see ``_transact``).

    def bootstrap(
        self,
        current: SigningKey,
        next_key: SigningKey,
        key_spec: str,
        now: float,
        slot: HeadSlot | None = None,
    ) -> None:
        """First key set: ``current`` signs at once, ``next_key`` is published behind it.
        ``slot`` is what stands at ``#current`` (default: nothing; an unreadable head is replaced)."""
        slot = slot or HeadSlot(exists=False, version=None)
        write_id = _write_id()
        head = {
            "kid": _s(HEAD_KID),
            "current_kid": _s(current.kid),
            "next_kid": _s(next_key.kid),
            "activated_at": _n(now),
            "version": _n(max(now, (slot.version or 0) + 1) if slot.exists else 1),
            "last_write": _s(write_id),
            **self._stamp(),
        }
        self._transact(
            [
                self._put_head(head, slot),
                self._put_new(self._key_item(current, KeyState.CURRENT, key_spec, now)),
                self._put_new(self._key_item(next_key, KeyState.NEXT, key_spec, now)),
            ],
            write_id,
        )

    def rebuild_head(
        self, slot: HeadSlot, current: KeyRecord, next_key: KeyRecord | None, now: float, *, promote: bool
    ) -> None:
        """A lost or unreadable head, written again from the key items: ``current`` is a key in
        ``current`` state (``promote=False``) or a published ``next`` key made current
        (``promote=True``); never a key the JWKS has not held.  The version starts at ``now``
        (epoch seconds), above any version the lost head can have had, so a writer that planned
        from the lost head cannot commit against the new one."""
        write_id = _write_id()
        activated = now if promote else (current.activated_at or current.created_at)
        head = {
            "kid": _s(HEAD_KID),
            "current_kid": _s(current.kid),
            "activated_at": _n(activated),
            "version": _n(max(now, (slot.version or 0) + 1)),
            "last_write": _s(write_id),
            **self._stamp(),
        }
        if next_key is not None:
            head["next_kid"] = _s(next_key.kid)
        writes = [self._put_head(head, slot)]
        if promote:
            writes.append(self._set_state(current.kid, KeyState.NEXT, KeyState.CURRENT, now))
        else:
            writes.append(self._state_check(current.kid, KeyState.CURRENT))
        if next_key is not None:
            writes.append(self._state_check(next_key.kid, KeyState.NEXT))
        self._transact(writes, write_id)

    def promote_next(
        self,
        head: KeySetHead,
        new_next: SigningKey,
        key_spec: str,
        now: float,
        grace: int,
        *,
        old: str = "retire",
        emergency: bool = False,
    ) -> None:
        """Rotation: next -> current, ``new_next`` published as next; the old current key is
        ``"retire"``d (until now + grace), ``"delete"``d (revoked) or, when it is unreadable or
        missing, ``"drop"``ped / ``"keep"``t.  ``emergency`` records ``rotated_now_at``."""
        if head.next_kid is None:
            raise ValueError("no next key to promote")
        write_id = _write_id()
        assign = {"current_kid": _s(head.next_kid), "next_kid": _s(new_next.kid), "activated_at": _n(now)}
        if emergency:
            assign["rotated_now_at"] = _n(now)
        revoked = head.current_kid if old in ("delete", "drop") else None
        writes = [
            self._update_head(head, assign, write_id=write_id, revoked=revoked, now=now),
            self._set_state(head.next_kid, KeyState.NEXT, KeyState.CURRENT, now),
            self._put_new(self._key_item(new_next, KeyState.NEXT, key_spec, now)),
            *self._old_current(head.current_kid, old, now, grace),
        ]
        self._transact(writes, write_id)

    def add_next(self, head: KeySetHead, new_next: SigningKey, key_spec: str, now: float) -> None:
        """Publish ``new_next`` as next when the head names none (or names a key that is gone)."""
        write_id = _write_id()
        self._transact(
            [
                self._update_head(head, {"next_kid": _s(new_next.kid)}, write_id=write_id),
                self._put_new(self._key_item(new_next, KeyState.NEXT, key_spec, now)),
            ],
            write_id,
        )

    def replace_current(
        self,
        head: KeySetHead,
        new_current: SigningKey,
        key_spec: str,
        now: float,
        *,
        old: str,
        grace: int,
        emergency: bool = False,
    ) -> None:
        """Emergency: ``new_current`` signs at once.  The old current key is ``"retire"``d
        (still published for ``grace``), ``"delete"``d (revoked), ``"drop"``ped (an unreadable
        item, deleted whatever it holds) or left as it is (``"keep"``: it is missing or not in
        the state the head claims; a later run tidies it up).  The next key keeps its place."""
        write_id = _write_id()
        assign = {"current_kid": _s(new_current.kid), "activated_at": _n(now)}
        if emergency:
            assign["rotated_now_at"] = _n(now)
        revoked = head.current_kid if old in ("delete", "drop") else None
        writes = [
            self._update_head(head, assign, write_id=write_id, revoked=revoked, now=now),
            self._put_new(self._key_item(new_current, KeyState.CURRENT, key_spec, now)),
            *self._old_current(head.current_kid, old, now, grace),
        ]
        self._transact(writes, write_id)

    def drop_next(self, head: KeySetHead, now: float | None = None, *, unreadable: bool = False) -> None:
        """Revoke the next key: delete it (whatever it holds if ``unreadable``), clear ``next_kid``."""
        if head.next_kid is None:
            raise ValueError("no next key to drop")
        write_id = _write_id()
        at = self._clock() if now is None else now
        if unreadable:
            delete = self._delete_any(head.next_kid)
        else:
            delete = self._delete_in_state(head.next_kid, KeyState.NEXT)
        update = self._update_head(
            head, {}, remove=("next_kid",), write_id=write_id, revoked=head.next_kid, now=at
        )
        self._transact([update, delete], write_id)

    def retire_unreferenced(
        self, head: KeySetHead, records: Iterable[KeyRecord], now: float, grace: int
    ) -> None:
        """Repair: keys in ``next``/``current`` that the head (at ``head.version``) does not name
        become retired, still published for ``grace`` in case they signed."""
        write_id = _write_id()
        writes: list[dict[str, Any]] = [self._update_head(head, {}, write_id=write_id)]
        writes.extend(self._retire(r.kid, r.state, now, grace) for r in records)
        self._transact(writes, write_id)

    def delete_key(self, kid: str, seen: KeyState | None, head: KeySetHead, now: float | None = None) -> None:
        """Revoke a key the head does not name (a retired one, one a repair would retire, or,
        with ``seen=None``, an unreadable item, whatever it holds)."""
        write_id = _write_id()
        at = self._clock() if now is None else now
        delete = self._delete_any(kid) if seen is None else self._delete_in_state(kid, seen)
        update = self._update_head(head, {}, write_id=write_id, revoked=kid, now=at)
        self._transact([update, delete], write_id)

    def delete_retired(self, kid: str, *, expired_by: float | None = None) -> None:
        """Remove a retired key (revocation, or ``expired_by`` its ``expires_at``)."""
        condition = "#state = :retired"
        values: dict[str, Any] = {":retired": _s(KeyState.RETIRED)}
        if expired_by is not None:
            condition += " AND expires_at <= :now"
            values[":now"] = _n(expired_by)
        self._call(
            self._dynamodb.delete_item,
            TableName=self._table,
            Key={"kid": _s(kid)},
            ConditionExpression=condition,
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=values,
        )

    # ------------------------------------------------------------------ helpers

    def _key_item(self, key: SigningKey, state: KeyState, key_spec: str, now: float) -> dict[str, Any]:
        ciphertext, kms_key_arn = self._encrypt(key)
        item: dict[str, Any] = {
            "kid": _s(key.kid),
            "alg": _s(key.alg),
            "key_spec": _s(key_spec),
            "state": _s(state),
            "created_at": _n(now),
            "public_jwk": _s(json.dumps(key.public_jwk(), separators=(",", ":"), sort_keys=True)),
            "private_key_ciphertext": {"B": ciphertext},
            "kms_key_arn": _s(kms_key_arn),
        }
        if state is KeyState.CURRENT:
            item["activated_at"] = _n(now)
        item.update(self._stamp())
        return item

    def _encrypt(self, key: SigningKey) -> tuple[bytes, str]:
        if self._kms is None or not self._kms_key_id:
            raise ConfigurationError("creating signing keys needs a KMS client and key id")
        response = self._call(
            self._kms.encrypt,
            KeyId=self._kms_key_id,
            Plaintext=key.private_pem(),
            EncryptionContext=encryption_context(key.kid),
        )
        return bytes(response["CiphertextBlob"]), str(response["KeyId"])

    def _decrypt(self, kid: str, item: Mapping[str, Any]) -> SigningKey:
        if self._kms is None:
            raise ConfigurationError("loading the signing key needs a KMS client")
        try:  # a hand-damaged item is that item's problem: 503 for the issuer, never a 500
            key_id = self._kms_key_id or _str(item, "kms_key_arn")
            ciphertext = _value(item, "private_key_ciphertext", "B")
            alg = _required_str(item, "alg")
        except _Unreadable:
            raise KeyStoreError("stored signing key is unusable") from None
        arguments: dict[str, Any] = {
            "CiphertextBlob": ciphertext,
            "EncryptionContext": encryption_context(kid),
        }
        if key_id:
            arguments["KeyId"] = key_id
        plaintext = self._call(self._kms.decrypt, **arguments)["Plaintext"]
        try:
            key = SigningKey.from_pem(bytes(plaintext), alg)
        except (ValueError, TypeError, UnsupportedAlgorithm, ConfigurationError):
            raise KeyStoreError("stored signing key is unusable") from None
        if key.kid != kid:  # the plaintext must be the key the item publishes
            raise KeyStoreError("stored signing key is unusable")
        return key

    def _get(self, kid: str, projection: str) -> dict[str, Any] | None:
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"kid": _s(kid)},
            "ConsistentRead": True,
            "ProjectionExpression": projection,
        }
        if "#state" in projection:
            arguments["ExpressionAttributeNames"] = {"#state": "state"}
        item: dict[str, Any] | None = self._call(self._dynamodb.get_item, **arguments).get("Item")
        return item

    def _scan(self) -> dict[str, dict[str, Any]]:
        items: dict[str, dict[str, Any]] = {}
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": True,
            "ProjectionExpression": _PROJECTION,
            "ExpressionAttributeNames": {"#state": "state"},
        }
        for _ in range(MAX_SCAN_PAGES):
            page = self._call(self._dynamodb.scan, **arguments)
            for item in page.get("Items", []):
                items[item["kid"]["S"]] = item
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        raise KeyStoreError("signing-key table is larger than expected")

    def _read_head_with_keys(
        self, kids: tuple[str, ...]
    ) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        response = self._call(
            self._dynamodb.transact_get_items,
            TransactItems=[
                {
                    "Get": {
                        "TableName": self._table,
                        "Key": {"kid": _s(kid)},
                        "ProjectionExpression": _PROJECTION,
                        "ExpressionAttributeNames": {"#state": "state"},
                    }
                }
                for kid in (HEAD_KID, *kids)
            ],
        )
        items = [r.get("Item") for r in response.get("Responses", [])]
        if not items or not items[0]:
            return None, {}
        return items[0], {kid: item for kid, item in zip(kids, items[1:], strict=False) if item}

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(kid)",
            }
        }

    def _put_head(self, item: dict[str, Any], slot: HeadSlot) -> dict[str, Any]:
        """Write the head where there was none, or over the unreadable one that was seen."""
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if not slot.exists:
            put["ConditionExpression"] = "attribute_not_exists(kid)"
        elif slot.version is not None:
            put["ConditionExpression"] = "version = :version_seen"
            put["ExpressionAttributeValues"] = {":version_seen": _n(slot.version)}
        else:
            put["ConditionExpression"] = "attribute_not_exists(version) OR NOT attribute_type(version, :n)"
            put["ExpressionAttributeValues"] = {":n": _s("N")}
        return {"Put": put}

    def _update_head(
        self,
        head: KeySetHead,
        assign: Mapping[str, dict[str, str]],
        remove: tuple[str, ...] = (),
        *,
        write_id: str,
        revoked: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Change the head, only if it is still the version the caller planned from; record the
        write id and, for a revocation, the revoked ``kid`` (the newest few are remembered)."""
        values: dict[str, Any] = {f":{name}": value for name, value in assign.items()}
        names = {f"#{name}": name for name in assign}
        sets = [f"#{name} = :{name}" for name in assign]
        if revoked is not None:
            remembered = dict(head.revoked)
            remembered[revoked] = int(self._clock() if now is None else now)
            newest = sorted(remembered.items(), key=lambda entry: (-entry[1], entry[0]))
            values[":revoked"] = {"M": {kid: _n(at) for kid, at in newest[:MAX_REVOKED_REMEMBERED]}}
            names["#revoked"] = "revoked"
            sets.append("#revoked = :revoked")
        for name, value in self._stamp().items():
            values[f":{name}"] = value
            sets.append(f"{name} = :{name}")
        values[":version_seen"] = _n(head.version)
        values[":version_next"] = _n(head.version + 1)
        values[":last_write"] = _s(write_id)
        expression = "SET " + ", ".join(["version = :version_next", "last_write = :last_write", *sets])
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"kid": _s(HEAD_KID)},
            "UpdateExpression": expression,
            "ConditionExpression": "version = :version_seen",
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    def _state_check(self, kid: str, state: KeyState) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": {"kid": _s(kid)},
                "ConditionExpression": "#state = :seen",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {":seen": _s(state)},
            }
        }

    def _old_current(self, kid: str, old: str, now: float, grace: int) -> list[dict[str, Any]]:
        if old == "retire":
            return [self._retire(kid, KeyState.CURRENT, now, grace)]
        if old == "delete":
            return [self._delete_in_state(kid, KeyState.CURRENT)]
        if old == "drop":
            return [self._delete_any(kid)]
        if old == "keep":
            return []
        raise ValueError("old must be retire, delete, drop or keep")

    def _stamped(self, change: dict[str, Any]) -> dict[str, Any]:
        """A key item's ``Update`` (its SET list) with the stamp of :meth:`changes_by` added."""
        update = change["Update"]
        for name, value in self._stamp().items():
            update["UpdateExpression"] += f", {name} = :{name}"
            update["ExpressionAttributeValues"][f":{name}"] = value
        return change

    def _set_state(self, kid: str, seen: KeyState, state: KeyState, now: float) -> dict[str, Any]:
        return self._stamped(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"kid": _s(kid)},
                    "UpdateExpression": "SET #state = :state, activated_at = :now",
                    "ConditionExpression": "#state = :seen",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {":state": _s(state), ":seen": _s(seen), ":now": _n(now)},
                }
            }
        )

    def _retire(self, kid: str, seen: KeyState, now: float, grace: int) -> dict[str, Any]:
        return self._stamped(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"kid": _s(kid)},
                    "UpdateExpression": "SET #state = :retired, retired_at = :now, expires_at = :expires",
                    "ConditionExpression": "#state = :seen",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {
                        ":retired": _s(KeyState.RETIRED),
                        ":seen": _s(seen),
                        ":now": _n(now),
                        ":expires": _n(now + grace),
                    },
                }
            }
        )

    def _delete_in_state(self, kid: str, seen: KeyState) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": {"kid": _s(kid)},
                "ConditionExpression": "#state = :seen",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {":seen": _s(seen)},
            }
        }

    def _delete_any(self, kid: str) -> dict[str, Any]:
        """Delete an item whatever it holds (an unreadable one: there is no state to condition on)."""
        return {
            "Delete": {
                "TableName": self._table,
                "Key": {"kid": _s(kid)},
                "ConditionExpression": "attribute_exists(kid)",
            }
        }

    def _transact(self, writes: list[dict[str, Any]], write_id: str) -> None:
        """One transaction; ``write_id`` is its client request token (botocore's own retry of a
        commit that landed is then a no-op) and the head's ``last_write``.  When the answer is an
        error - a 500 after the commit, or a retry that lost its condition against our own
        commit - the head tells whether the write landed: if it did, it is reported as done."""
        try:
            self._call(self._dynamodb.transact_write_items, TransactItems=writes, ClientRequestToken=write_id)
        except KeyStoreError:
            if self._committed(write_id):
                return
            raise

    def _committed(self, write_id: str) -> bool:
        try:
            head = self._get(HEAD_KID, "last_write")
        except KeyStoreError:
            return False  # unknown: the caller reports the failure, and a retry re-reads the key set
        return head is not None and head.get("last_write") == {"S": write_id}

    @staticmethod
    def _call(operation: Callable[..., Any], **arguments: Any) -> Any:
        try:
            return operation(**arguments)
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code", "")
            reasons = {str(r.get("Code")) for r in exc.response.get("CancellationReasons", []) or []}
            if error == "ConditionalCheckFailedException" or (
                error == "TransactionCanceledException" and reasons & _CONFLICT_CODES
            ):
                raise ConcurrentChange("the key set changed; re-read it") from None
            raise KeyStoreError(_UNAVAILABLE) from exc
        except BotoCoreError as exc:
            raise KeyStoreError(_UNAVAILABLE) from exc
