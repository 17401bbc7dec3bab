"""JWK export, RFC 7638 thumbprints and per-member JWKS parsing."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import get_algorithm_by_name

from partnerauth.algorithms import ALGORITHMS
from partnerauth.jwk import VerificationKey, build_jwks, jwk_thumbprint, parse_jwk, parse_jwks, public_jwk
from partnerauth.keys import SigningKey

# RFC 7638 §3.1: the example RSA key and its thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
        "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8"
        "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"
        "xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_thumbprint_matches_rfc7638_example() -> None:
    # RFC 7638 §3.1
    assert jwk_thumbprint(RFC7638_JWK) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_ignores_optional_members() -> None:
    # RFC 7638 §3.2: only the required members take part
    assert jwk_thumbprint({**RFC7638_JWK, "use": "sig", "x5t": "ignored"}) == jwk_thumbprint(RFC7638_JWK)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_public_jwk_is_publishable_and_parses_back(keys: dict[str, SigningKey], alg: str) -> None:
    jwk = keys[alg].public_jwk()
    assert jwk["kid"] == jwk_thumbprint(jwk) == keys[alg].kid
    assert jwk["use"] == "sig"
    assert jwk["alg"] == alg
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
    parsed = parse_jwk(jwk)
    assert parsed.kid == keys[alg].kid
    assert parsed.algorithms == frozenset({alg})


def test_jwks_refuses_to_publish_private_members(rsa_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="private"):
        build_jwks([{**rsa_key.public_jwk(), "d": "secret"}])


def test_signing_key_repr_shows_no_private_material(rsa_key: SigningKey) -> None:
    assert "PRIVATE" not in repr(rsa_key)
    assert repr(rsa_key) == f"SigningKey(kid={rsa_key.kid!r}, alg='RS256')"


def test_private_pem_round_trip_keeps_the_kid(rsa_key: SigningKey) -> None:
    assert SigningKey.from_pem(rsa_key.private_pem(), "RS256").kid == rsa_key.kid


def _bad_members(good: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**good, "kid": ""},
        {k: v for k, v in good.items() if k != "kid"},
        {**good, "use": "enc"},  # RFC 7517 §4.2
        {**good, "key_ops": ["encrypt"]},  # RFC 7517 §4.3
        {**good, "alg": "HS256"},
        {**good, "alg": "ES256"},  # alg does not fit kty
        {**good, "n": "AQAB"},  # 17-bit modulus
        {**good, "n": 12345},
        {**good, "e": "A==="},
        {**good, "kty": "oct", "k": "c2VjcmV0"},
        {**good, "d": "AQAB"},  # private member published
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "kid": "ec-bad"},
        {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "ec-521"},
        {"kty": "OKP", "crv": "X25519", "x": "AA", "kid": "x25519"},
    ]


def test_each_bad_member_is_skipped_without_spoiling_the_set(keys: dict[str, SigningKey]) -> None:
    good = [key.public_jwk() for key in keys.values()]
    bad = _bad_members(keys["RS256"].public_jwk())
    parsed = parse_jwks({"keys": [*bad, *good, "not-an-object", None]})
    assert set(parsed) == {key.kid for key in keys.values()}


def test_duplicate_kids_are_both_dropped(keys: dict[str, SigningKey]) -> None:
    rsa, ec = keys["RS256"].public_jwk(), keys["ES256"].public_jwk()
    parsed = parse_jwks({"keys": [rsa, {**ec, "kid": rsa["kid"]}]})
    assert parsed == {}


@pytest.mark.parametrize("document", [None, [], {"keys": "x"}, {"nokeys": []}, "keys"])
def test_a_document_that_is_not_a_jwks_is_refused(document: Any) -> None:
    with pytest.raises(ValueError, match="not a JWK Set"):
        parse_jwks(document)


def test_jwk_without_alg_fits_every_algorithm_of_its_type(keys: dict[str, SigningKey]) -> None:
    jwk = {k: v for k, v in keys["ES256"].public_jwk().items() if k != "alg"}
    assert parse_jwk(jwk).algorithms == frozenset({"ES256"})
    rsa = {k: v for k, v in keys["RS256"].public_jwk().items() if k != "alg"}
    assert parse_jwk(rsa).algorithms == frozenset({"RS256", "RS384", "RS512", "PS256"})


# -- signature checks, built once per key (VerificationKey.verify_signature) -----------------------

MESSAGE = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwYXJ0bmVyLTEifQ"


@pytest.fixture(scope="module")
def keys_by_algorithm(keys: dict[str, SigningKey]) -> dict[str, Any]:
    """A private key for every algorithm we verify; RSA covers RS*/PS256, ES384 gets its own curve."""
    rsa_private = keys["RS256"].private_key
    return {
        **dict.fromkeys(("RS256", "RS384", "RS512", "PS256"), rsa_private),
        "ES256": keys["ES256"].private_key,
        "ES384": ec.generate_private_key(ec.SECP384R1()),
        "EdDSA": keys["EdDSA"].private_key,
    }


def _verification_key(private_key: Any, alg: str) -> VerificationKey:
    return parse_jwk(public_jwk(private_key.public_key(), alg))


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_signature_made_by_pyjwt_verifies_and_any_change_does_not(
    keys_by_algorithm: dict[str, Any], alg: str
) -> None:
    # PyJWT signs as RFC 7518 §3 (and RFC 8037 §3.1 for EdDSA) says: an independent implementation
    private_key = keys_by_algorithm[alg]
    key = _verification_key(private_key, alg)
    signature = get_algorithm_by_name(alg).sign(MESSAGE, private_key)
    assert key.verify_signature(alg, MESSAGE, signature)
    assert not key.verify_signature(alg, MESSAGE + b"x", signature)
    assert not key.verify_signature(alg, MESSAGE, signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not key.verify_signature(alg, MESSAGE, signature[:-1])  # wrong length
    assert not key.verify_signature(alg, MESSAGE, b"")


@pytest.mark.parametrize(("alg", "other"), [("RS256", "RS384"), ("RS256", "PS256"), ("PS256", "RS256")])
def test_a_signature_verifies_only_under_its_own_algorithm(
    keys_by_algorithm: dict[str, Any], alg: str, other: str
) -> None:
    # RFC 8725 §3.1: one key, one algorithm; a JWK without alg fits several, each checked as itself
    private_key = keys_by_algorithm[alg]
    members = public_jwk(private_key.public_key(), alg)
    key = parse_jwk({k: v for k, v in members.items() if k != "alg"})
    signature = get_algorithm_by_name(alg).sign(MESSAGE, private_key)
    assert key.verify_signature(alg, MESSAGE, signature)
    assert not key.verify_signature(other, MESSAGE, signature)


def test_an_algorithm_the_key_does_not_accept_never_verifies(keys_by_algorithm: dict[str, Any]) -> None:
    key = _verification_key(keys_by_algorithm["ES256"], "ES256")
    signature = get_algorithm_by_name("ES256").sign(MESSAGE, keys_by_algorithm["ES256"])
    assert not key.verify_signature("ES384", MESSAGE, signature)
    assert not key.verify_signature("none", MESSAGE, b"")


def test_ecdsa_signature_in_der_form_is_refused(keys_by_algorithm: dict[str, Any]) -> None:
    # RFC 7518 §3.4: R || S, each exactly 32 bytes for P-256; DER is another spelling and is refused
    private_key = keys_by_algorithm["ES256"]
    key = _verification_key(private_key, "ES256")
    der = private_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert not key.verify_signature("ES256", MESSAGE, der)
