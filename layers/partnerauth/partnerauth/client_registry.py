"""Partner clients in DynamoDB (ClientsTable, HASH ``client_id``) and their authentication.

One item per client::

    client_id S | client_name S | scopes L<S> | audiences L<S> | grant_types L<S>
    token_lifetime N | status S (active|disabled) | created_at N | updated_at N | version N
    secrets L<M{secret_id S, hash B, hash_alg S, created_at N, expires_at N?}>   (at most two live)
    jwks S? (a public JWK Set, canonical JSON) | jwks_uri S?      (private_key_jwt: :mod:`.client_keys`)

A client authenticates with a secret when it has a live one, and with a signed assertion
(``private_key_jwt``) when it has registered keys; both only while it switches from secrets to keys.

Metadata names follow RFC 7591 §2 (``client_name``, ``grant_types``, ``scope``).  Every
change is a conditional write on ``version`` so that two operators cannot silently undo
each other.  Plaintext secrets exist only in the :class:`IssuedSecret` returned by
:meth:`ClientRegistry.create` and :meth:`ClientRegistry.roll_secret`.

:meth:`ClientRegistry.authenticate` does the same work on every path (unknown client,
disabled client, expired secret, wrong secret, success): one consistent ``GetItem``, one
HMAC, :data:`MAX_SECRETS` constant-time comparisons.
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

from .client_keys import (
    InvalidClientKey,
    canonical_json,
    key_infos,
    registered_jwks,
    registered_jwks_uri,
    with_key_added,
    with_key_removed,
)
from .client_secrets import DUMMY_DIGEST, HASH_ALGORITHM, Hasher, new_client_secret, new_secret_id
from .errors import PartnerAuthError
from .scopes import is_scope_token
from .usage_plans import PLANS

Clock = Callable[[], float]

MAX_SECRETS: Final = 2  # two live secrets: a partner can roll with no downtime
CLIENT_CREDENTIALS: Final = "client_credentials"
PRIVATE_KEY_JWT: Final = "private_key_jwt"  # RFC 7591 §2 token_endpoint_auth_method
CLIENT_SECRET: Final = "client_secret_basic"  # and client_secret_post: both are always accepted
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


class ClientStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class AuthFailure(StrEnum):
    """Why authentication failed: for logs and metrics only, never for the caller."""

    UNKNOWN_CLIENT = "unknown_client"
    DISABLED_CLIENT = "disabled_client"
    EXPIRED_SECRET = "expired_secret"
    WRONG_SECRET = "wrong_secret"


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
        super().__init__("the client was changed concurrently; retry")


class InvalidClientMetadata(ClientRegistryError, ValueError):
    """Metadata that does not satisfy the rules (messages are constants, never the value)."""


class TooManySecrets(ClientRegistryError):
    def __init__(self) -> None:
        super().__init__("the client already has two live secrets; revoke one before rolling")


class ClientAuthenticationFailed(PartnerAuthError):
    """The single failure of :meth:`ClientRegistry.authenticate`.

    ``reason`` is for the operator's logs; the caller always gets the same ``invalid_client``.
    """

    def __init__(self, reason: AuthFailure) -> None:
        self.reason = reason
        super().__init__("client authentication failed")


@dataclass(frozen=True, slots=True)
class StoredSecret:
    secret_id: str
    digest: bytes = field(repr=False)
    created_at: int
    expires_at: int | None = None
    hash_alg: str = HASH_ALGORITHM

    def is_live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    token_lifetime: int
    status: ClientStatus
    created_at: int
    updated_at: int
    grant_types: tuple[str, ...] = (CLIENT_CREDENTIALS,)
    secrets: tuple[StoredSecret, ...] = ()
    version: int = 1
    jwks: str | None = None  # canonical JSON of the registered public JWK Set
    jwks_uri: str | None = None
    plan: str | None = None  # the usage plan (usage_plans.PLANS) whose token rate applies; None: no plan
    permissions: tuple[str, ...] = ()  # beyond the token grant: "introspect" (RFC 7662 §2.1)

    @property
    def active(self) -> bool:
        return self.status is ClientStatus.ACTIVE

    @property
    def has_keys(self) -> bool:
        return self.jwks is not None or self.jwks_uri is not None

    def auth_methods(self, now: float) -> tuple[str, ...]:
        """RFC 7591 ``token_endpoint_auth_method`` values that can authenticate this client now."""
        methods = (PRIVATE_KEY_JWT,) if self.has_keys else ()
        return methods + ((CLIENT_SECRET,) if self.live_secrets(now) else ())

    def live_secrets(self, now: float) -> tuple[StoredSecret, ...]:
        return tuple(s for s in self.secrets if s.is_live(now))

    def describe(self, now: float) -> dict[str, Any]:
        """Everything an operator may see: no hash, no secret."""
        return {
            "client_id": self.client_id,
            "client_name": self.client_name,
            "status": self.status.value,
            "scopes": list(self.scopes),
            "audiences": list(self.audiences),
            "grant_types": list(self.grant_types),
            "token_lifetime": self.token_lifetime,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "token_endpoint_auth_methods": list(self.auth_methods(now)),
            "jwks_uri": self.jwks_uri,
            "plan": self.plan,
            "permissions": list(self.permissions),
            "keys": [info.describe() for info in key_infos(json.loads(self.jwks))] if self.jwks else [],
            "secrets": [
                {
                    "secret_id": s.secret_id,
                    "created_at": s.created_at,
                    "expires_at": s.expires_at,
                    "state": "live" if s.is_live(now) else "expired",
                }
                for s in self.secrets
            ],
        }


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A new secret, in plaintext, for the operator to hand over once.  Never logged."""

    client: Client
    secret_id: str
    secret: str = field(repr=False)
    expires_at: int | None = None


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
    ) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._hasher = hasher
        self._clock = clock
        self.max_token_lifetime = max_token_lifetime
        self._generate_secret = generate_secret
        self._generate_client_id = generate_client_id or _new_client_id

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
        # An unknown id decodes a stand-in item of the same shape: the same code runs on every path.
        client = _decode(item or _ABSENT_CLIENT_ITEM)
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
        if not client.active:
            raise ClientAuthenticationFailed(AuthFailure.DISABLED_CLIENT)
        if live_match:
            return client
        raise ClientAuthenticationFailed(AuthFailure.EXPIRED_SECRET if matched else AuthFailure.WRONG_SECRET)

    # -- reads -----------------------------------------------------------------------------

    def find(self, client_id: str) -> Client | None:
        """The client with this id (one consistent read), or ``None``."""
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"client_id": {"S": client_id}}, ConsistentRead=True
        ).get("Item")
        return _decode(item) if item else None

    def get(self, client_id: str) -> Client:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"client_id": {"S": client_id}}, ConsistentRead=True
        ).get("Item")
        if not item:
            raise ClientNotFound()
        return _decode(item)

    def list_clients(self) -> list[Client]:
        return sorted(self._scan(), key=lambda c: c.client_id)

    def _scan(self) -> Iterator[Client]:
        paginator = self._dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self._table, ConsistentRead=True):
            for item in page.get("Items", []):
                yield _decode(item)

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
        grant_types: Iterable[str] = (CLIENT_CREDENTIALS,),
        plan: str | None = None,
        permissions: Iterable[str] = (),
    ) -> IssuedSecret:
        now = int(self._clock())
        client = self._new_client(client_name, scopes, audiences, token_lifetime, client_id, grant_types, now)
        client = replace(client, plan=_validated_plan(plan), permissions=_validated_permissions(permissions))
        client, issued = self._with_new_secret(client, secret_expires_at, now)
        self._insert(client)
        return replace(issued, client=client)

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
        now = int(self._clock())
        client = self._new_client(client_name, scopes, audiences, token_lifetime, client_id, grant_types, now)
        stored_jwks, stored_uri = _validated_keys(jwks, jwks_uri)
        client = replace(
            client,
            jwks=stored_jwks,
            jwks_uri=stored_uri,
            plan=_validated_plan(plan),
            permissions=_validated_permissions(permissions),
        )
        self._insert(client)
        return client

    def use_keys(
        self, client_id: str, *, jwks: Any = None, jwks_uri: str | None = None, secret_overlap: int
    ) -> Client:
        """Register keys (replacing any registered before); live secrets keep working for
        ``secret_overlap`` more seconds (0 = stop now), so a partner switches from secrets to keys
        without downtime.  Expired secrets are pruned."""
        if secret_overlap < 0:
            raise InvalidClientMetadata("overlap must not be negative")
        now = int(self._clock())
        client = self.get(client_id)
        cutoff = now + secret_overlap
        kept = tuple(
            replace(s, expires_at=cutoff if s.expires_at is None else min(s.expires_at, cutoff))
            for s in client.live_secrets(now)
        )
        kept = tuple(s for s in kept if s.is_live(now))
        stored_jwks, stored_uri = _validated_keys(jwks, jwks_uri)
        return self._save(client, replace(client, secrets=kept, jwks=stored_jwks, jwks_uri=stored_uri))

    def add_key(self, client_id: str, jwk: Any) -> Client:
        """One more inline key (publish before use: the partner signs with it only after this)."""
        client = self.get(client_id)
        if client.jwks is None:
            raise InvalidClientMetadata(
                "the client has no inline keys: use use-keys (a jwks_uri client publishes new keys itself)"
            )
        try:
            jwks = with_key_added(json.loads(client.jwks), jwk)
        except InvalidClientKey as error:
            raise InvalidClientMetadata(str(error)) from None
        return self._save(client, replace(client, jwks=canonical_json(jwks)))

    def remove_key(self, client_id: str, kid: str) -> Client:
        client = self.get(client_id)
        if client.jwks is None:
            raise InvalidClientMetadata("the client has no inline keys")
        try:
            jwks = with_key_removed(json.loads(client.jwks), kid)
        except InvalidClientKey as error:
            raise InvalidClientMetadata(str(error)) from None
        return self._save(client, replace(client, jwks=canonical_json(jwks)))

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
        client = self.get(client_id)
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
        return self._save(client, changed)

    def set_status(self, client_id: str, status: ClientStatus) -> Client:
        client = self.get(client_id)
        return self._save(client, replace(client, status=ClientStatus(status)))

    def roll_secret(self, client_id: str, *, overlap: int, expires_at: int | None = None) -> IssuedSecret:
        """Add a new secret; the live old one stays valid for ``overlap`` more seconds (0 = now).

        Expired secrets are pruned.  Refused when two secrets are already live: the operator
        revokes one first, so a roll never silently cuts off a secret in use.
        """
        if overlap < 0:
            raise InvalidClientMetadata("overlap must not be negative")
        now = int(self._clock())
        client = self.get(client_id)
        live = client.live_secrets(now)
        if len(live) >= MAX_SECRETS:
            raise TooManySecrets()
        cutoff = now + overlap
        kept = tuple(
            replace(s, expires_at=cutoff if s.expires_at is None else min(s.expires_at, cutoff)) for s in live
        )
        changed, issued = self._with_new_secret(replace(client, secrets=kept), expires_at, now)
        saved = self._save(client, changed)
        return replace(issued, client=saved)

    def revoke_secret(self, client_id: str, secret_id: str) -> Client:
        client = self.get(client_id)
        remaining = tuple(s for s in client.secrets if s.secret_id != secret_id)
        if len(remaining) == len(client.secrets):
            raise SecretNotFound()
        return self._save(client, replace(client, secrets=remaining))

    def delete(self, client_id: str) -> None:
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key={"client_id": {"S": client_id}},
                ConditionExpression="attribute_exists(client_id)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise ClientNotFound() from None

    # -- internals -------------------------------------------------------------------------

    def _new_client(
        self,
        client_name: str,
        scopes: Iterable[str],
        audiences: Iterable[str],
        token_lifetime: int,
        client_id: str | None,
        grant_types: Iterable[str],
        now: int,
    ) -> Client:
        chosen_id = self._generate_client_id() if client_id is None else client_id
        return Client(
            client_id=self._validated_client_id(chosen_id),
            client_name=_validated_name(client_name),
            scopes=_validated_scopes(scopes),
            audiences=_validated_audiences(audiences),
            token_lifetime=self._validated_lifetime(token_lifetime),
            status=ClientStatus.ACTIVE,
            created_at=now,
            updated_at=now,
            grant_types=_validated_grant_types(grant_types),
        )

    def _insert(self, client: Client) -> None:
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=_encode(client),
                ConditionExpression="attribute_not_exists(client_id)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise ClientAlreadyExists() from None

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

    def _save(self, before: Client, after: Client) -> Client:
        saved = replace(after, updated_at=int(self._clock()), version=before.version + 1)
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=_encode(saved),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(before.version)}},
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise ClientConflict() from None
        return saved

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


