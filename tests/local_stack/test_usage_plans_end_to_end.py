"""Issue 15's demo on `make dev`: per-partner quotas enforced by the local API Gateway, plans moved by the
admin CLI without a restart.

`python -m local` runs with a bronze daily quota of 3 (``PARAMETER_OVERRIDES``, as ``make dev
PARAMETER_OVERRIDES=...``); two partners are created on bronze with the admin CLI
(``python -m tools.partnerauth_admin create --plan bronze``, against the stack's local AWS endpoint).  The
first spends its quota and gets API Gateway's ``429 {"message": "Limit Exceeded"}`` while the second is
still admitted; ``update --plan silver`` moves the first, and its next call, with the same token, to the
same stack process, is admitted.  Bounded by counts, loopback only, no sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .running_stack import StackProcess, admin_json, stack_environment, start_stack

pytestmark = pytest.mark.e2e

BRONZE_DAILY_QUOTA = 3
OVERRIDES = f"BronzeDailyQuota={BRONZE_DAILY_QUOTA}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(
        tmp_path_factory.mktemp("usage-plans"), environment={"PARAMETER_OVERRIDES": OVERRIDES}
    )
    yield running
    running.stop()


def admin(stack: StackProcess, *arguments: str, plans: bool = True) -> Any:
    """``python -m tools.partnerauth_admin --json ...`` as an operator runs it against ``make dev`` (the
    banner's export lines: endpoint, tables, issuer and, unless ``plans`` is false, the plans)."""
    state = stack.stack
    env = stack_environment(stack.state_dir, 0) | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CLIENTS_TABLE": state["refs"]["ClientsTable"],
        "PEPPER_SECRET_ARN": state["refs"]["ClientSecretPepper"],
        "PARTNERAUTH_ISSUER": state["parameters"]["IssuerUrl"],
    }
    if plans:
        env |= {
            "USAGE_PLANS": json.dumps(state["usage_plans"]),
            "USAGE_KEY_NAMESPACE": state["usage_key_namespace"],
        }
    return admin_json(
        env, "--endpoint-url", stack.demo["aws_endpoint_url"], "--region", "us-east-1", *arguments
    )


def partner(stack: StackProcess, client_id: str, *, plans: bool = True) -> str:
    """A partner on bronze (the CLI's default plan; none when the CLI knows no plans), and a token of it."""
    created = admin(
        stack, "create", "--name", client_id, "--client-id", client_id, "--scope", "orders:read", plans=plans
    )
    token = requests.post(
        stack.demo["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(client_id, created["client_secret"]),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def call(stack: StackProcess, token: str) -> requests.Response:
    return requests.get(
        f"{stack.demo['api_url']}/orders", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_a_partner_over_its_quota_gets_429_until_moved_to_a_larger_plan_without_a_restart(
    stack: StackProcess,
) -> None:
    small, other = partner(stack, "partner-small"), partner(stack, "partner-other")
    assert admin(stack, "plans", "show", "partner-small")["plan"] == "bronze"

    # the bronze quota admits exactly its limit
    assert [call(stack, small).status_code for _ in range(BRONZE_DAILY_QUOTA)] == [200] * BRONZE_DAILY_QUOTA
    refused = call(stack, small)
    # API Gateway's QUOTA_EXCEEDED answer
    assert (refused.status_code, refused.json()) == (429, {"message": "Limit Exceeded"})
    assert refused.headers["x-amzn-ErrorType"] == "LimitExceededException"

    # another partner of the same plan has its own quota
    assert call(stack, other).status_code == 200

    # moved with the admin CLI: the next call is metered by silver, same token, same process
    pid = stack.stack["pid"]
    admin(stack, "update", "partner-small", "--plan", "silver")
    assert admin(stack, "plans", "show", "partner-small")["plan"] == "silver"
    moved = call(stack, small)
    assert moved.status_code == 200, moved.text
    assert stack.process.poll() is None
    assert stack.stack["pid"] == pid
    assert "GET /orders 429" in stack.output()  # the request log shows the refusal


def test_a_partner_without_a_plan_is_refused_with_the_invalid_api_key_response(stack: StackProcess) -> None:
    token = partner(stack, "partner-planless", plans=False)  # a CLI that does not know the stack's plans
    assert admin(stack, "plans", "show", "partner-planless")["plan"] is None
    refused = call(stack, token)
    # the template's INVALID_API_KEY gateway response (403)
    assert refused.status_code == 403
    assert "no usage plan" in refused.json()["message"]


def test_the_demo_client_is_on_the_largest_plan(stack: StackProcess) -> None:
    assert stack.demo["plan"] == "gold"
    assert admin(stack, "plans", "show", stack.demo["client_id"])["plan"] == "gold"
