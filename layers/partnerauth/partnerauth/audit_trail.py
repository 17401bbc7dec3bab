"""The audit trail: who changed which item of the admin tables, when, and what changed (issue 14 item 4).

Source: the DynamoDB Streams (``NEW_AND_OLD_IMAGES``) of ``ClientsTable``, ``SigningKeysTable`` and
``RevocationsTable``.  A stream holds every committed write whatever wrote it - the admin CLI, the rotation
function, the console, a script - so the trail cannot be bypassed by skipping the CLI.  The recorder function
turns each stream record into one :class:`AuditRecord` (:func:`record_from_stream`) and writes it once to
``AuditTable`` (:class:`AuditTrail`, a conditional ``PutItem`` keyed by the stream's own sequence number, so a
replayed batch adds nothing).

**Who** is the item's ``changed_by`` (the writer's AWS identity, an STS ARN) as the write left it.  It is the
writer's statement, not a proof: :class:`Attribution` says how far it can be taken.  A write that did not
change its stamp (``changed_by``/``changed_at`` as in the old image) is recorded as ``not_restamped``
with the last stamp named, never as that earlier writer's act.  A deletion carries no stamp (DynamoDB's
stream record of a ``DeleteItem`` holds only the old image), except DynamoDB's TTL deletions, which it marks
(``userIdentity`` of type ``Service``, principal ``dynamodb.amazonaws.com``).

**What changed** is an attribute-level diff of the two images, reduced to what may be kept forever:

* only attributes this module knows are recorded with their values; any other attribute (a newer version's,
  a hand-written one) is named with its value left out;
* binary values are never recorded (a secret's HMAC is one): a client's ``secrets`` keep ``secret_id``,
  ``hash_alg`` and their dates; a client's registered ``jwks`` is recorded as the kids it holds;
* a signing-key item is recorded by kid, state and dates (never ``public_jwk``, ``private_key_ciphertext``
  or ``kms_key_arn``); the ``#current`` head by the kids it names and its version;
* strings are cut at :data:`MAX_STRING` characters, so a hostile item cannot make a record unwritable.

A stream record that cannot be read is :class:`MalformedStreamRecord` with a fixed reason (the recorder counts
it and goes on with the batch).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from .errors import PartnerAuthError

DAY: Final = 86_400
# PCI DSS v4.0 req. 10.5.1: audit history kept at least 12 months; 400 days is a year plus a margin.
DEFAULT_RETENTION_DAYS: Final = 400
MAX_STRING: Final = 512  # a recorded string value, at most (longer ones are cut, marked "...")
MAX_ITEM_KEY: Final = 256
MAX_CHANGED_BY: Final = 512
MAX_PAGE: Final = 1000  # records one ``read`` returns at most
NOT_RECORDED: Final = "(value not recorded)"
BINARY: Final = "(binary, not recorded)"
UNKNOWN_ACTOR: Final = "unknown"
TTL_ACTOR: Final = "dynamodb.amazonaws.com (TTL expiry)"
CHANGES_LEFT_OUT: Final = "(changed in a part that is not recorded)"
_SEQUENCE = re.compile(r"[0-9]{1,40}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")
_TABLE_ARN = re.compile(r"arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/([A-Za-z0-9_.-]{3,255})/stream/\S+")

DynamoDBClient = Any  # botocore client for "dynamodb", injected


class AuditedTable(StrEnum):
    """The tables whose streams feed the trail (the record's ``table``)."""

    CLIENTS = "clients"
    SIGNING_KEYS = "signing_keys"
    REVOCATIONS = "revocations"
    APIS = "apis"  # API profiles: a route map decides which scope a route needs


class Action(StrEnum):
    CREATED = "created"  # stream INSERT
    CHANGED = "changed"  # MODIFY
    REMOVED = "removed"  # REMOVE


class Attribution(StrEnum):
    """How the record's ``changed_by`` was found (what it proves: SECURITY.md, "Audit trail")."""

    STAMPED = "stamped"  # the write set changed_by (and changed_at) itself
    NOT_RESTAMPED = "not_restamped"  # the write left an earlier writer's stamp: who is unknown
    UNSTAMPED = "unstamped"  # the new image has no changed_by
    MALFORMED_STAMP = "malformed_stamp"  # changed_by is not a short printable string
    DELETION = "deletion"  # a delete: the stream's old image only, no stamp of the deleter
    TTL = "ttl"  # DynamoDB's TTL deleted the item (the stream says so)


class AuditTrailError(PartnerAuthError):
    """The audit table could not be read or written (the recorder retries the record)."""


class MalformedStreamRecord(PartnerAuthError):
    """A stream record that cannot be read; ``reason`` is fixed (safe to log and count)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------------------------------- values


def _cut(text: str) -> str:
    return text if len(text) <= MAX_STRING else text[: MAX_STRING - 3] + "..."


def plain(value: Any) -> Any:
    """A DynamoDB attribute value (``{"S": ...}``) as JSON, binary left out (never recorded)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise MalformedStreamRecord("bad_image")
    ((kind, raw),) = value.items()
    converters: dict[str, Callable[[Any], Any]] = {
        "S": lambda v: _cut(str(v)),
        "N": lambda v: int(v) if re.fullmatch(r"-?[0-9]{1,19}", str(v)) else _cut(str(v)),
        "BOOL": bool,
        "NULL": lambda _: None,
        "B": lambda _: BINARY,
        "BS": lambda _: BINARY,
        "SS": lambda v: sorted(_cut(str(s)) for s in v),
        "NS": lambda v: sorted(str(n) for n in v),
        "L": lambda v: [plain(member) for member in v],
        "M": lambda v: {str(k): plain(member) for k, member in v.items()},
    }
    if kind not in converters:
        raise MalformedStreamRecord("bad_image")
    try:
        return converters[kind](raw)
    except (TypeError, ValueError, AttributeError):
        raise MalformedStreamRecord("bad_image") from None


def _secret_entry(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return NOT_RECORDED
    kept = ("secret_id", "hash_alg", "created_at", "expires_at")
    return {name: value[name] for name in kept if name in value}


def _client_secrets(value: Any) -> Any:
    """``secrets``: each entry's id, algorithm and dates; its hash never."""
    return [_secret_entry(entry) for entry in value] if isinstance(value, list) else NOT_RECORDED


def _jwks_kids(value: Any) -> Any:
    """A registered public JWK Set, as the kids it holds (the keys are public, the list is what matters)."""
    try:
        document = json.loads(value) if isinstance(value, str) else None
        keys = document.get("keys") if isinstance(document, dict) else None
        if isinstance(keys, list):
            return {"kids": sorted(_cut(str(k.get("kid", "?"))) for k in keys if isinstance(k, dict))}
    except ValueError:
        pass
    return NOT_RECORDED


_Keep = Callable[[Any], Any]


def _as_is(value: Any) -> Any:
    return value


_CLIENT_ATTRIBUTES: Final[Mapping[str, _Keep]] = {
    **dict.fromkeys(
        ("client_id", "client_name", "scopes", "audiences", "grant_types", "token_lifetime", "status",
         "created_at", "updated_at", "version", "jwks_uri", "plan", "permissions", "last_request"),
        _as_is,
    ),
    "secrets": _client_secrets,
    "jwks": _jwks_kids,
}  # fmt: skip
_SIGNING_KEY_ATTRIBUTES: Final[Mapping[str, _Keep]] = dict.fromkeys(
    ("kid", "alg", "key_spec", "state", "created_at", "activated_at", "retired_at", "expires_at",
     # the "#current" head
     "current_kid", "next_kid", "version", "last_write", "rotated_now_at", "revoked"),
    _as_is,
)  # fmt: skip
_SIGNING_KEY_SECRET_ATTRIBUTES: Final = frozenset({"private_key_ciphertext", "public_jwk", "kms_key_arn"})
_REVOCATION_ATTRIBUTES: Final[Mapping[str, _Keep]] = dict.fromkeys(
    ("member", "client_id", "issued_before", "expires_at", "revoked_at"), _as_is
)


def _route_map(value: Mapping[str, Any]) -> Any:
    """A profile's route map (JSON text, longer than a recorded string may be): the digest of the whole
    text, so that any change shows, and the text cut."""
    text = value.get("S")
    if not isinstance(text, str):
        return NOT_RECORDED
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], "text": _cut(text)}


