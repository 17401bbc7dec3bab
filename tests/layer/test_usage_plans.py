"""Partners' API keys and their plans (partnerauth.usage_plans), against moto's API Gateway."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.usage_plans import (
    PLANS,
    UsagePlanError,
    UsagePlans,
    usage_key_name,
    usage_key_value,
)

NAMESPACE = "partnerauth-test"


@pytest.fixture
def apigateway(aws: None, boto_session: Any) -> Any:
    return boto_session.client("apigateway")


@pytest.fixture
def plans(apigateway: Any) -> UsagePlans:
    ids = {plan: apigateway.create_usage_plan(name=f"{NAMESPACE}-{plan}")["id"] for plan in PLANS}
    return UsagePlans(apigateway, NAMESPACE, ids)


def test_a_key_value_is_derived_from_the_namespace_and_the_client_id() -> None:
    value = usage_key_value(NAMESPACE, "partner-1")
    assert value == usage_key_value(NAMESPACE, "partner-1")
    assert value != usage_key_value(NAMESPACE, "partner-2")
    assert value != usage_key_value("another-stack", "partner-1")  # API key values are unique per region
    # API Gateway's imported key values: 20 to 128 characters
    assert value.startswith("pauk_")
    assert 20 <= len(value) <= 128
    # no client id meets another stack's key: the separator (a newline) is in neither a stack name nor a
    # client id (printable ASCII)
    assert usage_key_value("stack-a", "b-c") != usage_key_value("stack-a-b", "c")


def test_assign_creates_the_key_with_the_derived_value_in_the_plan(
    apigateway: Any, plans: UsagePlans
) -> None:
    assigned = plans.assign("partner-1", "silver")
    assert assigned.plan == "silver"
    key = apigateway.get_api_key(apiKey=assigned.api_key_id, includeValue=True)
    assert key["value"] == usage_key_value(NAMESPACE, "partner-1")
    assert key["name"] == usage_key_name(NAMESPACE, "partner-1")
    assert key["enabled"] is True
    assert plans.assignment("partner-1") == assigned


def test_moving_a_partner_leaves_its_key_in_exactly_one_plan(apigateway: Any, plans: UsagePlans) -> None:
    first = plans.assign("partner-1", "bronze")
    moved = plans.assign("partner-1", "gold")
    assert moved.api_key_id == first.api_key_id  # the same key: the authorizer's answer does not change
    memberships = [
        plan
        for plan in PLANS
        if any(
            key["id"] == moved.api_key_id
            for key in apigateway.get_usage_plan_keys(usagePlanId=plans._plan_ids[plan])["items"]
        )
    ]
    assert memberships == ["gold"]
    assert plans.assignment("partner-1").plan == "gold"


def test_assigning_the_same_plan_twice_changes_nothing(plans: UsagePlans) -> None:
    assert plans.assign("partner-1", "silver") == plans.assign("partner-1", "silver")


def test_a_partner_without_a_key_has_no_plan(plans: UsagePlans) -> None:
    assert plans.assignment("partner-9").plan is None
    assert plans.assignment("partner-9").api_key_id is None


def test_a_name_that_only_starts_like_another_clients_key_is_not_taken_for_it(plans: UsagePlans) -> None:
    plans.assign("partner-10", "gold")
    assert plans.assignment("partner-1").plan is None  # get_api_keys' nameQuery matches prefixes


def test_remove_deletes_the_key_and_its_memberships(apigateway: Any, plans: UsagePlans) -> None:
    assigned = plans.assign("partner-1", "bronze")
    plans.remove("partner-1")
    assert plans.assignment("partner-1").plan is None
    assert all(key["id"] != assigned.api_key_id for key in apigateway.get_api_keys()["items"])


def test_an_unknown_plan_is_refused_with_the_plans_there_are(plans: UsagePlans) -> None:
    with pytest.raises(UsagePlanError, match="bronze, silver, gold"):
        plans.assign("partner-1", "platinum")


@pytest.mark.parametrize(
    ("namespace", "plan_ids"), [("", {"bronze": "p"}), ("stack", {}), ("stack", {"platinum": "p"})]
)
def test_a_configuration_without_namespace_or_known_plans_is_refused(
    namespace: str, plan_ids: dict[str, str]
) -> None:
    with pytest.raises(UsagePlanError):
        UsagePlans(object(), namespace, plan_ids)