def _strings(value: dict[str, Any]) -> tuple[str, ...]:
    return tuple(member["S"] for member in value.get("L", []))


def _encode(client: Client) -> dict[str, Any]:
    item: dict[str, Any] = {
        "client_id": {"S": client.client_id},
        "client_name": {"S": client.client_name},
        "scopes": {"L": [{"S": s} for s in client.scopes]},
        "audiences": {"L": [{"S": a} for a in client.audiences]},
        "grant_types": {"L": [{"S": g} for g in client.grant_types]},
        "token_lifetime": {"N": str(client.token_lifetime)},
        "status": {"S": client.status.value},
        "created_at": {"N": str(client.created_at)},
        "updated_at": {"N": str(client.updated_at)},
        "version": {"N": str(client.version)},
        "secrets": {"L": [{"M": _encode_secret(s)} for s in client.secrets]},
    }
    if client.jwks is not None:
        item["jwks"] = {"S": client.jwks}
    if client.jwks_uri is not None:
        item["jwks_uri"] = {"S": client.jwks_uri}
    if client.plan is not None:
        item["plan"] = {"S": client.plan}
    if client.permissions:
        item["permissions"] = {"L": [{"S": p} for p in client.permissions]}
    return item


def _encode_secret(secret: StoredSecret) -> dict[str, Any]:
    item: dict[str, Any] = {
        "secret_id": {"S": secret.secret_id},
        "hash": {"B": secret.digest},
        "hash_alg": {"S": secret.hash_alg},
        "created_at": {"N": str(secret.created_at)},
    }
    if secret.expires_at is not None:
        item["expires_at"] = {"N": str(secret.expires_at)}
    return item


