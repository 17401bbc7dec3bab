"""Partner clients in DynamoDB (ClientsTable) and their authentication.

The item, its codec and what a reader tolerates: :mod:`.client_items`.  A client authenticates with a
secret when it has a live one, and with a signed assertion (``private_key_jwt``) when it has registered
keys; both only while it switches from secrets to keys.  Metadata names follow RFC 7591 §2
(``client_name``, ``grant_types``, ``scope``).  Plaintext secrets exist only in the :class:`IssuedSecret`
returned by :meth:`ClientRegistry.create` and :meth:`ClientRegistry.roll_secret`.

**Authentication** (:meth:`ClientRegistry.authenticate`) does the same work on every path (unknown
client, malformed item, disabled client, expired secret, wrong secret, success): one consistent
``GetItem``, one HMAC, :data:`MAX_SECRETS` constant-time comparisons.  A stored item that cannot be read
authenticates nobody (``AuthFailure.MALFORMED_CLIENT``), and never raises anything else.

**Writes** are conditional on the ``version`` the write is based on (as read, whatever its type; an item
without one is version 0), so two operators cannot silently undo each other, and each is **idempotent**
under a lost answer (issue 19): every write stamps ``last_request`` with a fresh request id (and
``changed_by``/``changed_at``, the audit trail's who and when, issue 14).  When a write's answer is lost
(a 5xx or a timeout after DynamoDB committed) and botocore's retry then fails the version condition, or
the error reaches us, the registry reads the item back: if ``last_request`` is its own id, the write is
committed and the call succeeds with what it must return (a new secret included: it is still in memory);
otherwise the write did not happen and the original error stands, so a retry changes nothing twice.
DynamoDB's ``ClientRequestToken`` (TransactWriteItems) gives the same for 10 minutes in AWS, but moto
ignores it and a marker in the item also survives the 10 minutes; docs/DESIGN.md ("Idempotent admin
writes") has the whole design, including what a re-run in a new process does.

**Times that decide security** (a secret's end after ``roll-secret --overlap``) come from the store: with
``store_time=True`` (the admin CLI) they are dated by the ``Date`` header of the read the write is based
on (:mod:`.store_time`), and ``overlap=0`` removes the old secret outright, with no time comparison.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from .client_items import (
    CHANGED_AT,
    CHANGED_BY,
    CLIENT_CREDENTIALS,
    CLIENT_SECRET,
    LAST_REQUEST,
    PRIVATE_KEY_JWT,
    VERSION,
    Client,
    ClientStatus,
    MalformedClientItem,
    StoredSecret,
    decode_client,
    encode_client,
    item_client_id,
    unknown_attributes,
)
from .client_keys import (
    InvalidClientKey,
    canonical_json,
    registered_jwks,
    registered_jwks_uri,
    with_key_added,
    with_key_removed,
)
from .client_secrets import DUMMY_DIGEST, Hasher, new_client_secret, new_secret_id
from .errors import PartnerAuthError
from .scopes import is_scope_token
from .store_time import response_date
from .usage_plans import PLANS

__all__ = [
    "CLIENT_CREDENTIALS",
    "CLIENT_SECRET",
    "INTROSPECT",
    "KNOWN_PERMISSIONS",
    "MAX_SECRETS",
    "PRIVATE_KEY_JWT",
    "AuthFailure",
    "Client",
    "ClientAlreadyExists",
    "ClientAuthenticationFailed",
    "ClientConflict",
    "ClientNotFound",
    "ClientRegistry",
    "ClientRegistryError",
    "ClientStatus",
    "InvalidClientMetadata",
    "IssuedSecret",
    "MalformedClientItem",
    "SecretNotFound",
    "StoredSecret",
    "TooManySecrets",
    "WriteOutcomeUnknown",
]

Clock = Callable[[], float]

MAX_SECRETS: Final = 2  # two live secrets: a partner can roll with no downtime
KNOWN_GRANT_TYPES: Final = frozenset({CLIENT_CREDENTIALS})
MIN_TOKEN_LIFETIME: Final = 60
DEFAULT_MAX_TOKEN_LIFETIME: Final = 86400
MAX_CLIENT_ID_LENGTH: Final = 128
MAX_SCOPES: Final = 50
MAX_AUDIENCES: Final = 10
INTROSPECT: Final = "introspect"  # RFC 7662 §2.1: the protected resource authenticates to introspect tokens
KNOWN_PERMISSIONS: Final = frozenset({INTROSPECT})

# RFC 6749 Appendix A.1: client-id = *VSCHAR; we also refuse space so ids survive shells and logs.
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,128}")
_AUDIENCE = re.compile(r"[\x21-\x7e]{1,512}")
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


class AuthFailure(StrEnum):
    """Why authentication failed: for logs and metrics only, never for the caller."""

    UNKNOWN_CLIENT = "unknown_client"
    DISABLED_CLIENT = "disabled_client"
    EXPIRED_SECRET = "expired_secret"
    WRONG_SECRET = "wrong_secret"
    MALFORMED_CLIENT = "malformed_client"  # the stored item cannot be read: it authenticates nobody


class ClientRegistryError(PartnerAuthError):
    """Base of the registry's management errors (what an operator sees)."""


