"""Signing keys in DynamoDB, private halves encrypted with KMS.

Table ``SigningKeysTable`` (HASH key ``kid``, TTL attribute ``expires_at``) holds:

* one item per signing key, ``kid`` = the RFC 7638 thumbprint of its public JWK::

    kid, alg, key_spec, state (next | current | retired), created_at, activated_at,
    retired_at, expires_at (retired keys only: DynamoDB TTL), public_jwk (JSON),
    private_key_ciphertext (KMS Encrypt of the PKCS#8 PEM), kms_key_arn

* the head item ``kid = "#current"`` naming the one current key and the one next key::

    current_kid, next_kid, activated_at, version

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

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]
from cryptography.exceptions import UnsupportedAlgorithm

from .errors import ConfigurationError, KeyStoreError
from .jwk import build_jwks
from .keys import SigningKey

HEAD_KID = "#current"  # cannot collide with a key: thumbprints are base64url (RFC 7638 §3)
ENCRYPTION_PURPOSE = "partnerauth-signing-key"
MAX_SCAN_PAGES = 50
MAX_DECRYPTED_KEYS = 4
MAX_HEAD_READS = 3
_UNAVAILABLE = "signing-key store unavailable"
_CONFLICT_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
# What the publishing readers fetch: never the ciphertext.
_METADATA = "kid, alg, key_spec, #state, created_at, activated_at, retired_at, expires_at, public_jwk"
_PROJECTION = f"{_METADATA}, current_kid, next_kid, version"

DynamoDBClient = Any  # botocore client for "dynamodb", injected by the handler
KMSClient = Any  # botocore client for "kms", injected by the handler


class KeyState(StrEnum):
    """Where a signing key is in its life (published in the JWKS in all three)."""

    NEXT = "next"  # published, not yet signing
    CURRENT = "current"  # the one key that signs
    RETIRED = "retired"  # published, verify-only, until expires_at


class ConcurrentChange(KeyStoreError):
    """A conditional write lost against another writer: re-read and plan again (not a failure)."""


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


@dataclass(frozen=True, slots=True)
class KeySet:
    """One read of the table: the head (``None`` before bootstrap) and every key record."""

    head: KeySetHead | None
    keys: Mapping[str, KeyRecord]

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


def _int(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value is not None else None


def _str(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value is not None else None


def _record(item: Mapping[str, Any]) -> KeyRecord:
    return KeyRecord(
        kid=item["kid"]["S"],
        alg=item["alg"]["S"],
        state=KeyState(item["state"]["S"]),
        created_at=int(item["created_at"]["N"]),
        public_jwk=json.loads(item["public_jwk"]["S"]),
        key_spec=_str(item, "key_spec") or "",
        activated_at=_int(item, "activated_at"),
        retired_at=_int(item, "retired_at"),
        expires_at=_int(item, "expires_at"),
    )


def _head(item: Mapping[str, Any]) -> KeySetHead:
    return KeySetHead(
        current_kid=item["current_kid"]["S"],
        next_kid=_str(item, "next_kid"),
        activated_at=int(item["activated_at"]["N"]),
        version=int(item["version"]["N"]),
    )


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
    ) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._kms = kms_client
        self._kms_key_id = kms_key_id
        self._clock = clock
        self._decrypted: dict[str, SigningKey] = {}

    # ----------------------------------------------------------------- readers

    def published_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set (RFC 7517 §5) of every next, current and retired key: current first,
        then next, then retired keys newest first.  A retired key leaves the set the second its
        ``expires_at`` passes, whether or not TTL or the rotator has deleted the item yet.
        Reads no private material."""
        now = self._clock()
        order = {KeyState.CURRENT: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}
        records = sorted(
            (r for r in self.list_keys() if r.expires_at is None or now < r.expires_at),
            key=lambda r: (order[r.state], -(r.retired_at or 0), r.kid),
        )
        return build_jwks(r.public_jwk for r in records)

    def list_keys(self) -> list[KeyRecord]:
        """Metadata of every key (no ciphertext), for operators, publishing and tests."""
        items = self._scan()
        items.pop(HEAD_KID, None)
        return [_record(item) for item in items.values()]

    def read_key_set(self) -> KeySet:
        """The head and all key records, for the rotator (one consistent Scan of a few items).

        A Scan is not a snapshot: when the head and the keys it names disagree (a key missing
        or in another state), they are read again in one transaction (TransactGetItems is
        serializable) before anyone acts on what may only be the Scan's timing.
        """
        items = self._scan()
        head_item = items.pop(HEAD_KID, None)
        head = _head(head_item) if head_item else None
        keys = {kid: _record(item) for kid, item in items.items()}
        for _ in range(MAX_HEAD_READS):
            if head is None or _consistent(head, keys):
                return KeySet(head=head, keys=keys)
            fresh, named = self._read_head_with_keys(_named(head))
            if fresh is None or _named(fresh) == _named(head):
                for kid in _named(head):
                    keys.pop(kid, None)
                keys.update(named)
                return KeySet(head=fresh, keys=keys)
            head = fresh
        raise ConcurrentChange("the key set kept changing while it was read")

    def current_signing_key(self) -> SigningKey:
        """The key that signs now: the head read consistently on every call (a revoked key
        stops signing at once), the private key decrypted with KMS once per ``kid``."""
        for _ in range(2):  # the head may move between our two reads: read it once more
            head = self._get(HEAD_KID, "current_kid")
            if head is None:
                raise KeyStoreError("no signing key yet")
            kid = head["current_kid"]["S"]
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

    # -------------------------------------------------------------- transitions
    # Each method is one atomic write whose conditions restate what the caller saw;
    # losing against a concurrent writer raises ConcurrentChange.

    def bootstrap(self, current: SigningKey, next_key: SigningKey, key_spec: str, now: float) -> None:
        """First key set: ``current`` signs at once, ``next_key`` is published behind it."""
        self._transact(
            [
                self._put_new(
                    {
                        "kid": _s(HEAD_KID),
                        "current_kid": _s(current.kid),
                        "next_kid": _s(next_key.kid),
                        "activated_at": _n(now),
                        "version": _n(1),
                    }
                ),
                self._put_new(self._key_item(current, KeyState.CURRENT, key_spec, now)),
                self._put_new(self._key_item(next_key, KeyState.NEXT, key_spec, now)),
            ]
        )

    def promote_next(
        self, head: KeySetHead, new_next: SigningKey, key_spec: str, now: float, grace: int
    ) -> None:
        """Scheduled rotation: next -> current, current -> retired (until now + grace),
        ``new_next`` published as next."""
        if head.next_kid is None:
            raise ValueError("no next key to promote")
        self._transact(
            [
                self._update_head(
                    head,
                    {"current_kid": _s(head.next_kid), "next_kid": _s(new_next.kid), "activated_at": _n(now)},
                ),
                self._set_state(head.next_kid, KeyState.NEXT, KeyState.CURRENT, now),
                self._retire(head.current_kid, KeyState.CURRENT, now, grace),
                self._put_new(self._key_item(new_next, KeyState.NEXT, key_spec, now)),
            ]
        )

    def add_next(self, head: KeySetHead, new_next: SigningKey, key_spec: str, now: float) -> None:
        """Publish ``new_next`` as next when the head names none (or names a key that is gone)."""
        self._transact(
            [
                self._update_head(head, {"next_kid": _s(new_next.kid)}),
                self._put_new(self._key_item(new_next, KeyState.NEXT, key_spec, now)),
            ]
        )

    def replace_current(
        self, head: KeySetHead, new_current: SigningKey, key_spec: str, now: float, *, old: str, grace: int
    ) -> None:
        """Emergency: ``new_current`` signs at once.  The old current key is ``"retire"``d
        (still published for ``grace``), ``"delete"``d (revoked), or left as it is (``"keep"``:
        it is missing or not in the state the head claims; a later run tidies it up).
        The next key keeps its place."""
        writes = [
            self._update_head(head, {"current_kid": _s(new_current.kid), "activated_at": _n(now)}),
            self._put_new(self._key_item(new_current, KeyState.CURRENT, key_spec, now)),
        ]
        if old == "retire":
            writes.append(self._retire(head.current_kid, KeyState.CURRENT, now, grace))
        elif old == "delete":
            writes.append(self._delete_in_state(head.current_kid, KeyState.CURRENT))
        elif old != "keep":
            raise ValueError("old must be retire, delete or keep")
        self._transact(writes)

    def drop_next(self, head: KeySetHead) -> None:
        """Revoke the next key: delete it and clear the head's ``next_kid``."""
        if head.next_kid is None:
            raise ValueError("no next key to drop")
        self._transact(
            [
                self._update_head(head, {}, remove=("next_kid",)),
                self._delete_in_state(head.next_kid, KeyState.NEXT),
            ]
        )

    def retire_unreferenced(
        self, head: KeySetHead, records: Iterable[KeyRecord], now: float, grace: int
    ) -> None:
        """Repair: keys in ``next``/``current`` that the head (at ``head.version``) does not name
        become retired, still published for ``grace`` in case they signed."""
        writes: list[dict[str, Any]] = [self._check_head(head)]
        writes.extend(self._retire(r.kid, r.state, now, grace) for r in records)
        self._transact(writes)

    def delete_key(self, kid: str, seen: KeyState, head: KeySetHead) -> None:
        """Revoke a key the head does not name (a retired one, or one a repair would retire)."""
        self._transact([self._check_head(head), self._delete_in_state(kid, seen)])

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
        key_id = self._kms_key_id or _str(item, "kms_key_arn")
        arguments: dict[str, Any] = {
            "CiphertextBlob": item["private_key_ciphertext"]["B"],
            "EncryptionContext": encryption_context(kid),
        }
        if key_id:
            arguments["KeyId"] = key_id
        plaintext = self._call(self._kms.decrypt, **arguments)["Plaintext"]
        try:
            key = SigningKey.from_pem(bytes(plaintext), item["alg"]["S"])
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

    def _read_head_with_keys(self, kids: tuple[str, ...]) -> tuple[KeySetHead | None, dict[str, KeyRecord]]:
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
        named = {item["kid"]["S"]: _record(item) for item in items[1:] if item}
        return _head(items[0]), named

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(kid)",
            }
        }

    def _update_head(
        self, head: KeySetHead, assign: Mapping[str, dict[str, str]], remove: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Change the head, only if it is still the version the caller planned from."""
        values = {f":{name}": value for name, value in assign.items()}
        values[":version_seen"] = _n(head.version)
        values[":version_next"] = _n(head.version + 1)
        expression = "SET " + ", ".join(
            ["version = :version_next", *(f"{name} = :{name}" for name in assign)]
        )
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"kid": _s(HEAD_KID)},
                "UpdateExpression": expression,
                "ConditionExpression": "version = :version_seen",
                "ExpressionAttributeValues": values,
            }
        }

    def _check_head(self, head: KeySetHead) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": {"kid": _s(HEAD_KID)},
                "ConditionExpression": "version = :version_seen",
                "ExpressionAttributeValues": {":version_seen": _n(head.version)},
            }
        }

    def _set_state(self, kid: str, seen: KeyState, state: KeyState, now: float) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"kid": _s(kid)},
                "UpdateExpression": "SET #state = :state, activated_at = :now",
                "ConditionExpression": "#state = :seen",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {":state": _s(state), ":seen": _s(seen), ":now": _n(now)},
            }
        }

    def _retire(self, kid: str, seen: KeyState, now: float, grace: int) -> dict[str, Any]:
        return {
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

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        # The request token makes botocore's own retry of a commit that did land a no-op.
        self._call(
            self._dynamodb.transact_write_items, TransactItems=writes, ClientRequestToken=str(uuid.uuid4())
        )

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
