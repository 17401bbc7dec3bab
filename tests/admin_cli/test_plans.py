"""Admin CLI: a partner's plan (create|update --plan, plans show/list, delete), against moto's API Gateway."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from partnerauth.client_registry import ClientRegistry
from partnerauth.usage_plans import PLANS, usage_key_value
from tools.partnerauth_admin.cli import main

from .conftest import Run

STACK = "partnerauth-plans"
CREATE = ("create", "--name", "Acme", "--scope", "orders:read", "--audience", "partner-api")


@pytest.fixture
def plan_ids(aws: None) -> dict[str, str]:
    apigateway = boto3.client("apigateway")
    return {plan: apigateway.create_usage_plan(name=f"{STACK}-{plan}")["id"] for plan in PLANS}


@pytest.fixture
def plans_cli(tables: dict[str, str], pepper_secret_arn: str, plan_ids: dict[str, str]) -> Callable[..., Run]:
    """The CLI against a stack with the template's plan outputs (UsagePlans, UsageKeyNamespace)."""
    template = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ClientsTableName": {"Value": tables["ClientsTable"]},
            "PepperSecretArn": {"Value": pepper_secret_arn},
            "UsagePlans": {"Value": json.dumps(plan_ids)},
            "UsageKeyNamespace": {"Value": STACK},
        },
    }
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))

    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--stack-name", STACK, *argv], stdout=out, stderr=err, stdin=io.StringIO())
        return Run(code, out.getvalue(), err.getvalue())

    return run


def plan_of(run: Callable[..., Run], client_id: str) -> Any:
    shown = run("--json", "plans", "show", client_id)
    assert shown.code == 0, shown.err
    return shown.json()


def test_create_with_a_plan_puts_the_partner_in_it(plans_cli: Callable[..., Run]) -> None:
    created = plans_cli(*CREATE, "--client-id", "acme", "--plan", "silver")
    assert created.code == 0, created.err
    assert "Plan: silver" in created.out
    shown = plan_of(plans_cli, "acme")
    assert shown["plan"] == "silver"
    # the key the authorizer will name for this client's tokens
    key = boto3.client("apigateway").get_api_key(apiKey=shown["api_key_id"], includeValue=True)
    assert key["value"] == usage_key_value(STACK, "acme")


def test_a_new_partner_without_plan_gets_the_smallest_one(plans_cli: Callable[..., Run]) -> None:
    assert plans_cli(*CREATE, "--client-id", "acme").code == 0
    assert plan_of(plans_cli, "acme")["plan"] == "bronze"


def test_update_plan_moves_the_partner_and_its_client_item_and_nothing_else(
    plans_cli: Callable[..., Run], plan_ids: dict[str, str]
) -> None:
    plans_cli(*CREATE, "--client-id", "acme", "--plan", "bronze")
    before = plans_cli("--json", "show", "acme").json()["client"]
    moved = plans_cli("update", "acme", "--plan", "gold")
    assert moved.code == 0, moved.err
    assert "Plan: gold" in moved.out
    assert plan_of(plans_cli, "acme")["plan"] == "gold"
    after = plans_cli("--json", "show", "acme").json()["client"]
    assert after["plan"] == "gold"  # the token endpoint's per-client rate reads Client.plan
    stamps = ("plan", "updated_at", "changed_at", "changed_by", "last_request")
    unchanged = {key: value for key, value in before.items() if key not in stamps}
    assert {key: after[key] for key in unchanged} == unchanged
    members = {
        plan: [k["id"] for k in boto3.client("apigateway").get_usage_plan_keys(usagePlanId=plan_id)["items"]]
        for plan, plan_id in plan_ids.items()
    }
    assert [plan for plan, keys in members.items() if keys] == ["gold"]


def test_delete_removes_the_partners_key(plans_cli: Callable[..., Run]) -> None:
    plans_cli(*CREATE, "--client-id", "acme", "--plan", "silver")
    assert plans_cli("delete", "acme", "--yes").code == 0
    assert plan_of(plans_cli, "acme") == {"client_id": "acme", "plan": None, "api_key_id": None}


def test_an_unknown_plan_is_refused_by_the_parser(plans_cli: Callable[..., Run]) -> None:
    with pytest.raises(SystemExit):
        plans_cli(*CREATE, "--plan", "platinum")


def test_create_stores_the_plan_on_the_client_item(
    plans_cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    assert plans_cli(*CREATE, "--client-id", "acme", "--plan", "silver").code == 0
    assert registry.get("acme").plan == "silver"
    assert plans_cli("--json", "show", "acme").json()["client"]["plan"] == "silver"


def test_a_new_partner_on_a_stack_with_plans_stores_the_default_plan(
    plans_cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    assert plans_cli(*CREATE, "--client-id", "acme").code == 0
    assert registry.get("acme").plan == "bronze"


def test_plan_on_a_stack_without_plans_is_refused_and_creates_nothing(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    refused = cli(*CREATE, "--client-id", "acme", "--plan", "gold")
    assert refused.code == 1
    assert "no usage plans" in refused.err
    assert "nothing changed" in refused.err
    assert registry.list_clients() == []  # issue 15: checked before the client is written
    assert "client_secret" not in refused.out


def test_a_plan_the_stack_lacks_is_refused_and_creates_nothing(
    tables: dict[str, str], pepper_secret_arn: str, registry: ClientRegistry, aws: None
) -> None:
    apigateway = boto3.client("apigateway")
    only_bronze = {"bronze": apigateway.create_usage_plan(name="only-bronze")["id"]}
    env = {"USAGE_PLANS": json.dumps(only_bronze), "USAGE_KEY_NAMESPACE": "ns"}
    out, err = io.StringIO(), io.StringIO()
    argv = ["--table", tables["ClientsTable"], "--pepper-secret-arn", pepper_secret_arn]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code = main([*argv, *CREATE, "--client-id", "acme", "--plan", "gold"], stdout=out, stderr=err)
    assert code == 1
    assert "no plan 'gold'" in err.getvalue()
    assert registry.list_clients() == []


def test_update_plan_on_a_stack_without_plans_changes_nothing(
    cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    assert cli(*CREATE, "--client-id", "acme").code == 0
    before = registry.get("acme")
    refused = cli("update", "acme", "--plan", "gold", "--name", "Renamed")
    assert refused.code == 1
    assert "no usage plans" in refused.err
    assert registry.get("acme") == before


def test_plans_list_names_the_tiers(plans_cli: Callable[..., Run]) -> None:
    listed = plans_cli("plans", "list")
    assert listed.code == 0
    assert listed.out.split() == list(PLANS)
