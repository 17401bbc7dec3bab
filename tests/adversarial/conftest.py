"""The system under attack, as the corpus sees it: trusted keys, an attacker's, a revoked one."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.jwk import build_jwks
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import generate_signing_key
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

from .hostile_tokens import CorpusContext

ISSUER = "https://auth.adversarial.test"
AUDIENCE = "https://api.adversarial.test"
JWKS_URI = f"{ISSUER}/.well-known/jwks.json"
NOW = 1_800_000_000
LEEWAY = 60
MAX_LIFETIME = 3600


@pytest.fixture(scope="session")
def corpus_context() -> CorpusContext:
    return CorpusContext(
        rsa=generate_signing_key(KeySpec.RS256),
        ec=generate_signing_key(KeySpec.ES256),
        ed=generate_signing_key(KeySpec.EDDSA),
        attacker=generate_signing_key(KeySpec.RS256),
        revoked=generate_signing_key(KeySpec.RS256),
        issuer=ISSUER,
        audience=AUDIENCE,
        now=NOW,
        leeway=LEEWAY,
        max_lifetime=MAX_LIFETIME,
    )


@pytest.fixture(scope="session")
def published_jwks(corpus_context: CorpusContext) -> dict[str, Any]:
    """What the issuer publishes: the three trusted keys (the revoked one was dropped)."""
    return build_jwks(k.public_jwk() for k in (corpus_context.rsa, corpus_context.ec, corpus_context.ed))


@pytest.fixture(scope="session")
def layer_verifier(published_jwks: dict[str, Any]) -> AccessTokenVerifier:
    policy = IssuerPolicy(
        issuer=ISSUER,
        jwks_uri=JWKS_URI,
        audiences=frozenset({AUDIENCE}),
        algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        max_lifetime=MAX_LIFETIME,
    )
    return AccessTokenVerifier(
        [policy], StaticKeySource({JWKS_URI: published_jwks}), leeway=LEEWAY, clock=lambda: NOW
    )
