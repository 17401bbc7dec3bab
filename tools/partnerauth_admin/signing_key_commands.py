"""``keys list | rotate-now [--kid KID] | revoke KID``: the signing keys, from the CLI (issue 14 item 5).

* ``keys list`` reads SigningKeysTable (kid, state, created / activated / retired, expiry; the item's
  ciphertext is never fetched: :meth:`partnerauth.key_store.KeyStore.read_key_set` projects it out, and
  ``PartnerAuthAdminPolicy`` allows no other read).  Items no reader can use are listed as malformed, with
  their fixed reason, so that ``keys revoke`` can remove them (issue 19).
* ``keys rotate-now`` and ``keys revoke`` change nothing themselves: they invoke KeyRotationFunction with its
  own events (``events/rotation-rotate-now.json``, ``events/rotation-revoke.json``), so the rotation's safety
  rules (a published next key takes over, the cap on published keys, idempotent repeats) hold as for any run,
  and operators need ``lambda:InvokeFunction`` but no KMS right.  The event carries ``requested_by``, the
  caller's STS ARN, which the function stamps as ``changed_by`` on what it writes (the audit trail).  Both ask
  for confirmation (``--yes`` skips it) and print the function's transitions.

A kid is an RFC 7638 thumbprint in base64url: one in 64 begins with ``-``, which argparse would take for an
option; :func:`kid_operand_after_options_end` puts ``--`` before ``keys revoke``'s operand.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from partnerauth.key_store import KeySet, KeyStore

from .aws_context import AwsContext, ContextError

if TYPE_CHECKING:
    from .cli import Output

COMMAND: Final = "keys"
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
CONFIRM_FLAGS: Final = ("--yes", "-y")
HELP_FLAGS: Final = ("-h", "--help")


class RotationInvoker(Protocol):
    """Runs one event through KeyRotationFunction and returns its answer (a JSON object)."""

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]: ...


class LambdaInvoker:
    """The deployed function, invoked synchronously (``lambda:InvokeFunction``)."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        response = self._lambda.invoke(
            FunctionName=self._function,
            InvocationType="RequestResponse",
            Payload=json.dumps(dict(event)).encode(),
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise ContextError('the rotation function failed; see its log group ("key rotation failed")')
        answer = json.loads(payload or b"{}")
        if not isinstance(answer, dict):
            raise ContextError("the rotation function answered something other than a JSON object")
        return answer


def kid_operand_after_options_end(argv: Sequence[str]) -> list[str]:
    """``keys revoke [--yes] KID`` with ``--`` put in front of the kid (its only operand)."""
    argv = list(argv)
    if COMMAND not in argv:
        return argv
    start = argv.index(COMMAND)
    if "revoke" not in argv[start:]:
        return argv
    at = argv.index("revoke", start) + 1
    rest = argv[at:]
    if "--" in rest or any(flag in rest for flag in HELP_FLAGS):
        return argv
    flags = [word for word in rest if word in CONFIRM_FLAGS]
    operands = [word for word in rest if word not in CONFIRM_FLAGS]
    return [*argv[:at], *flags, "--", *operands]


def add_commands(commands: Any) -> None:
    keys = commands.add_parser(
        COMMAND, help="signing keys: list, rotate-now, revoke (via the rotation function)"
    )
    keys.add_argument(
        "--function", help="env KEY_ROTATION_FUNCTION; default: stack output KeyRotationFunctionName"
    )
    keys.add_argument(
        "--signing-keys-table", help="env SIGNING_KEYS_TABLE; default: stack output SigningKeysTableName"
    )
    actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every signing key: kid, state, dates (no private material)")
    rotate = actions.add_parser(
        "rotate-now", help="the published next key signs at once; the current one retires"
    )
    rotate.add_argument(
        "--kid", help="the key to rotate away from (a repeat once it no longer signs does nothing)"
    )
    rotate.add_argument(*CONFIRM_FLAGS, dest="yes", action="store_true", help="do not ask for confirmation")
    revoke = actions.add_parser(
        "revoke", help="drop a key from the JWKS at once (or remove a malformed item)"
    )
    revoke.add_argument("kid")
    revoke.add_argument(*CONFIRM_FLAGS, dest="yes", action="store_true", help="do not ask for confirmation")


