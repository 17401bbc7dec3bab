"""Admin CLI: client permissions beyond the token grant (issue 14 item 3: introspection, RFC 7662 §2.1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from partnerauth.client_registry import INTROSPECT, ClientRegistry

from .conftest import Run

CREATE = ("create", "--name", "Acme", "--scope", "orders:read", "--audience", "partner-api")


def test_create_with_the_introspect_permission_stores_it(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    created = cli(*CREATE, "--client-id", "rs", "--permission", INTROSPECT)
    assert created.code == 0, created.err
    assert registry.get("rs").permissions == (INTROSPECT,)
    assert "permissions: introspect" in cli("show", "rs").out


def test_a_client_has_no_permission_unless_granted(cli: Callable[..., Run], registry: ClientRegistry) -> None:
    assert cli(*CREATE, "--client-id", "acme").code == 0
    assert registry.get("acme").permissions == ()
    assert cli("--json", "show", "acme").json()["client"]["permissions"] == []


def test_update_grants_and_removes_the_permission(cli: Callable[..., Run], registry: ClientRegistry) -> None:
    cli(*CREATE, "--client-id", "rs")
    assert cli("update", "rs", "--permission", INTROSPECT).code == 0
    assert registry.get("rs").permissions == (INTROSPECT,)
    assert cli("update", "rs", "--name", "Renamed").code == 0  # other changes leave permissions alone
    assert registry.get("rs").permissions == (INTROSPECT,)
    assert cli("update", "rs", "--no-permissions").code == 0
    assert registry.get("rs").permissions == ()


def test_contradicting_permission_options_change_nothing(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    cli(*CREATE, "--client-id", "rs", "--permission", INTROSPECT)
    before = registry.get("rs")
    refused = cli("update", "rs", "--permission", INTROSPECT, "--no-permissions")
    assert refused.code == 1
    assert registry.get("rs") == before


def test_an_unknown_permission_is_refused_by_the_parser(cli: Callable[..., Run]) -> None:
    with pytest.raises(SystemExit):
        cli(*CREATE, "--permission", "admin")


def test_list_shows_plan_and_permissions(cli: Callable[..., Run]) -> None:
    cli(*CREATE, "--client-id", "rs", "--permission", INTROSPECT)
    cli(*CREATE, "--client-id", "plain")
    listed = cli("list")
    assert listed.code == 0, listed.err
    rows = {line.split()[0]: line.split() for line in listed.out.splitlines()[1:]}
    assert "introspect" in rows["rs"]
    assert "introspect" not in rows["plain"]
    assert [c["permissions"] for c in cli("--json", "list").json()["clients"]] == [[], [INTROSPECT]]