class ClientNotFound(ClientRegistryError):
    def __init__(self) -> None:
        super().__init__("no such client")


class SecretNotFound(ClientRegistryError):
    def __init__(self) -> None:
        super().__init__("the client has no secret with this id (`show CLIENT_ID` lists its secret ids)")


class ClientAlreadyExists(ClientRegistryError):
    def __init__(self) -> None:
        super().__init__("a client with this id already exists")


class ClientConflict(ClientRegistryError):
    def __init__(self) -> None:
        super().__init__("the client was changed concurrently; nothing was written: retry")


class InvalidClientMetadata(ClientRegistryError, ValueError):
    """Metadata that does not satisfy the rules (messages are constants, never the value)."""


class TooManySecrets(ClientRegistryError):
    def __init__(self, newest: str | None = None) -> None:
        lost = (
            f" If a roll's answer was lost, its secret (the newest, {newest}) was never shown: "
            f"revoke-secret CLIENT_ID {newest}, then roll again."
            if newest
            else ""
        )
        super().__init__(f"the client already has two live secrets; revoke one before rolling.{lost}")


class WriteOutcomeUnknown(ClientRegistryError):
    """The answer to a write was lost and reading the item back failed too: it may or may not be stored."""

    def __init__(self, client_id: str, request: str) -> None:
        self.request = request
        super().__init__(
            f"the change to client {client_id} may or may not have been stored (its answer was lost and the "
            f"item could not be read back): run `show {client_id}`; the change is stored if its last request "
            f"is {request}, and then a new secret it made was never shown (revoke that secret id)"
        )


