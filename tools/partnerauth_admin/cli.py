"""Commands of the admin CLI.  Secrets are printed only by ``create`` and ``roll-secret``, once."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from partnerauth.client_registry import (
    CLIENT_SECRET,
    KNOWN_PERMISSIONS,
    PRIVATE_KEY_JWT,
    Client,
    ClientRegistry,
    ClientRegistryError,
    ClientStatus,
    IssuedSecret,
    MalformedClientItem,
)
from partnerauth.client_secrets import LazySecretHasher

from . import apis, audit_commands, key_commands, plans, revocation_commands, signing_key_commands
from .aws_context import AwsContext, ContextError
from .aws_failures import one_line
from .stack_declarations import CLIENT_ID_RULE, InputRefused, StackDeclarations, check_client_id

DEFAULT_OVERLAP = 7 * 86_400  # a week for the partner to deploy the new secret

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
# Commands that write the clients table: each needs the caller's identity (stamped as changed_by).
WRITE_COMMANDS = frozenset(
    {
        "create",
        "update",
        "disable",
        "enable",
        "roll-secret",
        "revoke-secret",
        "delete",
        *key_commands.KEY_COMMANDS,
    }
)


class Output:
    """Human-readable or ``--json`` output; errors go to stderr."""

    def __init__(self, as_json: bool, stdout: TextIO, stderr: TextIO) -> None:
        self.as_json = as_json
        self.stdout = stdout
        self.stderr = stderr

    def json(self, document: Any) -> None:
        self.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def error(self, text: str) -> None:
        self.stderr.write(f"error: {text}\n")

    def warn(self, text: str) -> None:
        self.stderr.write(f"warning: {text}\n")


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _client_lines(client: Client, now: float) -> list[str]:
    lines = [
        f"client_id:   {client.client_id}",
        f"name:        {client.client_name}",
        f"status:      {client.status.value}",
        f"scopes:      {' '.join(client.scopes)}",
        f"audiences:   {' '.join(client.audiences)}",
        f"lifetime:    {client.token_lifetime} s",
        f"plan:        {client.plan or '(none)'}",
        f"permissions: {' '.join(client.permissions) or '(none)'}",
        f"created:     {_when(client.created_at)}",
        f"updated:     {_when(client.updated_at)}",
        f"changed by:  {client.changed_by or '(not recorded)'} (last request {client.last_request or '-'})",
        *key_commands.key_lines(client, now),
        "secrets:",
    ]
    for secret in client.secrets:
        state = "live" if secret.is_live(now) else "expired"
        created, expires = _when(secret.created_at), _when(secret.expires_at)
        lines.append(f"  {secret.secret_id}  {state:7}  created {created}  expires {expires}")
    if not client.secrets:
        lines.append("  (none)")
    return lines


def _show_issued(out: Output, issued: IssuedSecret, now: float, token_url: str | None, verb: str) -> None:
    if out.as_json:
        document = {
            "client": issued.client.describe(now),
            "client_secret": issued.secret,
            "secret_id": issued.secret_id,
            "secret_expires_at": issued.expires_at,
        }
        if token_url:
            document["token_endpoint"] = token_url
        out.json(document)
        return
    out.line(f"{verb} client {issued.client.client_id} ({issued.client.client_name})")
    for line in _client_lines(issued.client, now):
        out.line("  " + line)
    if token_url:
        out.line(f"  token URL:   {token_url}")
    out.line()
    out.line(f"client_secret ({issued.secret_id}), shown once: hand it over now, it cannot be shown again:")
    out.line(f"  {issued.secret}")


def _show_keyed(out: Output, client: Client, now: float, token_url: str | None) -> None:
    """A new private_key_jwt client: its id and keys; there is no secret to show."""
    if out.as_json:
        document: dict[str, Any] = {"client": client.describe(now)}
        if token_url:
            document["token_endpoint"] = token_url
        out.json(document)
        return
    out.line(f"Created client {client.client_id} ({client.client_name})")
    for line in _client_lines(client, now):
        out.line("  " + line)
    if token_url:
        out.line(f"  token URL:   {token_url}")


def _words(values: Sequence[str] | None) -> list[str] | None:
    """``--scope a --scope "b c"`` -> ``[a, b, c]`` (repeatable, or space-separated)."""
    if values is None:
        return None
    return [word for value in values for word in value.split()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.partnerauth_admin",
        description="Manage partner clients of the token service (ClientsTable).",
    )
    parser.add_argument(
        "--stack-name",
        default=os.environ.get("PARTNERAUTH_STACK_NAME"),
        help="CloudFormation stack whose outputs name the table and pepper (env PARTNERAUTH_STACK_NAME)",
    )
    parser.add_argument("--table", help="clients table name (env CLIENTS_TABLE; default: stack output)")
    parser.add_argument(
        "--pepper-secret-arn", help="pepper secret (env PEPPER_SECRET_ARN; default: stack output)"
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="AWS endpoint, e.g. the local stack (env AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION / your AWS config)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="register a client; prints its first secret once")
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--scope", action="append", required=True, help="allowed scope (repeatable)")
    create.add_argument(
        "--audience",
        action="append",
        help="allowed audience (repeatable; default: the stack's DefaultAudience)",
    )
    create.add_argument(
        "--lifetime", type=int, help="token lifetime in seconds (default: stack TokenLifetime)"
    )
    create.add_argument("--client-id", help=f"choose the id: {CLIENT_ID_RULE} (default: generated)")
    create.add_argument(
        "--allow-unknown-scope", action="store_true", help="grant scopes the stack does not declare"
    )
    create.add_argument("--secret-expires-in", type=int, help="the secret expires after this many seconds")
    create.add_argument(
        "--auth-method",
        choices=(CLIENT_SECRET, PRIVATE_KEY_JWT),
        help="a generated secret (default), or the partner's public keys (RFC 7523: --jwks-file/--jwks-uri)",
    )
    key_commands.add_key_source_options(create, required=False)
    plans.add_plan_option(create, creating=True)
    _add_permission_options(create, updating=False)

    commands.add_parser("list", help="all clients (no secrets)")

    show = commands.add_parser("show", help="one client (no secrets)")
    show.add_argument("client_id")

    update = commands.add_parser(
        "update", help="change name, scopes, audiences, lifetime, plan or permissions"
    )
    update.add_argument("client_id")
    update.add_argument("--name")
    update.add_argument("--scope", action="append", help="replaces the allowed scopes (repeatable)")
    update.add_argument("--audience", action="append", help="replaces the allowed audiences (repeatable)")
    update.add_argument("--lifetime", type=int)
    plans.add_plan_option(update, creating=False)
    _add_permission_options(update, updating=True)

    for name, text in (("disable", "refuse new tokens for the client"), ("enable", "allow the client again")):
        status = commands.add_parser(name, help=text)
        status.add_argument("client_id")
        revocation_commands.add_table_option(status)

    roll = commands.add_parser(
        "roll-secret", help="issue a new secret; the old one stays valid for --overlap"
    )
    roll.add_argument("client_id")
    roll.add_argument(
        "--overlap",
        type=int,
        default=DEFAULT_OVERLAP,
        help=f"seconds the old secret keeps working (default {DEFAULT_OVERLAP}; 0 = cut it now)",
    )
    roll.add_argument("--expires-in", type=int, help="the new secret expires after this many seconds")

    revoke = commands.add_parser("revoke-secret", help="remove one secret at once")
    revoke.add_argument("client_id")
    revoke.add_argument("secret_id")

    delete = commands.add_parser("delete", help="remove the client")
    delete.add_argument("client_id")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    key_commands.add_commands(commands, DEFAULT_OVERLAP)
    revocation_commands.add_commands(commands)
    apis.add_commands(commands)
    plans.add_commands(commands)
    signing_key_commands.add_commands(commands)  # keys (issue 14 item 5)
    audit_commands.add_commands(commands)  # audit (issue 14 item 4)
    return parser


def _add_permission_options(parser: argparse.ArgumentParser, *, updating: bool) -> None:
    """``--permission introspect``: what the client may do beyond getting tokens (RFC 7662 §2.1: a resource
    server that calls the introspection endpoint authenticates as a client with this permission)."""
    replaces = "; replaces the client's permissions" if updating else ""
    parser.add_argument(
        "--permission",
        action="append",
        choices=sorted(KNOWN_PERMISSIONS),
        help=f"grant a permission (repeatable){replaces}",
    )
    if updating:
        parser.add_argument("--no-permissions", action="store_true", help="remove every permission")


def _permissions(args: argparse.Namespace) -> list[str] | None:
    """The permissions to store: ``None`` leaves an updated client's as they are."""
    if getattr(args, "no_permissions", False):
        if args.permission:
            raise InputRefused("--permission and --no-permissions contradict each other; nothing changed")
        return []
    return None if args.permission is None else list(args.permission)


