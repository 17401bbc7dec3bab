"""``audit [--client ID] [--since WHEN] [--limit N]``: read the audit trail (issue 14 item 4).

Every committed write to ClientsTable, SigningKeysTable and RevocationsTable - by this CLI, the rotation
function, the console or any other tool - is recorded by AuditRecorderFunction in AuditTable
(:mod:`partnerauth.audit_trail`).  This command only reads it: newest first, one line per record (who, when,
which item, what changed), at most ``--limit`` records.  ``--since`` is an ISO 8601 time (``2026-12-01``,
``2026-12-01T08:00:00Z``) or a duration back from now (``90m``, ``12h``, ``7d``; default 7 days).

``who`` is the writer's own stamp (``changed_by``) and its ``attribution`` says how far it can be taken:
``stamped``, ``not_restamped`` (the write left an earlier stamp), ``unstamped``, ``deletion`` (a delete
carries no stamp: see CloudTrail), ``ttl`` (DynamoDB expired it).  SECURITY.md, "Audit trail": what it
proves.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from partnerauth.audit_trail import AuditRecord, AuditTrail

from .aws_context import AwsContext, ContextError

if TYPE_CHECKING:
    from .cli import Output

COMMAND: Final = "audit"
DEFAULT_SINCE: Final = 7 * 86_400
DEFAULT_LIMIT: Final = 100
_DURATION = re.compile(r"([0-9]{1,6})([smhd])")
_UNITS: Final = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


class InvalidSince(ContextError):
    """``--since`` is neither an ISO 8601 time nor a duration."""


def add_commands(commands: Any) -> None:
    audit = commands.add_parser(COMMAND, help="who changed what, newest first (the audit trail)")
    audit.add_argument("--client", dest="audit_client", metavar="CLIENT_ID", help="one client's records only")
    audit.add_argument(
        "--since", default=f"{DEFAULT_SINCE // 86_400}d", help="ISO 8601 time, or a duration: 90m, 12h, 7d"
    )
    audit.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"records at most (default {DEFAULT_LIMIT})"
    )
    audit.add_argument("--audit-table", help="env AUDIT_TABLE; default: stack output AuditTableName")


def since_epoch(text: str, now: float) -> int:
    """``--since`` as epoch seconds: a duration back from ``now``, or an ISO 8601 time (UTC if no offset)."""
    duration = _DURATION.fullmatch(text.strip())
    if duration:
        return int(now) - int(duration.group(1)) * _UNITS[duration.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidSince(
            "--since must be an ISO 8601 time (2026-12-01T08:00:00Z) or a duration (12h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def audit_table(context: AwsContext, name: str | None) -> str:
    found = name or context.env.get("AUDIT_TABLE") or context.output("AuditTableName")
    if not found:
        raise ContextError("no audit table: pass --stack-name or --audit-table (or set AUDIT_TABLE)")
    return found


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return "-" if value is None else str(value)


def change_text(changes: Any) -> str:
    parts = []
    for name, change in changes.items():
        if "note" in change:
            parts.append(f"{name}: {change['note']}")
        elif "old" in change and "new" in change:
            parts.append(f"{name}: {_value(change['old'])} -> {_value(change['new'])}")
        elif "new" in change:
            parts.append(f"{name}: {_value(change['new'])}")
        else:
            parts.append(f"{name}: {_value(change['old'])} (removed)")
    return "; ".join(parts) or "(no recorded attribute changed)"


def record_line(record: AuditRecord) -> str:
    who = (
        record.changed_by
        if record.attribution == "stamped"
        else f"{record.changed_by} [{record.attribution}]"
    )
    return (
        f"{_when(record.at)}  {record.table.value:12} {record.item_key}  {record.action.value}  by {who}  "
        f"{change_text(record.changes)}"
    )


def run(
    args: argparse.Namespace, context: AwsContext, out: Output, clock: Callable[[], float] = time.time
) -> int:
    now = clock()
    since = since_epoch(args.since, now)
    if not 0 < args.limit <= 1000:
        raise ContextError("--limit must be between 1 and 1000")
    trail = AuditTrail(audit_table(context, args.audit_table), context.client("dynamodb"))
    records = trail.read(since, int(now), client_id=args.audit_client, limit=args.limit)
    if out.as_json:
        out.json({"since": since, "records": [record.as_dict() for record in records]})
        return 0
    for record in records:
        out.line(record_line(record))
    if not records:
        out.line(f"no audit records since {_when(since)}")
    elif len(records) == args.limit:
        out.line(f"(the newest {args.limit}; use --since or --limit for more)")
    return 0
