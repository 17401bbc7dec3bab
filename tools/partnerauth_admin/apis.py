"""``apis`` commands: the API registry (``ApisTable``), each API's audience and route map for the authorizer.

An API behind the shared authorizer names its profile with the stage variable ``partnerauthApi``; the
authorizer reads the profile from this table through a cache (partnerauth.api_profiles, the one codec of
the items).  So another team attaches its API, or changes its route map, without redeploying this stack::

    python -m tools.partnerauth_admin --stack-name partnerauth-prod apis put inventory \\
        --audience inventory-api --routes examples/inventory-api/routes.json
    python -m tools.partnerauth_admin --stack-name partnerauth-prod apis show inventory
    python -m tools.partnerauth_admin --stack-name partnerauth-prod apis list
    python -m tools.partnerauth_admin --stack-name partnerauth-prod apis remove inventory --yes

Writes are conditional on the item's ``version`` (optimistic concurrency): ``put`` replaces the version it
read just before (or the one given with ``--if-version``, for a read-edit-write across commands) and fails,
writing nothing, when somebody changed the profile in between.  ``updated_by`` is the caller's identity
(STS GetCallerIdentity).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from partnerauth.api_profiles import (
    DEFAULT_MAX_AGE,
    DEFAULT_PROFILE,
    MAX_ROUTES_BYTES,
    STAGE_VARIABLE,
    ApiProfile,
    check_name,
    parse_profile,
    profile_from_item,
    profile_item,
)
from partnerauth.errors import ConfigurationError

from .aws_context import AwsContext

if TYPE_CHECKING:
    from .cli import Output

# The exit codes of cli.py (tests/admin_cli/test_apis.py checks they agree; cli.py imports this module).
EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2


class ApiRegistryError(Exception):
    """A registry command could not be done (the message is one line, for the operator)."""


class ConcurrentChange(ApiRegistryError):
    """The profile changed between reading and the conditional write; nothing was written."""


@dataclass(frozen=True)
class RegisteredApi:
    """One registry item, read back: the validated profile and who wrote it when."""

    profile: ApiProfile
    routes_text: str
    updated_at: int
    updated_by: str

    def describe(self, *, with_routes: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.profile.name,
            "audience": self.profile.audience,
            "version": self.profile.version,
            "route_count": len(self.profile.routes),
            "stage_variable": f"{STAGE_VARIABLE}={self.profile.name}",
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }
        if with_routes:
            document["routes"] = json.loads(self.routes_text)
        return document


def _number(item: Mapping[str, Any], key: str) -> int:
    text = (item.get(key) or {}).get("N", "")
    return int(text) if isinstance(text, str) and text.isdigit() else 0


def _registered(item: Mapping[str, Any]) -> RegisteredApi:
    try:
        profile = profile_from_item(item)
    except ConfigurationError as error:
        name = (item.get("name") or {}).get("S", "?")
        raise ApiRegistryError(
            f"registry item {name!r} is unreadable ({error}); replace it with apis put"
        ) from None
    return RegisteredApi(
        profile,
        item["routes"]["S"],
        _number(item, "updated_at"),
        (item.get("updated_by") or {}).get("S", ""),
    )


class ApiRegistry:
    """The API registry table, as the operator changes it (the authorizer only reads it)."""

    def __init__(self, table_name: str, dynamodb: Any, clock: Callable[[], float]) -> None:
        self._table = table_name
        self._dynamodb = dynamodb
        self._clock = clock

    def _item(self, name: str) -> dict[str, Any] | None:
        response = self._dynamodb.get_item(
            TableName=self._table, Key={"name": {"S": name}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def get(self, name: str) -> RegisteredApi:
        item = self._item(name)
        if item is None:
            raise ApiRegistryError(f"no API profile named {name!r}")
        return _registered(item)

    def list_apis(self) -> list[RegisteredApi | ApiRegistryError]:
        """Every profile by name; an unreadable item is listed as its error, not skipped."""
        found: list[tuple[str, RegisteredApi | ApiRegistryError]] = []
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=self._table):
            for item in page.get("Items", []):
                name = str((item.get("name") or {}).get("S", ""))
                try:
                    found.append((name, _registered(item)))
                except ApiRegistryError as error:
                    found.append((name, error))
        return [entry for _, entry in sorted(found, key=lambda pair: pair[0])]

    def put(
        self, name: str, audience: str, routes_text: str, *, updated_by: str, if_version: int | None = None
    ) -> RegisteredApi:
        """Create or replace a profile, validated first; conditional on the version it replaces."""
        if name == DEFAULT_PROFILE:
            raise ApiRegistryError(
                f"{DEFAULT_PROFILE!r} is the authorizer's own profile (AUDIENCE and ROUTE_SCOPES): "
                "choose another name"
            )
        compact = _compact_json(routes_text)
        current = self._item(name)
        seen = None if current is None else _number(current, "version")
        if if_version is not None and if_version != (seen or 0):
            raise ConcurrentChange(
                f"API profile {name!r} is at version {seen or 0}, not {if_version}: "
                "re-read it (apis show) and retry"
            )
        version = (seen or 0) + 1
        try:
            item = profile_item(
                name, audience, compact, version=version, updated_at=int(self._clock()), updated_by=updated_by
            )
        except ConfigurationError as error:
            raise ApiRegistryError(str(error)) from None
        if seen is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#n)"}
            names = {"#n": "name"}
        else:
            condition = {
                "ConditionExpression": "#v = :seen",
                "ExpressionAttributeValues": {":seen": {"N": str(seen)}},
            }
            names = {"#v": "version"}
        try:
            self._dynamodb.put_item(
                TableName=self._table, Item=item, ExpressionAttributeNames=names, **condition
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise ConcurrentChange(
                f"API profile {name!r} changed while it was being written; nothing written: retry"
            ) from None
        return _registered(item)

    def remove(self, name: str, *, if_version: int | None = None) -> None:
        condition = "attribute_exists(#n)"
        names = {"#n": "name"}
        values: dict[str, Any] = {}
        if if_version is not None:
            condition += " AND #v = :seen"
            names["#v"] = "version"
            values[":seen"] = {"N": str(if_version)}
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key={"name": {"S": name}},
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            if if_version is None:
                raise ApiRegistryError(f"no API profile named {name!r}") from None
            raise ConcurrentChange(
                f"API profile {name!r} is missing or not at version {if_version}; nothing removed"
            ) from None


def _compact_json(routes_text: str) -> str:
    """The route map as stored: validated as written (duplicate keys refused), then without whitespace."""
    try:
        document = json.loads(routes_text)
    except (ValueError, RecursionError):
        raise ApiRegistryError("the route map is not valid JSON") from None
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def read_routes_file(path: str) -> str:
    """The route map file's text; a one-line error when it cannot be read."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_ROUTES_BYTES:
            raise ApiRegistryError(f"{path}: the route map exceeds {MAX_ROUTES_BYTES} bytes")
        return file.read_text(encoding="utf-8")
    except OSError as error:
        raise ApiRegistryError(f"{path}: cannot read the route map ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise ApiRegistryError(f"{path}: the route map is not UTF-8 text") from None


def validated_routes(name: str, audience: str, path: str) -> str:
    """The route map file's text for ``name``, validated before anything is written (or a one-line error)."""
    text = read_routes_file(path)
    try:
        parse_profile(name, audience, text)
    except ConfigurationError as error:
        raise ApiRegistryError(f"{path}: {error}") from None
    return text


# -- the command line ---------------------------------------------------------------------------------


def add_commands(commands: Any) -> None:
    """Register ``apis put|show|list|remove`` on the CLI's subcommands (``argparse`` sub-parsers action)."""
    table = argparse.ArgumentParser(add_help=False)
    table.add_argument(
        "--apis-table", help="API registry table (env APIS_TABLE; default: stack output ApisTableName)"
    )
    apis = commands.add_parser(
        "apis", help="API profiles: the audience and route map of each API behind the authorizer"
    )
    actions = apis.add_subparsers(dest="apis_command", required=True, metavar="ACTION")

    put = actions.add_parser(
        "put", parents=[table], help="create or replace an API profile (validated first)"
    )
    put.add_argument("name", help="profile name: the value of the API's stage variable partnerauthApi")
    put.add_argument("--audience", required=True, help="the audience partners request tokens for")
    put.add_argument(
        "--routes", required=True, metavar="FILE", help="route map JSON (the ROUTE_SCOPES format)"
    )
    put.add_argument(
        "--if-version", type=int, help="write only if the profile is still at this version (0: new)"
    )

    show = actions.add_parser("show", parents=[table], help="one API profile with its routes")
    show.add_argument("name")

    actions.add_parser("list", parents=[table], help="all API profiles")

    remove = actions.add_parser("remove", parents=[table], help="remove an API profile (its API gets 401)")
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.add_argument("--if-version", type=int, help="remove only if the profile is at this version")


def run(
    args: argparse.Namespace, context: AwsContext, out: Output, stdin: TextIO, clock: Callable[[], float]
) -> int:
    """Run one ``apis`` command; registry errors become one line on stderr and exit code 1."""
    try:
        registry = ApiRegistry(context.apis_table(args.apis_table), context.client("dynamodb"), clock)
        command = args.apis_command
        if command == "put":
            return _put(args, registry, context, out)
        if command == "show":
            _show(out, registry.get(check_name(args.name)))
        elif command == "list":
            _list(out, registry.list_apis())
        else:
            return _remove(args, registry, out, stdin)
    except (ApiRegistryError, ConfigurationError) as error:
        out.error(str(error))
        return EXIT_ERROR
    return EXIT_OK


def _put(args: argparse.Namespace, registry: ApiRegistry, context: AwsContext, out: Output) -> int:
    name = check_name(args.name)
    text = validated_routes(name, args.audience, args.routes)
    updated_by = str(context.client("sts").get_caller_identity()["Arn"])
    registered = registry.put(name, args.audience, text, updated_by=updated_by, if_version=args.if_version)
    created = registered.profile.version == 1
    if out.as_json:
        out.json(
            {
                "api": registered.describe(),
                "created": created,
                "effective_within_seconds": DEFAULT_MAX_AGE,
            }
        )
        return EXIT_OK
    profile = registered.profile
    out.line(
        f"{'Registered' if created else 'Updated'} API profile {profile.name} "
        f"(version {profile.version}, {len(profile.routes)} routes)"
    )
    out.line(f"  audience:        {profile.audience}  (partners' clients must be allowed it and request it)")
    out.line(f"  stage variable:  {STAGE_VARIABLE}={profile.name}  (set it on the API's stage)")
    out.line(
        f"  takes effect:    authorizers pick it up within the profile cache's max age ({DEFAULT_MAX_AGE} s "
        "by default); answers API Gateway already cached keep until its authorizer cache TTL"
    )
    return EXIT_OK


def _show(out: Output, registered: RegisteredApi) -> None:
    if out.as_json:
        out.json({"api": registered.describe(with_routes=True)})
        return
    profile = registered.profile
    out.line(f"name:            {profile.name}")
    out.line(f"audience:        {profile.audience}")
    out.line(f"stage variable:  {STAGE_VARIABLE}={profile.name}")
    out.line(f"version:         {profile.version}")
    out.line(f"updated:         {_when(registered.updated_at)} by {registered.updated_by}")
    out.line(f"routes ({len(profile.routes)}):")
    width = max(len(route.key) for route in profile.routes.routes)
    for route in profile.routes.routes:
        out.line(f"  {route.key:{width}}  {' '.join(sorted(route.scopes))}")


def _list(out: Output, entries: list[RegisteredApi | ApiRegistryError]) -> None:
    if out.as_json:
        out.json(
            {
                "apis": [e.describe() for e in entries if isinstance(e, RegisteredApi)],
                "unreadable": [str(e) for e in entries if isinstance(e, ApiRegistryError)],
            }
        )
        return
    out.line(f"{'NAME':24} {'VERSION':7} {'ROUTES':6} {'UPDATED':20} AUDIENCE")
    for entry in entries:
        if isinstance(entry, ApiRegistryError):
            out.line(f"  ! {entry}")
            continue
        profile = entry.profile
        out.line(
            f"{profile.name:24} {profile.version:<7} {len(profile.routes):<6} "
            f"{_when(entry.updated_at):20} {profile.audience}"
        )


def _remove(args: argparse.Namespace, registry: ApiRegistry, out: Output, stdin: TextIO) -> int:
    name = check_name(args.name)
    if not args.yes:
        if out.as_json or not stdin.isatty():
            out.error("refusing to remove without --yes")
            return EXIT_USAGE
        out.stdout.write(f"Type the profile name to remove {name} (its API then answers 401): ")
        out.stdout.flush()
        if stdin.readline().strip() != name:
            out.error("not confirmed; nothing removed")
            return EXIT_USAGE
    registry.remove(name, if_version=args.if_version)
    if out.as_json:
        out.json({"removed": name})
    else:
        out.line(f"Removed API profile {name}; APIs with {STAGE_VARIABLE}={name} now answer 401")
    return EXIT_OK


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
