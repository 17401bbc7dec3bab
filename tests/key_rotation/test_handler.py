"""KeyRotationFunction's handler, driven by the sample events in events/ with the deployed environment."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from partnerauth.errors import ConfigurationError, KeyStoreError
from partnerauth.key_lifecycle import KeyRotator
from partnerauth.key_store import KeyStore
from tests.key_rotation.conftest import DAY
from tests.key_rotation.test_key_custody import private_fragments
from tests.support.template import Template

EVENTS = Path(__file__).resolve().parents[2] / "events"


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "KeyRotationFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:KeyRotationFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def load_app(
    template_env: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., ModuleType]:
    """Import ``key_rotation.app`` afresh with the function's deployed environment (plus overrides)."""

    def load(parameters: dict[str, str] | None = None, **overrides: str) -> ModuleType:
        env = {**template_env("KeyRotationFunction", **(parameters or {})), **overrides}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("key_rotation.app", None)
        return importlib.import_module("key_rotation.app")

    return load


@pytest.fixture
def app(load_app: Callable[..., ModuleType]) -> Iterator[ModuleType]:
    """The handler with EdDSA keys (fast)."""
    yield load_app({"SigningAlgorithm": "EdDSA"})
    sys.modules.pop("key_rotation.app", None)


def invoke(app: ModuleType, payload: Any) -> dict[str, Any]:
    # The logger's handler keeps the stdout of the moment it was made (Powertools reuses the logger of
    # its service name across imports); point it at this test's captured stdout.
    app.logger.registered_handler.stream = sys.stdout
    result: dict[str, Any] = app.lambda_handler(payload, LambdaContext())
    return result


def output_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def metric_values(lines: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for line in lines:
        if "_aws" in line:
            for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = line[metric["Name"]]
                values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


def test_the_scheduled_event_is_what_the_template_schedule_delivers(cfn_template: Template) -> None:
    schedule = cfn_template["Resources"]["KeyRotationFunction"]["Properties"]["Events"]["Reconcile"]
    assert schedule["Type"] == "ScheduleV2"
    # EventBridge Scheduler passes the target's Input to Lambda as the event, unchanged
    assert json.loads(schedule["Properties"]["Input"]) == event("rotation-scheduled.json")


def test_the_scheduled_event_bootstraps_then_changes_nothing(
    app: ModuleType, capsys: pytest.CaptureFixture[str], store: KeyStore
) -> None:
    first = invoke(app, event("rotation-scheduled.json"))
    assert first["ok"] is True
    assert [(t["from"], t["to"]) for t in first["transitions"]] == [("new", "current"), ("new", "next")]
    captured = capsys.readouterr()
    # no key material in the logs or the result: kids and states only
    leaked = (captured.out + captured.err + json.dumps(first)).encode()
    assert not any(fragment in leaked for fragment in private_fragments(store.current_signing_key()))
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    # one structured log line per transition: kid, from, to
    logged = [
        (line["kid"], line["from"], line["to"])
        for line in lines
        if line.get("message") == "signing key transition"
    ]
    assert logged == [(t["kid"], t["from"], t["to"]) for t in first["transitions"]]
    values = metric_values(lines)
    # the scheduled run also reports the signing key's age and the time to its rotation (dashboard, alarm)
    age, remaining = values.pop("SigningKeyAge"), values.pop("SecondsToRotation")
    assert 0 <= age < 60
    assert age + remaining == pytest.approx(app.settings.schedule.period)
    assert values == {"KeyRotationRuns": 1.0, "KeyTransitions": 2.0, "KeyRotations": 1.0}
    assert invoke(app, event("rotation-scheduled.json")) == {
        "ok": True,
        "action": "reconcile",
        "transitions": [],
    }


def test_the_rotate_now_event_promotes_the_next_key(
    app: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(app, event("rotation-scheduled.json"))
    result = invoke(app, event("rotation-rotate-now.json"))
    assert result["ok"] is True
    assert [(t["from"], t["to"], t["reason"]) for t in result["transitions"]] == [
        ("current", "retired", "emergency"),
        ("next", "current", "emergency"),
        ("new", "next", "emergency"),
    ]


def test_the_revoke_event_drops_the_key_it_names(app: ModuleType, store: KeyStore) -> None:
    sample = event("rotation-revoke.json")
    # the sample names a kid in the RFC 7638 thumbprint form; a live one is substituted to revoke it
    assert sample["action"] == "revoke"
    assert len(sample["kid"]) == 43
    invoke(app, event("rotation-scheduled.json"))
    current = store.read_key_set().head.current_kid  # type: ignore[union-attr]
    result = invoke(app, {**sample, "kid": current})
    assert result["ok"] is True
    assert (result["transitions"][0]["kid"], result["transitions"][0]["to"]) == (current, "gone")
    assert current not in {k["kid"] for k in store.published_jwks()["keys"]}


def test_revoking_a_kid_that_is_not_stored_is_a_clear_error(app: ModuleType, store: KeyStore) -> None:
    invoke(app, event("rotation-scheduled.json"))
    before = store.list_keys()
    result = invoke(app, event("rotation-revoke.json"))
    assert result == {
        "ok": False,
        "action": "revoke",
        "error": "unknown_kid",
        "message": "no such signing key",
    }
    assert store.list_keys() == before


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"action": "rotate"}, "unknown_action"),
        ({"action": None}, "unknown_action"),
        ({}, "unknown_action"),
        ({"action": "revoke"}, "invalid_event"),
        ({"action": "revoke", "kid": 42}, "invalid_event"),
        ({"action": "revoke", "kid": "x" * 300}, "invalid_event"),
        (["reconcile"], "invalid_event"),
        ("reconcile", "invalid_event"),
        (None, "invalid_event"),
    ],
)
def test_a_malformed_event_is_an_error_result_and_changes_nothing(
    app: ModuleType, store: KeyStore, payload: Any, error: str
) -> None:
    result = invoke(app, payload)
    assert result["ok"] is False
    assert result["error"] == error
    assert store.list_keys() == []


