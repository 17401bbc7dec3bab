"""The local API Gateway's usage plans: API keys from the authorizer, token-bucket throttling, quotas.

API Gateway's documented answers (local/usage_plans.py cites the pages): a key in no plan of the stage is
403 Forbidden (INVALID_API_KEY), an empty token bucket 429 "Too Many Requests" (THROTTLED), a spent quota
429 "Limit Exceeded" (QUOTA_EXCEEDED).  The plans are read from a moto API Gateway, as the admin CLI
writes them; the clock is injected.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.gateway import ApiConfig, AuthorizerConfig, Gateway, GatewayResponse, Route
from local.identity_source import IdentitySources
from local.proxy_event import ApiIdentity, HttpRequest
from local.resources import create_resources
from local.usage_plans import (
    ApiKey,
    Plan,
    Quota,
    Throttle,
    UsageMeter,
    UsagePlanState,
    Verdict,
    period_start,
    read_usage_plans,
)
from tests.support.clock import FakeClock

API, STAGE = "sample1234", "dev"
NOON = float(calendar.timegm((2025, 6, 11, 12, 0, 0)))  # a Wednesday
ARN = f"arn:aws:execute-api:us-east-1:123456789012:{API}/{STAGE}"


def state(*plans: Plan, keys: dict[str, ApiKey] | None = None) -> UsagePlanState:
    return UsagePlanState(plans, keys if keys is not None else {"key-a-value-0000000000": ApiKey("ka", True)})


def plan(
    plan_id: str = "small",
    *,
    members: tuple[str, ...] = ("ka",),
    throttle: Throttle | None = None,
    quota: Quota | None = None,
    stages: tuple[tuple[str, str], ...] = ((API, STAGE),),
) -> Plan:
    return Plan(plan_id, frozenset(stages), frozenset(members), throttle, quota)


def meter(current: UsagePlanState, clock: FakeClock) -> UsageMeter:
    return UsageMeter(lambda: current, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOON)


# -- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "keys", "stages"),
    [
        (None, None, ((API, STAGE),)),  # the authorizer returned no usageIdentifierKey
        ("unknown-key-value-000000", None, ((API, STAGE),)),  # no such API key
        (
            "key-a-value-0000000000",
            {"key-a-value-0000000000": ApiKey("ka", False)},
            ((API, STAGE),),
        ),  # disabled
        ("key-a-value-0000000000", None, ((API, "prod"),)),  # its plan is not attached to this stage
        ("key-a-value-0000000000", None, (("other12345", STAGE),)),  # ... nor to this API
    ],
)
def test_a_key_that_is_not_an_enabled_key_of_a_plan_of_this_stage_is_invalid(
    clock: FakeClock, key: str | None, keys: dict[str, ApiKey] | None, stages: tuple[tuple[str, str], ...]
) -> None:
    usage = meter(state(plan(stages=stages), keys=keys), clock)
    # "Choose an API key source": no match -> 403 Forbidden
    assert usage.admit(key, API, STAGE).verdict is Verdict.INVALID_API_KEY


def test_a_key_outside_every_plan_is_invalid(clock: FakeClock) -> None:
    usage = meter(state(plan(members=())), clock)
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.INVALID_API_KEY


def test_an_admitted_request_names_the_key_it_was_metered_against(clock: FakeClock) -> None:
    metered = meter(state(plan()), clock).admit("key-a-value-0000000000", API, STAGE)
    assert (metered.verdict, metered.api_key_id, metered.api_key) == (
        Verdict.ADMITTED,
        "ka",
        "key-a-value-0000000000",
    )


# -- throttling -----------------------------------------------------------------------------------


def test_the_burst_is_the_bucket_and_the_rate_refills_it(clock: FakeClock) -> None:
    usage = meter(state(plan(throttle=Throttle(rate_limit=2, burst_limit=3))), clock)
    # the bucket starts full: `burst` requests at once, then 429 Too Many Requests
    assert [usage.admit("key-a-value-0000000000", API, STAGE).verdict for _ in range(4)] == [
        Verdict.ADMITTED,
        Verdict.ADMITTED,
        Verdict.ADMITTED,
        Verdict.THROTTLED,
    ]
    clock.advance(0.5)  # rate 2/s: one token back
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.THROTTLED
    clock.advance(60)  # never more than the burst
    verdicts = [usage.admit("key-a-value-0000000000", API, STAGE).verdict for _ in range(4)]
    assert verdicts.count(Verdict.ADMITTED) == 3


def test_each_key_has_its_own_bucket(clock: FakeClock) -> None:
    keys = {"key-a-value-0000000000": ApiKey("ka", True), "key-b-value-0000000000": ApiKey("kb", True)}
    usage = meter(state(plan(members=("ka", "kb"), throttle=Throttle(1, 1)), keys=keys), clock)
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.THROTTLED
    assert usage.admit("key-b-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED


def test_a_throttled_request_does_not_count_against_the_quota(clock: FakeClock) -> None:
    usage = meter(state(plan(throttle=Throttle(1, 1), quota=Quota(2, "DAY"))), clock)
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.THROTTLED
    clock.advance(1)
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED
    clock.advance(1)
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.QUOTA_EXCEEDED


# -- quotas ---------------------------------------------------------------------------------------


def test_the_daily_quota_ends_at_the_limit_and_starts_again_at_midnight_utc(clock: FakeClock) -> None:
    usage = meter(state(plan(quota=Quota(3, "DAY"))), clock)
    verdicts = [usage.admit("key-a-value-0000000000", API, STAGE).verdict for _ in range(4)]
    assert verdicts == [Verdict.ADMITTED] * 3 + [Verdict.QUOTA_EXCEEDED]
    clock.advance(11 * 3600 + 59 * 60)  # 23:59 UTC: still the same day
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.QUOTA_EXCEEDED
    clock.advance(60)  # 00:00 UTC
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED


def test_the_offset_is_taken_from_the_limit_in_the_initial_period_only(clock: FakeClock) -> None:
    usage = meter(state(plan(quota=Quota(3, "DAY", offset=2))), clock)
    # QuotaSettings.offset: "The number of requests subtracted from the given limit in the initial time
    # period"
    assert [usage.admit("key-a-value-0000000000", API, STAGE).verdict for _ in range(2)] == [
        Verdict.ADMITTED,
        Verdict.QUOTA_EXCEEDED,
    ]
    clock.advance(86_400)
    verdicts = [usage.admit("key-a-value-0000000000", API, STAGE).verdict for _ in range(4)]
    assert verdicts == [Verdict.ADMITTED] * 3 + [Verdict.QUOTA_EXCEEDED]


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("DAY", (2025, 6, 11)),
        ("WEEK", (2025, 6, 8)),  # the Sunday before
        ("MONTH", (2025, 6, 1)),
    ],
)
def test_quota_periods_are_utc_calendar_periods(period: str, start: tuple[int, int, int]) -> None:
    assert period_start(period, NOON) == calendar.timegm((*start, 0, 0, 0))
    assert period_start(period, float(calendar.timegm((*start, 0, 0, 0)))) == calendar.timegm(
        (*start, 0, 0, 0)
    )


def test_a_key_moved_to_another_plan_is_metered_by_it_from_zero(clock: FakeClock) -> None:
    small = plan("small", quota=Quota(1, "DAY"))
    large = plan("large", members=(), quota=Quota(5, "DAY"))
    current = {"state": state(small, large)}
    writes = {"n": 0}
    usage = UsageMeter(lambda: current["state"], lambda: writes["n"], clock=clock, ttl=3600)
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED
    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.QUOTA_EXCEEDED

    # the admin CLI moves the key: a write to API Gateway
    current["state"] = state(
        plan("small", members=(), quota=Quota(1, "DAY")), plan("large", quota=Quota(5, "DAY"))
    )
    writes["n"] += 1

    assert usage.admit("key-a-value-0000000000", API, STAGE).verdict is Verdict.ADMITTED


def test_the_plans_are_read_again_after_a_write_or_the_ttl_and_not_otherwise(clock: FakeClock) -> None:
    writes = {"n": 0}
    usage = UsageMeter(lambda: state(plan()), lambda: writes["n"], clock=clock, ttl=10)
    for _ in range(5):
        usage.admit("key-a-value-0000000000", API, STAGE)
    assert usage.reads == 1
    writes["n"] += 1
    usage.admit("key-a-value-0000000000", API, STAGE)
    assert usage.reads == 2
    clock.advance(10)
    usage.admit("key-a-value-0000000000", API, STAGE)
    assert usage.reads == 3


# -- through the gateway --------------------------------------------------------------------------

SAMPLE = ApiConfig(
    "SampleApi",
    ApiIdentity(API, STAGE, "us-east-1", "123456789012", "127.0.0.1:3000"),
    {"INVALID_API_KEY": GatewayResponse(403, {}, '{"message": "no plan"}')},
    api_key_source="AUTHORIZER",
)
REQUEST_AUTHORIZER = AuthorizerConfig(
    "Partner", "AuthorizerFunction", "REQUEST", ttl=300, identity=IdentitySources(headers=("Authorization",))
)


class Functions:
    def __init__(self, usage_key: str | None) -> None:
        self.usage_key = usage_key
        self.backend_events: list[dict[str, Any]] = []
        self.authorizer_calls = 0

    def __call__(self, function_id: str, event: dict[str, Any]) -> Any:
        if function_id == "AuthorizerFunction":
            self.authorizer_calls += 1
            answer: dict[str, Any] = {
                "principalId": "client-a",
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN}/*"}
                    ],
                },
                "context": {"client_id": "client-a"},
            }
            if self.usage_key is not None:
                answer["usageIdentifierKey"] = self.usage_key
            return answer
        self.backend_events.append(event)
        return {"statusCode": 200, "body": "{}"}


def gateway(
    functions: Functions, usage: UsageMeter, *, required: bool = True, source: str = "AUTHORIZER"
) -> Gateway:
    api = ApiConfig(SAMPLE.logical_id, SAMPLE.identity, SAMPLE.gateway_responses, api_key_source=source)
    route = Route(api, "GET", "/orders", "OrdersFunction", REQUEST_AUTHORIZER, api_key_required=required)
    return Gateway([route], functions, meter=usage)


def get(gw: Gateway) -> tuple[int, dict[str, str], Any]:
    response = gw.handle(HttpRequest("GET", "/orders", "", (("Authorization", "Bearer t"),))).response
    return response.status, dict(response.headers), json.loads(response.body)


def test_the_gateway_answers_as_api_gateway_for_each_refusal(clock: FakeClock) -> None:
    functions = Functions("key-a-value-0000000000")
    gw = gateway(functions, meter(state(plan(throttle=Throttle(1, 2), quota=Quota(3, "DAY"))), clock))
    assert get(gw)[0] == 200
    assert get(gw)[0] == 200
    status, headers, body = get(gw)
    # THROTTLED: 429 Too Many Requests
    assert (status, body, headers["x-amzn-ErrorType"]) == (
        429,
        {"message": "Too Many Requests"},
        "TooManyRequestsException",
    )
    clock.advance(1)
    assert get(gw)[0] == 200
    clock.advance(1)
    status, headers, body = get(gw)
    # QUOTA_EXCEEDED: 429 Limit Exceeded
    assert (status, body, headers["x-amzn-ErrorType"]) == (
        429,
        {"message": "Limit Exceeded"},
        "LimitExceededException",
    )
    # every answer after the first came from the authorizer cache, with its key
    assert functions.authorizer_calls == 1
    assert len(functions.backend_events) == 3


def test_an_allowed_caller_without_a_key_in_a_plan_gets_the_invalid_api_key_response(
    clock: FakeClock,
) -> None:
    functions = Functions(None)
    status, _, body = get(gateway(functions, meter(state(plan()), clock)))
    # INVALID_API_KEY (403), as the template's GatewayResponses shape it
    assert (status, body) == (403, {"message": "no plan"})
    assert functions.backend_events == []


def test_the_default_invalid_api_key_answer_is_forbidden(clock: FakeClock) -> None:
    functions = Functions("unknown-key-value-000000")
    api = ApiConfig(SAMPLE.logical_id, SAMPLE.identity, {}, api_key_source="AUTHORIZER")
    route = Route(api, "GET", "/orders", "OrdersFunction", REQUEST_AUTHORIZER, api_key_required=True)
    status, headers, body = get(Gateway([route], functions, meter=meter(state(plan()), clock)))
    assert (status, body, headers["x-amzn-ErrorType"]) == (
        403,
        {"message": "Forbidden"},
        "ForbiddenException",
    )


def test_the_backend_sees_the_key_it_was_metered_against(clock: FakeClock) -> None:
    functions = Functions("key-a-value-0000000000")
    assert get(gateway(functions, meter(state(plan()), clock)))[0] == 200
    identity = functions.backend_events[0]["requestContext"]["identity"]
    assert (identity["apiKey"], identity["apiKeyId"]) == ("key-a-value-0000000000", "ka")


@pytest.mark.parametrize(("required", "source"), [(False, "AUTHORIZER"), (True, "HEADER")])
def test_methods_without_an_authorizer_sourced_required_key_are_not_metered(
    clock: FakeClock, required: bool, source: str
) -> None:
    functions = Functions(None)
    assert get(gateway(functions, meter(state(), clock), required=required, source=source))[0] == 200


# -- from API Gateway (moto), as the template and the admin CLI write it ----------------------------


@pytest.fixture
def apigateway() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("apigateway", region_name="us-east-1")


def test_the_template_plans_are_created_for_the_api_the_gateway_serves(
    apigateway: Any, cfn_template: Any
) -> None:
    from local.assembly import local_api_id

    parameters = {"BronzeDailyQuota": "3", "BronzeRateLimit": "7", "BronzeBurstLimit": "9"}
    created = create_resources(
        cfn_template_subset(cfn_template),
        lambda service: apigateway,
        stack_name="partnerauth-local",
        parameters=parameters,
    )
    sample = created.refs["SampleApi"]
    assert sample == local_api_id("SampleApi")
    assert apigateway.get_rest_api(restApiId=sample)["apiKeySource"] == "AUTHORIZER"
    bronze = apigateway.get_usage_plan(usagePlanId=created.refs["BronzeUsagePlan"])
    assert bronze["apiStages"] == [{"apiId": sample, "stage": created.refs["SampleApi.Stage"]}]
    assert bronze["throttle"] == {"rateLimit": 7.0, "burstLimit": 9}
    assert bronze["quota"] == {"limit": 3, "period": "DAY", "offset": 0}


def test_plans_and_keys_are_read_as_the_admin_cli_writes_them(apigateway: Any) -> None:
    from partnerauth.usage_plans import UsagePlans, usage_key_value

    small = apigateway.create_usage_plan(
        name="small", apiStages=[{"apiId": API, "stage": STAGE}], throttle={"rateLimit": 1.0, "burstLimit": 2}
    )["id"]
    large = apigateway.create_usage_plan(
        name="large", apiStages=[{"apiId": API, "stage": STAGE}], quota={"limit": 9, "period": "WEEK"}
    )["id"]
    plans = UsagePlans(apigateway, "ns", {"bronze": small, "gold": large})
    plans.assign("client-a", "bronze")
    plans.assign("client-a", "gold")

    current = read_usage_plans(apigateway)

    found = current.plan_for(usage_key_value("ns", "client-a"), API, STAGE)
    assert found is not None
    assert (found[1].plan_id, found[1].throttle, found[1].quota) == (large, None, Quota(9, "WEEK"))


def cfn_template_subset(template: Any) -> dict[str, Any]:
    """The template with only its API Gateway resources (the rest needs other services)."""
    kept = {"AWS::Serverless::Api", "AWS::ApiGateway::UsagePlan"}
    resources = {k: v for k, v in template["Resources"].items() if v.get("Type") in kept}
    return {**template, "Resources": resources}