def _decode(item: dict[str, Any]) -> Client:
    return Client(
        client_id=item["client_id"]["S"],
        client_name=item.get("client_name", {}).get("S", ""),
        scopes=_strings(item.get("scopes", {})),
        audiences=_strings(item.get("audiences", {})),
        grant_types=_strings(item.get("grant_types", {"L": [{"S": CLIENT_CREDENTIALS}]})),
        token_lifetime=int(item["token_lifetime"]["N"]),
        status=ClientStatus(item["status"]["S"]),
        created_at=int(item.get("created_at", {}).get("N", "0")),
        updated_at=int(item.get("updated_at", {}).get("N", "0")),
        version=int(item.get("version", {}).get("N", "1")),
        secrets=tuple(_decode_secret(member["M"]) for member in item.get("secrets", {}).get("L", [])),
        jwks=item["jwks"]["S"] if "jwks" in item else None,
        jwks_uri=item["jwks_uri"]["S"] if "jwks_uri" in item else None,
        plan=item["plan"]["S"] if "plan" in item else None,
        permissions=_strings(item.get("permissions", {})),
    )


def _decode_secret(item: dict[str, Any]) -> StoredSecret:
    expires = item.get("expires_at")
    return StoredSecret(
        secret_id=item["secret_id"]["S"],
        digest=bytes(item["hash"]["B"]),
        created_at=int(item["created_at"]["N"]),
        expires_at=int(expires["N"]) if expires else None,
        hash_alg=item.get("hash_alg", {}).get("S", HASH_ALGORITHM),
    )


# What ``authenticate`` decodes when no client has the presented id: disabled, with one
# secret whose digest matches nothing: the shape of most clients (one secret; two only mid-roll).
_ABSENT_CLIENT_ITEM: Final = _encode(
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
