"""``make dev``'s stand-in for the recorder's event source mappings (local/audit_streams.py), against moto."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from local.audit_streams import StreamPoller, audited_tables
from tests.admin_cli.conftest import Run
from tests.audit.conftest import LambdaContext
from tests.support.template import Template


def test_the_polled_tables_are_the_ones_the_template_maps_to_the_recorder(
    cfn_template: Template, tables: dict[str, str]
) -> None:
    assert audited_tables(cfn_template, tables) == sorted(
        tables[t] for t in ("ApisTable", "ClientsTable", "RevocationsTable", "SigningKeysTable")
    )


def test_each_poll_delivers_what_was_written_since_the_last(
    cfn_template: Template,
    cli: Callable[..., Run],
    recorder: ModuleType,
    tables: dict[str, str],
    dynamodb_client: Any,
    streams_client: Any,
) -> None:
    events: list[dict[str, Any]] = []

    def deliver(event: dict[str, Any]) -> Any:
        events.append(event)
        return recorder.lambda_handler(event, LambdaContext())

    poller = StreamPoller(dynamodb_client, streams_client, audited_tables(cfn_template, tables), deliver)
    assert poller.poll_once() == 0
    assert cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme").code == 0
    assert poller.poll_once() == 1
    assert poller.poll_once() == 0  # nothing new
    assert cli("disable", "acme").code == 0  # the client item and its revocation
    assert poller.poll_once() == 2
    assert len(dynamodb_client.scan(TableName=tables["AuditTable"])["Items"]) == 3
    arns = {
        dynamodb_client.describe_table(TableName=tables[t])["Table"]["LatestStreamArn"]
        for t in ("ClientsTable", "RevocationsTable")
    }
    assert {r["eventSourceARN"] for e in events for r in e["Records"]} == arns


def test_a_batch_with_failures_is_delivered_again(
    cfn_template: Template,
    cli: Callable[..., Run],
    recorder: ModuleType,
    tables: dict[str, str],
    dynamodb_client: Any,
    streams_client: Any,
) -> None:
    answers = [{"batchItemFailures": [{"itemIdentifier": "x"}]}]

    def deliver(event: dict[str, Any]) -> Any:
        return answers.pop() if answers else recorder.lambda_handler(event, LambdaContext())

    poller = StreamPoller(dynamodb_client, streams_client, audited_tables(cfn_template, tables), deliver)
    assert cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme").code == 0
    assert poller.poll_once() == 0  # the recorder failed: not counted, not skipped
    assert poller.poll_once() == 1
    assert len(dynamodb_client.scan(TableName=tables["AuditTable"])["Items"]) == 1
