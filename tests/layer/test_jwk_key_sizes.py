"""RSA keys from a JWKS are used only when they are strong enough (issue 20: 1024-2047-bit keys survived).

RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms" (RS256/384/512;
§3.5 says the same of PS256).  A JWKS member with a smaller modulus is skipped on its own, so a token
it signed finds no key.  The public exponent must be odd and at least 3 (NIST SP 800-56B §6.2.1: an
even exponent has no inverse, and ``e = 1`` makes the "signature" the message itself).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from partnerauth import base64url
from partnerauth.errors import Reason, TokenRejected
from partnerauth.jwk import build_jwks, parse_jwk
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

from .conftest import AUDIENCE, ISSUER, JWKS_URI, NOW, TokenFactory

MIN_RSA_BITS = 2048


def rsa_member(modulus: int, exponent: int = 65537) -> dict[str, Any]:
    return {
        "kty": "RSA",
        "kid": f"rsa-{modulus.bit_length()}",
        "alg": "RS256",
        "n": base64url.encode_uint(modulus),
        "e": base64url.encode_uint(exponent),
    }


def odd_modulus(bits: int, seed: int) -> int:
    """An odd number of exactly ``bits`` bits (parsing checks sizes, never factors)."""
    return random.Random(seed).getrandbits(bits) | (1 << (bits - 1)) | 1


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(min_value=512, max_value=MIN_RSA_BITS - 1), seed=st.integers(0, 2**32))
@example(bits=1024, seed=0)
@example(bits=MIN_RSA_BITS - 1, seed=0)
def test_an_rsa_jwk_of_fewer_than_2048_bits_is_never_used(bits: int, seed: int) -> None:
    # RFC 7518 §3.3: 2048 bits or larger
    with pytest.raises(ValueError, match="unusable key"):
        parse_jwk(rsa_member(odd_modulus(bits, seed)))


@settings(max_examples=30, deadline=None)
@given(bits=st.integers(min_value=MIN_RSA_BITS, max_value=4096), seed=st.integers(0, 2**32))
@example(bits=MIN_RSA_BITS, seed=0)
def test_an_rsa_jwk_of_2048_bits_or_more_is_used(bits: int, seed: int) -> None:
    key = parse_jwk(rsa_member(odd_modulus(bits, seed)))
    assert key.algorithms == frozenset({"RS256"})


@pytest.mark.parametrize("exponent", [1, 2, 4, 65536], ids=["one", "two", "four", "even-65536"])
def test_an_rsa_jwk_whose_exponent_is_even_or_below_3_is_never_used(exponent: int) -> None:
    # NIST SP 800-56B §6.2.1: e is odd and greater than 2
    with pytest.raises(ValueError, match="unusable key"):
        parse_jwk(rsa_member(odd_modulus(MIN_RSA_BITS, 7), exponent))


@pytest.mark.parametrize("exponent", [3, 65537])
def test_an_rsa_jwk_with_an_odd_exponent_of_3_or_more_is_used(exponent: int) -> None:
    assert parse_jwk(rsa_member(odd_modulus(MIN_RSA_BITS, 7), exponent)).kid == f"rsa-{MIN_RSA_BITS}"


@pytest.fixture(scope="module")
def weak_keys() -> dict[int, SigningKey]:
    """Real RSA keys just under the floor, as a careless external issuer might publish them."""
    return {
        bits: SigningKey.from_private_key(rsa.generate_private_key(65537, bits), "RS256")
        for bits in (1024, MIN_RSA_BITS - 1)
    }


@pytest.mark.parametrize("bits", [1024, MIN_RSA_BITS - 1])
def test_a_token_signed_by_a_published_weak_rsa_key_finds_no_key(
    weak_keys: dict[int, SigningKey], make_token: TokenFactory, bits: int
) -> None:
    # Given a trusted issuer whose JWKS publishes a weak key next to nothing else
    weak = weak_keys[bits]
    policy = IssuerPolicy(
        issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}), algorithms=frozenset({"RS256"})
    )
    keys = StaticKeySource({JWKS_URI: build_jwks([weak.public_jwk()])})
    verifier = AccessTokenVerifier([policy], keys, clock=lambda: NOW)
    # When a token signed correctly by that key arrives
    token = make_token(weak)
    # Then it is rejected: the weak key was skipped, so its kid is unknown (RFC 7518 §3.3)
    with pytest.raises(TokenRejected) as rejected:
        verifier.verify(token)
    assert rejected.value.reason is Reason.UNKNOWN_KEY


def test_the_same_issuer_setup_accepts_a_token_of_a_2048_bit_key(
    rsa_key: SigningKey, make_token: TokenFactory
) -> None:
    # The control of the test above: only the key's size differs
    policy = IssuerPolicy(
        issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}), algorithms=frozenset({"RS256"})
    )
    keys = StaticKeySource({JWKS_URI: build_jwks([rsa_key.public_jwk()])})
    verifier = AccessTokenVerifier([policy], keys, clock=lambda: NOW)
    assert verifier.verify(make_token(rsa_key)).kid == rsa_key.kid