def main(  # noqa: PLR0911 - one early return per command family that needs no clients table
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(
        signing_key_commands.kid_operand_after_options_end(key_commands.operands_after_options_end(argv))
    )
    out = Output(args.json, stdout or sys.stdout, stderr or sys.stderr)
    context = AwsContext(
        stack_name=args.stack_name,
        table=args.table,
        pepper_secret_arn=args.pepper_secret_arn,
        endpoint_url=args.endpoint_url,
        region=args.region,
    )
    try:
        if args.command == "apis":  # the API registry: no clients table or pepper needed
            return apis.run(args, context, out, stdin or sys.stdin, clock)
        if args.command == "plans":  # usage plans: API Gateway only
            return plans.run(args, context, out)
        if args.command == signing_key_commands.COMMAND:  # via KeyRotationFunction (issue 14 item 5)
            return signing_key_commands.run(args, context, out, stdin or sys.stdin)
        if args.command == audit_commands.COMMAND:  # AuditTable, read only (issue 14 item 4)
            return audit_commands.run(args, context, out, clock)
        if args.command == revocation_commands.COMMAND:  # RevocationsTable only (issue 14)
            return revocation_commands.run(args, context, out, clock)
        registry = ClientRegistry(
            context.clients_table(),
            context.client("dynamodb"),
            LazySecretHasher(context.pepper),
            clock,
            max_token_lifetime=context.max_token_lifetime(),
            actor=context.caller_arn if args.command in WRITE_COMMANDS else None,
            store_time=True,  # secret ends dated by DynamoDB's clock, not this machine's (issue 19)
        )
        return _run(args, registry, context, out, stdin or sys.stdin, clock)
    except (ClientRegistryError, ContextError, MalformedClientItem) as error:
        out.error(_malformed_advice(error) if isinstance(error, MalformedClientItem) else str(error))
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - botocore errors: report the AWS code, never a traceback
        out.error(one_line(error))
        return EXIT_ERROR


def _run(
    args: argparse.Namespace,
    registry: ClientRegistry,
    context: AwsContext,
    out: Output,
    stdin: TextIO,
    clock: Callable[[], float],
) -> int:
    now = clock()
    command = args.command
    declared = StackDeclarations(context, context.env)
    if command == "create":
        return _create(args, registry, context, declared, out, now)
    if command == "list":
        return _list(out, registry.list_entries(), now)
    if command == "show":
        _show(out, registry.get(args.client_id), now)
    elif command == "update":
        plan = plans.chosen_plan(args, context, creating=False)  # before any write
        client = registry.update(
            args.client_id,
            client_name=args.name,
            scopes=_words(args.scope),
            audiences=_words(args.audience),
            token_lifetime=args.lifetime,
            plan=plan,
            permissions=_permissions(args),
        )
        _show(out, client, now)
        plans.apply(context, args.client_id, plan, out)
    elif command == "enable":
        _show(out, registry.set_status(args.client_id, ClientStatus.ACTIVE), now)
    elif command == "disable":
        _disable(args, registry, context, out, clock)
    elif command == "roll-secret":
        issued = registry.roll_secret(args.client_id, overlap=args.overlap, expires_in=args.expires_in)
        _show_issued(out, issued, now, declared.token_url(), "Rolled the secret of")
    elif command in key_commands.KEY_COMMANDS:
        _show(out, key_commands.run(args, registry), now)
    elif command == "revoke-secret":
        _show(out, registry.revoke_secret(args.client_id, args.secret_id), now)
    else:  # delete
        return _delete(args, registry, context, out, stdin)
    return EXIT_OK


def _create(
    args: argparse.Namespace,
    registry: ClientRegistry,
    context: AwsContext,
    declared: StackDeclarations,
    out: Output,
    now: float,
) -> int:
    check_client_id(args.client_id)
    scopes = _words(args.scope) or []
    declared.check_scopes(scopes, allow_unknown=args.allow_unknown_scope, warn=out.warn)
    plan = plans.chosen_plan(args, context, creating=True)  # before any write: a refusal changes nothing
    metadata: dict[str, Any] = {
        "client_name": args.name,
        "scopes": scopes,
        "audiences": _words(args.audience) or [context.default_audience()],
        "token_lifetime": args.lifetime if args.lifetime is not None else context.default_token_lifetime(),
        "client_id": args.client_id,
        "plan": plan,
        "permissions": _permissions(args) or (),
    }
    if args.auth_method == PRIVATE_KEY_JWT or args.jwks_file is not None or args.jwks_uri is not None:
        client = key_commands.create_with_keys(args, registry, **metadata)
        _show_keyed(out, client, now, declared.token_url())
        plans.apply(context, client.client_id, plan, out)
        return EXIT_OK
    issued = registry.create(**metadata, secret_expires_in=args.secret_expires_in)
    _show_issued(out, issued, now, declared.token_url(), "Created")
    plans.apply(context, issued.client.client_id, plan, out)
    return EXIT_OK


def _disable(
    args: argparse.Namespace,
    registry: ClientRegistry,
    context: AwsContext,
    out: Output,
    clock: Callable[[], float],
) -> None:
    """Works on a malformed item too: the incident-response action (issue 19), then cuts live tokens."""
    disabled = registry.disable(args.client_id)
    if isinstance(disabled, MalformedClientItem):
        out.warn(f"disabled, but {_malformed_advice(disabled)}")
        if out.as_json:
            out.json({"disabled": args.client_id, "malformed": disabled.reason})
    else:
        _show(out, disabled, clock())
    revocation_commands.disable_cuts_tokens(args, context, out, clock)  # and its live tokens (issue 14)


def _malformed_advice(error: MalformedClientItem) -> str:
    who = f"client {error.client_id}" if error.client_id else "a client item"
    return (
        f"{who}: the stored item is malformed ({error.reason}), so it authenticates nobody; "
        "`disable` still works on it; repair the attribute or `delete` it and create the client again"
    )


def _list(out: Output, entries: list[Client | MalformedClientItem], now: float) -> int:
    """Every client, and one line per malformed item (exit status 1 when there is one: it needs repair)."""
    clients = [entry for entry in entries if isinstance(entry, Client)]
    malformed = [entry for entry in entries if isinstance(entry, MalformedClientItem)]
    if out.as_json:
        out.json(
            {
                "clients": [client.describe(now) for client in clients],
                "malformed": [{"client_id": m.client_id, "reason": m.reason} for m in malformed],
            }
        )
        return EXIT_ERROR if malformed else EXIT_OK
    out.line(
        f"{'CLIENT_ID':24} {'STATUS':8} {'SECRETS':7} {'LIFETIME':8} {'PLAN':6} {'PERMISSIONS':11} "
        f"{'NAME':24} SCOPES"
    )
    for client in clients:
        live = len(client.live_secrets(now))
        out.line(
            f"{client.client_id:24} {client.status.value:8} {live:<7} {client.token_lifetime:<8} "
            f"{client.plan or '-':6} {','.join(client.permissions) or '-':11} "
            f"{client.client_name[:24]:24} {' '.join(client.scopes)}"
        )
    for entry in malformed:
        out.line(
            f"{entry.client_id or '(unreadable id)':24} MALFORMED ({entry.reason}): authenticates nobody"
        )
    if malformed:
        out.warn(f"{len(malformed)} malformed client item(s): `disable` works on them; repair or delete them")
    return EXIT_ERROR if malformed else EXIT_OK


def _show(out: Output, client: Client, now: float) -> None:
    if out.as_json:
        out.json({"client": client.describe(now)})
        return
    for line in _client_lines(client, now):
        out.line(line)


def _delete(
    args: argparse.Namespace, registry: ClientRegistry, context: AwsContext, out: Output, stdin: TextIO
) -> int:
    if not args.yes:
        if out.as_json or not stdin.isatty():
            out.error("refusing to delete without --yes")
            return EXIT_USAGE
        out.stdout.write(f"Type the client id to delete {args.client_id}: ")
        out.stdout.flush()
        if stdin.readline().strip() != args.client_id:
            out.error("not confirmed; nothing deleted")
            return EXIT_USAGE
    registry.delete(args.client_id)
    plans.forget(context, args.client_id)
    if out.as_json:
        out.json({"deleted": args.client_id})
    else:
        out.line(f"Deleted client {args.client_id}")
    return EXIT_OK
