"""A partner client as stored in ClientsTable (HASH ``client_id``): the model and its one codec.

One item per client::

    client_id S | client_name S | scopes L<S>|SS | audiences L<S>|SS | grant_types L<S>|SS?
    token_lifetime N | status S (active|disabled) | created_at N? | updated_at N? | version N?
    secrets L<M{secret_id S, hash B, hash_alg S?, created_at N, expires_at N?}>   (at most two live)
    jwks S? (a public JWK Set, canonical JSON) | jwks_uri S?      (private_key_jwt: :mod:`.client_keys`)
    plan S? | permissions L<S>|SS?
    changed_by S? | changed_at N? | last_request S?               (who wrote it, when, and which write)

Reading is strict and never crashes (issue 19): :func:`decode_client` either returns a :class:`Client`
or raises :class:`MalformedClientItem` with a fixed reason naming the attribute at fault, never the
item's content.  What is tolerated, and why (docs/DESIGN.md, "Stored items: forward compatibility"):

* **attributes this version does not know** are ignored when read and kept when written
  (:func:`unknown_attributes`): a newer version may add one, and an older CLI must not erase it;
* **string sets** (``SS``) for scopes, audiences, grant types and permissions: a legal DynamoDB
  representation that other tools (the console, ``boto3.resource`` with a Python ``set``) write;
* **no ``version``**: a hand-written item; it reads as version 0 and the next write's condition
  accepts "no version yet" (``attribute_not_exists(version) OR version = 0``).

What is refused: any known attribute of the wrong type, a number that is not an integer, an empty
scope or audience list, a token lifetime below one second, an unreadable secret, an inline key set
that does not parse, and a **status this version does not know**: a client is active only when its
status says exactly ``active``, so an unknown status (a newer version's) authenticates nobody rather
than everybody.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from .client_keys import key_infos
from .client_secrets import HASH_ALGORITHM
from .errors import PartnerAuthError

CLIENT_CREDENTIALS: Final = "client_credentials"
PRIVATE_KEY_JWT: Final = "private_key_jwt"  # RFC 7591 §2 token_endpoint_auth_method
CLIENT_SECRET: Final = "client_secret_basic"  # and client_secret_post: both are always accepted
VERSION: Final = "version"
LAST_REQUEST: Final = "last_request"
CHANGED_BY: Final = "changed_by"
CHANGED_AT: Final = "changed_at"


class ClientStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class MalformedClientItem(PartnerAuthError):
    """A stored client item this version cannot read.  ``reason`` is a fixed string naming the attribute
    at fault (``"scopes"``, ``"status"``, ``"secrets"`` ...), never a value from the item."""

    def __init__(self, reason: str, client_id: str | None = None) -> None:
        self.reason = reason
        self.client_id = client_id  # when the item's own client_id could be read
        super().__init__(f"the client's stored item is malformed ({reason})")


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
    changed_by: str | None = None  # the AWS identity of the last write (issue 14 item 4: the audit trail)
    changed_at: int | None = None
    last_request: str | None = None  # the last write's request id (idempotent retries: client_registry)

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
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
            "last_request": self.last_request,
        }


# -- writing -------------------------------------------------------------------------------------


def encode_client(client: Client) -> dict[str, Any]:
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
        VERSION: {"N": str(client.version)},
        "secrets": {"L": [{"M": _encode_secret(s)} for s in client.secrets]},
    }
    optional: dict[str, Any] = {
        "jwks": None if client.jwks is None else {"S": client.jwks},
        "jwks_uri": None if client.jwks_uri is None else {"S": client.jwks_uri},
        "plan": None if client.plan is None else {"S": client.plan},
        "permissions": {"L": [{"S": p} for p in client.permissions]} if client.permissions else None,
        CHANGED_BY: None if client.changed_by is None else {"S": client.changed_by},
        CHANGED_AT: None if client.changed_at is None else {"N": str(client.changed_at)},
        LAST_REQUEST: None if client.last_request is None else {"S": client.last_request},
    }
    item.update((name, value) for name, value in optional.items() if value is not None)
    return item


KNOWN_ATTRIBUTES: Final = frozenset(
    {
        "client_id",
        "client_name",
        "scopes",
        "audiences",
        "grant_types",
        "token_lifetime",
        "status",
        "created_at",
        "updated_at",
        VERSION,
        "secrets",
        "jwks",
        "jwks_uri",
        "plan",
        "permissions",
        CHANGED_BY,
        CHANGED_AT,
        LAST_REQUEST,
    }
)


def unknown_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a stored item this version does not know: a rewrite keeps them as they are."""
    return {name: value for name, value in item.items() if name not in KNOWN_ATTRIBUTES}


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


# -- reading -------------------------------------------------------------------------------------


