"""A signature the crypto library cannot even check is a bad signature, never a good one (issue 20).

The check of one key (``VerificationKey.verify_signature``) answers ``True`` only when the library
verified the signature.  Everything else - the library's ``InvalidSignature``, and the errors of
signatures that are not signatures (an ECDSA value of the wrong length, R or S zero or beyond the
curve's order) - is ``False``, and the verifier rejects the token as ``bad_signature``.  RFC 7518 §3.4:
an ES256 signature is R and S, each exactly 32 bytes; any other length is not an ES256 signature.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jwt import get_algorithm_by_name

from partnerauth import base64url
from partnerauth.errors import Reason, TokenRejected
from partnerauth.jwk import VerificationKey, parse_jwk
from partnerauth.keys import SigningKey
from partnerauth.verification import AccessTokenVerifier

from .conftest import TokenFactory

MESSAGE = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwYXJ0bmVyLTEifQ"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIZE = 32  # bytes of R and of S on P-256


def r_s(r: int, s: int) -> bytes:
    return r.to_bytes(SIZE, "big") + s.to_bytes(SIZE, "big")


def malformed_es256(good: bytes) -> dict[str, bytes]:
    """Signatures that are not ES256 signatures of anything, next to a good one (``good``)."""
    r, s = good[:SIZE], good[SIZE:]
    return {
        "one byte short": good[:-1],
        "one byte long": good + b"\x00",
        "zero byte before S": r + b"\x00" + s,  # same R and S, if the length went unchecked
        "zero byte before R": b"\x00" + good,
        "DER-sized": good + good[:8],
        "R is zero": r_s(0, int.from_bytes(s, "big")),
        "S is zero": r_s(int.from_bytes(r, "big"), 0),
        "R is the order": r_s(P256_ORDER, int.from_bytes(s, "big")),
        "S beyond the order": r_s(int.from_bytes(r, "big"), 2**256 - 1),
        "empty": b"",
    }


@pytest.fixture(scope="module")
def es256(keys: dict[str, SigningKey]) -> tuple[SigningKey, VerificationKey, bytes]:
    signing = keys["ES256"]
    good = get_algorithm_by_name("ES256").sign(MESSAGE, signing.private_key)
    return signing, parse_jwk(signing.public_jwk()), good


def test_the_good_es256_signature_of_these_tests_verifies(
    es256: tuple[SigningKey, VerificationKey, bytes],
) -> None:
    _, key, good = es256
    assert key.verify_signature("ES256", MESSAGE, good)


@pytest.mark.parametrize("fault", list(malformed_es256(bytes(64))))
def test_an_es256_signature_the_library_cannot_check_is_not_valid(
    es256: tuple[SigningKey, VerificationKey, bytes], fault: str
) -> None:
    # RFC 7518 §3.4: R || S, 32 bytes each, both in [1, n-1]; anything else is not a signature
    _, key, good = es256
    assert key.verify_signature("ES256", MESSAGE, malformed_es256(good)[fault]) is False


@pytest.mark.parametrize("fault", [f for f in malformed_es256(bytes(64)) if f != "empty"])
def test_a_token_whose_signature_the_library_cannot_check_is_rejected_as_a_bad_signature(
    es256: tuple[SigningKey, VerificationKey, bytes],
    make_token: TokenFactory,
    verifier: AccessTokenVerifier,
    fault: str,
) -> None:
    # Given a token of a trusted ES256 key, its signature replaced by a malformed one
    signing, _, _ = es256
    token = make_token(signing)
    signing_input, _, signature = token.rpartition(".")
    broken = malformed_es256(base64url.decode(signature))[fault]
    # When it is verified, then it is a bad signature (not an accepted token, not a crash)
    with pytest.raises(TokenRejected) as rejected:
        verifier.verify(f"{signing_input}.{base64url.encode(broken)}")
    assert rejected.value.reason is Reason.BAD_SIGNATURE


@settings(max_examples=200, deadline=None)
@given(signature=st.binary(min_size=0, max_size=80))
@example(signature=bytes(63))
@example(signature=bytes(65))
def test_no_byte_string_but_a_real_signature_verifies_and_none_raises(
    es256: tuple[SigningKey, VerificationKey, bytes], signature: bytes
) -> None:
    _, key, good = es256
    if signature == good:
        return
    assert key.verify_signature("ES256", MESSAGE, signature) is False


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
@pytest.mark.parametrize("change", ["a zero byte in front", "one byte short", "all ones"])
def test_an_rsa_or_eddsa_signature_of_the_wrong_length_or_value_is_not_valid(
    keys: dict[str, SigningKey], alg: str, change: str
) -> None:
    signing = keys[alg]
    key = parse_jwk(signing.public_jwk())
    good = get_algorithm_by_name(alg).sign(MESSAGE, signing.private_key)
    broken = {
        "a zero byte in front": b"\x00" + good,
        "one byte short": good[1:],
        "all ones": b"\xff" * len(good),
    }[change]
    assert key.verify_signature(alg, MESSAGE, good)
    assert key.verify_signature(alg, MESSAGE, broken) is False
