"""The admin CLI's ``apis`` commands: the API registry the authorizer reads its API profiles from.

Validated before anything is written, written with the one codec (partnerauth.api_profiles), conditional
on the version it replaces, signed with the caller's identity, and every failure one line on stderr.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from partnerauth.api_profiles import STAGE_VARIABLE, profile_from_item
from tests.support.clock import FakeClock
from tools.partnerauth_admin import cli as admin_cli
from tools.partnerauth_admin.apis import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    ApiRegistry,
    ConcurrentChange,
)
from tools.partnerauth_admin.cli import main

from .conftest import FakeTty, Run

STACK = "partnerauth-apis-test"
NOW = 1_800_000_000
ROUTES = {
    "GET /warehouses": ["inventory:read"],
    "GET /warehouses/{id}": ["inventory:read"],
    "PUT /warehouses/{id}/stock/{sku}": ["inventory:write"],
}
MOTO_CALLER_ARN = "arn:aws:sts::123456789012:user/moto"  # what moto's STS GetCallerIdentity answers


@pytest.fixture
def apis_table(tables: dict[str, str]) -> str:
    """The template's ApisTable (partition key ``name``, S), created as template.yaml defines it."""
    return tables["ApisTable"]


@pytest.fixture
def stack(apis_table: str) -> str:
    """A stack whose outputs name the registry table, as the deployed stack's do."""
    template = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApisTableName": {"Value": apis_table}},
    }
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    return STACK


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def cli(stack: str, clock: FakeClock) -> Callable[..., Run]:
    """``cli("apis", "list")`` against the stack; ``stdin=`` for confirmations, ``json_output`` for --json."""

    def run(*argv: str, stdin: io.StringIO | None = None, json_output: bool = False) -> Run:
        out, err = io.StringIO(), io.StringIO()
        prefix = ["--stack-name", stack, *(["--json"] if json_output else [])]
        code = main([*prefix, *argv], stdout=out, stderr=err, stdin=stdin or io.StringIO(), clock=clock)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def routes_file(tmp_path: Path) -> Callable[[Any], str]:
    """``routes_file(document)``: a route map file (a str is written as is); its path."""
    counter = iter(range(1000))

    def write(document: Any) -> str:
        path = tmp_path / f"routes-{next(counter)}.json"
        if isinstance(document, bytes):
            path.write_bytes(document)
        else:
            path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
        return str(path)

    return write


