"""Partner plans in the admin CLI: ``create|update --plan <tier>``, ``plans show`` and ``plans list``.

A partner's plan is its API key's membership in one of the stack's usage plans (stack output ``UsagePlans``),
and the client item's ``plan`` (``Client.plan``: the token endpoint's per-client issuance rate reads it).
The key's value is derived from the client id (:mod:`partnerauth.usage_plans`), so the authorizer needs no
change: a move applies from the partner's next request.

The plan is checked against the stack *before* anything is written (:func:`chosen_plan`): ``create --plan``
on a stack without usage plans, or naming a plan the stack lacks, is refused and creates nothing.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Protocol

from partnerauth.usage_plans import DEFAULT_PLAN, PLANS, PlanAssignment, UsagePlanError, UsagePlans

from .aws_context import AwsContext, ContextError


class _Output(Protocol):
    as_json: bool

    def json(self, document: Any) -> None: ...
    def line(self, text: str = "") -> None: ...


def add_plan_option(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    default = f" (default {DEFAULT_PLAN} when the stack has plans)" if creating else ""
    parser.add_argument(
        "--plan", choices=PLANS, help=f"the partner's usage plan: its rate, burst and daily quota{default}"
    )


def add_commands(commands: Any) -> None:
    plans = commands.add_parser("plans", help="partner plans (usage plans) of the stack")
    actions = plans.add_subparsers(dest="plans_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="the plans and their usage plan ids")
    show = actions.add_parser("show", help="the plan of one client")
    show.add_argument("client_id")


def stack_plans(context: AwsContext) -> UsagePlans | None:
    """The stack's plans, or ``None`` when it declares none (no ``UsagePlans`` output nor USAGE_PLANS)."""
    raw = context.env.get("USAGE_PLANS") or context.output("UsagePlans")
    if not raw:
        return None
    try:
        plan_ids = json.loads(raw)
    except ValueError:
        raise ContextError("the UsagePlans output is not JSON") from None
    namespace = context.env.get("USAGE_KEY_NAMESPACE") or context.output("UsageKeyNamespace") or ""
    try:
        return UsagePlans(context.client("apigateway"), namespace, plan_ids)
    except UsagePlanError as error:
        raise ContextError(str(error)) from None


def chosen_plan(args: argparse.Namespace, context: AwsContext, *, creating: bool) -> str | None:
    """The plan ``create``/``update`` stores, checked against the stack before any write: ``--plan``, or
    for a new client on a stack with plans the smallest one; ``None`` when there is nothing to store (a
    stack without plans and no ``--plan``, or an update without ``--plan``).  A ``--plan`` the stack cannot
    meter is refused (:class:`ContextError`) so that the command changes nothing."""
    if args.plan is None and not creating:
        return None
    plans = stack_plans(context)
    if plans is None:
        if args.plan:
            raise ContextError(
                "--plan: the stack declares no usage plans (no UsagePlans output); nothing changed"
            )
        return None  # a stack or table without plans: nothing to meter
    plan: str = args.plan or DEFAULT_PLAN
    if plan not in plans.plans:
        raise ContextError(
            f"--plan: the stack has no plan {plan!r} (it has {', '.join(plans.plans)}); nothing changed"
        )
    return plan


def apply(context: AwsContext, client_id: str, plan: str | None, out: _Output) -> None:
    """After ``create``/``update`` stored ``plan`` (:func:`chosen_plan`): move the client's API key to it."""
    if plan is None:
        return
    plans = stack_plans(context)
    if plans is None:  # chosen_plan found plans a moment ago
        raise ContextError("the stack declares no usage plans (no UsagePlans output)")
    assignment = plans.assign(client_id, plan)
    if not out.as_json:  # one JSON document per command: `plans show --json` gives the plan
        _show(out, assignment, "Plan")


def forget(context: AwsContext, client_id: str) -> None:
    """After ``delete``: the client's API key goes too (nothing is metered against it any more)."""
    plans = stack_plans(context)
    if plans is not None:
        plans.remove(client_id)


def run(args: argparse.Namespace, context: AwsContext, out: _Output) -> int:
    plans = stack_plans(context)
    if plans is None:
        raise ContextError("the stack declares no usage plans (no UsagePlans output)")
    if args.plans_command == "list":
        if out.as_json:
            out.json({"plans": list(plans.plans)})
        else:
            for plan in plans.plans:
                out.line(plan)
        return 0
    _show(out, plans.assignment(args.client_id), "Plan")
    return 0


def _show(out: _Output, assignment: PlanAssignment, label: str) -> None:
    if out.as_json:
        out.json(
            {"client_id": assignment.client_id, "plan": assignment.plan, "api_key_id": assignment.api_key_id}
        )
        return
    where = assignment.plan or "none (calls to APIs that require a key are refused with 403)"
    out.line(f"{label}: {where}")
