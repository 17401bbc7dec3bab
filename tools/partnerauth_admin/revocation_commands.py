"""``revoke-tokens CLIENT_ID``: cut one partner's live tokens (issue 14 item 1); ``disable`` does too.

Writes a client revocation to ``RevocationsTable`` (:class:`partnerauth.revocations.RevocationStore`): every
token of the client issued before now is refused by every authorizer once its copy of the revocation
document is refreshed.  The command prints the bound it promises, from the stack's own parameters:

* ``M`` = ``JwksMaxAge``: how old an authorizer's copy of the document may be while the endpoint answers;
* ``T`` = ``AuthorizerCacheTtl``: how long API Gateway may reuse an Allow it cached before the cut;
* so every authorizer refuses the client's tokens within ``M + T`` seconds; while the revocation endpoint
  fails, a copy may be served ``S = min(3600, 6 M)`` longer (``M + S + T``), never less safe than that: an
  authorizer with no usable copy refuses all of our tokens.

Other partners are untouched; tokens the client gets after the cut (from the next second on) work, unless
the client is also disabled.  The item names who cut (``changed_by``: the caller's STS identity) for the audit
trail; a caller whose identity cannot be learned writes nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from partnerauth.jwks_cache import stale_if_error_for
from partnerauth.revocations import Revocation, RevocationStore

from .aws_context import AwsContext, ContextError

if TYPE_CHECKING:
    from .cli import Output

COMMAND: Final = "revoke-tokens"
DEFAULT_JWKS_MAX_AGE: Final = 600
DEFAULT_AUTHORIZER_CACHE_TTL: Final = 300
DEFAULT_LEEWAY: Final = 60


def add_commands(commands: Any) -> None:
    revoke = commands.add_parser(
        COMMAND, help="refuse every token of the client issued before now, at every authorizer"
    )
    revoke.add_argument("client_id")
    add_table_option(revoke)


def add_table_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--revocations-table", help="env REVOCATIONS_TABLE; default: stack output RevocationsTableName"
    )


def revocations_table(context: AwsContext, name: str | None = None) -> str | None:
    return name or context.env.get("REVOCATIONS_TABLE") or context.output("RevocationsTableName")


def _seconds(context: AwsContext, parameter: str, env: str, default: int) -> int:
    return int(context.parameter(parameter) or context.env.get(env) or default)


def bounds(context: AwsContext) -> dict[str, int]:
    """The figures the cut is promised within (seconds), from the stack's parameters."""
    max_age = _seconds(context, "JwksMaxAge", "PARTNERAUTH_JWKS_MAX_AGE", DEFAULT_JWKS_MAX_AGE)
    ttl = _seconds(
        context, "AuthorizerCacheTtl", "PARTNERAUTH_AUTHORIZER_CACHE_TTL", DEFAULT_AUTHORIZER_CACHE_TTL
    )
    stale = stale_if_error_for(max_age)
    return {
        "jwks_max_age": max_age,
        "authorizer_cache_ttl": ttl,
        "bound": max_age + ttl,
        "stale_if_error": stale,
        "bound_during_outage": max_age + stale + ttl,
    }


def revoke_client(
    context: AwsContext, client_id: str, clock: Callable[[], float], table: str | None
) -> Revocation:
    name = revocations_table(context, table)
    if not name:
        raise ContextError(
            "no revocations table: pass --stack-name or --revocations-table (or set REVOCATIONS_TABLE)"
        )
    store = RevocationStore(
        name,
        context.client("dynamodb"),
        max_token_lifetime=context.max_token_lifetime(),
        leeway=_seconds(context, "Leeway", "PARTNERAUTH_LEEWAY", DEFAULT_LEEWAY),
        clock=clock,
    )
    # who asked, for the audit trail (changed_by); no identity, no write (AwsContext.caller_arn refuses)
    return store.revoke_client(client_id, actor=context.caller_arn)


def report(out: Output, context: AwsContext, client_id: str, revocation: Revocation) -> None:
    figures = bounds(context)
    cut = datetime.fromtimestamp(revocation.issued_before, UTC).isoformat(timespec="seconds")
    if out.as_json:
        out.json(
            {"client_id": client_id, "issued_before": revocation.issued_before, "until": revocation.until}
            | figures
        )
        return
    out.line(f"Revoked every token of {client_id} issued before {cut}.")
    out.line(
        f"Every authorizer refuses them within {figures['bound']} s: JWKS max age {figures['jwks_max_age']} s"
        f" + authorizer cache TTL {figures['authorizer_cache_ttl']} s"
    )
    out.line(
        f"(while the revocation endpoint fails: up to {figures['bound_during_outage']} s, stale-if-error"
        f" {figures['stale_if_error']} s). Other partners are not affected."
    )


def disable_cuts_tokens(
    args: argparse.Namespace, context: AwsContext, out: Output, clock: Callable[[], float]
) -> None:
    """``disable`` also revokes the tokens already issued (issue 14 item 1); a stack without a revocations
    table (older than issue 14) is told what that means instead."""
    if not revocations_table(context, args.revocations_table):
        out.warn("no revocations table: tokens already issued stay valid until they expire")
        return
    revocation = revoke_client(context, args.client_id, clock, args.revocations_table)
    if not out.as_json:  # --json prints one document: the client's, as before
        report(out, context, args.client_id, revocation)


def run(
    args: argparse.Namespace, context: AwsContext, out: Output, clock: Callable[[], float] = time.time
) -> int:
    revocation = revoke_client(context, args.client_id, clock, args.revocations_table)
    report(out, context, args.client_id, revocation)
    return 0