_API_ATTRIBUTES: Final[Mapping[str, _Keep]] = dict.fromkeys(("name", "audience", "version"), _as_is)
# Attributes recorded from their stored (typed) value rather than its plain form.
_FROM_STORED: Final[Mapping[AuditedTable, Mapping[str, Callable[[Mapping[str, Any]], Any]]]] = {
    AuditedTable.APIS: {"routes": _route_map},
}
_RECORDED: Final[Mapping[AuditedTable, Mapping[str, _Keep]]] = {
    AuditedTable.CLIENTS: _CLIENT_ATTRIBUTES,
    AuditedTable.SIGNING_KEYS: _SIGNING_KEY_ATTRIBUTES,
    AuditedTable.REVOCATIONS: _REVOCATION_ATTRIBUTES,
    AuditedTable.APIS: _API_ATTRIBUTES,
}
_LEFT_OUT: Final[Mapping[AuditedTable, frozenset[str]]] = {
    AuditedTable.SIGNING_KEYS: _SIGNING_KEY_SECRET_ATTRIBUTES,
}
_KEY_ATTRIBUTE: Final = {
    AuditedTable.CLIENTS: "client_id",
    AuditedTable.SIGNING_KEYS: "kid",
    AuditedTable.REVOCATIONS: "member",
    AuditedTable.APIS: "name",
}
# Who and when, as each table's writers stamp them (ApisTable's predates the audit trail).
STAMP_ATTRIBUTES: Final = ("changed_by", "changed_at")
_STAMPS: Final[Mapping[AuditedTable, tuple[str, str]]] = {AuditedTable.APIS: ("updated_by", "updated_at")}
# A write id every write of the item replaces (the signing-key head's, a client's, a profile's version): a
# restamp even when one actor writes twice within a second.
WRITE_ID_ATTRIBUTES: Final = ("last_write", "last_request", "version")


