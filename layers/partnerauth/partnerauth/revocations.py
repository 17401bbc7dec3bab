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

A client revocation covers tokens whose ``iat`` is before ``issued_before = ceil(revoked at)``: a token of
the same second issued just *after* the revocation is refused too (at most one second of new tokens; the
safe side).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from .jwks_cache import DocumentCache

REVOCATIONS_PATH: Final = "/.well-known/revocations.json"
CLIENT_PREFIX: Final = "client:"
TOKEN_PREFIX: Final = "jti:"
MAX_MEMBER_LENGTH: Final = 256  # client ids and jtis are far shorter; bounds what a document can hold
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
class RevocationStore:
    """``RevocationsTable`` (HASH ``member``; TTL ``expires_at``).  Writes are idempotent and only ever
    widen a revocation (a condition keeps the later cut)."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any,
        *,
        max_token_lifetime: int,
        leeway: int,
        clock: Clock = time.time,
    ) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._max_token_lifetime = max_token_lifetime
        self._leeway = leeway
        self._clock = clock

    def revoke_client(self, client_id: str) -> Revocation:
        """Every token of ``client_id`` issued up to now is revoked, until the last of them has expired."""
        issued_before = math.ceil(self._clock())
        revocation = Revocation(issued_before, issued_before + self._max_token_lifetime + self._leeway)
        self._put(client_member(client_id), client_id, revocation)
        return revocation

    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> Revocation:
        """Token ``jti`` (of ``client_id``, expiring at ``expires_at``) is revoked until it expires."""
        revocation = Revocation(0, int(expires_at) + self._leeway)
        self._put(token_member(jti), client_id, revocation)
        return revocation

    def _put(self, member: str, client_id: str, revocation: Revocation) -> None:
        # a revocation that already covers more is kept
        with contextlib.suppress(self._dynamodb.exceptions.ConditionalCheckFailedException):
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "member": {"S": member},
                    "client_id": {"S": client_id},
                    "issued_before": {"N": str(revocation.issued_before)},
                    "expires_at": {"N": str(revocation.until)},
                    "revoked_at": {"N": str(int(self._clock()))},
                },
                ConditionExpression="attribute_not_exists(#m) OR expires_at <= :until",
                ExpressionAttributeNames={"#m": "member"},
                ExpressionAttributeValues={":until": {"N": str(revocation.until)}},
            )

    def live(self) -> dict[str, Revocation]:
        """Every revocation that still covers a token (a consistent scan; expired items left out)."""
        now = self._clock()
        members: dict[str, Revocation] = {}
        paginator = self._dynamodb.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            ProjectionExpression="#m, issued_before, expires_at",
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
                    members[member] = revocation
        return members
