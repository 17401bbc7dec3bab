"""The admin CLI on malformed client items (issue 19): `list` shows every client and one line per malformed
item (exit status 1: something needs repair), `show`/`update` say why in one line and change nothing,
`disable` and `delete` still work (the incident-response actions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry
from tests.token_issuer.malformed_items import STORABLE, Shape, shape_id

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


@pytest.mark.parametrize("shape", STORABLE, ids=shape_id)
def test_list_shows_every_client_and_each_malformed_item(
    shape: Shape, cli: Callable[..., Run], with_broken: Callable[[Shape], None]
) -> None:
    with_broken(shape)
    listed = cli("list")
    assert listed.code == 1  # documented: a malformed item needs repair
    rows = listed.out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["good", "bad"]
    assert f"MALFORMED ({shape.reason})" in rows[1]
    assert "malformed client item" in listed.err
    document = cli("--json", "list").json()
    assert [c["client_id"] for c in document["clients"]] == ["good"]
    assert document["malformed"] == [{"client_id": "bad", "reason": shape.reason}]


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


@pytest.mark.parametrize("shape", STORABLE, ids=shape_id)
def test_disable_and_delete_work_on_a_malformed_item(
    shape: Shape, cli: Callable[..., Run], with_broken: Callable[[Shape], None], registry: ClientRegistry
) -> None:
    with_broken(shape)
    disabled = cli("disable", "bad")
    assert disabled.code == 0, disabled.err
    stored = registry._existing("bad").item
    assert stored["status"] == {"S": "disabled"}
    assert cli("delete", "bad", "--yes").code == 0
    assert registry.find("bad") is None
    assert [c.client_id for c in registry.list_clients()] == ["good"]