class ClientAuthenticationFailed(PartnerAuthError):
    """The single failure of :meth:`ClientRegistry.authenticate`.

    ``reason`` is for the operator's logs; the caller always gets the same ``invalid_client``.
    """

    def __init__(self, reason: AuthFailure) -> None:
        self.reason = reason
        super().__init__("client authentication failed")


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A new secret, in plaintext, for the operator to hand over once.  Never logged."""

    client: Client
    secret_id: str
    secret: str = field(repr=False)
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class _Read:
    """A client item as read for a change: the raw item (kept: its unknown attributes survive the write)
    and the time to date the change by (the store's with ``store_time``, else the registry's clock)."""

    item: dict[str, Any]
    now: float

    @property
    def client_id(self) -> str:
        return item_client_id(self.item) or ""


def new_request_id() -> str:
    """The id a write stamps into ``last_request`` (not secret: shown by ``show``)."""
    return "req_" + secrets.token_hex(8)


class ClientRegistry:
    """CRUD for partner clients and their authentication."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any,
        hasher: Hasher,
        clock: Clock = time.time,
        *,
        max_token_lifetime: int = DEFAULT_MAX_TOKEN_LIFETIME,
        generate_secret: Callable[[], str] = new_client_secret,
        generate_client_id: Callable[[], str] | None = None,
        actor: str | None = None,
        store_time: bool = False,
    ) -> None:
        """``actor``: the caller's AWS identity, stamped as ``changed_by`` on every write (the admin CLI
        passes its STS identity; ``None`` writes no ``changed_by``).  ``store_time``: date secret ends by
        the store's clock (see the module docstring)."""
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._hasher = hasher
        self._clock = clock
        self.max_token_lifetime = max_token_lifetime
        self._generate_secret = generate_secret
        self._generate_client_id = generate_client_id or _new_client_id
        self._actor = actor
        self._store_time = store_time

    # -- authentication ------------------------------------------------------------------

    def authenticate(self, client_id: str, secret: str) -> Client:
        """The active client whose live secret this is; otherwise :class:`ClientAuthenticationFailed`.

        Same work on every path: the HMAC is computed before the lookup, the lookup always
        happens, and the presented digest is compared with exactly ``MAX_SECRETS`` stored
        digests (:data:`DUMMY_DIGEST` fills missing slots), without an early exit.
        """
        presented = self._hasher.digest(secret)
        item = self._dynamodb.get_item(
            TableName=self._table, Key=self.item_key(client_id), ConsistentRead=True
        ).get("Item")
        return self.authenticate_item(item, presented)

    @property
    def table_name(self) -> str:
        return self._table

    @staticmethod
    def item_key(client_id: str) -> dict[str, Any]:
        """The DynamoDB key of a client's item (for a caller that batches this read with others)."""
        return {"client_id": {"S": client_id}}

    def presented_digest(self, secret: str) -> bytes:
        return self._hasher.digest(secret)

    def authenticate_item(self, item: dict[str, Any] | None, presented: bytes) -> Client:
        """:meth:`authenticate` for an item already read (consistently) and a secret already hashed
        (:meth:`presented_digest`); ``None`` when no client has the presented id."""
        now = self._clock()
        known = bool(item)
        malformed = False
        try:
            client = decode_client(item if known else _ABSENT_CLIENT_ITEM)
        except MalformedClientItem:
            # Fail closed (issue 19): the same comparisons as a wrong secret, against the stand-in item.
            malformed = True
            client = decode_client(_ABSENT_CLIENT_ITEM)
        stored: list[StoredSecret | None] = list(client.secrets)
        stored += [None] * (MAX_SECRETS - len(stored))
        matched = live_match = False
        for slot in stored:
            equal = self._hasher.matches(presented, slot.digest if slot is not None else DUMMY_DIGEST)
            live = slot is not None and slot.hash_alg == self._hasher.algorithm and slot.is_live(now)
            matched = matched | equal
            live_match = live_match | (equal & live)
        if not known:
            raise ClientAuthenticationFailed(AuthFailure.UNKNOWN_CLIENT)
        if malformed:
            raise ClientAuthenticationFailed(AuthFailure.MALFORMED_CLIENT)
        if not client.active:
            raise ClientAuthenticationFailed(AuthFailure.DISABLED_CLIENT)
        if live_match:
            return client
        raise ClientAuthenticationFailed(AuthFailure.EXPIRED_SECRET if matched else AuthFailure.WRONG_SECRET)

    # -- reads -----------------------------------------------------------------------------

    def find(self, client_id: str) -> Client | None:
        """The client with this id (one consistent read), or ``None`` when there is none *or its item cannot
        be read*: a malformed item is nobody's (fail closed, issue 19), so a caller that refuses unknown
        clients (``private_key_jwt``, introspection) refuses it too.  :meth:`lookup` tells the two apart."""
        found = self.lookup(client_id)
        return found if isinstance(found, Client) else None

    def lookup(self, client_id: str) -> Client | MalformedClientItem | None:
        """The client with this id, why its item cannot be read, or ``None`` when there is none."""
        read = self._read(client_id)
        if read is None:
            return None
        try:
            return decode_client(read.item)
        except MalformedClientItem as malformed:
            return malformed

    def get(self, client_id: str) -> Client:
        return decode_client(self._existing(client_id).item)

    def list_clients(self) -> list[Client]:
        """Every client that can be read (:meth:`list_entries` also names the ones that cannot)."""
        return [entry for entry in self.list_entries() if isinstance(entry, Client)]

    def list_entries(self) -> list[Client | MalformedClientItem]:
        """Every item by client id: the client, or the error that says why its item cannot be read (one
        bad item never hides the others)."""
        entries: list[Client | MalformedClientItem] = []
        for item in self._scan():
            try:
                entries.append(decode_client(item))
            except MalformedClientItem as malformed:
                entries.append(malformed)
        return sorted(entries, key=lambda entry: (entry.client_id is None, entry.client_id or ""))

    def _scan(self) -> Iterator[dict[str, Any]]:
        paginator = self._dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self._table, ConsistentRead=True):
            yield from page.get("Items", [])

    def _read(self, client_id: str) -> _Read | None:
        response = self._dynamodb.get_item(
            TableName=self._table, Key=self.item_key(client_id), ConsistentRead=True
        )
        item = response.get("Item")
        return None if not item else _Read(item, self._time_of(response))

    def _existing(self, client_id: str) -> _Read:
        read = self._read(client_id)
        if read is None:
            raise ClientNotFound()
        return read

    def _time_of(self, response: dict[str, Any]) -> float:
        dated = response_date(response) if self._store_time else None
        return self._clock() if dated is None else dated

    # -- changes ---------------------------------------------------------------------------

    def create(
        self,
        *,
        client_name: str,
        scopes: Iterable[str],
        audiences: Iterable[str],
        token_lifetime: int,
        client_id: str | None = None,
        secret_expires_at: int | None = None,
        secret_expires_in: int | None = None,
        grant_types: Iterable[str] = (CLIENT_CREDENTIALS,),
        plan: str | None = None,
        permissions: Iterable[str] = (),
    ) -> IssuedSecret:
        """A client with its first secret (ending at ``secret_expires_at``, or ``secret_expires_in``
        seconds from the store's now)."""
        client = self._new_client(client_name, scopes, audiences, token_lifetime, client_id, grant_types)
        now = self._now_for(client.client_id) if secret_expires_in is not None else self._clock()
        expires_at = secret_expires_at if secret_expires_in is None else int(now) + secret_expires_in
        client = replace(client, plan=_validated_plan(plan), permissions=_validated_permissions(permissions))
        client, issued = self._with_new_secret(client, expires_at, int(now))
        saved = self._insert(client, int(now))
        return replace(issued, client=saved)

    def create_with_keys(
        self,
        *,
        client_name: str,
        scopes: Iterable[str],
        audiences: Iterable[str],
        token_lifetime: int,
        jwks: Any = None,
        jwks_uri: str | None = None,
        client_id: str | None = None,
        grant_types: Iterable[str] = (CLIENT_CREDENTIALS,),
        plan: str | None = None,
        permissions: Iterable[str] = (),
    ) -> Client:
        """A ``private_key_jwt`` client (RFC 7523 §2.2): public keys inline or at ``jwks_uri``, no secret."""
        client = self._new_client(client_name, scopes, audiences, token_lifetime, client_id, grant_types)
        stored_jwks, stored_uri = _validated_keys(jwks, jwks_uri)
        client = replace(
            client,
            jwks=stored_jwks,
            jwks_uri=stored_uri,
            plan=_validated_plan(plan),
            permissions=_validated_permissions(permissions),
        )
        return self._insert(client, int(self._clock()))

    def use_keys(
        self, client_id: str, *, jwks: Any = None, jwks_uri: str | None = None, secret_overlap: int
    ) -> Client:
        """Register keys (replacing any registered before); live secrets keep working for
        ``secret_overlap`` more seconds (0 = removed now), so a partner switches from secrets to keys
        without downtime.  Expired secrets are pruned."""
        if secret_overlap < 0:
            raise InvalidClientMetadata("overlap must not be negative")
        stored_jwks, stored_uri = _validated_keys(jwks, jwks_uri)
        read = self._existing(client_id)
        client = decode_client(read.item)
        kept = _ending(client.live_secrets(read.now), read.now, secret_overlap)
        return self._save(read, replace(client, secrets=kept, jwks=stored_jwks, jwks_uri=stored_uri))

    def add_key(self, client_id: str, jwk: Any) -> Client:
        """One more inline key (publish before use: the partner signs with it only after this)."""
        read = self._existing(client_id)
        client = decode_client(read.item)
        if client.jwks is None:
            raise InvalidClientMetadata(
                "the client has no inline keys: use use-keys (a jwks_uri client publishes new keys itself)"
            )
        try:
            jwks = with_key_added(json.loads(client.jwks), jwk)
        except InvalidClientKey as error:
            raise InvalidClientMetadata(str(error)) from None
        return self._save(read, replace(client, jwks=canonical_json(jwks)))

    def remove_key(self, client_id: str, kid: str) -> Client:
        read = self._existing(client_id)
        client = decode_client(read.item)
        if client.jwks is None:
            raise InvalidClientMetadata("the client has no inline keys")
        try:
            jwks = with_key_removed(json.loads(client.jwks), kid)
        except InvalidClientKey as error:
            raise InvalidClientMetadata(str(error)) from None
        return self._save(read, replace(client, jwks=canonical_json(jwks)))

    def update(
        self,
        client_id: str,
        *,
        client_name: str | None = None,
        scopes: Iterable[str] | None = None,
        audiences: Iterable[str] | None = None,
        token_lifetime: int | None = None,
        grant_types: Iterable[str] | None = None,
        plan: str | None = None,
        permissions: Iterable[str] | None = None,
    ) -> Client:
        """Change what is given (``None``: unchanged; ``permissions=()`` removes every permission)."""
        read = self._existing(client_id)
        client = decode_client(read.item)
        changed = replace(
            client,
            client_name=client.client_name if client_name is None else _validated_name(client_name),
            scopes=client.scopes if scopes is None else _validated_scopes(scopes),
            audiences=client.audiences if audiences is None else _validated_audiences(audiences),
            token_lifetime=(
                client.token_lifetime if token_lifetime is None else self._validated_lifetime(token_lifetime)
            ),
            grant_types=client.grant_types if grant_types is None else _validated_grant_types(grant_types),
            plan=client.plan if plan is None else _validated_plan(plan),
            permissions=client.permissions if permissions is None else _validated_permissions(permissions),
        )
        return self._save(read, changed)

    def set_status(self, client_id: str, status: ClientStatus) -> Client:
        """Enable (the item must be readable) or disable (:meth:`disable`; its error if unreadable)."""
        if ClientStatus(status) is ClientStatus.DISABLED:
            disabled = self.disable(client_id)
            if isinstance(disabled, MalformedClientItem):
                raise disabled
            return disabled
        read = self._existing(client_id)
        client = decode_client(read.item)
        return self._save(read, replace(client, status=ClientStatus.ACTIVE))

    def disable(self, client_id: str) -> Client | MalformedClientItem:
        """Set the status to disabled with an ``UpdateItem`` that needs nothing else of the item decoded,
        so incident response works on any item, even one this version cannot read (issue 19).  Returns
        the client as now stored, or why its item still cannot be read (it is disabled all the same)."""
        read = self._existing(client_id)
        request = new_request_id()
        names = {"#s": "status"}
        values: dict[str, Any] = {":disabled": {"S": ClientStatus.DISABLED.value}}
        sets = ["#s = :disabled", *self._stamp_expression(read, request, names, values)]
        condition, condition_names, condition_values = _version_condition(read.item)
        self._committed_or_raise(
            client_id,
            request,
            lambda: self._dynamodb.update_item(
                TableName=self._table,
                Key=self.item_key(client_id),
                UpdateExpression="SET " + ", ".join(sets) + self._remove_actor_expression(names),
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, **condition_names},
                ExpressionAttributeValues={**values, **condition_values},
            ),
        )
        now_stored = self._existing(client_id)
        try:
            return decode_client(now_stored.item)
        except MalformedClientItem as malformed:
            return malformed

    def roll_secret(
        self, client_id: str, *, overlap: int, expires_at: int | None = None, expires_in: int | None = None
    ) -> IssuedSecret:
        """Add a new secret; the live old one stays valid for ``overlap`` more seconds, dated by the store
        (``0``: removed from the item now, by the store's state, with no time comparison).  The new
        secret ends at ``expires_at``, or ``expires_in`` seconds from the store's now.

        Expired secrets are pruned.  Refused when two secrets are already live: the operator
        revokes one first, so a roll never silently cuts off a secret in use.
        """
        if overlap < 0:
            raise InvalidClientMetadata("overlap must not be negative")
        read = self._existing(client_id)
        client = decode_client(read.item)
        live = client.live_secrets(read.now)
        if len(live) >= MAX_SECRETS:
            raise TooManySecrets(newest=max(live, key=lambda s: s.created_at).secret_id)
        ends = expires_at if expires_in is None else int(read.now) + expires_in
        kept = _ending(live, read.now, overlap)
        changed, issued = self._with_new_secret(replace(client, secrets=kept), ends, int(read.now))
        saved = self._save(read, changed)
        return replace(issued, client=saved)

    def revoke_secret(self, client_id: str, secret_id: str) -> Client:
        read = self._existing(client_id)
        client = decode_client(read.item)
        remaining = tuple(s for s in client.secrets if s.secret_id != secret_id)
        if len(remaining) == len(client.secrets):
            raise SecretNotFound()
        return self._save(read, replace(client, secrets=remaining))

    def delete(self, client_id: str) -> None:
        """Remove the client, whatever its item holds (a malformed one too): a ``DeleteItem`` conditional
        on the version as read, so a change made in between is not deleted unseen.  Idempotent: a retry
        that finds the item gone is done.  (The stream's REMOVE record carries no stamp of the deleter:
        the audit trail says so, partnerauth.audit_trail.)"""
        read = self._existing(client_id)
        condition, names, values = _version_condition(read.item)
        self._committed_or_raise(
            client_id,
            "",
            lambda: self._dynamodb.delete_item(
                TableName=self._table,
                Key=self.item_key(client_id),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            ),
            gone_is_done=True,
        )

    # -- internals -------------------------------------------------------------------------

    def _new_client(
        self,
        client_name: str,
        scopes: Iterable[str],
        audiences: Iterable[str],
        token_lifetime: int,
        client_id: str | None,
        grant_types: Iterable[str],
    ) -> Client:
        chosen_id = self._generate_client_id() if client_id is None else client_id
        return Client(
            client_id=self._validated_client_id(chosen_id),
            client_name=_validated_name(client_name),
            scopes=_validated_scopes(scopes),
            audiences=_validated_audiences(audiences),
            token_lifetime=self._validated_lifetime(token_lifetime),
            status=ClientStatus.ACTIVE,
            created_at=0,
            updated_at=0,
            grant_types=_validated_grant_types(grant_types),
        )

    def _now_for(self, client_id: str) -> float:
        """The store's now (one consistent read of the client's key), or the clock without ``store_time``."""
        if not self._store_time:
            return self._clock()
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key=self.item_key(client_id),
            ConsistentRead=True,
            ProjectionExpression="#k",
            ExpressionAttributeNames={"#k": "client_id"},
        )
        return self._time_of(response)

    def _insert(self, client: Client, now: int) -> Client:
        request = new_request_id()
        saved = replace(
            client,
            created_at=now,
            updated_at=now,
            version=1,
            changed_by=self._actor,
            changed_at=now,
            last_request=request,
        )
        self._committed_or_raise(
            client.client_id,
            request,
            lambda: self._dynamodb.put_item(
                TableName=self._table,
                Item=encode_client(saved),
                ConditionExpression="attribute_not_exists(client_id)",
            ),
            conflict=ClientAlreadyExists,
        )
        return saved

    def _with_new_secret(
        self, client: Client, expires_at: int | None, now: int
    ) -> tuple[Client, IssuedSecret]:
        if expires_at is not None and expires_at <= now:
            raise InvalidClientMetadata("a new secret's expiry must be in the future")
        secret = self._generate_secret()
        stored = StoredSecret(
            secret_id=new_secret_id(),
            digest=self._hasher.digest(secret),
            created_at=now,
            expires_at=expires_at,
            hash_alg=self._hasher.algorithm,
        )
        changed = replace(client, secrets=(*client.secrets, stored))
        return changed, IssuedSecret(changed, stored.secret_id, secret, expires_at)

    def _save(self, read: _Read, after: Client) -> Client:
        """Write ``after`` in place of the item ``read``, if nobody changed it since (its version as read);
        attributes this version does not know are kept as they were."""
        request = new_request_id()
        now = int(read.now)
        saved = replace(
            after,
            updated_at=now,
            version=after.version + 1,
            changed_by=self._actor,
            changed_at=now,
            last_request=request,
        )
        condition, names, values = _version_condition(read.item)
        self._committed_or_raise(
            saved.client_id,
            request,
            lambda: self._dynamodb.put_item(
                TableName=self._table,
                Item={**unknown_attributes(read.item), **encode_client(saved)},
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            ),
        )
        return saved

    def _stamp_expression(
        self, read: _Read, request: str, names: dict[str, str], values: dict[str, Any]
    ) -> list[str]:
        """``SET`` clauses that stamp a write: a new version, ``updated_at``/``changed_at``, ``last_request``
        and ``changed_by`` (fills ``names`` and ``values``)."""
        now = str(int(read.now))
        names.update({"#v": VERSION, "#ua": "updated_at", "#ca": CHANGED_AT, "#lr": LAST_REQUEST})
        values.update(
            {":next": {"N": str(_next_version(read.item))}, ":now": {"N": now}, ":req": {"S": request}}
        )
        clauses = ["#v = :next", "#ua = :now", "#ca = :now", "#lr = :req"]
        if self._actor is not None:
            names["#cb"] = CHANGED_BY
            values[":actor"] = {"S": self._actor}
            clauses.append("#cb = :actor")
        return clauses

    def _remove_actor_expression(self, names: dict[str, str]) -> str:
        """Without an actor, the previous writer's ``changed_by`` must not stand for this write."""
        if self._actor is not None:
            return ""
        names["#cb"] = CHANGED_BY
        return " REMOVE #cb"

    def _committed_or_raise(
        self,
        client_id: str,
        request: str,
        write: Callable[[], Any],
        *,
        conflict: Callable[[], ClientRegistryError] = ClientConflict,
        gone_is_done: bool = False,
    ) -> None:
        """Run ``write`` (stamped with ``request``); settle a lost answer by reading the item back.

        * the condition failed: when the item carries our ``request`` the write committed earlier (botocore
          retried after a lost answer) and this is success; otherwise it is ``conflict`` (nothing written);
        * any other error (a 5xx, a timeout: the answer is lost, the write may have committed): the item is
          read back; our ``request`` in it means success, otherwise the error stands (nothing was written);
          when even the read fails, :class:`WriteOutcomeUnknown` names the request to look for.

        ``gone_is_done``: for a delete, an item no longer there is the committed write.
        """
        try:
            write()
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            if self._is_committed(client_id, request, gone_is_done=gone_is_done):
                return
            raise conflict() from None
        except Exception as error:
            try:
                committed = self._is_committed(client_id, request, gone_is_done=gone_is_done)
            except Exception:  # noqa: BLE001 - neither the write's answer nor the read: say so, never guess
                raise WriteOutcomeUnknown(client_id, request) from error
            if not committed:
                raise
            return

    def _is_committed(self, client_id: str, request: str, *, gone_is_done: bool) -> bool:
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key=self.item_key(client_id),
            ConsistentRead=True,
            ProjectionExpression="#r",
            ExpressionAttributeNames={"#r": LAST_REQUEST},
        ).get("Item")
        if gone_is_done:  # a delete: committed when the item is gone
            return not item
        return bool(item) and item.get(LAST_REQUEST) == {"S": request}

    def _validated_lifetime(self, lifetime: int) -> int:
        if isinstance(lifetime, bool) or not isinstance(lifetime, int):
            raise InvalidClientMetadata("token_lifetime must be an integer number of seconds")
        if not MIN_TOKEN_LIFETIME <= lifetime <= self.max_token_lifetime:
            raise InvalidClientMetadata(
                f"token_lifetime must be between {MIN_TOKEN_LIFETIME} and {self.max_token_lifetime} seconds"
            )
        return lifetime

    @staticmethod
    def _validated_client_id(client_id: str) -> str:
        if not _CLIENT_ID.fullmatch(client_id):
            raise InvalidClientMetadata("client_id must be 1-128 printable ASCII characters without spaces")
        return client_id