def stamp_attributes(table: AuditedTable) -> tuple[str, str]:
    """``(who, when)`` attribute names of ``table``'s stamp."""
    return _STAMPS.get(table, STAMP_ATTRIBUTES)


def _recorded_value(table: AuditedTable, name: str, value: Mapping[str, Any]) -> Any:
    from_stored = _FROM_STORED.get(table, {}).get(name)
    if not isinstance(value, Mapping):
        raise MalformedStreamRecord("bad_image")
    if from_stored is not None:
        return from_stored(value)
    keep = _RECORDED[table].get(name)
    if keep is None:
        return NOT_RECORDED
    return keep(plain(value))


def diff(table: AuditedTable, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Attribute -> ``{"old": ..., "new": ...}`` (a side left out when the attribute is absent there), for
    every attribute whose stored value differs, recorded as the rules above allow."""
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(old) | set(new)):
        left_out = name in stamp_attributes(table) or name in _LEFT_OUT.get(table, frozenset())
        if left_out or old.get(name) == new.get(name):
            continue
        sides = (("old", old), ("new", new))
        change = {side: _recorded_value(table, name, image[name]) for side, image in sides if name in image}
        if "old" in change and "new" in change and change["old"] == change["new"]:
            change = {"note": CHANGES_LEFT_OUT}  # e.g. a secret's hash replaced in place
        changes[name] = change
    return changes


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One committed write to one item of an audited table."""

    table: AuditedTable
    item_key: str
    action: Action
    changed_by: str
    attribution: Attribution
    at: int  # when DynamoDB committed the write (the stream's ApproximateCreationDateTime), epoch seconds
    sequence_number: str  # the stream's: unique per table, the record's identity
    changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    client_id: str | None = None

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%d")

    @property
    def event_key(self) -> str:
        """Sorts by commit time; unique (the sequence number is unique within its table's stream)."""
        return event_key(self.at, self.table, self.sequence_number)

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "at": self.at,
            "table": self.table.value,
            "item": self.item_key,
            "action": self.action.value,
            "changed_by": self.changed_by,
            "attribution": self.attribution.value,
            "changes": dict(self.changes),
            "sequence_number": self.sequence_number,
        }
        if self.client_id is not None:
            document["client_id"] = self.client_id
        return document


def event_key(at: int, table: str, sequence_number: str) -> str:
    return f"{at:010d}#{table}#{sequence_number:0>40}"


