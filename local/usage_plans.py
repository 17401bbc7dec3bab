"""API Gateway usage plans on the local stack: API keys, per-key throttling and quotas (REST APIs).

What API Gateway documents, and what this module does with it:

* "Choose an API key source in API Gateway" (developerguide/api-gateway-api-key-source.html): when a
  usage plan is associated with an API and its methods require an API key, "API Gateway reads the key and
  compares it against the keys in the usage plan. If there is a match, API Gateway throttles the requests
  based on the plan's request limit and quota. Otherwise, it throws an InvalidKeyParameter exception. As a
  result, the caller receives a 403 Forbidden response."  With ``ApiKeySourceType: AUTHORIZER`` the key is
  the Lambda authorizer's ``usageIdentifierKey`` (cached with the rest of its answer).  Here: the key must be
  an *enabled* API key, in a usage plan whose ``apiStages`` hold this API's id and stage; else
  :attr:`Verdict.INVALID_API_KEY` (gateway response ``INVALID_API_KEY``, 403, ``{"message":"Forbidden"}``).
* "Throttle requests to your REST APIs" (developerguide/api-gateway-request-throttling.html): "API Gateway
  throttles requests to your API using the token bucket algorithm, where a token counts for a request";
  in a usage plan the rate is "the rate at which tokens are added to the token bucket" and the burst "the
  capacity of the token bucket".  One bucket per key and plan ("Usage plans and API keys",
  api-gateway-api-usage-plans.html: "Throttling and quota limits apply to requests for individual API keys
  that are aggregated across all API stages within a usage plan"), full when first used.  An empty bucket
  is :attr:`Verdict.THROTTLED` (``THROTTLED``, 429, ``{"message":"Too Many Requests"}``).
* ``QuotaSettings`` (api/API_QuotaSettings.html): ``limit`` requests per ``period`` (``DAY``, ``WEEK`` or
  ``MONTH``), ``offset`` "the number of requests subtracted from the given limit in the initial time
  period".  Periods are calendar periods in UTC: a day from 00:00, a week from Sunday 00:00 (the SDKs'
  older description of ``offset``: "with a time period of WEEK, an offset of 0 starts on Sunday"), a month
  from the 1st.  Beyond the limit: :attr:`Verdict.QUOTA_EXCEEDED` (``QUOTA_EXCEEDED``, 429,
  ``{"message":"Limit Exceeded"}``; Knowledge Center "api-gateway-429-limit": "Exceeding the throttling
  limit or quota returns a '429 Too Many Requests' or 'Limit Exceeded' error response").  A request the
  throttle refuses does not count against the quota.  Counters are per key and plan, so a key moved to
  another plan starts that plan's period from zero (as ``GetUsage`` reports usage per plan).

The plans and keys are read from the local AWS endpoint's API Gateway, where the stack creates the
template's ``AWS::ApiGateway::UsagePlan`` resources and the admin CLI creates and moves partners' keys.
:class:`UsageMeter` reads them again after any write to API Gateway through that endpoint (``changes``
counts them, :class:`local.aws_endpoint.AwsEndpoint`) and at least every ``ttl`` seconds, so a partner
moved to another plan is metered by it from its next request, without a restart.  The clock is injected.

Not emulated: per-method throttles inside a plan's ``apiStages`` (``throttle`` by ``/path/METHOD``), the
stage's own ``MethodSettings`` throttling, account-level limits, and ``HEADER``-sourced keys (``x-api-key``).
"""

from __future__ import annotations

import calendar
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from .cloudformation import Resolver

Clock = Callable[[], float]
DEFAULT_TTL: Final = 10.0  # seconds: the plans are read again at least this often (and after every write)
PAGE: Final = 500
PERIODS: Final = ("DAY", "WEEK", "MONTH")
DAY: Final = 86_400
SUNDAY_EPOCH: Final = 3 * DAY  # 1970-01-04 was a Sunday


class Verdict(StrEnum):
    ADMITTED = "ADMITTED"
    INVALID_API_KEY = "INVALID_API_KEY"
    THROTTLED = "THROTTLED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


