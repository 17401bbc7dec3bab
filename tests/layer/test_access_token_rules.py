"""RFC 9068 access token rules, example by example (issue 20: the "token_endpoint" mutation group).

The header (``typ: at+jwt``, ``alg``, ``kid``: RFC 9068 §2.1), the claims and their values (§2.2), the
lifetime (``exp = iat + lifetime`` exactly, a whole-second ``iat``), a fresh 128-bit ``jti`` per token, and a
``repr`` that never shows the token.  Byte-for-byte agreement with ``jwt.encode`` is
test_access_token_encoding.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from partnerauth.access_token import (
    ACCESS_TOKEN_TYPE,
    JTI_BYTES,
    IssuedToken,
    _base64url,
    sign_access_token,
)
from partnerauth.keys import SigningKey

from .conftest import AUDIENCE, ISSUER, NOW, access_token_request


def _part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    assert "=" not in segment  # RFC 7515 §2: base64url without padding
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _verified(key: SigningKey, token: str) -> dict[str, Any]:
    return dict(
        jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=[key.alg],
            audience=AUDIENCE,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_the_header_is_exactly_alg_kid_and_typ_at_jwt(keys: dict[str, SigningKey], alg: str) -> None:
    """RFC 9068 §2.1: ``typ`` is ``at+jwt``; RFC 7515 §4.1.4 ``kid`` names the signing key."""
    issued = sign_access_token(keys[alg], access_token_request(), NOW)

    assert _part(issued.token, 0) == {"alg": alg, "kid": keys[alg].kid, "typ": "at+jwt"}
    assert ACCESS_TOKEN_TYPE == "at+jwt"
    assert _verified(keys[alg], issued.token)["client_id"] == "partner-1"  # the signature is the key's


def test_the_claims_are_the_decided_ones_and_nothing_else(keys: dict[str, SigningKey]) -> None:
    """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti (and nbf); scope per §2.2.3."""
    issued = sign_access_token(keys["EdDSA"], access_token_request(), NOW + 0.999)

    claims = _verified(keys["EdDSA"], issued.token)
    assert claims == {
        "iss": ISSUER,
        "sub": "partner-1",
        "aud": AUDIENCE,
        "exp": 1_800_000_300,
        "iat": 1_800_000_000,
        "nbf": 1_800_000_000,
        "jti": issued.jti,
        "client_id": "partner-1",
        "scope": "orders:read orders:write",
    }
    assert list(_part(issued.token, 1)) == list(claims)
    assert (issued.kid, issued.issued_at, issued.expires_at) == (
        keys["EdDSA"].kid,
        1_800_000_000,
        1_800_000_300,
    )


def test_a_subject_is_the_sub_claim_when_given_and_the_client_id_stays(keys: dict[str, SigningKey]) -> None:
    issued = sign_access_token(keys["EdDSA"], access_token_request(subject="someone"), NOW)

    claims = _part(issued.token, 1)
    assert (claims["sub"], claims["client_id"]) == ("someone", "partner-1")


def test_several_audiences_are_a_list_and_one_is_a_string(keys: dict[str, SigningKey]) -> None:
    """RFC 7519 §4.1.3."""
    several = sign_access_token(
        keys["EdDSA"], access_token_request(audience=(AUDIENCE, "https://b.test")), NOW
    )
    one_in_a_tuple = sign_access_token(keys["EdDSA"], access_token_request(audience=(AUDIENCE,)), NOW)

    assert _part(several.token, 1)["aud"] == [AUDIENCE, "https://b.test"]
    assert _part(one_in_a_tuple.token, 1)["aud"] == [AUDIENCE]


def test_no_scope_claim_without_scopes(keys: dict[str, SigningKey]) -> None:
    issued = sign_access_token(keys["EdDSA"], access_token_request(scopes=()), NOW)

    assert "scope" not in _part(issued.token, 1)
    assert (
        _part(sign_access_token(keys["EdDSA"], access_token_request(scopes=("a",)), NOW).token, 1)["scope"]
        == "a"
    )


@pytest.mark.parametrize("lifetime", [1, 59, 3600, 86_400])
def test_exp_is_iat_plus_the_lifetime_exactly(keys: dict[str, SigningKey], lifetime: int) -> None:
    issued = sign_access_token(keys["EdDSA"], access_token_request(lifetime=lifetime), NOW + 0.5)

    claims = _part(issued.token, 1)
    assert claims["exp"] - claims["iat"] == lifetime
    assert claims["iat"] == 1_800_000_000  # whole seconds, rounded down: never issued in the future
    assert issued.expires_at == 1_800_000_000 + lifetime


@pytest.mark.parametrize("lifetime", [0, -1, -3600])
def test_a_lifetime_that_is_not_positive_is_refused(keys: dict[str, SigningKey], lifetime: int) -> None:
    with pytest.raises(ValueError, match="lifetime must be positive"):
        sign_access_token(keys["EdDSA"], access_token_request(lifetime=lifetime), NOW)


def test_each_token_has_a_fresh_128_bit_jti(keys: dict[str, SigningKey]) -> None:
    """RFC 9068 §2.2 / RFC 7519 §4.1.7: unique per token (replay detection, revocation)."""
    issued = [sign_access_token(keys["EdDSA"], access_token_request(), NOW) for _ in range(20)]

    jtis = {token.jti for token in issued}
    assert len(jtis) == 20
    assert JTI_BYTES == 16
    for token in issued:
        assert len(base64.urlsafe_b64decode(token.jti + "==")) == JTI_BYTES
        assert _part(token.token, 1)["jti"] == token.jti


def test_an_issued_token_never_shows_the_token_in_its_repr(keys: dict[str, SigningKey]) -> None:
    issued = sign_access_token(keys["EdDSA"], access_token_request(), NOW)

    shown = repr(issued)
    assert issued.token not in shown
    assert issued.token.split(".")[2] not in shown
    assert shown == f"IssuedToken(jti={issued.jti!r}, kid={issued.kid!r}, expires_at={issued.expires_at})"
    assert IssuedToken() == IssuedToken(token="", jti="", kid="", issued_at=0, expires_at=0)


def test_the_header_of_one_key_is_never_that_of_another(keys: dict[str, SigningKey]) -> None:
    """The encoded header is remembered per key: a token always names the key that signed it."""
    for alg in ("RS256", "ES256", "EdDSA", "RS256"):
        issued = sign_access_token(keys[alg], access_token_request(), NOW)
        assert _part(issued.token, 0)["kid"] == keys[alg].kid
        assert jwt.get_unverified_header(issued.token)["alg"] == alg


@pytest.mark.parametrize(
    ("data", "encoded"),
    [(b"\x00\x00\x17", b"AAAX"), (b"\x00\x00\x17\x00", b"AAAXAA"), (b"\xfb\xff", b"-_8"), (b"", b"")],
)
def test_base64url_removes_only_the_padding(data: bytes, encoded: bytes) -> None:
    """RFC 7515 §2: the URL-safe alphabet, only the trailing ``=`` removed (a segment may end in X)."""
    assert _base64url(data) == encoded
