"""Revoking our own access tokens before they expire: all of one client's, or one token by ``jti``.

Where each part lives (docs/DESIGN.md, "Token revocation"):

* **Written** to ``RevocationsTable`` by :class:`RevocationStore`: ``revoke-tokens`` and ``disable`` in
  the admin CLI write a *client* revocation (every token of the client issued before now), the RFC 7009
  endpoint a *token* revocation (its ``jti``, until the token's own ``exp``).  Each item expires (DynamoDB
  TTL) once no token it covers can still be valid: a client revocation ``max_token_lifetime + leeway``
  after it was made, a token revocation ``leeway`` after the token's ``exp``.
* **Published** beside the JWKS, at :data:`REVOCATIONS_PATH`, by the JWKS function
  (:func:`revocation_document`) with the JWKS's own caching model (``max-age``, ``stale-if-error``,
  ``ETag``).
* **Learned** by the authorizer the way it learns keys: a
  :class:`~partnerauth.jwks_cache.DocumentCache` (same fetcher, size cap, cooldown, stale-if-error) under
  :class:`RevocationList`.  No network call per request: a fresh copy is a dict lookup.

What is never lost:

* A document that cannot be read (not JSON, a member of the wrong shape) replaces nothing: the whole
  document is refused (``ValueError``), where a JWK Set only skips a bad key - skipping a revocation would
  re-admit its tokens.
* :class:`RevocationList` keeps every revocation it has seen until it expires, whatever later copies say.
* No usable copy (a cold start whose fetch failed, or a copy past ``max_age + stale_if_error``) is
  :class:`~partnerauth.errors.KeysUnavailable`: the authorizer refuses our tokens (401) rather than admit
  one it cannot check.

A client revocation covers tokens whose ``iat`` is before ``issued_before = floor(revoked at) + 1``, so every
token issued up to the revocation, including one of the same whole second: a token of that second issued just
*after* the revocation is refused too (at most one second of new tokens; the safe side).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from .jwks_cache import DocumentCache

REVOCATIONS_PATH: Final = "/.well-known/revocations.json"
CLIENT_PREFIX: Final = "client:"
TOKEN_PREFIX: Final = "jti:"
QUOTA_PREFIX: Final = "quota:"  # a client's count of its own jti revocations in a window; never published
MAX_MEMBER_LENGTH: Final = 256  # client ids and jtis are far shorter; bounds what a document can hold
MAX_ACTOR_LENGTH: Final = 512  # an IAM ARN is at most 2048, in practice far less; the audit needs no more
# A partner's own RFC 7009 revocations per window (max token lifetime + leeway): a jti revocation lives at
# most one window, so one client never has more than twice this many live ones.
TOKEN_REVOCATION_QUOTA: Final = 16
# jti revocations the published document holds at most (about 64 bytes each as JSON: 16 KiB of the 128 KiB
# the authorizer fetches at most, jwks_fetch.DEFAULT_MAX_BYTES); past it, whole clients are folded.
MAX_PUBLISHED_TOKEN_REVOCATIONS: Final = 256
Clock = Callable[[], float]


class Revocation(NamedTuple):
    """``issued_before``: tokens with an earlier ``iat`` are revoked (0 for a token revocation, which
    names its token); ``until``: when every token it covers has expired (epoch seconds)."""

    issued_before: int
    until: int


def client_member(client_id: str) -> str:
    return CLIENT_PREFIX + client_id


def token_member(jti: str) -> str:
    return TOKEN_PREFIX + jti


# -- the published document -------------------------------------------------------------------------------
def revocation_document(revocations: Mapping[str, Revocation]) -> dict[str, Any]:
    """``{"revoked_clients": [{"client_id", "issued_before", "until"}], "revoked_tokens": [{"jti",
    "until"}]}``, sorted, so the same revocations give the same bytes (and ``ETag``)."""
    clients = [
        {"client_id": member[len(CLIENT_PREFIX) :], "issued_before": r.issued_before, "until": r.until}
        for member, r in sorted(revocations.items())
        if member.startswith(CLIENT_PREFIX)
    ]
    tokens = [
        {"jti": member[len(TOKEN_PREFIX) :], "until": r.until}
        for member, r in sorted(revocations.items())
        if member.startswith(TOKEN_PREFIX)
    ]
    return {"revoked_clients": clients, "revoked_tokens": tokens}


def parse_revocations(document: object) -> dict[str, Revocation]:
    """The members of a revocation document; ``ValueError`` for anything not exactly that shape."""
    if not isinstance(document, dict) or set(document) != {"revoked_clients", "revoked_tokens"}:
        raise ValueError("not a revocation document")
    clients, tokens = document["revoked_clients"], document["revoked_tokens"]
    if not isinstance(clients, list) or not isinstance(tokens, list):
        raise ValueError("not a revocation document")
    members: dict[str, Revocation] = {}
    for entry in clients:
        if not isinstance(entry, dict) or set(entry) != {"client_id", "issued_before", "until"}:
            raise ValueError("bad client revocation")
        member = client_member(_name(entry["client_id"]))
        members[member] = _later(
            members.get(member), Revocation(_time(entry["issued_before"]), _time(entry["until"]))
        )
    for entry in tokens:
        if not isinstance(entry, dict) or set(entry) != {"jti", "until"}:
            raise ValueError("bad token revocation")
        members[token_member(_name(entry["jti"]))] = Revocation(0, _time(entry["until"]))
    return members


def _name(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_MEMBER_LENGTH:
        raise ValueError("bad revocation member")
    return value


def _time(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**40:
        raise ValueError("bad revocation time")
    return value


def _later(old: Revocation | None, new: Revocation) -> Revocation:
    """Of two revocations of one member, the one that covers more (a later cut lasts longer)."""
    if old is None:
        return new
    return Revocation(max(old.issued_before, new.issued_before), max(old.until, new.until))


# -- the verifier's side ----------------------------------------------------------------------------------
class RevocationList:
    """Is a verified token of our own issuer revoked?  The published document through ``cache``, merged
    with every revocation seen before (kept until it expires), so no copy or failed fetch re-admits a
    revoked token.  :class:`~partnerauth.errors.KeysUnavailable` when no usable copy exists."""

    def __init__(self, cache: DocumentCache[Revocation], uri: str, clock: Clock = time.time) -> None:
        self._cache = cache
        self._uri = uri
        self._clock = clock
        self._merged_from: object = None
        self._seen: dict[str, Revocation] = {}
        self._lock = threading.Lock()

    def prefetch(self) -> bool:
        return self._cache.prefetch(self._uri)

    def revokes(self, client_id: str, jti: str, issued_at: int) -> bool:
        seen = self._current()
        cut = seen.get(CLIENT_PREFIX + client_id)
        if cut is not None and issued_at < cut.issued_before:
            return True
        return TOKEN_PREFIX + jti in seen

    def _current(self) -> Mapping[str, Revocation]:
        members = self._cache.members(self._uri)  # raises KeysUnavailable: fail closed
        if members is self._merged_from:
            return self._seen  # the warm path: the same copy as last time, no work
        with self._lock:
            now = self._clock()
            merged = {member: r for member, r in self._seen.items() if r.until > now}
            for member, revocation in members.items():
                merged[member] = _later(merged.get(member), revocation)
            self._seen, self._merged_from = merged, members
        return merged


# -- the writers' and the publisher's side ----------------------------------------------------------------
class TokenRevoked(NamedTuple):
    """What :meth:`RevocationStore.revoke_own_token` did: ``written`` is ``"token"`` (a ``jti`` revocation),
    ``"client"`` (the client's quota was spent: every token of the client issued up to this one is cut) or
    ``"none"`` (the token was revoked already)."""

    written: str
    revocation: Revocation | None


class RevocationStore:
    """``RevocationsTable`` (HASH ``member``; TTL ``expires_at``).  Writes are idempotent and only ever
    widen a revocation (a condition keeps the later cut).  ``actor`` (who asked: an AWS identity ARN, or
    ``client:<id>`` for a partner's own RFC 7009 revocation) is stored as ``changed_by`` for the audit trail.

    What partners can write is bounded (docs/DESIGN.md "Token revocation", SECURITY.md):

    * at most ``token_quota`` ``jti`` revocations per client per window of ``max_token_lifetime + leeway``
      seconds (:meth:`revoke_own_token`; a ``quota:<client_id>`` item counts them, never published).  A jti
      revocation lives at most one window, so a client has at most ``2 * token_quota`` live ones.  Past the
      quota the client's own tokens issued up to the one presented are cut instead: one item whatever the
      number of requests, and only the caller's tokens (the safe side);
    * :meth:`published` folds ``jti`` revocations into their client's cut past
      :data:`MAX_PUBLISHED_TOKEN_REVOCATIONS`, so the document stays far below the authorizer's fetch cap.
    """

    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any,
        *,
        max_token_lifetime: int,
        leeway: int,
        clock: Clock = time.time,
        token_quota: int = TOKEN_REVOCATION_QUOTA,
    ) -> None:
        if token_quota < 1:
            raise ValueError("token_quota must be positive")
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._max_token_lifetime = max_token_lifetime
        self._leeway = leeway
        self._clock = clock
        self._token_quota = token_quota

    def revoke_client(
        self, client_id: str, *, actor: str | None = None, covering_issued_at: int | None = None
    ) -> Revocation:
        """Every token of ``client_id`` issued up to now is revoked, until the last of them has expired.
        ``covering_issued_at``: a token's ``iat`` the cut must cover too (``issued_before`` past it)."""
        # every iat up to now (iat is whole seconds): floor + 1, also when now is a whole second
        issued_before = math.floor(self._clock()) + 1
        if covering_issued_at is not None:
            issued_before = max(issued_before, covering_issued_at + 1)
        revocation = Revocation(issued_before, issued_before + self._max_token_lifetime + self._leeway)
        self._put(client_member(client_id), client_id, revocation, actor)
        return revocation

    def revoke_token(
        self,
        jti: str,
        client_id: str,
        expires_at: int,
        *,
        issued_at: int | None = None,
        actor: str | None = None,
    ) -> Revocation:
        """Token ``jti`` (of ``client_id``, expiring at ``expires_at``) is revoked until it expires.
        ``issued_at`` (the token's ``iat``) lets :meth:`published` fold it into a client cut."""
        revocation = Revocation(0, int(expires_at) + self._leeway)
        extra = {} if issued_at is None else {"issued_at": {"N": str(int(issued_at))}}
        self._put(token_member(jti), client_id, revocation, actor, extra)
        return revocation

    def revoke_own_token(
        self, jti: str, client_id: str, *, issued_at: int, expires_at: int, actor: str | None = None
    ) -> TokenRevoked:
        """RFC 7009 §2.1: a client revokes one of its own (verified) tokens, within its quota.

        Nothing is written when the token is revoked already (a retry costs no quota); past the quota the
        client's tokens issued up to this one are cut (:meth:`revoke_client`), one item however often."""
        if self.is_revoked(client_id, jti, issued_at):
            return TokenRevoked("none", None)
        if not self._take_quota(client_id):
            cut = self.revoke_client(client_id, actor=actor, covering_issued_at=issued_at)
            return TokenRevoked("client", cut)
        revocation = self.revoke_token(jti, client_id, expires_at, issued_at=issued_at, actor=actor)
        return TokenRevoked("token", revocation)

    def is_revoked(self, client_id: str, jti: str, issued_at: int) -> bool:
        """Exactly what the table says now (consistent reads): a cut of the client covering ``issued_at``,
        or a revocation of ``jti``.  For introspection (RFC 7662 §4), which must not lag like a cache."""
        now = self._clock()
        cut = self._get(client_member(client_id))
        if cut is not None and cut.until > now and issued_at < cut.issued_before:
            return True
        token = self._get(token_member(jti))
        return token is not None and token.until > now

    def _get(self, member: str) -> Revocation | None:
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key={"member": {"S": member}},
            ConsistentRead=True,
            ProjectionExpression="issued_before, expires_at",
        ).get("Item")
        if item is None:
            return None
        try:
            return Revocation(int(item["issued_before"]["N"]), int(item["expires_at"]["N"]))
        except (KeyError, ValueError):
            # an item we cannot read is treated as revoking (fail closed), never as absent
            return Revocation(2**40, 2**40)

    def _take_quota(self, client_id: str) -> bool:
        """One of the client's ``token_quota`` jti revocations of the current window, if any is left.
        A window starts at the first revocation after the last one ended (two conditional updates: DynamoDB
        cannot reset a counter and compare it in one expression)."""
        now = int(self._clock())
        key = {"member": {"S": QUOTA_PREFIX + client_id}}
        names = {"#m": "member", "#n": "revocations"}
        failed = self._dynamodb.exceptions.ConditionalCheckFailedException
        with contextlib.suppress(failed):  # a new window
            self._dynamodb.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET #n = :one, expires_at = :end, client_id = :client",
                ConditionExpression="attribute_not_exists(#m) OR expires_at <= :now",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":end": {"N": str(now + self._max_token_lifetime + self._leeway)},
                    ":now": {"N": str(now)},
                    ":client": {"S": client_id},
                },
            )
            return True
        try:  # the current window, while it has room
            self._dynamodb.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET #n = #n + :one",
                ConditionExpression="#n < :quota AND expires_at > :now",
                ExpressionAttributeNames={"#n": "revocations"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":quota": {"N": str(self._token_quota)},
                    ":now": {"N": str(now)},
                },
            )
        except failed:
            return False
        return True

    def _put(
        self,
        member: str,
        client_id: str,
        revocation: Revocation,
        actor: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        item: dict[str, Any] = {
            "member": {"S": member},
            "client_id": {"S": client_id},
            "issued_before": {"N": str(revocation.issued_before)},
            "expires_at": {"N": str(revocation.until)},
            "revoked_at": {"N": str(int(self._clock()))},
            **(extra or {}),
        }
        if actor:
            item["changed_by"] = {"S": actor[:MAX_ACTOR_LENGTH]}
        # a revocation that already covers more is kept
        with contextlib.suppress(self._dynamodb.exceptions.ConditionalCheckFailedException):
            self._dynamodb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#m) OR expires_at <= :until",
                ExpressionAttributeNames={"#m": "member"},
                ExpressionAttributeValues={":until": {"N": str(revocation.until)}},
            )

    def live(self) -> dict[str, Revocation]:
        """Every revocation that still covers a token (a consistent scan; expired items left out)."""
        return {record.member: record.revocation for record in self._live_records()}

    def published(self) -> dict[str, Revocation]:
        """What the revocation document holds: :meth:`live`, without the ``jti`` revocations a cut of their
        client already covers, and with at most :data:`MAX_PUBLISHED_TOKEN_REVOCATIONS` of them: past it,
        the clients with the most are folded into a cut of all their tokens issued up to the newest revoked
        one (wider: only ever more of that client's own tokens are refused, never fewer)."""
        return fold_token_revocations(self._live_records())

    def _live_records(self) -> list[StoredRevocation]:
        now = self._clock()
        records: list[StoredRevocation] = []
        paginator = self._dynamodb.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            ProjectionExpression="#m, client_id, issued_before, expires_at, issued_at",
            ExpressionAttributeNames={"#m": "member"},
        )
        for page in pages:
            for item in page.get("Items", []):
                try:
                    member = item["member"]["S"]
                    revocation = Revocation(int(item["issued_before"]["N"]), int(item["expires_at"]["N"]))
                except (KeyError, ValueError):
                    continue
                if revocation.until > now and member.startswith((CLIENT_PREFIX, TOKEN_PREFIX)):
                    records.append(
                        StoredRevocation(
                            member, revocation, _string(item, "client_id"), _number(item, "issued_at")
                        )
                    )
        return records