@dataclass(frozen=True, slots=True)
class Metered:
    """The meter's answer, and the API key the request was metered against (for ``requestContext``)."""

    verdict: Verdict
    api_key_id: str | None = None
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class Throttle:
    rate_limit: float  # tokens added per second
    burst_limit: int  # the bucket's capacity


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    period: str  # DAY | WEEK | MONTH
    offset: int = 0

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ValueError(f"quota period must be one of {', '.join(PERIODS)}, not {self.period!r}")


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    stages: frozenset[tuple[str, str]]  # (REST API id, stage name)
    key_ids: frozenset[str]
    throttle: Throttle | None = None
    quota: Quota | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    enabled: bool


@dataclass(frozen=True)
class UsagePlanState:
    """API Gateway's plans and keys at one moment: which plan meters a key value on a stage."""

    plans: tuple[Plan, ...] = ()
    keys: Mapping[str, ApiKey] = field(default_factory=dict)  # key value -> key

    def plan_for(self, key_value: str, api_id: str, stage: str) -> tuple[ApiKey, Plan] | None:
        key = self.keys.get(key_value)
        if key is None or not key.enabled:
            return None
        for plan in self.plans:
            if (api_id, stage) in plan.stages and key.key_id in plan.key_ids:
                return key, plan  # API Gateway allows a key in one plan per stage
        return None


def read_usage_plans(apigateway: Any) -> UsagePlanState:
    """The plans and keys of an API Gateway (REST, ``apigateway``) client, every page."""
    keys = {
        str(item["value"]): ApiKey(str(item["id"]), bool(item.get("enabled", False)))
        for item in _pages(apigateway.get_api_keys, includeValues=True)
        if item.get("value")
    }
    plans = tuple(_plan(apigateway, item) for item in _pages(apigateway.get_usage_plans))
    return UsagePlanState(plans, keys)


def _plan(apigateway: Any, item: Mapping[str, Any]) -> Plan:
    plan_id = str(item["id"])
    throttle = item.get("throttle") or {}
    quota = item.get("quota") or {}
    members = _pages(apigateway.get_usage_plan_keys, usagePlanId=plan_id)
    return Plan(
        plan_id,
        frozenset((str(s["apiId"]), str(s["stage"])) for s in item.get("apiStages") or ()),
        frozenset(str(key["id"]) for key in members),
        Throttle(float(throttle.get("rateLimit", 0)), int(throttle.get("burstLimit", 0)))
        if throttle
        else None,
        Quota(int(quota["limit"]), str(quota.get("period", "DAY")), int(quota.get("offset", 0)))
        if "limit" in quota
        else None,
    )


def _pages(call: Callable[..., Mapping[str, Any]], **arguments: Any) -> Iterator[Mapping[str, Any]]:
    position: str | None = None
    while True:
        page = call(limit=PAGE, **arguments, **({"position": position} if position else {}))
        yield from page.get("items") or ()
        position = page.get("position")
        if not position:
            return


def period_start(period: str, now: float) -> float:
    """The start (epoch seconds, UTC) of the quota period holding ``now``."""
    if period == "DAY":
        return now - now % DAY
    if period == "WEEK":
        return now - (now - SUNDAY_EPOCH) % (7 * DAY)
    moment = time.gmtime(now)
    return float(calendar.timegm((moment.tm_year, moment.tm_mon, 1, 0, 0, 0)))


