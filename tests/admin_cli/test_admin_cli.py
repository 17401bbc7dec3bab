"""The admin CLI: every command, --json, stack outputs or options, --endpoint-url; secrets shown once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from partnerauth.client_registry import ClientAuthenticationFailed, ClientRegistry, ClientStatus
from tests.support.template import create_all_tables, create_secret_from_template
from tools.partnerauth_admin.cli import main

from .conftest import TOKEN_URL, FakeTty, Run

CREATE = (
    "create",
    "--name",
    "Acme Logistics",
    "--scope",
    "orders:read",
    "--scope",
    "orders:write",
    "--audience",
    "partner-api",
)


def created(cli: Callable[..., Run], *extra: str) -> dict[str, Any]:
    run = cli(*CREATE, *extra, json_output=True)
    assert run.code == 0, run.err
    document: dict[str, Any] = run.json()
    return document


def test_create_prints_the_secret_once_and_it_authenticates(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    document = created(cli)
    client_id, secret = document["client"]["client_id"], document["client_secret"]
    assert secret.startswith("pacs_")
    assert document["token_endpoint"] == TOKEN_URL
    assert document["client"]["token_lifetime"] == 900  # the stack's TokenLifetime
    assert registry.authenticate(client_id, secret).client_name == "Acme Logistics"
    # Nothing else ever prints it again
    for argv in (("show", client_id), ("list",)):
        for json_output in (False, True):
            run = cli(*argv, json_output=json_output)
            assert run.code == 0
            assert secret not in run.out
            assert "hash" not in run.out


def test_create_human_output_names_the_secret_as_shown_once(cli: Callable[..., Run]) -> None:
    run = cli(*CREATE, "--client-id", "acme", "--lifetime", "600")
    assert run.code == 0, run.err
    assert "Created client acme (Acme Logistics)" in run.out
    assert "shown once" in run.out
    assert "pacs_" in run.out
    assert TOKEN_URL in run.out


def test_list_and_show(cli: Callable[..., Run]) -> None:
    first = created(cli, "--client-id", "a-client")
    created(cli, "--client-id", "b-client")
    listing = cli("list", json_output=True).json()
    assert [c["client_id"] for c in listing["clients"]] == ["a-client", "b-client"]
    human = cli("list")
    assert "a-client" in human.out
    assert "b-client" in human.out
    shown = cli("show", "a-client", json_output=True).json()["client"]
    assert shown["scopes"] == ["orders:read", "orders:write"]
    assert [s["secret_id"] for s in shown["secrets"]] == [first["secret_id"]]
    assert "status:      active" in cli("show", "a-client").out


def test_update_replaces_scopes_audiences_and_lifetime(cli: Callable[..., Run]) -> None:
    created(cli, "--client-id", "acme")
    run = cli(
        "update",
        "acme",
        "--scope",
        "inventory:read orders:read",
        "--audience",
        "https://inventory.example.test",
        "--lifetime",
        "1200",
        "--name",
        "Acme Ltd",
        json_output=True,
    )
    assert run.code == 0, run.err
    client = run.json()["client"]
    assert client["scopes"] == ["inventory:read", "orders:read"]
    assert client["audiences"] == ["https://inventory.example.test"]
    assert client["token_lifetime"] == 1200
    assert client["client_name"] == "Acme Ltd"


def test_lifetime_above_the_stack_maximum_is_refused(cli: Callable[..., Run]) -> None:
    run = cli(*CREATE, "--lifetime", "3601")
    assert run.code == 1
    assert "token_lifetime" in run.err


def test_disable_and_enable_cut_a_partner_off_and_back(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    document = created(cli)
    client_id, secret = document["client"]["client_id"], document["client_secret"]
    assert cli("disable", client_id, json_output=True).json()["client"]["status"] == "disabled"
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate(client_id, secret)
    assert cli("enable", client_id).code == 0
    assert registry.get(client_id).status is ClientStatus.ACTIVE
    assert registry.authenticate(client_id, secret).client_id == client_id


def test_roll_secret_keeps_the_old_one_for_the_overlap(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    document = created(cli)
    client_id, old = document["client"]["client_id"], document["client_secret"]
    rolled = cli("roll-secret", client_id, "--overlap", "3600", json_output=True)
    assert rolled.code == 0, rolled.err
    new = rolled.json()["client_secret"]
    assert new != old
    assert registry.authenticate(client_id, old).client_id == client_id
    assert registry.authenticate(client_id, new).client_id == client_id
    secrets = rolled.json()["client"]["secrets"]
    assert secrets[0]["expires_at"] is not None  # the old one now expires
    assert secrets[1]["expires_at"] is None


def test_roll_with_zero_overlap_and_revoke_secret(cli: Callable[..., Run], registry: ClientRegistry) -> None:
    document = created(cli)
    client_id, old = document["client"]["client_id"], document["client_secret"]
    rolled = cli("roll-secret", client_id, "--overlap", "0", json_output=True).json()
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate(client_id, old)
    assert cli("revoke-secret", client_id, rolled["secret_id"]).code == 0
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate(client_id, rolled["client_secret"])


def test_revoking_an_unknown_secret_id_says_which_was_not_found(cli: Callable[..., Run]) -> None:
    client_id = created(cli)["client"]["client_id"]
    result = cli("revoke-secret", client_id, "sec_nope")
    assert result.code != 0
    assert "no secret with this id" in result.err
    assert "no such client" not in result.err
    assert "Traceback" not in result.err


def test_third_live_secret_is_an_error_not_a_traceback(cli: Callable[..., Run]) -> None:
    client_id = created(cli)["client"]["client_id"]
    assert cli("roll-secret", client_id).code == 0
    run = cli("roll-secret", client_id)
    assert run.code == 1
    assert run.err.startswith("error: the client already has two live secrets")
    assert "Traceback" not in run.err


def test_delete_needs_confirmation(cli: Callable[..., Run], registry: ClientRegistry) -> None:
    created(cli, "--client-id", "acme")
    refused = cli("delete", "acme")
    assert refused.code == 2
    assert "--yes" in refused.err
    assert cli("delete", "acme", stdin=FakeTty("wrong\n")).code == 2
    assert registry.get("acme").client_id == "acme"
    assert cli("delete", "acme", stdin=FakeTty("acme\n")).code == 0
    created(cli, "--client-id", "beta")
    run = cli("delete", "beta", "--yes", json_output=True)
    assert run.json() == {"deleted": "beta"}
    assert cli("show", "beta").code == 1


@pytest.mark.parametrize("argv", [("show", "nobody"), ("disable", "nobody"), ("delete", "nobody", "--yes")])
def test_missing_client_is_an_error(argv: tuple[str, ...], cli: Callable[..., Run]) -> None:
    run = cli(*argv)
    assert run.code == 1
    assert run.err == "error: no such client\n"


def test_table_and_pepper_from_options_without_a_stack(
    tables: dict[str, str],
    pepper_secret_arn: str,
    registry: ClientRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["--table", tables["ClientsTable"], "--pepper-secret-arn", pepper_secret_arn, "--json", *CREATE]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert "token_endpoint" not in document
    assert registry.authenticate(document["client"]["client_id"], document["client_secret"])


def test_read_only_commands_do_not_need_the_pepper(
    tables: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--table", tables["ClientsTable"], "list"]) == 0


def test_no_table_is_a_clear_error(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 1
    assert "--stack-name or --table" in capsys.readouterr().err


def test_unknown_stack_is_a_clear_error(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack-name", "nope", "list"]) == 1
    assert capsys.readouterr().err.startswith("error: AWS call failed: ValidationError")


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (what the local stack runs), reached only through --endpoint-url."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_endpoint_url_reaches_the_local_stack(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    table = create_all_tables(dynamodb, name_prefix="local-")["ClientsTable"]
    arn = create_secret_from_template(
        boto3.client("secretsmanager", endpoint_url=moto_endpoint), name="local-pepper"
    )
    base = ["--endpoint-url", moto_endpoint, "--table", table, "--pepper-secret-arn", arn, "--json"]
    assert main([*base, *CREATE, "--client-id", "local-partner"]) == 0
    capsys.readouterr()
    assert main([*base, "list"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [c["client_id"] for c in listing["clients"]] == ["local-partner"]
    # The item really is in the server's table, not in some in-process mock
    assert dynamodb.get_item(TableName=table, Key={"client_id": {"S": "local-partner"}})["Item"]


def test_endpoint_url_from_the_environment(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    table = create_all_tables(dynamodb, name_prefix="env-")["ClientsTable"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    assert main(["--table", table, "list"]) == 0