def _new_client_id() -> str:
    return "pc_" + secrets.token_hex(8)


def _validated_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name != name.strip():
        raise InvalidClientMetadata("client_name must be 1-200 printable characters")
    return name


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _validated_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    result = _unique(scopes)
    if not 1 <= len(result) <= MAX_SCOPES or not all(map(is_scope_token, result)):
        raise InvalidClientMetadata("scopes: 1-50 scope tokens as in RFC 6749 §3.3")
    return result


def _validated_audiences(audiences: Iterable[str]) -> tuple[str, ...]:
    result = _unique(audiences)
    if not 1 <= len(result) <= MAX_AUDIENCES or not all(_AUDIENCE.fullmatch(a) for a in result):
        raise InvalidClientMetadata("audiences: 1-10 values of printable ASCII without spaces")
    return result


def _validated_grant_types(grant_types: Iterable[str]) -> tuple[str, ...]:
    result = _unique(grant_types)
    if not set(result) <= KNOWN_GRANT_TYPES:
        raise InvalidClientMetadata("grant_types: only client_credentials is supported")
    return result


def _validated_plan(plan: str | None) -> str | None:
    """One of the tiers the template declares (usage_plans.PLANS), or no plan."""
    if plan is not None and plan not in PLANS:
        raise InvalidClientMetadata(f"plan: one of {', '.join(PLANS)}")
    return plan


