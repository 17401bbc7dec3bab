"""The admin CLI under lost answers (issue 19 item 2); the caller identity on every write (issue 14 item 4).

A write whose answer is lost after DynamoDB committed it reports success with what it must show (the new
secret of a roll, the first secret of a create); every write is stamped with the caller's STS identity, and
without an identity nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry
from tests.support.lost_answers import BOTOCORE_RETRY, LOST_ANSWER, CommitThenFail, server_error
from tools.partnerauth_admin.aws_context import AwsContext

from .conftest import Run

CREATE = ("create", "--name", "Acme", "--scope", "orders:read", "--audience", "partner-api")
CALLER = "arn:aws:sts::123456789012:user/moto"  # moto's GetCallerIdentity


@pytest.fixture
def lose_next(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """``lose_next("put_item", mode)``: the CLI's next such DynamoDB call commits, then loses its answer."""
    armed: dict[str, str] = {}
    real = AwsContext.client

    def client(self: AwsContext, service: str) -> Any:
        made = real(self, service)
        if service == "dynamodb" and armed:
            return CommitThenFail(made, armed["operation"], armed["mode"])
        return made

    monkeypatch.setattr(AwsContext, "client", client)

    def arm(operation: str, mode: str) -> None:
        armed.update(operation=operation, mode=mode)

    return arm


def shown_secret(run: Run) -> str:
    return run.out.strip().splitlines()[-1].strip()


@pytest.mark.parametrize("mode", [LOST_ANSWER, BOTOCORE_RETRY])
def test_create_reports_its_own_client_and_its_secret(
    mode: str, cli: Callable[..., Run], lose_next: Callable[[str, str], None], registry: ClientRegistry
) -> None:
    lose_next("put_item", mode)
    created = cli(*CREATE, "--client-id", "acme")
    assert created.code == 0, created.err  # not "already exists" about its own client
    assert registry.authenticate("acme", shown_secret(created)).client_id == "acme"


@pytest.mark.parametrize("mode", [LOST_ANSWER, BOTOCORE_RETRY])
def test_roll_secret_with_zero_overlap_shows_the_secret_it_stored(
    mode: str, cli: Callable[..., Run], lose_next: Callable[[str, str], None], registry: ClientRegistry
) -> None:
    assert cli(*CREATE, "--client-id", "acme").code == 0
    lose_next("put_item", mode)
    rolled = cli("roll-secret", "acme", "--overlap", "0")
    assert rolled.code == 0, rolled.err  # not "changed concurrently"
    assert registry.authenticate("acme", shown_secret(rolled)).client_id == "acme"
    assert len(registry.get("acme").secrets) == 1


def test_every_write_is_stamped_with_the_callers_identity(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    assert cli(*CREATE, "--client-id", "acme").code == 0
    assert registry.get("acme").changed_by == CALLER
    for argv in (("update", "acme", "--name", "B"), ("disable", "acme"), ("enable", "acme")):
        before = registry.get("acme")
        assert cli(*argv).code == 0
        after = registry.get("acme")
        assert (after.changed_by, after.version) == (CALLER, before.version + 1)
        assert after.last_request != before.last_request
        assert after.changed_at is not None
    shown = cli("show", "acme").out
    assert f"changed by:  {CALLER} (last request {registry.get('acme').last_request})" in shown


def test_without_an_identity_no_write_is_made(
    cli: Callable[..., Run], registry: ClientRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(*CREATE, "--client-id", "acme").code == 0
    before = registry.get("acme")
    real = AwsContext.client

    def client(self: AwsContext, service: str) -> Any:
        made = real(self, service)
        if service != "sts":
            return made

        class NoIdentity:
            def get_caller_identity(self) -> Any:
                raise server_error("GetCallerIdentity")

        return NoIdentity()

    monkeypatch.setattr(AwsContext, "client", client)
    refused = cli("disable", "acme")
    assert refused.code == 1
    assert re.search(r"cannot learn your AWS identity .*nothing was changed", refused.err)
    assert registry.get("acme") == before
    assert cli("show", "acme").code == 0  # reads need no identity
