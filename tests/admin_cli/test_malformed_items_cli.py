"""The admin CLI on malformed client items (issue 19): `list` shows every client and one line per malformed
item (exit status 1: something needs repair), `show`/`update` say why in one line and change nothing,
`disable` and `delete` still work (the incident-response actions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry
from tests.token_issuer.malformed_items import STORABLE, Shape

from .conftest import Run

CREATE = ("create", "--name", "Acme", "--scope", "orders:read", "--audience", "partner-api")


def break_item(dynamodb_client: Any, tables: dict[str, str], client_id: str, shape: Shape) -> dict[str, Any]:
    key = {"client_id": {"S": client_id}}
    item = dynamodb_client.get_item(TableName=tables["ClientsTable"], Key=key, ConsistentRead=True)["Item"]
    broken = shape.applied(item)
    dynamodb_client.put_item(TableName=tables["ClientsTable"], Item=broken)
    return dict(broken)


@pytest.fixture
def with_broken(
    cli: Callable[..., Run], dynamodb_client: Any, tables: dict[str, str]
) -> Callable[[Shape], None]:
    def make(shape: Shape) -> None:
        assert cli(*CREATE, "--client-id", "good").code == 0
        assert cli(*CREATE, "--client-id", "bad").code == 0
        break_item(dynamodb_client, tables, "bad", shape)

    return make


@pytest.fixture
def all_broken(cli: Callable[..., Run], dynamodb_client: Any, tables: dict[str, str]) -> dict[str, Shape]:
    """One good client and, beside it, one item per storable malformed shape (``bad-NN``: the good item
    copied and broken that one way).  One table for every shape: the CLI reads them all in one run."""
    assert cli(*CREATE, "--client-id", "good").code == 0
    table = tables["ClientsTable"]
    item = dynamodb_client.get_item(TableName=table, Key={"client_id": {"S": "good"}}, ConsistentRead=True)
    broken: dict[str, Shape] = {}
    for index, shape in enumerate(STORABLE):
        client_id = f"bad-{index:02d}"
        dynamodb_client.put_item(
            TableName=table, Item=shape.applied({**item["Item"], "client_id": {"S": client_id}})
        )
        broken[client_id] = shape
    return broken


def test_list_shows_every_client_and_each_malformed_item(
    cli: Callable[..., Run], all_broken: dict[str, Shape]
) -> None:
    listed = cli("list")
    assert listed.code == 1  # documented: a malformed item needs repair
    rows = listed.out.splitlines()[1:]
    assert rows[0].split()[0] == "good"
    shown = {row.split()[0]: row for row in rows[1:]}
    assert shown.keys() == all_broken.keys()
    for client_id, shape in all_broken.items():
        assert f"MALFORMED ({shape.reason})" in shown[client_id], shape.name
    assert "malformed client item" in listed.err
    document = cli("--json", "list").json()
    assert [c["client_id"] for c in document["clients"]] == ["good"]
    assert sorted(document["malformed"], key=lambda entry: entry["client_id"]) == [
        {"client_id": client_id, "reason": shape.reason} for client_id, shape in sorted(all_broken.items())
    ]


def test_show_and_update_of_a_malformed_item_say_why_and_change_nothing(
    cli: Callable[..., Run],
    with_broken: Callable[[Shape], None],
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    with_broken(STORABLE[3])  # no scopes
    before = dynamodb_client.scan(TableName=tables["ClientsTable"])["Items"]
    for argv in (("show", "bad"), ("update", "bad", "--name", "X"), ("roll-secret", "bad")):
        refused = cli(*argv)
        assert refused.code == 1
        assert refused.err.count("\n") == 1  # one line, no traceback
        assert "malformed (scopes)" in refused.err
        assert "`disable` still works" in refused.err
    assert dynamodb_client.scan(TableName=tables["ClientsTable"])["Items"] == before


def test_disable_and_delete_work_on_a_malformed_item(
    cli: Callable[..., Run], all_broken: dict[str, Shape], registry: ClientRegistry
) -> None:
    for client_id, shape in all_broken.items():
        disabled = cli("disable", client_id)
        assert disabled.code == 0, (shape.name, disabled.err)
        assert registry._existing(client_id).item["status"] == {"S": "disabled"}, shape.name
        assert cli("delete", client_id, "--yes").code == 0, shape.name
        assert registry.find(client_id) is None, shape.name
    assert [c.client_id for c in registry.list_clients()] == ["good"]
