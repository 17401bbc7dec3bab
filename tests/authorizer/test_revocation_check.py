"""The authorizer refuses our own revoked tokens (issue 14): 401 ``revoked`` for a cut client or a revoked
jti, 401 ``revocations_unavailable`` without a usable revocation list (fail closed), and nothing else
changes: another partner's token and tokens issued after the cut are decided as before."""

from __future__ import annotations

from typing import Any

import pytest

from authorizer.decision import Authorizer, Outcome, build_authorizer
from authorizer.settings import AuthorizerSettings
from partnerauth.errors import JwksFetchError
from partnerauth.jwks_cache import DocumentCache
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey
from partnerauth.revocations import Revocation, RevocationList, parse_revocations, revocation_document
from tests.support.clock import FakeClock

from .conftest import (
    EXTERNAL_AUDIENCE,
    EXTERNAL_ISSUER,
    EXTERNAL_JWKS_PATH,
    JWKS_PATH,
    NOW,
    TokenFactory,
    bearer,
    environment,
    request_event,
    sign,
)

REVOCATIONS_URI = "https://auth.example.test/.well-known/revocations.json"


class Published:
    def __init__(self) -> None:
        self.members: dict[str, Revocation] = {}
        self.failure: Exception | None = None

    def fetch(self, uri: str) -> Any:
        if self.failure is not None:
            raise self.failure
        return revocation_document(self.members)


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(float(NOW))


@pytest.fixture
def authorizer(
    own_jwks: dict[str, Any], external_jwks: dict[str, Any], published: Published, clock: FakeClock
) -> Authorizer:
    settings = AuthorizerSettings.from_environment(environment(REVOCATIONS_URI=REVOCATIONS_URI))
    assert settings.revocations_uri == REVOCATIONS_URI
    keys = StaticKeySource(
        {
            "https://auth.example.test" + JWKS_PATH: own_jwks,
            "https://auth.example.test" + EXTERNAL_JWKS_PATH: external_jwks,
        }
    )
    cache: DocumentCache[Revocation] = DocumentCache(
        published, parse=parse_revocations, allow_empty=True, max_age=300, cooldown=30, clock=clock
    )
    return build_authorizer(
        settings, keys, clock=clock, revocations=RevocationList(cache, REVOCATIONS_URI, clock)
    )


def decide(authorizer: Authorizer, token: str) -> tuple[Outcome, str | None]:
    decision = authorizer.decide(
        request_event(bearer(token), method="GET", path="orders", resource="/orders")
    )
    return decision.outcome, decision.reason


def test_a_cut_client_is_refused_and_another_client_is_not(
    authorizer: Authorizer, published: Published, token: TokenFactory
) -> None:
    published.members = {"client:partner-1": Revocation(NOW + 1, NOW + 4000)}
    assert decide(authorizer, token(client_id="partner-1", sub="partner-1")) == (Outcome.REJECT, "revoked")
    other = token(client_id="partner-2", sub="partner-2", jti="jti-other")
    assert decide(authorizer, other) == (Outcome.ALLOW, None)


def test_a_token_issued_after_the_cut_is_allowed(
    authorizer: Authorizer, published: Published, token: TokenFactory, clock: FakeClock
) -> None:
    published.members = {"client:partner-1": Revocation(NOW - 100, NOW + 4000)}
    assert decide(authorizer, token()) == (Outcome.ALLOW, None)  # iat = NOW, after the cut


def test_a_revoked_jti_is_refused_and_the_clients_other_tokens_are_not(
    authorizer: Authorizer, published: Published, token: TokenFactory
) -> None:
    published.members = {"jti:jti-0001": Revocation(0, NOW + 400)}
    assert decide(authorizer, token()) == (Outcome.REJECT, "revoked")  # RFC 7009 §2: that token
    assert decide(authorizer, token(jti="jti-0002")) == (Outcome.ALLOW, None)


def test_no_usable_revocation_list_fails_closed(
    own_jwks: dict[str, Any], external_jwks: dict[str, Any], token: TokenFactory, clock: FakeClock
) -> None:
    down = Published()
    down.failure = JwksFetchError("jwks fetch failed")
    settings = AuthorizerSettings.from_environment(environment(REVOCATIONS_URI=REVOCATIONS_URI))
    keys = StaticKeySource({"https://auth.example.test" + JWKS_PATH: own_jwks})
    cache: DocumentCache[Revocation] = DocumentCache(
        down, parse=parse_revocations, allow_empty=True, max_age=300, cooldown=30, clock=clock
    )
    authorizer = build_authorizer(
        settings, keys, clock=clock, revocations=RevocationList(cache, REVOCATIONS_URI)
    )
    # a token we cannot check is not admitted: 401, never an Allow, never a 500
    assert decide(authorizer, token()) == (Outcome.REJECT, "revocations_unavailable")
    # and the 401 names the token (by jti and client, never whole) and the API
    decision = authorizer.decide(
        request_event(bearer(token()), method="GET", path="orders", resource="/orders")
    )
    assert (decision.jti, decision.client_id, decision.api) == ("jti-0001", "partner-1", "default")


def test_a_revoked_token_is_logged_by_jti_and_client_never_whole(
    authorizer: Authorizer, published: Published, token: TokenFactory, rsa_key: SigningKey
) -> None:
    published.members = {"jti:jti-0001": Revocation(0, NOW + 400)}
    value = token()
    decision = authorizer.decide(
        request_event(bearer(value), method="GET", path="orders", resource="/orders")
    )
    fields = decision.log_fields()
    assert fields["jti"] == "jti-0001"
    assert fields["client_id"] == "partner-1"
    assert fields["api"] == "default"
    assert value not in str(fields)


def test_a_namesake_of_another_issuer_is_never_cut_by_our_revocations(
    authorizer: Authorizer, published: Published, external_key: SigningKey
) -> None:
    # our revocations are of our own tokens: another issuer's client of the same id is decided as before
    published.members = {"client:partner-1": Revocation(NOW + 1, NOW + 4000)}
    claims = {
        "iss": EXTERNAL_ISSUER,
        "aud": EXTERNAL_AUDIENCE,
        "exp": NOW + 600,
        "iat": NOW,
        "azp": "partner-1",
        "scp": ["orders:read", "orders:write"],
    }
    assert decide(authorizer, sign(external_key, claims, typ=...)) == (Outcome.ALLOW, None)
