"""The sample events under events/ (for `sam local invoke -e` / `make invoke`) do what their names say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry

from .conftest import AUDIENCE, Endpoint

EVENTS = Path(__file__).resolve().parents[2] / "events"
# The fake credentials the sample events carry (not in our secret format, so no scanner mistakes them).
SAMPLE_CLIENT_ID = "pc_example00000000"
SAMPLE_SECRET = "example-secret-not-a-real-one"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


@pytest.fixture
def sample_client(registry: ClientRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_generate_secret", lambda: SAMPLE_SECRET)
    registry.create(
        client_id=SAMPLE_CLIENT_ID,
        client_name="Sample partner",
        scopes=["orders:read", "orders:write"],
        audiences=[AUDIENCE],
        token_lifetime=900,
    )


@pytest.mark.parametrize(
    ("name", "status", "scope"),
    [
        ("token-request-basic.json", 200, "orders:read"),
        ("token-request-post.json", 200, "orders:read orders:write"),
    ],
)
def test_token_request_events_get_tokens(
    name: str, status: int, scope: str, token_endpoint: Endpoint, sample_client: None
) -> None:
    reply = token_endpoint.invoke(load(name))
    assert reply.status == status
    assert reply.json()["scope"] == scope


def test_bad_token_request_event_is_invalid_request(token_endpoint: Endpoint, sample_client: None) -> None:
    reply = token_endpoint.invoke(load("token-request-bad.json"))
    assert reply.status == 400
    assert reply.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("name", "member"), [("jwks-request.json", "keys"), ("discovery-request.json", "issuer")]
)
def test_publishing_events_are_served(name: str, member: str, jwks_endpoint: Endpoint) -> None:
    reply = jwks_endpoint.invoke(load(name))
    assert reply.status == 200
    assert member in reply.json()
