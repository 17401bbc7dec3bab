"""The claims a token must carry are a floor, not a pattern (found by `make mutate`, issue 20).

RFC 9068 §2.2 lists the claims an access token MUST carry (iss, exp, aud, sub, client_id, iat, jti);
a token carrying exactly those, and nothing else, is a complete access token and is accepted.
"""

from __future__ import annotations

from partnerauth.verification import RFC9068_REQUIRED_CLAIMS, AccessTokenVerifier

from .conftest import TokenFactory, claims_for


def test_a_token_with_exactly_the_required_claims_and_no_other_is_accepted(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    # Given a token with the RFC 9068 §2.2 claims only (no scope, no nbf)
    payload = {name: value for name, value in claims_for().items() if name in RFC9068_REQUIRED_CLAIMS}
    assert set(payload) == set(RFC9068_REQUIRED_CLAIMS)
    # When it is verified, then it is accepted, with no scope
    verified = verifier.verify(make_token(payload=payload))
    assert (verified.client_id, verified.scopes) == ("partner-1", frozenset())
