"""Every admin action leaves an audit record (issue 14 item 4, "Must show"): the real CLI and the real
rotation handler write to moto tables built from template.yaml (with its streams); moto's stream records,
shaped as
Lambda delivers them, go through the real AuditRecorderFunction handler into AuditTable."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from partnerauth.audit_trail import AuditedTable, AuditTrail, record_from_stream
from tests.admin_cli.conftest import Run
from tests.audit.conftest import LambdaContext
from tests.audit.stream_events import records_from_moto

ALICE = "arn:aws:sts::123456789012:assumed-role/Operators/alice"
MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"  # what moto's sts:GetCallerIdentity answers


def public_jwk() -> dict[str, str]:
    """A partner's public key, made for the test (never a committed key)."""
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(public).rstrip(b"=").decode()}


def audit_table_items(dynamodb_client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb_client.scan(TableName=table)["Items"]
    return items


def record_everything(
    recorder: ModuleType, dynamodb_client: Any, streams_client: Any, tables: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Feed every stream record so far to the recorder, one Lambda event per table (as Lambda batches)."""
    answers: dict[str, Any] = {}
    fed: list[dict[str, Any]] = []
    for logical_id in ("ClientsTable", "SigningKeysTable", "RevocationsTable", "ApisTable"):
        records = records_from_moto(dynamodb_client, streams_client, tables[logical_id])
        fed.extend(records)
        if records:
            answers[logical_id] = recorder.lambda_handler({"Records": records}, LambdaContext())
    return answers, fed


def secrets_printed(runs: list[Run]) -> list[str]:
    found = []
    for run in runs:
        found += re.findall(r"^  (\S{30,})$", run.out, re.MULTILINE)  # "shown once" lines of the CLI
    return found


def test_every_admin_action_is_recorded_once_and_no_record_holds_a_secret(
    cli: Callable[..., Run],
    recorder: ModuleType,
    rotation: ModuleType,
    tables: dict[str, str],
    dynamodb_client: Any,
    streams_client: Any,
    tmp_path: Any,
) -> None:
    # Given every admin action, through the CLI and the rotation function
    created = cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme")
    assert created.code == 0, created.err
    stored = dynamodb_client.get_item(TableName=tables["ClientsTable"], Key={"client_id": {"S": "acme"}})[
        "Item"
    ]
    hashes = [bytes(s["M"]["hash"]["B"]) for s in stored["secrets"]["L"]]
    first_key, second_key = tmp_path / "first.json", tmp_path / "second.json"
    first_key.write_text(json.dumps({"keys": [public_jwk()]}), encoding="utf-8")
    second_key.write_text(json.dumps(public_jwk()), encoding="utf-8")
    runs = [
        created,
        cli("update", "acme", "--name", "Acme Corp"),
        cli("roll-secret", "acme", "--overlap", "0"),
        cli("disable", "acme"),
        cli("enable", "acme"),
        cli("revoke-tokens", "acme"),
        cli("use-keys", "acme", "--jwks-file", str(first_key), "--overlap", "3600"),
        cli("add-key", "acme", "--jwk-file", str(second_key)),
    ]
    for run in runs:
        assert run.code == 0, run.err
    stored = dynamodb_client.get_item(TableName=tables["ClientsTable"], Key={"client_id": {"S": "acme"}})[
        "Item"
    ]
    hashes += [bytes(s["M"]["hash"]["B"]) for s in stored["secrets"]["L"]]
    kid = json.loads(stored["jwks"]["S"])["keys"][0]["kid"]
    secret_id = stored["secrets"]["L"][0]["M"]["secret_id"]["S"]
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps({"GET /items": ["inventory:read"]}), encoding="utf-8")
    runs += [
        cli("apis", "put", "inventory", "--audience", "inventory-api", "--routes", str(routes)),
        cli("apis", "remove", "inventory", "--yes"),
        cli("remove-key", "acme", kid),
        cli("revoke-secret", "acme", secret_id),
        cli("delete", "acme", "--yes"),
    ]
    for run in runs:
        assert run.code == 0, run.err
    assert rotation.lambda_handler({"action": "reconcile"}, LambdaContext())["ok"]
    assert rotation.lambda_handler({"action": "rotate_now", "requested_by": ALICE}, LambdaContext())["ok"]
    head = dynamodb_client.get_item(TableName=tables["SigningKeysTable"], Key={"kid": {"S": "#current"}})[
        "Item"
    ]
    revoked = rotation.lambda_handler(
        {"action": "revoke", "kid": head["next_kid"]["S"], "requested_by": ALICE}, LambdaContext()
    )
    assert revoked["ok"]

    # When the streams' records reach the recorder
    answers, fed = record_everything(recorder, dynamodb_client, streams_client, tables)

    # Then every stream record is one audit record, none failed
    assert all(answer == {"batchItemFailures": []} for answer in answers.values())
    items = audit_table_items(dynamodb_client, tables["AuditTable"])
    assert len(items) == len(fed)
    trail = AuditTrail(tables["AuditTable"], dynamodb_client)
    newest = max(int(item["at"]["N"]) for item in items)
    records = trail.read(0, newest + 1, limit=1000)
    clients = [r for r in records if r.table == "clients" and r.item_key == "acme"]
    oldest_first = list(reversed(clients))
    # the registry stamps the CLI's identity on every write it makes (moto's caller)
    assert {(r.changed_by, r.attribution.value) for r in oldest_first[:-1]} == {(MOTO_CALLER, "stamped")}
    assert oldest_first[-1].attribution.value == "deletion"
    assert oldest_first[0].action.value == "created"
    assert oldest_first[-1].action.value == "removed"  # delete
    changes = [r.changes for r in oldest_first[1:-1]]
    assert all(r.action.value == "changed" for r in oldest_first[1:-1])
    assert {"old": "Acme", "new": "Acme Corp"} in [c.get("client_name") for c in changes]  # update
    assert [c["status"] for c in changes if "status" in c] == [  # disable, enable
        {"old": "active", "new": "disabled"},
        {"old": "disabled", "new": "active"},
    ]
    secret_lists = [
        [s["secret_id"] for s in c["secrets"]["new"]] for c in changes if "new" in c.get("secrets", {})
    ]
    assert (
        len({len(ids) for ids in secret_lists} | {0}) >= 2
    )  # roll-secret added one, revoke-secret removed one
    kid_lists = [c["jwks"].get("new", {}).get("kids") for c in changes if "jwks" in c]
    assert [len(kids or []) for kids in kid_lists] == [1, 2, 1]  # use-keys, add-key, remove-key
    profiles = [r for r in reversed(records) if r.table == "apis"]
    assert [(r.item_key, r.action.value, r.attribution.value) for r in profiles] == [
        ("inventory", "created", "stamped"),
        ("inventory", "removed", "deletion"),
    ]
    assert profiles[0].changed_by == MOTO_CALLER
    assert json.loads(profiles[0].changes["routes"]["new"]["text"]) == {"GET /items": ["inventory:read"]}
    cuts = [r for r in records if r.table == "revocations" and r.client_id == "acme"]
    assert len(cuts) >= 2  # disable and revoke-tokens each write the client's cut
    keys = [r for r in records if r.table == "signing_keys"]
    assert {r.item_key for r in keys} >= {"#current", head["current_kid"]["S"], head["next_kid"]["S"]}
    by_alice = [r for r in keys if r.changed_by == f"{ALICE} (via KeyRotationFunction)"]
    assert any("revoked" in r.changes for r in by_alice if r.item_key == "#current")
    assert any(r.action.value == "removed" and r.item_key == head["next_kid"]["S"] for r in keys)

    # And no record holds a secret, a secret's hash or a private key
    dumped = json.dumps(items, default=str)
    for secret in secrets_printed(runs):
        assert secret not in dumped
    for digest in hashes:
        for encoding in (
            digest.hex(),
            base64.b64encode(digest).decode(),
            base64.urlsafe_b64encode(digest).decode(),
        ):
            assert encoding not in dumped
    assert "private_key_ciphertext" not in dumped
    assert '"hash"' not in dumped


def test_a_replayed_batch_adds_no_record(
    cli: Callable[..., Run],
    recorder: ModuleType,
    tables: dict[str, str],
    dynamodb_client: Any,
    streams_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme").code == 0
    assert cli("disable", "acme").code == 0
    record_everything(recorder, dynamodb_client, streams_client, tables)
    first = audit_table_items(dynamodb_client, tables["AuditTable"])
    capsys.readouterr()
    # When Lambda delivers the same batch again (a retry after a timeout, a bisection)
    answers, fed = record_everything(recorder, dynamodb_client, streams_client, tables)
    assert all(answer == {"batchItemFailures": []} for answer in answers.values())
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(sum(m.get("AuditRecordsReplayed", [])) for m in metrics) == len(fed)
    assert sum(sum(m.get("AuditRecordsWritten", [])) for m in metrics) == 0
    assert sorted(map(json.dumps, audit_table_items(dynamodb_client, tables["AuditTable"]))) == sorted(
        map(json.dumps, first)
    )


def test_a_malformed_record_is_skipped_and_counted_and_the_rest_of_the_batch_is_recorded(
    cli: Callable[..., Run],
    recorder: ModuleType,
    tables: dict[str, str],
    dynamodb_client: Any,
    streams_client: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme").code == 0
    records = records_from_moto(dynamodb_client, streams_client, tables["ClientsTable"])
    broken = json.loads(json.dumps(records[0], default=str))
    broken["dynamodb"]["SequenceNumber"] = "not-a-number"
    stranger = dict(records[0], eventSourceARN="arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/x")
    answer = recorder.lambda_handler({"Records": [broken, "junk", stranger, *records]}, LambdaContext())
    assert answer == {"batchItemFailures": []}
    assert len(audit_table_items(dynamodb_client, tables["AuditTable"])) == len(records)
    printed = capsys.readouterr().out
    metrics = [json.loads(line) for line in printed.splitlines() if '"_aws"' in line]
    assert sum(sum(m.get("MalformedAuditStreamRecords", [])) for m in metrics) == 3
    skipped = [r for r in caplog.records if r.getMessage() == "stream record skipped"]
    assert sorted(str(getattr(r, "reason", "")) for r in skipped) == [
        "bad_sequence_number",
        "not_a_record",
        "unknown_table",
    ]


def test_a_record_audittable_refuses_is_reported_for_retry_and_nothing_after_it_is_lost(
    cli: Callable[..., Run],
    recorder: ModuleType,
    tables: dict[str, str],
    dynamodb_client: Any,
    streams_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme").code == 0
    assert cli("disable", "acme").code == 0
    records = records_from_moto(dynamodb_client, streams_client, tables["ClientsTable"])
    real_put = dynamodb_client.put_item
    calls = {"n": 0}

    def failing_once(**arguments: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise dynamodb_client.exceptions.ProvisionedThroughputExceededException(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "PutItem",
            )
        return real_put(**arguments)

    monkeypatch.setattr(
        recorder.trail, "_dynamodb", type("Failing", (), {"put_item": staticmethod(failing_once)})()
    )
    answer = recorder.lambda_handler({"Records": records}, LambdaContext())
    # Powertools' BatchProcessor for streams reports the first failure: Lambda retries from there
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}


def test_a_record_once_written_is_never_overwritten(
    cli: Callable[..., Run], tables: dict[str, str], dynamodb_client: Any, streams_client: Any
) -> None:
    # Given a recorded write, and a forged stream record with its sequence number saying something else
    assert cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme").code == 0
    record = records_from_moto(dynamodb_client, streams_client, tables["ClientsTable"])[0]
    trail = AuditTrail(tables["AuditTable"], dynamodb_client)
    recorded = record_from_stream(record, {tables["ClientsTable"]: AuditedTable.CLIENTS})
    assert trail.append(recorded) is True
    forged = replace(recorded, changed_by="someone-else", changes={})
    # When it is appended, Then it is refused and the original stays
    assert trail.append(forged) is False
    (stored,) = trail.read(0, recorded.at + 1)
    assert stored == recorded