class _Malformed(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def item_client_id(item: Any) -> str | None:
    """The item's ``client_id`` when it is a string (for naming a malformed item), else ``None``."""
    value = item.get("client_id") if isinstance(item, dict) else None
    text = value.get("S") if isinstance(value, dict) else None
    return text if isinstance(text, str) else None


def decode_client(item: Any) -> Client:
    """The client an item holds, or :class:`MalformedClientItem` (fixed reason, never the content)."""
    client_id = item_client_id(item)
    try:
        if client_id is None or not client_id:
            raise _Malformed("client_id")
        return _decode(item, client_id)
    except _Malformed as malformed:
        raise MalformedClientItem(malformed.reason, client_id) from None


def _decode(item: dict[str, Any], client_id: str) -> Client:
    status_text = _string(item, "status")
    if status_text not in {status.value for status in ClientStatus}:
        raise _Malformed("status")  # an unknown status is never read as active (see the module docstring)
    lifetime = _integer(item, "token_lifetime")
    if lifetime is None or lifetime < 1:
        raise _Malformed("token_lifetime")
    scopes = _strings(item, "scopes")
    audiences = _strings(item, "audiences")
    if not scopes:
        raise _Malformed("scopes")
    if not audiences:
        raise _Malformed("audiences")
    name = _string(item, "client_name")
    if name is None:
        raise _Malformed("client_name")
    return Client(
        client_id=client_id,
        client_name=name,
        scopes=scopes,
        audiences=audiences,
        grant_types=_strings(item, "grant_types", default=(CLIENT_CREDENTIALS,)),
        token_lifetime=lifetime,
        status=ClientStatus(status_text),
        created_at=_integer(item, "created_at", default=0) or 0,
        updated_at=_integer(item, "updated_at", default=0) or 0,
        version=_integer(item, VERSION, default=0) or 0,
        secrets=_secrets(item),
        jwks=_jwks(item),
        jwks_uri=_string(item, "jwks_uri", optional=True),
        plan=_string(item, "plan", optional=True),
        permissions=_strings(item, "permissions", default=()),
        changed_by=_string(item, CHANGED_BY, optional=True),
        changed_at=_integer(item, CHANGED_AT, default=None),
        last_request=_string(item, LAST_REQUEST, optional=True),
    )


_MISSING: Final[Any] = object()
_MAX_DIGITS: Final = 20
# ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and "--5" passes lstrip("-").
_INTEGER: Final = re.compile(r"-?[0-9]+")


def _attribute(item: dict[str, Any], name: str, kind: str, *, required: bool) -> Any:
    """The value of ``item[name]`` of DynamoDB type ``kind``; ``_MISSING`` when absent and optional."""
    if name not in item:
        if required:
            raise _Malformed(name)
        return _MISSING
    value = item[name]
    if not isinstance(value, dict) or kind not in value:
        raise _Malformed(name)
    return value[kind]


def _string(item: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    text = _attribute(item, name, "S", required=not optional)
    if text is _MISSING:
        return None
    if not isinstance(text, str):
        raise _Malformed(name)
    return text


def _integer(item: dict[str, Any], name: str, *, default: Any = _MISSING) -> int | None:
    text = _attribute(item, name, "N", required=default is _MISSING)
    if text is _MISSING:  # parsed all the same: the work of a read must not depend on what the item holds
        parsed = _parsed_integer("0" if default is None else str(default), name)
        return None if default is None else parsed
    return _parsed_integer(text, name)


def _parsed_integer(text: Any, name: str) -> int:
    # DynamoDB numbers are decimal text; ours are whole seconds or counts: "1.5", "1e3" or "abc" is malformed.
    if not isinstance(text, str) or not _INTEGER.fullmatch(text) or len(text) > _MAX_DIGITS:
        raise _Malformed(name)
    return int(text)


def _strings(item: dict[str, Any], name: str, *, default: Any = _MISSING) -> tuple[str, ...]:
    """Strings stored as ``L`` of ``S`` or as a string set ``SS`` (both legal; see the docstring)."""
    if name not in item:
        if default is _MISSING:
            raise _Malformed(name)
        return tuple(default)
    value = item[name]
    if not isinstance(value, dict) or len(value) != 1:
        raise _Malformed(name)
    if "SS" in value and isinstance(value["SS"], list):
        members = value["SS"]
        if not all(isinstance(member, str) for member in members):
            raise _Malformed(name)
        return tuple(sorted(members))  # a set has no order: sorted, so reads are stable
    if "L" in value and isinstance(value["L"], list):
        texts = [member.get("S") if isinstance(member, dict) else None for member in value["L"]]
        if not all(isinstance(text, str) for text in texts):
            raise _Malformed(name)
        return tuple(dict.fromkeys(texts))  # type: ignore[arg-type]  # checked: every member is a str
    raise _Malformed(name)


def _secrets(item: dict[str, Any]) -> tuple[StoredSecret, ...]:
    members = _attribute(item, "secrets", "L", required=False)
    if members is _MISSING:
        return ()
    if not isinstance(members, list):
        raise _Malformed("secrets")
    return tuple(_decode_secret(member) for member in members)


def _decode_secret(member: Any) -> StoredSecret:
    fields = member.get("M") if isinstance(member, dict) else None
    if not isinstance(fields, dict):
        raise _Malformed("secrets")
    try:
        secret_id = _string(fields, "secret_id")
        digest = _attribute(fields, "hash", "B", required=True)
        created_at = _integer(fields, "created_at")
        expires_at = _integer(fields, "expires_at", default=None)
        hash_alg = _string(fields, "hash_alg", optional=True)
    except _Malformed:
        raise _Malformed("secrets") from None
    if not isinstance(digest, bytes | bytearray) or created_at is None:
        raise _Malformed("secrets")
    return StoredSecret(
        secret_id=secret_id,
        digest=bytes(digest),
        created_at=created_at,
        expires_at=expires_at,
        hash_alg=HASH_ALGORITHM if hash_alg is None else hash_alg,
    )


def _jwks(item: dict[str, Any]) -> str | None:
    """The inline key set's JSON, checked to be a JWK Set whose keys can be described (kid, type,
    thumbprint); the keys themselves are parsed where they are used (private_key_jwt)."""
    text = _string(item, "jwks", optional=True)
    if text is None:
        return None
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise _Malformed("jwks")
        for key in document["keys"]:
            if not isinstance(key, dict) or not isinstance(key.get("kid"), str):
                raise _Malformed("jwks")
        key_infos(document)
    except (ValueError, TypeError, KeyError, RecursionError):
        raise _Malformed("jwks") from None
    return str(text)
