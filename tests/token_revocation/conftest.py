"""Fixtures for the RFC 7009 revocation and RFC 7662 introspection endpoints of the token function.

The deployed handler module (environment from template.yaml, moto tables built from the template's own
definitions), with its grant and both endpoints rebuilt by the same factories with the test's clock.  The
token endpoint's fixtures (tests/token_issuer/conftest.py) are imported, not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import jwt
import pytest

from partnerauth.client_registry import IssuedSecret
from partnerauth.keys import SigningKey
from partnerauth.revocations import RevocationStore
from tests.support.clock import FakeClock
from tests.token_issuer import conftest as token_fixtures
from tests.token_issuer.conftest import FORM, ISSUER, MAX_TOKEN_LIFETIME, Endpoint, Reply, basic, form

# The token endpoint's fixtures, registered here under their own names (pytest finds fixtures by module name).
SHARED_FIXTURES = (
    "clock", "hasher", "key_store", "lambda_context", "new_client", "partner", "pepper", "recording_dynamodb",
    "recording_kms", "registry", "session_keys", "table_snapshot", "token_env", "token_module",
)  # fmt: skip
globals().update({name: getattr(token_fixtures, name) for name in SHARED_FIXTURES})

REVOKE_PATH = "/oauth2/revoke"
INTROSPECT_PATH = "/oauth2/introspect"
LEEWAY = 60  # the template's Leeway default


@pytest.fixture
def endpoint(
    token_module: ModuleType,
    lambda_context: Any,
    recording_dynamodb: Any,
    recording_kms: Any,
    hasher: Any,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Endpoint:
    from token_issuer.grant import build_grant
    from token_issuer.own_token_endpoints import build_own_token_endpoints

    grant = build_grant(
        token_module.settings,
        dynamodb=recording_dynamodb,
        kms=recording_kms,
        fetch_pepper=lambda: "unused: the hasher is injected",
        clock=clock,
        hasher=hasher,
    )
    endpoints = build_own_token_endpoints(
        token_module.settings,
        token_module.revocation_settings,
        dynamodb=recording_dynamodb,
        authenticator=grant.authenticator,
        fetch_pepper=lambda: "unused: nothing is hashed",
        clock=clock,
    )
    monkeypatch.setattr(token_module, "grant", grant)
    monkeypatch.setattr(token_module, "endpoints", endpoints)
    return Endpoint(token_module, lambda_context)


@pytest.fixture
def revocation_store(tables: dict[str, str], dynamodb_client: Any, clock: FakeClock) -> RevocationStore:
    return RevocationStore(
        tables["RevocationsTable"],
        dynamodb_client,
        max_token_lifetime=MAX_TOKEN_LIFETIME,
        leeway=LEEWAY,
        clock=clock,
    )


def credentials(issued: IssuedSecret) -> tuple[str, str]:
    return basic(issued.client.client_id, issued.secret)


def token_of(endpoint: Endpoint, issued: IssuedSecret, **params: str) -> str:
    """A token from the token endpoint (RFC 6749 §4.4)."""
    reply = endpoint.post(
        form(grant_type="client_credentials", **params), headers=(*FORM, credentials(issued))
    )
    assert reply.status == 200, reply.body
    token: str = reply.json()["access_token"]
    return token


def revoke(endpoint: Endpoint, token: str, caller: IssuedSecret, **params: str) -> Reply:
    return endpoint.request(
        "POST", REVOKE_PATH, body=form(token=token, **params), headers=(*FORM, credentials(caller))
    )


def introspect(endpoint: Endpoint, token: str, caller: IssuedSecret, **params: str) -> Reply:
    return endpoint.request(
        "POST", INTROSPECT_PATH, body=form(token=token, **params), headers=(*FORM, credentials(caller))
    )


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def forged(key: SigningKey, now: float, *, header: dict[str, Any] | None = None, **changes: Any) -> str:
    """A token signed with ``key`` (ours, from the session, or a stranger's) with chosen header and claims:
    by default exactly what the token endpoint issues for ``acme``; ``None`` removes a claim."""
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "acme",
        "aud": "partner-api",
        "exp": int(now) + 900,
        "iat": int(now),
        "nbf": int(now),
        "jti": "forged-jti",
        "client_id": "acme",
        "scope": "orders:read",
    }
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    headers = {"typ": "at+jwt", "kid": key.kid, **(header or {})}
    return jwt.encode(payload, key.private_key, algorithm=key.alg, headers=headers)


NewClient = Callable[..., IssuedSecret]