def _label(text: str) -> str:
    """An item key or client id as it may be recorded: itself if short and printable, else a fingerprint."""
    if len(text) <= MAX_ITEM_KEY and _PRINTABLE.fullmatch(text):
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _string(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, Mapping) and isinstance(value.get("S"), str):
        return str(value["S"])
    return None


def _attribute(image: Mapping[str, Any], name: str) -> Any:
    return image.get(name)


def _who(
    table: AuditedTable, action: Action, old: Mapping[str, Any], new: Mapping[str, Any], ttl: bool
) -> tuple[str, Attribution]:
    if action is Action.REMOVED:
        return (TTL_ACTOR, Attribution.TTL) if ttl else (UNKNOWN_ACTOR, Attribution.DELETION)
    who = stamp_attributes(table)[0]
    if who not in new:
        return UNKNOWN_ACTOR, Attribution.UNSTAMPED
    stamp = _string(new, who)
    if stamp is None or not 0 < len(stamp) <= MAX_CHANGED_BY or not _PRINTABLE.fullmatch(stamp):
        return UNKNOWN_ACTOR, Attribution.MALFORMED_STAMP
    restamped = action is Action.CREATED or any(
        _attribute(old, name) != _attribute(new, name)
        for name in (*stamp_attributes(table), *WRITE_ID_ATTRIBUTES)
    )
    if not restamped:
        return f"{UNKNOWN_ACTOR} (last stamp: {stamp})", Attribution.NOT_RESTAMPED
    return stamp, Attribution.STAMPED


_ACTIONS: Final = {"INSERT": Action.CREATED, "MODIFY": Action.CHANGED, "REMOVE": Action.REMOVED}


def table_name_of(event_source_arn: object) -> str | None:
    """The table name in a stream ARN (``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<x>``)."""
    if not isinstance(event_source_arn, str):
        return None
    match = _TABLE_ARN.fullmatch(event_source_arn)
    return match.group(1) if match else None


def record_from_stream(record: object, tables: Mapping[str, AuditedTable]) -> AuditRecord:
    """One Lambda DynamoDB-stream event record (``tables``: table name -> which table it is) as the audit
    record of its write; :class:`MalformedStreamRecord` for anything that is not one."""
    if not isinstance(record, Mapping):
        raise MalformedStreamRecord("not_a_record")
    table = tables.get(table_name_of(record.get("eventSourceARN")) or "")
    if table is None:
        raise MalformedStreamRecord("unknown_table")
    action = _ACTIONS.get(str(record.get("eventName")))
    if action is None:
        raise MalformedStreamRecord("unknown_event")
    stream = record.get("dynamodb")
    if not isinstance(stream, Mapping):
        raise MalformedStreamRecord("missing_stream_data")
    sequence = stream.get("SequenceNumber")
    if not isinstance(sequence, str) or not _SEQUENCE.fullmatch(sequence):
        raise MalformedStreamRecord("bad_sequence_number")
    at = stream.get("ApproximateCreationDateTime")
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < 10**11:
        raise MalformedStreamRecord("bad_time")
    old, new = stream.get("OldImage", {}), stream.get("NewImage", {})
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        raise MalformedStreamRecord("bad_image")
    if (action is not Action.CREATED and not old) or (action is not Action.REMOVED and not new):
        raise MalformedStreamRecord("missing_image")  # a stream without NEW_AND_OLD_IMAGES
    keys = stream.get("Keys")
    item_key = _string(keys, _KEY_ATTRIBUTE[table]) if isinstance(keys, Mapping) else None
    if item_key is None:
        raise MalformedStreamRecord("missing_key")
    identity = record.get("userIdentity")
    ttl = (
        isinstance(identity, Mapping)
        and identity.get("type") == "Service"
        and identity.get("principalId") == "dynamodb.amazonaws.com"
    )
    changed_by, attribution = _who(table, action, old, new, ttl)
    client_id = item_key if table is AuditedTable.CLIENTS else _string(new or old, "client_id")
    return AuditRecord(
        table=table,
        item_key=_label(item_key),
        action=action,
        changed_by=changed_by,
        attribution=attribution,
        at=int(at),
        sequence_number=sequence,
        changes=diff(table, old, new),
        client_id=None if client_id is None else _label(client_id),
    )


