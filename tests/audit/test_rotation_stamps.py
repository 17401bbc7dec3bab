"""The rotation function stamps who asked on every signing-key item it writes (issue 14 items 4-5)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tests.audit.conftest import LambdaContext

ALICE = "arn:aws:sts::123456789012:assumed-role/Operators/alice"


def stamps(dynamodb_client: Any, table: str) -> dict[str, str | None]:
    items = dynamodb_client.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["kid"]["S"]: item.get("changed_by", {}).get("S") for item in items}


def test_a_scheduled_run_stamps_the_schedule(
    rotation: ModuleType, tables: dict[str, str], dynamodb_client: Any
) -> None:
    answer = rotation.lambda_handler({"action": "reconcile"}, LambdaContext())
    assert answer["ok"] is True
    stamped = stamps(dynamodb_client, tables["SigningKeysTable"])
    assert len(stamped) == 3  # the head, the current and the next key
    assert set(stamped.values()) == {rotation.UNSTATED}


def test_rotate_now_stamps_the_requester_on_the_head_and_every_key_it_writes(
    rotation: ModuleType, tables: dict[str, str], dynamodb_client: Any
) -> None:
    rotation.lambda_handler({"action": "reconcile"}, LambdaContext())
    answer = rotation.lambda_handler({"action": "rotate_now", "requested_by": ALICE}, LambdaContext())
    assert answer["ok"] is True
    changed = {t["kid"] for t in answer["transitions"]}
    stamped = stamps(dynamodb_client, tables["SigningKeysTable"])
    expected = f"{ALICE} (via KeyRotationFunction)"
    assert stamped["#current"] == expected
    assert {kid for kid, by in stamped.items() if by == expected} == changed | {"#current"}


def test_revoke_stamps_the_head_that_remembers_the_revoked_kid(
    rotation: ModuleType, tables: dict[str, str], dynamodb_client: Any
) -> None:
    rotation.lambda_handler({"action": "reconcile"}, LambdaContext())
    head = dynamodb_client.get_item(TableName=tables["SigningKeysTable"], Key={"kid": {"S": "#current"}})[
        "Item"
    ]
    upcoming = head["next_kid"]["S"]
    answer = rotation.lambda_handler(
        {"action": "revoke", "kid": upcoming, "requested_by": ALICE}, LambdaContext()
    )
    assert answer["ok"] is True
    head = dynamodb_client.get_item(TableName=tables["SigningKeysTable"], Key={"kid": {"S": "#current"}})[
        "Item"
    ]
    assert upcoming in head["revoked"]["M"]
    assert head["changed_by"]["S"] == f"{ALICE} (via KeyRotationFunction)"


def test_a_requested_by_that_is_not_a_short_printable_string_is_refused_before_anything_changes(
    rotation: ModuleType, tables: dict[str, str], dynamodb_client: Any
) -> None:
    for stated in (7, "", "a b", "x" * 257, "evil\n"):
        answer = rotation.lambda_handler({"action": "reconcile", "requested_by": stated}, LambdaContext())
        assert answer == {"ok": False, "error": "invalid_event", "message": answer["message"]}
    assert dynamodb_client.scan(TableName=tables["SigningKeysTable"])["Items"] == []