class _Bucket:
    """A token bucket: ``burst`` tokens when first used, ``rate`` more per second, one per request."""

    def __init__(self, burst: int, now: float) -> None:
        self.tokens = float(burst)
        self.updated = now

    def take(self, throttle: Throttle, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(throttle.burst_limit), self.tokens + elapsed * throttle.rate_limit)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class UsageMeter:
    """Admits or refuses each request for an API key on an API stage, as its usage plan says.

    ``read`` returns API Gateway's current plans and keys (:func:`read_usage_plans`); ``changes`` returns a
    number that moves whenever API Gateway may have changed (the endpoint's count of writes to it).
    """

    def __init__(
        self,
        read: Callable[[], UsagePlanState],
        changes: Callable[[], int] = lambda: 0,
        *,
        clock: Clock = time.time,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self._read = read
        self._changes = changes
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._state: UsagePlanState | None = None
        self._seen_changes = 0
        self._read_at = 0.0
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._counts: dict[tuple[str, str], tuple[float, int]] = {}  # (plan, key) -> (period start, count)
        self._first_period: dict[str, float] = {}  # plan -> its initial period (where offset applies)
        self.reads = 0  # how often the plans were read (tests)

    def admit(self, key_value: str | None, api_id: str, stage: str) -> Metered:
        with self._lock:
            now = self._clock()
            found = self._current(now).plan_for(key_value, api_id, stage) if key_value else None
            if found is None:
                return Metered(Verdict.INVALID_API_KEY)
            key, plan = found
            metered = (key.key_id, key_value)
            slot = (plan.plan_id, key.key_id)
            if plan.throttle is not None:
                bucket = self._buckets.setdefault(slot, _Bucket(plan.throttle.burst_limit, now))
                if not bucket.take(plan.throttle, now):
                    return Metered(Verdict.THROTTLED, *metered)
            if plan.quota is not None and not self._count(plan.plan_id, slot, plan.quota, now):
                return Metered(Verdict.QUOTA_EXCEEDED, *metered)
            return Metered(Verdict.ADMITTED, *metered)

    def _count(self, plan_id: str, slot: tuple[str, str], quota: Quota, now: float) -> bool:
        start = period_start(quota.period, now)
        first = self._first_period.setdefault(plan_id, start)
        limit = quota.limit - (quota.offset if start == first else 0)
        counted_start, count = self._counts.get(slot, (start, 0))
        if counted_start != start:
            count = 0
        if count >= limit:
            self._counts[slot] = (start, count)
            return False
        self._counts[slot] = (start, count + 1)
        return True

    def _current(self, now: float) -> UsagePlanState:
        changes = self._changes()
        if self._state is None or changes != self._seen_changes or now - self._read_at >= self._ttl:
            self._state = self._read()
            self._seen_changes = changes
            self._read_at = now
            self.reads += 1
        return self._state


@dataclass(frozen=True, slots=True)
class StackPlans:
    """A stack's partner plans as the admin CLI finds them: outputs ``UsageKeyNamespace`` and ``UsagePlans``
    (locally, environment ``USAGE_KEY_NAMESPACE`` and ``USAGE_PLANS``)."""

    namespace: str
    plan_ids: Mapping[str, str]  # plan name -> usage plan id

    def environment(self) -> dict[str, str]:
        return {
            "USAGE_PLANS": json.dumps(dict(self.plan_ids), separators=(",", ":")),
            "USAGE_KEY_NAMESPACE": self.namespace,
        }


def stack_plans(
    template: Mapping[str, Any], refs: Mapping[str, str], parameters: Mapping[str, str], stack_name: str
) -> StackPlans | None:
    """The template's outputs ``UsagePlans`` and ``UsageKeyNamespace`` resolved against the local resources;
    ``None`` for a template without them."""
    outputs = template.get("Outputs") or {}
    if "UsagePlans" not in outputs or "UsageKeyNamespace" not in outputs:
        return None
    resolver = Resolver(dict(template), refs, parameters, pseudo_parameters={"AWS::StackName": stack_name})
    plan_ids = json.loads(str(resolver.resolve(outputs["UsagePlans"]["Value"])))
    namespace = str(resolver.resolve(outputs["UsageKeyNamespace"]["Value"]))
    return StackPlans(namespace, {str(name): str(plan_id) for name, plan_id in plan_ids.items()})


def assign_plan(apigateway: Any, plans: StackPlans, client_id: str, plan: str | None = None) -> str:
    """Put ``client_id``'s API key in ``plan`` (default: the largest tier) as the admin CLI's ``--plan``
    does; returns the plan.  The layer must be importable (the runtime has put it on ``sys.path``)."""
    from partnerauth.usage_plans import PLANS, UsagePlans  # noqa: PLC0415

    chosen = plan or [name for name in PLANS if name in plans.plan_ids][-1]
    UsagePlans(apigateway, plans.namespace, plans.plan_ids).assign(client_id, chosen)
    return chosen