def items(dynamodb_client: Any, table: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = dynamodb_client.scan(TableName=table)["Items"]
    return found


def put(cli: Callable[..., Run], path: str, *extra: str, name: str = "inventory") -> Run:
    return cli("apis", "put", name, "--audience", "inventory-api", "--routes", path, *extra)


# -- put --------------------------------------------------------------------------------------------------


def test_put_writes_the_item_the_authorizer_reads(
    cli: Callable[..., Run], routes_file: Callable[[Any], str], dynamodb_client: Any, apis_table: str
) -> None:
    run = put(cli, routes_file(ROUTES))
    assert run.code == EXIT_OK, run.err
    (item,) = items(dynamodb_client, apis_table)
    profile = profile_from_item(item)  # the authorizer's own codec reads it back
    assert (profile.name, profile.audience, profile.version, len(profile.routes)) == (
        "inventory",
        "inventory-api",
        1,
        3,
    )
    assert profile.routes.route_for_template("PUT", "/warehouses/{id}/stock/{sku}") is not None
    assert item["updated_at"] == {"N": str(NOW)}
    assert item["updated_by"] == {"S": MOTO_CALLER_ARN}  # STS GetCallerIdentity


def test_put_tells_the_operator_what_to_do_next(
    cli: Callable[..., Run], routes_file: Callable[[Any], str]
) -> None:
    run = put(cli, routes_file(ROUTES))
    assert "Registered API profile inventory (version 1, 3 routes)" in run.out
    assert f"{STAGE_VARIABLE}=inventory" in run.out  # the stage variable to set
    assert "audience:        inventory-api" in run.out  # what partners must request
    assert "60 s" in run.out  # when authorizers see it


def test_put_json(cli: Callable[..., Run], routes_file: Callable[[Any], str]) -> None:
    run = cli(
        "apis",
        "put",
        "inventory",
        "--audience",
        "inventory-api",
        "--routes",
        routes_file(ROUTES),
        json_output=True,
    )
    assert run.code == EXIT_OK, run.err
    document = run.json()
    assert document["created"] is True
    assert document["effective_within_seconds"] == 60
    assert document["api"] == {
        "name": "inventory",
        "audience": "inventory-api",
        "version": 1,
        "route_count": 3,
        "stage_variable": "partnerauthApi=inventory",
        "updated_at": NOW,
        "updated_by": MOTO_CALLER_ARN,
    }


def test_put_again_replaces_the_map_and_counts_the_version(
    cli: Callable[..., Run], routes_file: Callable[[Any], str], dynamodb_client: Any, apis_table: str
) -> None:
    put(cli, routes_file(ROUTES))
    run = put(cli, routes_file({"GET /warehouses": ["inventory:read"]}))
    assert run.code == EXIT_OK, run.err
    assert "Updated API profile inventory (version 2, 1 routes)" in run.out
    (item,) = items(dynamodb_client, apis_table)
    assert profile_from_item(item).version == 2
    assert json.loads(item["routes"]["S"]) == {"GET /warehouses": ["inventory:read"]}


def test_put_with_the_version_read_earlier_succeeds_and_with_a_stale_one_writes_nothing(
    cli: Callable[..., Run], routes_file: Callable[[Any], str], dynamodb_client: Any, apis_table: str
) -> None:
    assert put(cli, routes_file(ROUTES), "--if-version", "0").code == EXIT_OK
    assert put(cli, routes_file(ROUTES), "--if-version", "1").code == EXIT_OK
    before = items(dynamodb_client, apis_table)
    stale = put(cli, routes_file({"GET /x": ["x"]}), "--if-version", "1")
    assert stale.code == EXIT_ERROR
    assert "at version 2, not 1" in stale.err
    assert items(dynamodb_client, apis_table) == before


class RacingDynamoDb:
    """A DynamoDB client on which another operator's write lands between this one's read and write."""

    def __init__(self, client: Any, racer: Callable[[], None]) -> None:
        self._client = client
        self._racer = racer
        self.exceptions = client.exceptions

    def get_item(self, **kwargs: Any) -> Any:
        return self._client.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self._racer()
        return self._client.put_item(**kwargs)


@pytest.mark.parametrize("exists", [False, True], ids=["create", "replace"])
def test_a_concurrent_write_wins_and_the_later_one_writes_nothing(
    dynamodb_client: Any, apis_table: str, exists: bool
) -> None:
    routes = json.dumps(ROUTES)
    if exists:
        ApiRegistry(apis_table, dynamodb_client, FakeClock(NOW)).put(
            "inventory", "aud-0", routes, updated_by="a"
        )

    def other_operator() -> None:
        ApiRegistry(apis_table, dynamodb_client, FakeClock(NOW)).put(
            "inventory", "aud-1", routes, updated_by="b"
        )

    racing = ApiRegistry(apis_table, RacingDynamoDb(dynamodb_client, other_operator), FakeClock(NOW))
    with pytest.raises(ConcurrentChange):
        racing.put("inventory", "aud-2", routes, updated_by="c")
    (item,) = items(dynamodb_client, apis_table)
    assert (item["audience"]["S"], item["updated_by"]["S"]) == ("aud-1", "b")


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("not json", "JSON"),
        ('{"GET /a": ["s"], "GET /a": ["t"]}', "twice"),  # a duplicate key would silently lose a route
        ({}, "at least one route"),
        ([["GET /a", ["s"]]], "object"),
        ({"FETCH /a": ["s"]}, "FETCH"),
        ({"GET /a/../b": ["s"]}, "GET /a/../b"),
        ({"GET /a": "orders:read"}, "GET /a"),
        ({"GET /a": ["has space"]}, "GET /a"),
        (b"\xff\xfe not utf-8", "UTF-8"),
        ("x" * 350_001, "350000 bytes"),
    ],
)
def test_a_bad_route_map_is_one_line_naming_the_problem_and_nothing_is_written(
    cli: Callable[..., Run],
    routes_file: Callable[[Any], str],
    dynamodb_client: Any,
    apis_table: str,
    document: Any,
    says: str,
) -> None:
    path = routes_file(document)
    run = put(cli, path)
    assert run.code == EXIT_ERROR
    assert run.err.startswith(f"error: {path}: ")
    assert says in run.err
    assert run.err.count("\n") == 1
    assert "Traceback" not in run.err
    assert items(dynamodb_client, apis_table) == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("apis", "put", "Inventory", "--audience", "a"), "names are 1-64 characters"),
        (("apis", "put", "inventory", "--audience", "two words"), "audience"),
        (("apis", "put", "default", "--audience", "a"), "authorizer's own profile"),
    ],
)
def test_a_bad_name_or_audience_is_refused(
    cli: Callable[..., Run],
    routes_file: Callable[[Any], str],
    dynamodb_client: Any,
    apis_table: str,
    argv: tuple[str, ...],
    says: str,
) -> None:
    run = cli(*argv, "--routes", routes_file(ROUTES))
    assert run.code == EXIT_ERROR
    assert says in run.err
    assert items(dynamodb_client, apis_table) == []


