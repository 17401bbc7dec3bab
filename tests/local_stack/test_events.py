"""Every file in events/ through `make invoke` against a running `make dev`, without editing: its
placeholders are filled from the stack and its answer is the one events/README.md documents.

Order matters for two of them and is the README's: rotate now, then revoke the key it retired.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.event_placeholders import ACCESS_TOKEN, CLIENT_SECRET
from local.iam_policy import Decision, evaluate

from .running_stack import REPO, StackProcess, invocation_result, invoke_file, start_stack

pytestmark = pytest.mark.e2e

EVENTS = REPO / "events"
SAMPLE_ARN = "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev"  # the authorizer events' API
EVENT_FUNCTIONS = {
    "authorizer-": "AuthorizerFunction",
    "rotation-": "KeyRotationFunction",
    "token-request-": "TokenFunction",
    "jwks-": "JwksFunction",
    "discovery-": "JwksFunction",
    "sample-api-": "SampleApiFunction",
    "http-api-": "SampleHttpApiFunction",
}


def body(result: Any) -> Any:
    return json.loads(result["body"])


def header(result: Any, name: str) -> str:
    return str(result["multiValueHeaders"][name][0])


def allows(result: Any, method_arn: str) -> bool:
    """IAM's answer for the event's own method ARN (local.iam_policy: the gateway's evaluation)."""
    return evaluate(result["policyDocument"], method_arn) is Decision.ALLOW


# What events/README.md says each answers against `make dev` (status 0: the function returned).
EXPECTED: dict[str, Callable[[Any, dict[str, Any]], bool]] = {
    "authorizer-token.json": lambda out, demo: (
        out["principalId"] == demo["client_id"] and allows(out, f"{SAMPLE_ARN}/GET/orders/42")
    ),
    "authorizer-request.json": lambda out, demo: (
        allows(out, f"{SAMPLE_ARN}/POST/orders") and out["context"]["client_id"] == demo["client_id"]
    ),
    "authorizer-http-api.json": lambda out, demo: (
        out["isAuthorized"] is True and out["context"]["client_id"] == demo["client_id"]
    ),
    # RFC 6749 §5.1: 200, the granted scope, never cached
    "token-request-basic.json": lambda out, _: (
        out["statusCode"] == 200
        and body(out)["scope"] == "orders:read"
        and header(out, "Cache-Control") == "no-store"
    ),
    "token-request-post.json": lambda out, demo: (
        out["statusCode"] == 200 and set(body(out)["scope"].split()) == set(demo["scopes"])
    ),
    # RFC 6749 §5.2
    "token-request-bad.json": lambda out, _: (
        out["statusCode"] == 400 and body(out)["error"] == "invalid_request"
    ),
    "jwks-request.json": lambda out, _: out["statusCode"] == 200 and len(body(out)["keys"]) >= 2,
    "discovery-request.json": lambda out, demo: (
        out["statusCode"] == 200 and body(out)["token_endpoint"] == demo["token_url"]
    ),
    "sample-api-get-order.json": lambda out, _: (
        out["statusCode"] == 200 and body(out)["order"]["id"] == "o-1001"
    ),
    "http-api-list-shipments.json": lambda out, _: (
        out["statusCode"] == 200 and body(out)["caller"]["scope"] == "shipments:read"
    ),
    "rotation-scheduled.json": lambda out, _: out["ok"] is True,
    "rotation-rotate-now.json": lambda out, _: (
        out["ok"] is True and {(t["from"], t["to"]) for t in out["transitions"]} >= {("current", "retired")}
    ),
    "rotation-revoke.json": lambda out, _: (
        out["ok"] is True and [t["to"] for t in out["transitions"][:1]] == ["gone"]
    ),
}
# rotate now first, then revoke the key it retired (README "Cutting a partner off"); the rest by name
ORDER = ["rotation-scheduled.json", "rotation-rotate-now.json", "rotation-revoke.json"]
EVENT_FILES = sorted(path.name for path in EVENTS.glob("*.json"))
RUN_ORDER = ORDER + [name for name in EVENT_FILES if name not in ORDER]


def function_of(name: str) -> str:
    return next(function for prefix, function in EVENT_FUNCTIONS.items() if name.startswith(prefix))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("events-stack"))
    yield running
    running.stop()


def test_every_event_file_has_a_function_and_a_documented_answer() -> None:
    readme = (EVENTS / "README.md").read_text(encoding="utf-8")
    assert EVENT_FILES, "events/ is empty"
    assert set(EXPECTED) == set(EVENT_FILES)
    for name in EVENT_FILES:
        assert f"| `{name}` | `{function_of(name)}` |" in readme, f"{name}: not in events/README.md's table"


@pytest.mark.parametrize("name", RUN_ORDER)
def test_each_event_file_runs_through_make_invoke_unedited(stack: StackProcess, name: str) -> None:
    status, output, errors = invoke_file(stack, function_of(name), EVENTS / name)
    assert status == 0, errors
    result = invocation_result(output)
    assert EXPECTED[name](result, stack.demo), json.dumps(result)[:2000]
    # what was filled is said; the secret and the token never are
    assert stack.demo["client_secret"] not in errors
    assert "eyJ" not in errors
    if ACCESS_TOKEN in (EVENTS / name).read_text(encoding="utf-8"):
        assert "a fresh access token of the demo client" in errors


def test_the_revoke_event_names_the_key_the_rotation_retired(stack: StackProcess) -> None:
    # Given a rotation now, when the unedited revoke event is invoked, then the retired key is revoked
    status, output, _ = invoke_file(stack, "KeyRotationFunction", EVENTS / "rotation-rotate-now.json")
    assert status == 0
    rotated = invocation_result(output)
    retired = {t["kid"] for t in rotated["transitions"] if t["to"] == "retired"}
    status, output, errors = invoke_file(stack, "KeyRotationFunction", EVENTS / "rotation-revoke.json")
    revoked = invocation_result(output)["transitions"][0]["kid"]
    if retired:  # a rotation within PublishLead of the previous one is taken for a repeat of it
        assert revoked in retired
    assert f"kid {revoked}" in errors


def test_an_event_without_placeholders_is_sent_as_it_is(stack: StackProcess, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "reconcile"}))
    status, output, errors = invoke_file(stack, "KeyRotationFunction", event)
    assert (status, invocation_result(output)["ok"]) == (0, True)
    assert "placeholders" not in errors


def test_placeholders_need_the_demo_client_of_a_running_stack(stack: StackProcess, tmp_path: Path) -> None:
    # a state directory whose stack.json names the running stack but which has no demo-client.json
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "stack.json").write_text((stack.state_dir / "stack.json").read_text())
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"body": f"client_secret={CLIENT_SECRET}"}))
    lone = StackProcess(stack.process, state_dir, stack.log, stack.demo)
    status, _, errors = invoke_file(lone, "TokenFunction", event)
    assert status == 2
    assert "demo-client.json" in errors
    assert "Traceback" not in errors


def test_make_invoke_runs_the_module_the_tests_run() -> None:
    completed = subprocess.run(
        ["make", "-n", "invoke", "FUNCTION=TokenFunction", "EVENT=events/token-request-basic.json"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert '-m local.invoke "TokenFunction" "events/token-request-basic.json"' in completed.stdout.decode()
