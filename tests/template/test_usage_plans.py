"""Per-partner quotas in the template (issue 15 item 1): plans as tiers, keys only from the authorizer."""

from __future__ import annotations

from typing import Any

from partnerauth.usage_plans import PLANS
from tests.support.template import Resolver, Template, function_environment, resources_of_type

REFS = {"AuthApi": "authapi123", "ApisTable": "apis"}


def usage_plans(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::ApiGateway::UsagePlan")


def test_the_plans_are_the_tiers_the_admin_cli_knows(cfn_template: Template) -> None:
    tiers = {}
    for plan in usage_plans(cfn_template).values():
        (tag,) = [t["Value"] for t in plan["Properties"]["Tags"] if t["Key"] == "partnerauth:plan"]
        tiers[tag] = plan["Properties"]
    assert tuple(tiers) == PLANS
    for tier, properties in tiers.items():
        prefix = tier.capitalize()
        # rate, burst and daily quota are parameters: a tier's limits change without editing the template
        assert properties["Throttle"] == {
            "RateLimit": {"Ref": f"{prefix}RateLimit"},
            "BurstLimit": {"Ref": f"{prefix}BurstLimit"},
        }
        assert properties["Quota"] == {"Limit": {"Ref": f"{prefix}DailyQuota"}, "Period": "DAY"}
        assert "UsagePlanName" not in properties  # a fixed name would clash with a second stack


def test_tiers_grow_by_default(cfn_template: Template) -> None:
    parameters = cfn_template["Parameters"]
    for limit in ("RateLimit", "BurstLimit", "DailyQuota"):
        values = [int(parameters[f"{tier.capitalize()}{limit}"]["Default"]) for tier in PLANS]
        assert values == sorted(values)
        assert len(set(values)) == len(values)


def test_every_stage_in_a_plan_takes_its_key_from_the_authorizer_and_requires_one(
    cfn_template: Template,
) -> None:
    # docs/DESIGN.md "Per-partner quotas": a key value is derived from a public client id, so it must never be
    # accepted from a header; and a method that does not require a key is not metered at all.
    apis = set()
    for plan in usage_plans(cfn_template).values():
        for stage in plan["Properties"]["ApiStages"]:
            api_id = stage["ApiId"]["Ref"]
            assert stage["Stage"] == {"Ref": f"{api_id}.Stage"}
            apis.add(api_id)
    assert apis == {"SampleApi"}
    for api_id in apis:
        api = cfn_template["Resources"][api_id]["Properties"]
        assert api["ApiKeySourceType"] == "AUTHORIZER"
        assert api["Auth"]["ApiKeyRequired"] is True
        assert api["GatewayResponses"]["INVALID_API_KEY"]["StatusCode"] == "403"


def test_the_authorizer_derives_keys_in_the_namespace_the_admin_cli_reads(cfn_template: Template) -> None:
    env = function_environment("AuthorizerFunction", REFS, template=cfn_template)
    outputs = cfn_template["Outputs"]
    resolver = Resolver(cfn_template, {**REFS, **{f"{tier.capitalize()}UsagePlan": tier for tier in PLANS}})
    assert env["USAGE_KEY_NAMESPACE"] == resolver.resolve(outputs["UsageKeyNamespace"]["Value"])
    assert env["USAGE_KEY_NAMESPACE"] == "partnerauth-test"  # the stack's name
    assert (
        resolver.resolve(outputs["UsagePlans"]["Value"])
        == '{"bronze": "bronze", "silver": "silver", "gold": "gold"}'
    )
    assert "UsageKeys" not in cfn_template["Parameters"]  # no client -> key map to redeploy per partner