def _when(epoch: int | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def key_rows(key_set: KeySet) -> list[dict[str, Any]]:
    """What ``keys list`` shows: one row per key (current, next, retired by date), then malformed items."""
    order = {"current": 0, "next": 1, "retired": 2}
    rows: list[dict[str, Any]] = [
        {
            "kid": record.kid,
            "state": record.state.value,
            "alg": record.alg,
            "created_at": record.created_at,
            "activated_at": record.activated_at,
            "retired_at": record.retired_at,
            "expires_at": record.expires_at,
        }
        for record in sorted(
            key_set.keys.values(), key=lambda r: (order[r.state.value], -(r.retired_at or 0), r.kid)
        )
    ]
    rows.extend(
        {"kid": skipped.label, "state": "malformed", "reason": skipped.reason.value}
        for skipped in key_set.skipped.values()
    )
    return rows


def _read(context: AwsContext, table: str | None) -> KeySet:
    name = table or context.env.get("SIGNING_KEYS_TABLE") or context.output("SigningKeysTableName")
    if not name:
        raise ContextError("no signing-keys table: pass --stack-name or --signing-keys-table")
    return KeyStore(name, context.client("dynamodb")).read_key_set()


def _list(out: Output, key_set: KeySet) -> int:
    rows = key_rows(key_set)
    if out.as_json:
        out.json({"keys": rows})
        return EXIT_OK
    out.line(f"{'KID':44} {'STATE':9} {'ALG':6} {'CREATED':20} {'ACTIVATED':20} {'RETIRED':20} EXPIRES")
    for row in rows:
        if row["state"] == "malformed":
            out.line(f"{row['kid']:44} malformed ({row['reason']}): remove it with `keys revoke KID`")
            continue
        out.line(
            f"{row['kid']:44} {row['state']:9} {row['alg']:6} {_when(row['created_at']):20} "
            f"{_when(row['activated_at']):20} {_when(row['retired_at']):20} {_when(row['expires_at'])}"
        )
    if not rows:
        out.line("(no signing keys yet: the rotation function's first run makes them)")
    return EXIT_OK


def _confirmed(out: Output, stdin: TextIO, question: str, answer: str) -> bool:
    if out.as_json or not stdin.isatty():
        out.error("refusing to change signing keys without --yes")
        return False
    out.stdout.write(f"{question} Type {answer!r} to go on: ")
    out.stdout.flush()
    if stdin.readline().strip() != answer:
        out.error("not confirmed; nothing changed")
        return False
    return True


def _plan_text(args: argparse.Namespace, key_set: KeySet) -> tuple[str, str]:
    head = key_set.head
    current = head.current_kid if head else "(none)"
    upcoming = head.next_kid if head and head.next_kid else "(none: a brand-new key will sign)"
    if args.keys_action == "rotate-now":
        question = (
            f"Rotate now: {current} stops signing (its tokens stay valid until it expires) and the published "
            f"next key {upcoming} signs."
        )
        return question, "rotate"
    role = (
        "the CURRENT signing key: its tokens stop verifying"
        if args.kid == current
        else "its tokens stop verifying"
    )
    return f"Revoke {args.kid}, {role} once verifiers refetch the JWKS.", args.kid


def _report(out: Output, answer: Mapping[str, Any]) -> int:
    if out.as_json:
        out.json(dict(answer))
        return EXIT_OK if answer.get("ok") else EXIT_ERROR
    if not answer.get("ok"):
        out.error(f"{answer.get('error', 'failed')}: {answer.get('message', '')}".rstrip(": "))
        return EXIT_ERROR
    transitions = answer.get("transitions") or []
    for transition in transitions:
        at = transition.get("at")
        out.line(
            f"{transition.get('kid')}: {transition.get('from')} -> {transition.get('to')} "
            f"({transition.get('reason')}, {_when(at if isinstance(at, int) else None)})"
        )
    if not transitions:
        out.line(str(answer.get("message") or "nothing to do"))
    return EXIT_OK


def caller_arn(context: AwsContext) -> str:
    """Who asks (``sts:GetCallerIdentity`` needs no permission): stamped as ``changed_by`` by the function."""
    return str(context.client("sts").get_caller_identity()["Arn"])


def default_invoker(context: AwsContext, function: str | None) -> RotationInvoker:
    name = function or context.env.get("KEY_ROTATION_FUNCTION") or context.output("KeyRotationFunctionName")
    if not name:
        raise ContextError(
            "no rotation function: pass --stack-name or --function (or set KEY_ROTATION_FUNCTION)"
        )
    return LambdaInvoker(context.client("lambda"), name)


def run(
    args: argparse.Namespace,
    context: AwsContext,
    out: Output,
    stdin: TextIO,
    invoker: Callable[[AwsContext, str | None], RotationInvoker] | None = None,
) -> int:
    """``invoker`` (default :func:`default_invoker`) makes what runs an event through the function."""
    key_set = _read(context, args.signing_keys_table)
    if args.keys_action == "list":
        return _list(out, key_set)
    question, answer = _plan_text(args, key_set)
    if not args.yes and not _confirmed(out, stdin, question, answer):
        return EXIT_USAGE
    event: dict[str, Any] = {"requested_by": caller_arn(context)}
    if args.keys_action == "rotate-now":
        event["action"] = "rotate_now"
        if args.kid:
            event["kid"] = args.kid
    else:
        event.update(action="revoke", kid=args.kid)
    make_invoker = invoker or default_invoker
    return _report(out, make_invoker(context, args.function)(event))
