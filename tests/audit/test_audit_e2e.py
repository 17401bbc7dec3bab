"""On ``make dev``: what the admin CLI does is in ``audit`` within seconds (the local stream poller feeds the
real recorder), newest first, with no secret in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.local_stack.running_stack import (
    StackProcess,
    admin_json,
    stack_environment,
    start_stack,
    wait_until,
)
from tests.local_stack.test_revoke_tokens_e2e import banner_exports

pytestmark = pytest.mark.e2e

DEADLINE = 30.0  # seconds: the poller runs every second


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("audit"))
    yield running
    running.stop()


def exports(stack: StackProcess) -> dict[str, str]:
    """The banner's ``export`` lines (printed just after the stack reports ready: waited for, bounded)."""

    def printed() -> dict[str, str] | None:
        found = banner_exports(stack)
        return found if "AUDIT_TABLE" in found else None

    found: dict[str, str] = wait_until(printed, DEADLINE, "the banner's export lines")
    return found


def admin(stack: StackProcess, *arguments: str) -> Any:
    return admin_json(stack_environment(stack.state_dir, 0) | exports(stack), *arguments)


def test_the_clis_writes_appear_in_the_audit_trail(stack: StackProcess) -> None:
    created = admin(stack, "create", "--name", "Audited", "--scope", "orders:read", "--client-id", "audited")
    admin(stack, "disable", "audited")

    def recorded() -> list[dict[str, Any]] | None:
        records: list[dict[str, Any]] = admin(stack, "audit", "--client", "audited")["records"]
        return records if len(records) >= 3 else None  # created, disabled, the client's revocation

    records = wait_until(recorded, DEADLINE, "the CLI's writes in the audit trail")
    assert [r["action"] for r in records if r["table"] == "clients"] == ["changed", "created"]
    assert any(r["table"] == "revocations" for r in records)
    assert created["client_secret"] not in json.dumps(records)
