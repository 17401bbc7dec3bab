"""``audit [--client ID] [--since WHEN] [--limit N]`` reads the trail newest first, one line per record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.audit_trail import Action, Attribution, AuditedTable, AuditRecord, AuditTrail
from tests.admin_cli.conftest import Run
from tests.audit.conftest import START
from tools.partnerauth_admin.audit_commands import InvalidSince, since_epoch

ALICE = "arn:aws:sts::123456789012:assumed-role/Operators/alice"
HOUR, DAY = 3_600, 86_400


def record(at: int, item: str, sequence: int, **fields: Any) -> AuditRecord:
    defaults: dict[str, Any] = {
        "table": AuditedTable.CLIENTS,
        "item_key": item,
        "action": Action.CHANGED,
        "changed_by": ALICE,
        "attribution": Attribution.STAMPED,
        "at": at,
        "sequence_number": str(sequence),
        "changes": {"status": {"old": "active", "new": "disabled"}},
        "client_id": item,
    }
    return AuditRecord(**{**defaults, **fields})


@pytest.fixture
def trail(tables: dict[str, str], dynamodb_client: Any) -> AuditTrail:
    written = AuditTrail(tables["AuditTable"], dynamodb_client)
    for entry in (
        record(START - 3 * DAY, "acme", 1),  # three days ago
        record(START - 2 * HOUR, "globex", 2, action=Action.CREATED, changes={"status": {"new": "active"}}),
        record(START - HOUR, "acme", 3, changes={"client_name": {"old": "Acme", "new": "Acme Corp"}}),
        record(
            START - 60,
            "#current",
            4,
            table=AuditedTable.SIGNING_KEYS,
            client_id=None,
            changed_by="unknown (last stamp: x)",
            attribution=Attribution.NOT_RESTAMPED,
            changes={"current_kid": {"old": "k1", "new": "k2"}},
        ),
    ):
        assert written.append(entry)
    return written


def test_audit_lists_the_last_week_newest_first_one_line_each(
    cli: Callable[..., Run], trail: AuditTrail
) -> None:
    listed = cli("audit")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert len(lines) == 4
    assert "#current" in lines[0]
    assert "[not_restamped]" in lines[0]
    assert "current_kid: k1 -> k2" in lines[0]
    assert "acme  changed  by " + ALICE in lines[1]
    assert "client_name: Acme -> Acme Corp" in lines[1]
    assert "globex  created" in lines[2]
    assert "status: active -> disabled" in lines[3]


def test_audit_of_one_client_shows_only_its_records(cli: Callable[..., Run], trail: AuditTrail) -> None:
    listed = cli("audit", "--client", "acme", json_output=True)
    assert listed.code == 0, listed.err
    assert [(r["item"], r["sequence_number"]) for r in listed.json()["records"]] == [
        ("acme", "3"),
        ("acme", "1"),
    ]


@pytest.mark.parametrize(
    ("since", "items"), [("90m", ["#current", "acme"]), ("1d", ["#current", "acme", "globex"])]
)
def test_audit_since_a_duration(
    cli: Callable[..., Run], trail: AuditTrail, since: str, items: list[str]
) -> None:
    listed = cli("audit", "--since", since, json_output=True)
    assert [r["item"] for r in listed.json()["records"]] == items


def test_audit_limit_keeps_the_newest_and_says_so(cli: Callable[..., Run], trail: AuditTrail) -> None:
    listed = cli("audit", "--limit", "2")
    assert len(listed.out.splitlines()) == 3
    assert "the newest 2" in listed.out
    assert cli("audit", "--limit", "0").code == 1


def test_audit_with_nothing_recorded_says_so(cli: Callable[..., Run], tables: dict[str, str]) -> None:
    listed = cli("audit")
    assert listed.code == 0
    assert "no audit records since" in listed.out


def test_a_since_that_is_neither_a_time_nor_a_duration_is_an_error(
    cli: Callable[..., Run], trail: AuditTrail
) -> None:
    refused = cli("audit", "--since", "last tuesday")
    assert refused.code == 1
    assert "--since must be" in refused.err


def test_since_reads_iso_times_and_durations() -> None:
    assert since_epoch("7d", START) == START - 7 * DAY
    assert since_epoch("90m", START) == START - 90 * 60
    assert since_epoch("2027-01-15T08:00:00Z", START) == START  # START is 2027-01-15 08:00 UTC
    assert since_epoch("2027-01-15", START) == since_epoch("2027-01-15T00:00:00+00:00", START)
    with pytest.raises(InvalidSince):
        since_epoch("7 days", START)