# -------------------------------------------------------------------------------------------------- table


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _from_item(item: Mapping[str, Any]) -> AuditRecord:
    try:
        return AuditRecord(
            table=AuditedTable(item["table"]["S"]),
            item_key=item["item_key"]["S"],
            action=Action(item["action"]["S"]),
            changed_by=item["changed_by"]["S"],
            attribution=Attribution(item["attribution"]["S"]),
            at=int(item["at"]["N"]),
            sequence_number=item["sequence_number"]["S"],
            changes=json.loads(item["changes"]["S"]),
            client_id=item["client_id"]["S"] if "client_id" in item else None,
        )
    except (KeyError, TypeError, ValueError):
        raise AuditTrailError("an audit record cannot be read") from None


class AuditTrail:
    """``AuditTable``: HASH ``day`` (UTC date), RANGE ``event_key``; GSI ``by_client`` (HASH
    ``client_id``, RANGE ``event_key``); TTL ``expires_at``.  Written only by the recorder (append only),
    read by ``audit``."""

    CLIENT_INDEX: Final = "by_client"

    def __init__(
        self, table: str, dynamodb: DynamoDBClient, retention_days: int = DEFAULT_RETENTION_DAYS
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be positive")
        self._table = table
        self._dynamodb = dynamodb
        self._retention = retention_days * DAY

    @property
    def retention_days(self) -> int:
        return self._retention // DAY

    def append(self, record: AuditRecord) -> bool:
        """Write ``record`` once: ``False`` when it is there already (a replayed stream record)."""
        item: dict[str, Any] = {
            "day": _s(record.day),
            "event_key": _s(record.event_key),
            "table": _s(record.table),
            "item_key": _s(record.item_key),
            "action": _s(record.action),
            "changed_by": _s(record.changed_by),
            "attribution": _s(record.attribution),
            "at": _n(record.at),
            "sequence_number": _s(record.sequence_number),
            "changes": _s(json.dumps(record.changes, sort_keys=True, separators=(",", ":"))),
            "expires_at": _n(record.at + self._retention),
        }
        if record.client_id is not None:
            item["client_id"] = _s(record.client_id)
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(event_key)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise AuditTrailError("audit table unavailable") from error
        except BotoCoreError as error:
            raise AuditTrailError("audit table unavailable") from error
        return True

    def read(
        self, since: int, now: int, *, client_id: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Records committed at or after ``since``, newest first, at most ``limit`` (<= :data:`MAX_PAGE`)."""
        limit = max(1, min(limit, MAX_PAGE))
        since = max(since, now - self._retention)
        lowest = event_key(max(since, 0), "", "")
        found: list[AuditRecord] = []
        for key_condition, values, index in self._partitions(since, now, client_id):
            arguments: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": f"{key_condition} AND event_key >= :lowest",
                "ExpressionAttributeNames": {"#p": "client_id" if index else "day"},
                "ExpressionAttributeValues": {**values, ":lowest": _s(lowest)},
                "ScanIndexForward": False,
            }
            if index:
                arguments["IndexName"] = index
            for page in self._pages(arguments, limit - len(found)):
                found.extend(_from_item(item) for item in page)
                if len(found) >= limit:
                    return found[:limit]
        return found

    def _partitions(
        self, since: int, now: int, client_id: str | None
    ) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        if client_id is not None:
            yield "#p = :p", {":p": _s(client_id)}, self.CLIENT_INDEX
            return
        day = now - now % DAY
        while day + DAY > since:  # newest day first; at most retention_days + 1 partitions
            yield "#p = :p", {":p": _s(datetime.fromtimestamp(day, UTC).strftime("%Y-%m-%d"))}, None
            day -= DAY

    def _pages(self, arguments: dict[str, Any], wanted: int) -> Iterator[list[Mapping[str, Any]]]:
        for _ in range(MAX_PAGE):  # bounded: every page holds at least one item or ends the query
            try:
                page = self._dynamodb.query(**arguments, Limit=max(1, min(wanted, MAX_PAGE)))
            except (ClientError, BotoCoreError) as error:
                raise AuditTrailError("audit table unavailable") from error
            items = page.get("Items", [])
            yield items
            wanted -= len(items)
            if "LastEvaluatedKey" not in page or wanted <= 0:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
