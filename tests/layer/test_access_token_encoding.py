"""The access token's serialization (RFC 7515 §7.1) is the one ``jwt.encode`` writes for the same claims.

``sign_access_token`` builds the compact serialization itself (benchmarks/bench_token_endpoint.py: cheaper
than ``jwt.encode``); verifiers, ours and PyJWT, must see exactly what they saw before.  RS256 (PKCS#1 v1.5)
and EdDSA signatures are deterministic, so their whole tokens are compared byte for byte; an ES256 signature
is randomized, so its signing input is compared and the signature verified with PyJWT.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from partnerauth.access_token import IssuedToken, sign_access_token
from partnerauth.keys import SigningKey
from partnerauth.verification import AccessTokenVerifier

from .conftest import AUDIENCE, NOW, access_token_request


def _pyjwt_token(key: SigningKey, issued: IssuedToken) -> str:
    """``jwt.encode`` of the claims ``issued`` carries, with the header ``sign_access_token`` promises."""
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    headers: dict[str, Any] = {"typ": "at+jwt", "kid": key.kid}
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers=headers)


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
@pytest.mark.parametrize(
    "request_fields",
    [
        {},
        {"scopes": ()},
        {"audience": (AUDIENCE, "https://other.example.test")},
        {"client_id": 'p\u00e4rtner/\u20ac "1"', "subject": "sub\\ject"},  # escaped as PyJWT escapes
    ],
    ids=["scoped", "no-scope", "two-audiences", "non-ascii-and-escapes"],
)
def test_deterministic_tokens_are_byte_for_byte_those_of_jwt_encode(
    keys: dict[str, SigningKey], alg: str, request_fields: dict[str, Any]
) -> None:
    issued = sign_access_token(keys[alg], access_token_request(**request_fields), NOW)

    assert issued.token == _pyjwt_token(keys[alg], issued)


def test_es256_token_has_the_signing_input_of_jwt_encode_and_a_signature_pyjwt_verifies(
    keys: dict[str, SigningKey],
) -> None:
    key = keys["ES256"]
    issued = sign_access_token(key, access_token_request(), NOW)

    expected = _pyjwt_token(key, issued)
    assert issued.token.rsplit(".", 1)[0] == expected.rsplit(".", 1)[0]
    # RFC 7518 §3.4: the signature is R || S, 64 bytes (86 base64url characters), not DER
    assert len(issued.token.rsplit(".", 1)[1]) == 86
    verified = jwt.decode(
        issued.token,
        key.private_key.public_key(),
        algorithms=["ES256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert verified["client_id"] == "partner-1"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_header_is_the_rfc9068_header_whichever_key_signed_before(
    keys: dict[str, SigningKey], verifier: AccessTokenVerifier, alg: str
) -> None:
    """The header is encoded once per key: a token never carries another key's ``kid`` or ``alg``."""
    for other in keys.values():
        sign_access_token(other, access_token_request(), NOW)

    issued = sign_access_token(keys[alg], access_token_request(), NOW)

    assert jwt.get_unverified_header(issued.token) == {"alg": alg, "kid": keys[alg].kid, "typ": "at+jwt"}
    assert verifier.verify(issued.token).kid == keys[alg].kid
