"""``keys list | rotate-now | revoke`` (issue 14 item 5): the real KeyRotationFunction handler runs in-process
(moto's Lambda invoke needs Docker), against the template's signing-keys table in moto."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest

from tests.admin_cli.conftest import FakeTty, Run
from tests.audit.conftest import LambdaContext, load_handler
from tools.partnerauth_admin import signing_key_commands
from tools.partnerauth_admin.aws_context import AwsContext, ContextError
from tools.partnerauth_admin.cli import main

MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"  # what moto's sts:GetCallerIdentity answers


class InProcessInvoker:
    """Runs each event through the real handler, as Lambda would: JSON in, JSON out."""

    def __init__(self, app: ModuleType) -> None:
        self.app = app
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        sent = json.loads(json.dumps(dict(event)))
        self.events.append(sent)
        answer: dict[str, Any] = json.loads(json.dumps(self.app.lambda_handler(sent, LambdaContext())))
        return answer


@pytest.fixture
def rotation(
    template_env: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    app = load_handler(
        "key_rotation.app", "KeyRotationFunction", template_env, monkeypatch, SigningAlgorithm="EdDSA"
    )
    app.lambda_handler({"action": "reconcile"}, LambdaContext())  # the first key set
    yield app
    sys.modules.pop("key_rotation.app", None)


@pytest.fixture
def invoker(rotation: ModuleType, monkeypatch: pytest.MonkeyPatch) -> InProcessInvoker:
    made = InProcessInvoker(rotation)
    monkeypatch.setattr(signing_key_commands, "default_invoker", lambda context, function: made)
    return made


@pytest.fixture
def keys(stack: str, tables: dict[str, str]) -> Callable[..., Run]:
    """``keys("list")`` runs ``python -m tools.partnerauth_admin keys --signing-keys-table T list``."""

    def run(*argv: str, stdin: io.StringIO | None = None, json_output: bool = False) -> Run:
        out, err = io.StringIO(), io.StringIO()
        prefix = ["--stack-name", stack, *(["--json"] if json_output else [])]
        keys_options = ["keys", "--signing-keys-table", tables["SigningKeysTable"]]
        code = main([*prefix, *keys_options, *argv], stdout=out, stderr=err, stdin=stdin or io.StringIO())
        return Run(code, out.getvalue(), err.getvalue())

    return run


def head(dynamodb_client: Any, tables: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb_client.get_item(
        TableName=tables["SigningKeysTable"], Key={"kid": {"S": "#current"}}, ConsistentRead=True
    )["Item"]
    return item


def test_keys_list_shows_each_key_with_its_state_and_dates_and_no_private_material(
    keys: Callable[..., Run], rotation: ModuleType, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    listed = keys("list", json_output=True)
    assert listed.code == 0, listed.err
    rows = listed.json()["keys"]
    current = head(dynamodb_client, tables)
    assert [(r["kid"], r["state"]) for r in rows] == [
        (current["current_kid"]["S"], "current"),
        (current["next_kid"]["S"], "next"),
    ]
    assert all(isinstance(r["created_at"], int) for r in rows)
    assert rows[0]["activated_at"] is not None
    text = keys("list").out
    assert current["current_kid"]["S"] in text
    for secret in ("PRIVATE", "ciphertext", '"d"', "kms"):
        assert secret not in listed.out + text


def test_keys_list_shows_a_malformed_item_so_that_it_can_be_removed(
    keys: Callable[..., Run], rotation: ModuleType, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    dynamodb_client.put_item(TableName=tables["SigningKeysTable"], Item={"kid": {"S": "test"}})
    rows = keys("list", json_output=True).json()["keys"]
    assert {"kid": "test", "state": "malformed", "reason": "missing_attribute"} in rows
    assert "malformed (missing_attribute)" in keys("list").out


def test_rotate_now_with_yes_invokes_the_function_as_the_caller_and_prints_its_transitions(
    keys: Callable[..., Run], invoker: InProcessInvoker, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    before = head(dynamodb_client, tables)
    done = keys("rotate-now", "--yes")
    assert done.code == 0, done.err
    assert invoker.events == [{"action": "rotate_now", "requested_by": MOTO_CALLER}]
    after = head(dynamodb_client, tables)
    assert after["current_kid"] == before["next_kid"]  # the published next key signs
    assert f"{before['current_kid']['S']}: current -> retired (emergency" in done.out
    assert f"{before['next_kid']['S']}: next -> current (emergency" in done.out
    assert after["changed_by"]["S"] == f"{MOTO_CALLER} (via KeyRotationFunction)"


def test_rotate_now_names_the_kid_when_given(
    keys: Callable[..., Run], invoker: InProcessInvoker, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    current = head(dynamodb_client, tables)["current_kid"]["S"]
    assert keys("rotate-now", "--kid", current, "--yes").code == 0
    assert invoker.events == [{"action": "rotate_now", "kid": current, "requested_by": MOTO_CALLER}]
    again = keys("rotate-now", "--kid", current, "--yes")  # a repeat after a lost answer changes nothing
    assert again.code == 0
    assert "nothing to do" in again.out


def test_a_key_action_without_yes_is_refused_when_nobody_can_confirm(
    keys: Callable[..., Run], invoker: InProcessInvoker, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    before = head(dynamodb_client, tables)
    for argv in (("rotate-now",), ("revoke", before["next_kid"]["S"])):
        refused = keys(*argv)  # stdin is not a terminal
        assert refused.code == 2
        assert "without --yes" in refused.err
        assert keys(*argv, json_output=True).code == 2
    assert invoker.events == []
    assert head(dynamodb_client, tables) == before


def test_the_confirmation_must_be_typed_exactly(
    keys: Callable[..., Run], invoker: InProcessInvoker, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    upcoming = head(dynamodb_client, tables)["next_kid"]["S"]
    assert keys("revoke", upcoming, stdin=FakeTty("yes\n")).code == 2
    assert invoker.events == []
    confirmed = keys("revoke", upcoming, stdin=FakeTty(upcoming + "\n"))
    assert confirmed.code == 0, confirmed.err
    assert f"Type {upcoming!r}" in confirmed.out
    assert f"{upcoming}: next -> gone (revoked" in confirmed.out
    assert upcoming in head(dynamodb_client, tables)["revoked"]["M"]


def test_revoke_takes_a_kid_that_begins_with_a_dash(
    keys: Callable[..., Run], invoker: InProcessInvoker, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    # Given a stray item whose kid begins with "-" (one RFC 7638 thumbprint in 64 does)
    kid = "-Zk3v6Yw1l0p7tJx0w8d3x5Gq2Ue4nVw9gQYkP1sM7E"
    dynamodb_client.put_item(
        TableName=tables["SigningKeysTable"], Item={"kid": {"S": kid}, "state": {"S": "next"}}
    )
    for argv in (("revoke", kid, "--yes"), ("revoke", "--yes", kid)):
        done = keys(*argv)
        assert done.code == 0, done.err
        assert invoker.events[-1] == {"action": "revoke", "kid": kid, "requested_by": MOTO_CALLER}
    item = dynamodb_client.get_item(TableName=tables["SigningKeysTable"], Key={"kid": {"S": kid}})
    assert "Item" not in item


def test_revoking_an_unknown_kid_is_an_error_that_changes_nothing(
    keys: Callable[..., Run], invoker: InProcessInvoker, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    before = head(dynamodb_client, tables)
    refused = keys("revoke", "no-such-kid", "--yes")
    assert refused.code == 1
    assert "unknown_kid" in refused.err
    assert head(dynamodb_client, tables) == before


def test_the_answer_is_printed_as_json_with_json(keys: Callable[..., Run], invoker: InProcessInvoker) -> None:
    done = keys("rotate-now", "--yes", json_output=True)
    assert done.code == 0
    assert done.json()["ok"] is True
    assert {t["to"] for t in done.json()["transitions"]} >= {"current", "retired", "next"}


def test_the_lambda_invoker_sends_the_event_and_reads_the_answer() -> None:
    class FakeLambda:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def invoke(self, **arguments: Any) -> dict[str, Any]:
            self.calls.append(arguments)
            return {"StatusCode": 200, "Payload": io.BytesIO(b'{"ok": true, "transitions": []}')}

    client = FakeLambda()
    answer = signing_key_commands.LambdaInvoker(client, "rotation-fn")({"action": "rotate_now"})
    assert answer == {"ok": True, "transitions": []}
    assert client.calls == [
        {
            "FunctionName": "rotation-fn",
            "InvocationType": "RequestResponse",
            "Payload": b'{"action": "rotate_now"}',
        }
    ]


def test_the_function_comes_from_the_stack_output(stack: str) -> None:
    context = AwsContext(env={"KEY_ROTATION_FUNCTION": "from-env"})
    made = signing_key_commands.default_invoker(context, None)
    assert isinstance(made, signing_key_commands.LambdaInvoker)
    with pytest.raises(ContextError, match="no rotation function"):
        signing_key_commands.default_invoker(AwsContext(env={}), None)
