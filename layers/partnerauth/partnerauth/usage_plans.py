"""Per-partner quotas: API Gateway usage plans as tiers, and the API key of each partner client.

Which key a request is metered against is the authorizer's answer (``usageIdentifierKey``, REST APIs whose
``ApiKeySourceType`` is ``AUTHORIZER``). The authorizer knows it without a lookup: a client's key value is
derived from what every token of ours carries, the client id, within a namespace of the stack (its name)::

    usage_key_value(namespace, client_id) == "pauk_" + base64url(SHA - 256(namespace + "\\n" + client_id))

So the authorizer needs no table, no network call and no redeploy for a new partner; the admin CLI creates the
partner's API key with that value and moves it between the plans (:class:`UsagePlans`); API Gateway applies a
move to the next request. Why a value anybody can compute is safe here, docs/DESIGN.md ("Per-partner quotas").

This module never imports boto3: the authorizer imports :func:`usage_key_value`, and :class:`UsagePlans` takes
its API Gateway client as an argument.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import base64url
from .errors import PartnerAuthError

PLANS: Final = ("bronze", "silver", "gold")
"""The tiers the template declares (one ``AWS::ApiGateway::UsagePlan`` each), smallest first."""
DEFAULT_PLAN: Final = "bronze"
PLAN_TOKEN_RATES: Final[Mapping[str, int]] = {"bronze": 60, "silver": 300, "gold": 1200}
"""Access tokens a client of each plan may be issued per minute (issue 15 item 2; :mod:`.token_rate`).

A partner that behaves needs one token per instance per lifetime (renewed at 80%: one every 48 minutes for
an hour's token), so even bronze's 60 lets 60 instances of one partner start in the same minute.  The rates
are ``1, 5, 20`` per second against the token route's stage limit of 25 per second (template.yaml): no single
partner, not even gold, can take the whole token endpoint from the others.  A client without a plan gets the
template's ``TokenRatePerMinute``."""
KEY_VALUE_PREFIX: Final = "pauk_"  # 5 + 43 characters: within API Gateway's 20..128 for imported key values
MAX_PAGE: Final = 500


def token_rate(plan: str | None, default: int) -> int:
    """Tokens per minute for a client whose stored plan is ``plan``; ``default`` without one (or with a plan
    name this version does not know: a newer admin CLI's tier is not a reason to refuse tokens)."""
    return PLAN_TOKEN_RATES.get(plan, default) if plan is not None else default


def usage_key_value(namespace: str, client_id: str) -> str:
    """The API key value of ``client_id`` in the stack ``namespace`` (deterministic; carries no authority)."""
    digest = hashlib.sha256(f"{namespace}\n{client_id}".encode()).digest()
    return KEY_VALUE_PREFIX + base64url.encode(digest)


def usage_key_name(namespace: str, client_id: str) -> str:
    """The API key's name, how the admin CLI finds it again."""
    return f"{namespace}/{client_id}"


class UsagePlanError(PartnerAuthError):
    """A plan name or the plans' configuration the command cannot work with (message for the operator)."""


@dataclass(frozen=True, slots=True)
class PlanAssignment:
    client_id: str
    plan: str | None  # None: the key is in no plan (calls to APIs that require a key get 403)
    api_key_id: str | None


class UsagePlans:
    """The plans of one stack (``plan name -> usage plan id``, the stack output ``UsagePlans``) and its
    partners' API keys, through an API Gateway (REST, ``apigateway``) client."""

    def __init__(self, apigateway: Any, namespace: str, plan_ids: Mapping[str, str]) -> None:
        if not namespace:
            raise UsagePlanError("no usage-key namespace (the stack output UsageKeyNamespace)")
        unknown = set(plan_ids) - set(PLANS)
        if unknown or not plan_ids:
            raise UsagePlanError(f"usage plans must be some of {', '.join(PLANS)}")
        self._apigateway = apigateway
        self._namespace = namespace
        self._plan_ids = dict(plan_ids)

    @property
    def plans(self) -> tuple[str, ...]:
        return tuple(plan for plan in PLANS if plan in self._plan_ids)

    def assign(self, client_id: str, plan: str) -> PlanAssignment:
        """Put ``client_id``'s key (created on first use) in ``plan`` and in no other plan of the stack.

        API Gateway refuses a key in two plans of one API stage, so the key leaves its old plan first: a
        call in the instant between the two writes is refused (403) and the partner retries. The new plan
        counts its quota from zero.
        """
        target = self._plan_id(plan)
        key_id = self._key_id(client_id) or self._create_key(client_id)
        for other in self._plan_ids.values():
            if other != target and key_id in self._members(other):
                self._apigateway.delete_usage_plan_key(usagePlanId=other, keyId=key_id)
        if key_id not in self._members(target):
            self._apigateway.create_usage_plan_key(usagePlanId=target, keyId=key_id, keyType="API_KEY")
        return PlanAssignment(client_id, plan, key_id)

    def assignment(self, client_id: str) -> PlanAssignment:
        """Where ``client_id``'s key is now (plan ``None`` without a key or outside every plan)."""
        key_id = self._key_id(client_id)
        if key_id is None:
            return PlanAssignment(client_id, None, None)
        for plan in self.plans:
            if key_id in self._members(self._plan_ids[plan]):
                return PlanAssignment(client_id, plan, key_id)
        return PlanAssignment(client_id, None, key_id)

    def remove(self, client_id: str) -> PlanAssignment:
        """Take ``client_id`` out of every plan and delete its key (the client is being deleted)."""
        key_id = self._key_id(client_id)
        if key_id is not None:
            for plan_id in self._plan_ids.values():
                if key_id in self._members(plan_id):
                    self._apigateway.delete_usage_plan_key(usagePlanId=plan_id, keyId=key_id)
            self._apigateway.delete_api_key(apiKey=key_id)
        return PlanAssignment(client_id, None, None)

    # -- API Gateway ---------------------------------------------------------------------------

    def _plan_id(self, plan: str) -> str:
        if plan not in self._plan_ids:
            raise UsagePlanError(f"unknown plan {plan!r}: the stack has {', '.join(self.plans)}")
        return self._plan_ids[plan]

    def _key_id(self, client_id: str) -> str | None:
        name = usage_key_name(self._namespace, client_id)
        position: str | None = None
        while True:
            page = self._apigateway.get_api_keys(
                nameQuery=name,
                limit=MAX_PAGE,
                includeValues=False,
                **({"position": position} if position else {}),
            )
            for key in page.get("items", []):
                if key.get("name") == name:  # nameQuery is a prefix match
                    return str(key["id"])
            position = page.get("position")
            if not position:
                return None

    def _create_key(self, client_id: str) -> str:
        created = self._apigateway.create_api_key(
            name=usage_key_name(self._namespace, client_id),
            description="partnerauth usage key (value derived from the client id; carries no authority)",
            enabled=True,
            value=usage_key_value(self._namespace, client_id),
            tags={"partnerauth:client_id": client_id[:256], "partnerauth:stack": self._namespace[:256]},
        )
        return str(created["id"])

    def _members(self, plan_id: str) -> set[str]:
        members: set[str] = set()
        position: str | None = None
        while True:
            page = self._apigateway.get_usage_plan_keys(
                usagePlanId=plan_id, limit=MAX_PAGE, **({"position": position} if position else {})
            )
            members.update(str(key["id"]) for key in page.get("items", []))
            position = page.get("position")
            if not position:
                return members
