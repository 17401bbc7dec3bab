"""The sample events' placeholders and what `make invoke` fills them with (local.event_placeholders)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from local.event_placeholders import (
    ACCESS_TOKEN,
    BASIC_CREDENTIALS,
    CLIENT_ID,
    CLIENT_SECRET,
    KID,
    LiveValues,
    basic_credentials,
    fill_placeholders,
    holds_placeholders,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
LIVE_SECRET = "pacs_live-secret"


def live(calls: list[str]) -> LiveValues:
    def token() -> str:
        calls.append("token")
        return "live.token.value"

    def kid() -> str:
        calls.append("kid")
        return "live-kid"

    return LiveValues("local-demo-client", LIVE_SECRET, token, kid)


def test_basic_credentials_form_urlencode_id_and_secret_first() -> None:
    # RFC 6749 §2.3.1: application/x-www-form-urlencoded, then base64 of id ":" secret
    value = basic_credentials("a:b+c", "s%t")
    assert base64.b64decode(value.removeprefix("Basic ")) == b"a%3Ab%2Bc:s%25t"
    sample = base64.b64decode(BASIC_CREDENTIALS.removeprefix("Basic ")).decode()
    assert sample == f"{CLIENT_ID}:{CLIENT_SECRET}"


def test_every_placeholder_is_filled_and_only_needed_values_are_fetched() -> None:
    calls: list[str] = []
    event = {
        "headers": {"Authorization": f"Bearer {ACCESS_TOKEN}", "X": BASIC_CREDENTIALS},
        "multi": [f"Bearer {ACCESS_TOKEN}"],
        "body": f"client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}",
        "kid": KID,
        "n": 1,
        "none": None,
    }
    filled, said = fill_placeholders(event, live(calls))
    assert filled == {
        "headers": {
            "Authorization": "Bearer live.token.value",
            "X": basic_credentials("local-demo-client", LIVE_SECRET),
        },
        "multi": ["Bearer live.token.value"],
        "body": f"client_id=local-demo-client&client_secret={LIVE_SECRET}",
        "kid": "live-kid",
        "n": 1,
        "none": None,
    }
    assert calls == ["token", "kid"]  # one token for every place it appears
    assert not any(LIVE_SECRET in line or "live.token.value" in line for line in said)


def test_an_event_without_placeholders_fetches_nothing() -> None:
    calls: list[str] = []
    event = {"action": "reconcile", "list": [1, "x"]}
    assert not holds_placeholders(event)
    assert fill_placeholders(event, live(calls)) == (event, [])
    assert calls == []


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json")))
def test_no_sample_event_holds_a_real_looking_secret_or_token(name: str) -> None:
    text = (EVENTS / name).read_text(encoding="utf-8")
    assert "pacs_" not in text  # our secret format
    assert "eyJ" not in text  # a JWT's header
    json.loads(text)


def test_the_samples_that_need_a_stack_hold_a_placeholder() -> None:
    for name in ("authorizer-token.json", "token-request-post.json", "rotation-revoke.json"):
        assert holds_placeholders(json.loads((EVENTS / name).read_text(encoding="utf-8"))), name
