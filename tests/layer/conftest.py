"""Keys and a token factory for the layer tests.  Keys are generated once per session."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth import base64url
from partnerauth.access_token import AccessTokenRequest
from partnerauth.algorithms import KeySpec
from partnerauth.jwk import build_jwks
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey, generate_signing_key
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

ISSUER = "https://auth.example.test"
JWKS_URI = f"{ISSUER}/.well-known/jwks.json"
AUDIENCE = "https://api.example.test"
NOW = 1_800_000_000.0


@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    return {
        spec.algorithm.name: generate_signing_key(spec)
        for spec in (KeySpec.RS256, KeySpec.ES256, KeySpec.EDDSA)
    }


@pytest.fixture(scope="session")
def rsa_key(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["RS256"]


@pytest.fixture(scope="session")
def stranger_key() -> SigningKey:
    """A key no trusted issuer publishes."""
    return generate_signing_key(KeySpec.RS256)


def claims_for(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "partner-1",
        "aud": AUDIENCE,
        "exp": int(NOW) + 300,
        "iat": int(NOW),
        "nbf": int(NOW),
        "jti": "jti-0001",
        "client_id": "partner-1",
        "scope": "orders:read inventory:read",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


def segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return base64url.encode(raw)


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def make_token(rsa_key: SigningKey) -> TokenFactory:
    """Sign an arbitrary header/payload with ``key`` (default: the trusted RSA key).

    ``...`` as a value removes that member; ``header``/``payload`` may be raw bytes."""

    def factory(
        key: SigningKey | None = None, header: dict[str, Any] | bytes | None = None, **claims: Any
    ) -> str:
        key = key or rsa_key
        if header is None:
            header = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
        elif isinstance(header, dict):
            defaults: dict[str, Any] = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
            header = {k: v for k, v in (defaults | header).items() if v is not ...}
        payload = claims.pop("payload", None)
        if payload is None:
            payload = claims_for(**claims)
        signing_input = f"{segment(header)}.{segment(payload)}".encode()
        from jwt import get_algorithm_by_name

        signature = get_algorithm_by_name(key.alg).sign(signing_input, key.private_key)
        return f"{signing_input.decode()}.{base64url.encode(signature)}"

    return factory


@pytest.fixture(scope="session")
def jwks(keys: dict[str, SigningKey]) -> dict[str, Any]:
    return build_jwks(key.public_jwk() for key in keys.values())


@pytest.fixture
def verifier(jwks: dict[str, Any]) -> AccessTokenVerifier:
    policy = IssuerPolicy(
        issuer=ISSUER,
        jwks_uri=JWKS_URI,
        audiences=frozenset({AUDIENCE}),
        algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        max_lifetime=3600,
    )
    return AccessTokenVerifier([policy], StaticKeySource({JWKS_URI: jwks}), leeway=60, clock=lambda: NOW)


def access_token_request(**overrides: Any) -> AccessTokenRequest:
    """What the token endpoint asks ``sign_access_token`` for, with ``overrides`` replacing fields."""
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": "partner-1",
        "audience": AUDIENCE,
        "scopes": ("orders:read", "orders:write"),
        "lifetime": 300,
    }
    return AccessTokenRequest(**{**fields, **overrides})