class StoredRevocation(NamedTuple):
    """One live item: ``client_id`` and ``issued_at`` (a token's ``iat``) when it has them."""

    member: str
    revocation: Revocation
    client_id: str | None = None
    issued_at: int | None = None


def fold_token_revocations(
    records: Iterable[StoredRevocation], limit: int = MAX_PUBLISHED_TOKEN_REVOCATIONS
) -> dict[str, Revocation]:
    """The members to publish (see :meth:`RevocationStore.published`).  A jti revocation without its
    client or ``iat`` is never folded (nothing could cover it exactly) and never dropped."""
    members: dict[str, Revocation] = {}
    tokens: dict[str, list[StoredRevocation]] = {}
    for record in records:
        if record.member.startswith(CLIENT_PREFIX):
            members[record.member] = _later(members.get(record.member), record.revocation)
        elif record.client_id is not None and record.issued_at is not None:
            tokens.setdefault(record.client_id, []).append(record)
        else:
            members[record.member] = record.revocation
    for client_id, revoked in tokens.items():  # covered by the client's cut: redundant
        cut = members.get(client_member(client_id))
        if cut is not None:
            revoked[:] = [r for r in revoked if r.issued_at is None or r.issued_at >= cut.issued_before]
    count = sum(len(revoked) for revoked in tokens.values())
    for client_id in sorted(tokens, key=lambda c: (-len(tokens[c]), c)):
        revoked = tokens[client_id]
        if count > limit and revoked:
            fold = Revocation(
                max(r.issued_at or 0 for r in revoked) + 1, max(r.revocation.until for r in revoked)
            )
            member = client_member(client_id)
            members[member] = _later(members.get(member), fold)
            count -= len(revoked)
            continue
        for record in revoked:
            members[record.member] = record.revocation
    return members


def _string(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return value if isinstance(value, str) and value else None


def _number(item: Mapping[str, Any], name: str) -> int | None:
    try:
        return int(item[name]["N"])
    except (KeyError, TypeError, ValueError):
        return None