def test_a_missing_routes_file_is_one_line(cli: Callable[..., Run], tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    run = put(cli, str(missing))
    assert run.code == EXIT_ERROR
    assert run.err == f"error: {missing}: cannot read the route map (No such file or directory)\n"


# -- show, list -------------------------------------------------------------------------------------------


def test_show_gives_the_routes_back(cli: Callable[..., Run], routes_file: Callable[[Any], str]) -> None:
    put(cli, routes_file(ROUTES))
    document = cli("apis", "show", "inventory", json_output=True).json()["api"]
    assert document["routes"] == ROUTES  # `apis show --json | jq .api.routes` is a file `apis put` takes
    assert document["version"] == 1
    human = cli("apis", "show", "inventory").out
    assert "stage variable:  partnerauthApi=inventory" in human
    assert "routes (3):" in human
    assert "PUT /warehouses/{id}/stock/{sku}  inventory:write" in human
    assert MOTO_CALLER_ARN in human


def test_list_names_every_profile_and_an_unreadable_item_without_failing(
    cli: Callable[..., Run], routes_file: Callable[[Any], str], dynamodb_client: Any, apis_table: str
) -> None:
    put(cli, routes_file(ROUTES), name="zeta")
    put(cli, routes_file(ROUTES), name="alpha")
    dynamodb_client.put_item(  # hand-edited: not a route map
        TableName=apis_table,
        Item={"name": {"S": "broken"}, "audience": {"S": "a"}, "routes": {"S": "[]"}, "version": {"N": "1"}},
    )
    document = cli("apis", "list", json_output=True).json()
    assert [api["name"] for api in document["apis"]] == ["alpha", "zeta"]
    assert document["apis"][0]["route_count"] == 3
    (unreadable,) = document["unreadable"]
    assert "'broken'" in unreadable
    human = cli("apis", "list")
    assert human.code == EXIT_OK
    assert human.out.index("alpha") < human.out.index("zeta")
    assert "broken" in human.out


def test_show_of_an_unreadable_item_says_how_to_fix_it(
    cli: Callable[..., Run], dynamodb_client: Any, apis_table: str
) -> None:
    dynamodb_client.put_item(TableName=apis_table, Item={"name": {"S": "broken"}, "version": {"N": "1"}})
    run = cli("apis", "show", "broken")
    assert run.code == EXIT_ERROR
    assert "unreadable" in run.err
    assert "apis put" in run.err


def test_list_of_an_empty_registry(cli: Callable[..., Run]) -> None:
    assert cli("apis", "list", json_output=True).json() == {"apis": [], "unreadable": []}


@pytest.mark.parametrize("argv", [("apis", "show", "nope"), ("apis", "remove", "nope", "--yes")])
def test_an_unknown_profile_is_an_error(cli: Callable[..., Run], argv: tuple[str, ...]) -> None:
    run = cli(*argv)
    assert run.code == EXIT_ERROR
    assert run.err == "error: no API profile named 'nope'\n"


# -- remove -----------------------------------------------------------------------------------------------


def test_remove_needs_confirmation(
    cli: Callable[..., Run], routes_file: Callable[[Any], str], dynamodb_client: Any, apis_table: str
) -> None:
    put(cli, routes_file(ROUTES))
    assert cli("apis", "remove", "inventory").code == EXIT_USAGE  # not a terminal, no --yes
    assert cli("apis", "remove", "inventory", stdin=FakeTty("inventor\n")).code == EXIT_USAGE
    assert len(items(dynamodb_client, apis_table)) == 1
    confirmed = cli("apis", "remove", "inventory", stdin=FakeTty("inventory\n"))
    assert confirmed.code == EXIT_OK
    assert "now answer 401" in confirmed.out
    assert items(dynamodb_client, apis_table) == []


def test_remove_yes_json_and_if_version(
    cli: Callable[..., Run], routes_file: Callable[[Any], str], dynamodb_client: Any, apis_table: str
) -> None:
    put(cli, routes_file(ROUTES))
    stale = cli("apis", "remove", "inventory", "--yes", "--if-version", "7")
    assert stale.code == EXIT_ERROR
    assert "not at version 7" in stale.err
    run = cli("apis", "remove", "inventory", "--yes", "--if-version", "1", json_output=True)
    assert run.code == EXIT_OK
    assert run.json() == {"removed": "inventory"}
    assert items(dynamodb_client, apis_table) == []


# -- where the table is -----------------------------------------------------------------------------------


def test_the_table_from_an_option_or_the_environment_without_a_stack(
    apis_table: str,
    routes_file: Callable[[Any], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = routes_file(ROUTES)
    assert main(["apis", "put", "a", "--audience", "x", "--routes", path, "--apis-table", apis_table]) == 0
    monkeypatch.setenv("APIS_TABLE", apis_table)
    assert main(["--json", "apis", "list"]) == 0
    assert [api["name"] for api in json.loads(capsys.readouterr().out.split("\n", 4)[-1])["apis"]] == ["a"]


def test_no_table_is_a_clear_error(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apis", "list"]) == EXIT_ERROR
    assert "no API registry table" in capsys.readouterr().err


def test_an_aws_failure_is_one_line_not_a_traceback(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apis", "show", "x", "--apis-table", "no-such-table"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("error: AWS call failed: ResourceNotFoundException")
    assert err.count("\n") == 1


def test_exit_codes_are_the_clis() -> None:
    assert (EXIT_OK, EXIT_ERROR, EXIT_USAGE) == (
        admin_cli.EXIT_OK,
        admin_cli.EXIT_ERROR,
        admin_cli.EXIT_USAGE,
    )