def test_a_store_failure_is_counted_and_raised_for_the_scheduler_to_retry(
    app: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unavailable:
        def __getattr__(self, name: str) -> Any:
            def fail(**kwargs: Any) -> Any:
                raise KeyStoreError("signing-key store unavailable")

            return fail

    broken = KeyRotator(Unavailable(), app.settings.schedule, app.settings.key_spec)  # type: ignore[arg-type]
    monkeypatch.setattr(app, "rotator", broken)
    with pytest.raises(KeyStoreError):
        invoke(app, event("rotation-scheduled.json"))
    assert metric_values(output_lines(capsys)) == {"KeyRotationRuns": 1.0, "KeyRotationFailures": 1.0}


def test_the_deployed_defaults_make_rsa_2048_keys(load_app: Callable[..., ModuleType]) -> None:
    app = load_app()
    assert app.settings.key_spec == "RS256"
    assert app.settings.schedule.period == 30 * DAY
    assert invoke(app, event("rotation-scheduled.json"))["ok"] is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"GRACE": "3600"}, "grace"),
        ({"PUBLISH_LEAD": "600", "JWKS_MAX_AGE": "600"}, "publish_lead"),
        ({"PUBLISH_LEAD": "4499", "JWKS_MAX_AGE": "600"}, "stale_if_error"),  # 600 + 3600 + 300
        ({"ROTATION_PERIOD": "86400"}, "period"),
        ({"LEEWAY": "sixty"}, "LEEWAY"),
        ({"SIGNING_ALGORITHM": "HS256"}, "SIGNING_ALGORITHM"),
        ({"KMS_KEY_ID": ""}, "KMS_KEY_ID"),
    ],
)
def test_a_configuration_that_could_reject_valid_tokens_fails_the_cold_start(
    load_app: Callable[..., ModuleType], overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_app(**overrides)
    sys.modules.pop("key_rotation.app", None)


# -- issue 19: unreadable items, repeated manual actions -------------------------------------------------
PLANTED = "planted-content-never-logged"


def test_an_unreadable_item_is_logged_by_kid_and_reason_and_counted_once_per_run(
    app: ModuleType, capsys: pytest.CaptureFixture[str], dynamodb_client: Any, signing_keys_table: str
) -> None:
    invoke(app, event("rotation-scheduled.json"))
    capsys.readouterr()
    dynamodb_client.put_item(
        TableName=signing_keys_table,
        Item={"kid": {"S": "test"}, "state": {"S": "current"}, "public_jwk": {"S": "{" + PLANTED}},
    )
    dynamodb_client.put_item(
        TableName=signing_keys_table, Item={"kid": {"S": "from-v2"}, "state": {"S": "staged"}}
    )
    # When the scheduled run and a rotate_now meet them (each reads the table several times)
    assert invoke(app, event("rotation-scheduled.json"))["ok"] is True
    assert invoke(app, event("rotation-rotate-now.json"))["ok"] is True
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    skipped = [
        (line["kid"], line["reason"]) for line in lines if line.get("message") == "signing-key item skipped"
    ]
    # Then one line per item and run, with a fixed reason and never the item's content
    assert sorted(skipped) == sorted([("test", "missing_attribute"), ("from-v2", "unknown_state")] * 2)
    assert PLANTED not in captured.out + captured.err
    per_run = [metric_values([line]) for line in lines if "_aws" in line]
    assert [(v["MalformedSigningKeyItems"], v["UnknownStateSigningKeyItems"]) for v in per_run] == [
        (1.0, 1.0)
    ] * 2
    # And the rotation function removes the malformed one when told to
    removed = invoke(app, {"action": "revoke", "kid": "test"})
    assert [(t["kid"], t["to"]) for t in removed["transitions"]] == [("test", "gone")]


def test_a_repeated_manual_action_answers_ok_with_nothing_done(app: ModuleType, store: KeyStore) -> None:
    invoke(app, event("rotation-scheduled.json"))
    first = invoke(app, event("rotation-rotate-now.json"))
    retired = first["transitions"][0]["kid"]
    for payload in (event("rotation-rotate-now.json"), {"action": "rotate_now", "kid": retired}):
        repeat = invoke(app, payload)
        assert (repeat["ok"], repeat["transitions"]) == (True, [])
        assert "rotated already" in repeat["message"]
    assert invoke(app, {"action": "revoke", "kid": retired})["ok"] is True
    again = invoke(app, {"action": "revoke", "kid": retired})
    assert (again["ok"], again["transitions"], again["message"]) == (
        True,
        [],
        "nothing to do: the key was revoked already",
    )


def test_rotate_now_with_a_kid_that_is_not_a_string_is_an_invalid_event(
    app: ModuleType, store: KeyStore
) -> None:
    assert invoke(app, {"action": "rotate_now", "kid": 7})["error"] == "invalid_event"
    assert store.list_keys() == []


def test_the_cap_on_published_keys_is_an_error_result_not_a_crash(
    app: ModuleType, store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnerauth import key_lifecycle

    invoke(app, event("rotation-scheduled.json"))
    monkeypatch.setattr(key_lifecycle, "MAX_PUBLISHED_KEYS", 2)
    current = store.read_key_set().head.current_kid  # type: ignore[union-attr]
    result = invoke(app, {"action": "rotate_now", "kid": current})
    assert (result["ok"], result["error"]) == (False, "published_key_limit")