def _validated_permissions(permissions: Iterable[str]) -> tuple[str, ...]:
    result = tuple(sorted(set(permissions)))
    if not set(result) <= KNOWN_PERMISSIONS:
        raise InvalidClientMetadata(f"permissions: only {', '.join(sorted(KNOWN_PERMISSIONS))}")
    return result


def _validated_keys(jwks: Any, jwks_uri: str | None) -> tuple[str | None, str | None]:
    """Exactly one of an inline JWK Set and a ``jwks_uri`` (RFC 7591 §2: never both)."""
    if (jwks is None) == (jwks_uri is None):
        raise InvalidClientMetadata("register either a JWK Set or a jwks_uri, not both")
    try:
        if jwks_uri is not None:
            return None, registered_jwks_uri(jwks_uri)
        return canonical_json(registered_jwks(jwks)), None
    except InvalidClientKey as error:
        raise InvalidClientMetadata(str(error)) from None


def _version_condition(item: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The write condition "the item is still at the version I read": the stored ``version`` attribute as
    read, whatever its type; an item without one (hand-written) is version 0."""
    if VERSION not in item:
        return "attribute_not_exists(#v) OR #v = :v", {"#v": VERSION}, {":v": {"N": "0"}}
    return "#v = :v", {"#v": VERSION}, {":v": item[VERSION]}


def _next_version(item: dict[str, Any]) -> int:
    """The version after the item's (1 when it has none or an unreadable one: the write repairs it)."""
    text = item.get(VERSION, {}).get("N") if isinstance(item.get(VERSION), dict) else None
    return int(text) + 1 if isinstance(text, str) and text.isdigit() else 1


def _ending(live: tuple[StoredSecret, ...], now: float, overlap: int) -> tuple[StoredSecret, ...]:
    """The live secrets, each to end ``overlap`` seconds after ``now`` (an earlier end is kept).  With
    ``overlap == 0`` there are none: the old secrets leave the item, so no clock decides when they stop."""
    if overlap == 0:
        return ()
    cutoff = int(now) + overlap
    return tuple(
        replace(s, expires_at=cutoff if s.expires_at is None else min(s.expires_at, cutoff)) for s in live
    )


# What ``authenticate`` decodes when no client has the presented id (or its item is malformed):
# disabled, with one secret whose digest matches nothing: the shape of most clients (one secret; two only
# mid-roll).
_ABSENT_CLIENT_ITEM: Final = encode_client(
    Client(
        client_id="absent",
        client_name="absent",
        scopes=("absent",),
        audiences=("absent",),
        token_lifetime=MIN_TOKEN_LIFETIME,
        status=ClientStatus.DISABLED,
        created_at=0,
        updated_at=0,
        secrets=(StoredSecret(secret_id="absent", digest=DUMMY_DIGEST, created_at=0),),  # noqa: S106 - an id, not a secret
    )
)
