"""JWK parsing and base64url encoding, rule by rule at their edges (RFC 7517, RFC 7518 §2 and §6,
RFC 8037, RFC 7515 §2): the keys a JWKS may not give us, the spellings our encoder must produce.

Written to kill the mutants `make mutate` found alive (issue 20 item 2).
"""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth import base64url
from partnerauth.compact import parse_compact
from partnerauth.jwk import MAX_KID_LENGTH, parse_jwk, parse_jwks
from partnerauth.keys import SigningKey

from .conftest import TokenFactory

# -- base64url (RFC 7515 §2, RFC 7518 §2 Base64urlUInt) ---------------------------------------------


def test_encoding_round_trips_every_short_byte_string_whatever_its_last_character() -> None:
    # every final character of the alphabet, "X" included, is kept; only "=" padding goes
    for data in (bytes([a, b]) for a in range(256) for b in range(0, 256, 7)):
        encoded = base64url.encode(data)
        assert "=" not in encoded
        assert base64url.decode(encoded) == data


def test_encoding_of_bytes_ending_in_x_keeps_the_x() -> None:
    assert base64url.encode(b"\x00\x00\x17") == "AAAX"
    assert base64url.encode(b"]") == "XQ"
    assert base64url.encode(b"\x5d\x70") == "XXA"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "AA"), (1, "AQ"), (255, "_w"), (256, "AQA"), (65537, "AQAB")],
)
def test_an_unsigned_integer_is_encoded_in_its_fewest_octets_big_endian(value: int, encoded: str) -> None:
    # RFC 7518 §2 Base64urlUInt: the minimum number of octets; zero is one octet
    assert base64url.encode_uint(value) == encoded
    assert base64url.decode_uint(encoded) == value


@pytest.mark.parametrize(
    "segment", ["Zm9v++++", "Zm9v====", "Zm9v////", "Zm9v    ", "Zm9v\n\n\n\n", "Zm+9v++/"]
)
def test_bytes_outside_the_alphabet_are_refused_even_where_skipping_them_leaves_a_valid_encoding(
    segment: str,
) -> None:
    # RFC 7515 §2 / RFC 8725 §3.11: a lenient decoder would read "Zm9v" (b"foo") out of each
    with pytest.raises(ValueError, match="canonical"):
        base64url.decode(segment)


def test_an_unsigned_integer_is_read_big_endian() -> None:
    assert base64url.decode_uint("AQA") == 256


# -- compact JWS edges -----------------------------------------------------------------------------


def test_a_token_of_exactly_the_size_limit_is_parsed(make_token: TokenFactory) -> None:
    token = make_token()
    assert parse_compact(token, max_bytes=len(token)).payload["iss"]


# -- JWK members (RFC 7517 §4, RFC 7518 §6) --------------------------------------------------------


def jwk_of(key: SigningKey, **members: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = dict(key.public_jwk())
    jwk.update(members)
    return {k: v for k, v in jwk.items() if v is not ...}


@pytest.mark.parametrize("length", [1, MAX_KID_LENGTH])
def test_a_kid_of_one_to_the_maximum_characters_is_accepted(rsa_key: SigningKey, length: int) -> None:
    assert parse_jwk(jwk_of(rsa_key, kid="k" * length)).kid == "k" * length


def test_key_ops_that_allow_verify_are_accepted(rsa_key: SigningKey) -> None:
    # RFC 7517 §4.3
    assert parse_jwk(jwk_of(rsa_key, key_ops=["verify"])).algorithms == frozenset({"RS256"})


@pytest.mark.parametrize("e", [4, 65538])
def test_an_rsa_key_with_an_even_exponent_is_refused(rsa_key: SigningKey, e: int) -> None:
    # RFC 8017 §3.1: the public exponent is odd
    with pytest.raises(ValueError, match="unusable key"):
        parse_jwk(jwk_of(rsa_key, e=base64url.encode_uint(e)))


@pytest.mark.parametrize(("kty", "crv"), [("OKP", "P-256"), ("OKP", "X25519"), ("EC", "Ed25519")])
def test_a_key_whose_type_and_curve_do_not_belong_together_is_refused(
    keys: dict[str, SigningKey], kty: str, crv: str
) -> None:
    # RFC 7518 §6.2.1.1, RFC 8037 §2: EC keys are on P-256/P-384, OKP signing keys are Ed25519
    source = keys["ES256"] if crv == "P-256" else keys["EdDSA"]
    with pytest.raises(ValueError, match="unusable key"):
        parse_jwk(jwk_of(source, kty=kty, crv=crv, alg=...))


@pytest.mark.parametrize(("alg", "member"), [("RS256", "n"), ("RS256", "e"), ("ES256", "x"), ("ES256", "y")])
def test_a_key_member_that_is_not_a_string_is_refused(
    keys: dict[str, SigningKey], alg: str, member: str
) -> None:
    # a list of byte values has a length and items like a segment: only the type check stops it
    with pytest.raises(ValueError, match="bad member type"):
        parse_jwk(jwk_of(keys[alg], **{member: [65, 65]}))


def test_a_member_that_is_not_an_object_is_skipped_and_the_rest_still_read(rsa_key: SigningKey) -> None:
    assert list(parse_jwks({"keys": ["junk", 7, rsa_key.public_jwk()]})) == [rsa_key.kid]
