"""The rules of a JWT client assertion, without I/O (partnerauth.client_assertion).

RFC 7523 §3, RFC 7521 §4.2, OpenID Connect Core §9, draft-ietf-oauth-rfc7523bis (audience), RFC 8725.
Every refusal is AssertionRejected (answered invalid_client by the token endpoint); its reason is for logs.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from partnerauth.client_assertion import (
    AssertionFailure,
    AssertionRejected,
    AssertionRules,
    read_client_assertion,
    verify_assertion_signature,
)
from partnerauth.jwk import parse_jwk

from .assertions import PartnerKey, compact, hmac_assertion, sign_assertion

ISSUER = "https://auth.example.test"
TOKEN_URL = ISSUER + "/oauth2/token"
CLIENT = "pc_0123456789abcdef"
NOW = 1_800_000_000.0
RULES = AssertionRules()


def rejected(
    token: str, issuer: str = ISSUER, now: float = NOW, rules: AssertionRules = RULES
) -> AssertionFailure:
    with pytest.raises(AssertionRejected) as caught:
        rules.check(read_client_assertion(token), issuer, now)
    return caught.value.reason


def accepted(token: str, now: float = NOW, rules: AssertionRules = RULES) -> int:
    return rules.check(read_client_assertion(token), ISSUER, now)


def test_a_well_formed_assertion_passes_and_is_remembered_until_it_expires_plus_leeway(
    partner_rsa: PartnerKey,
) -> None:
    token = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, lifetime=60)
    assertion = read_client_assertion(token)
    assert (assertion.client_id, assertion.alg, assertion.kid) == (CLIENT, "RS256", partner_rsa.kid)
    # RFC 7523 §3 item 7: the jti is kept as long as the assertion could be accepted (exp + leeway).
    assert accepted(token) == int(NOW) + 60 + 60 + 1


# -- aud: the issuer identifier as the sole value (draft-ietf-oauth-rfc7523bis) ---------------------------
def test_the_issuer_in_a_one_member_array_is_accepted(partner_rsa: PartnerKey) -> None:
    accepted(sign_assertion(partner_rsa, CLIENT, [ISSUER], NOW))


@pytest.mark.parametrize(
    "audience",
    [
        TOKEN_URL,  # RFC 7523 allowed it; rfc7523bis forbids it (audience injection, CVE-2025-27370)
        [ISSUER, TOKEN_URL],
        [ISSUER, "https://attacker.example"],
        ISSUER + "/",
        "https://AUTH.example.test",
        "https://attacker.example",
        [],
    ],
)
def test_any_audience_but_the_issuer_alone_is_refused(partner_rsa: PartnerKey, audience: Any) -> None:
    assert rejected(sign_assertion(partner_rsa, CLIENT, audience, NOW)) is AssertionFailure.AUDIENCE


@pytest.mark.parametrize("audience", [None, 7, {"a": 1}, [ISSUER, 3]])
def test_an_audience_of_the_wrong_shape_is_refused(partner_rsa: PartnerKey, audience: Any) -> None:
    token = (
        sign_assertion(partner_rsa, CLIENT, audience, NOW)
        if audience is not None
        else sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"aud": None})
    )
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(token)
    assert caught.value.reason is AssertionFailure.AUDIENCE


# -- iss, sub, jti ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "pc_somebody_else"},  # RFC 7523 §3 item 2B: sub is the client id
        {"iss": "pc_somebody_else"},
        {"sub": None},
        {"iss": None},
        {"iss": 42, "sub": 42},
        {"iss": "", "sub": ""},
        {"iss": "has space", "sub": "has space"},
        {"iss": "x" * 129, "sub": "x" * 129},
    ],
)
def test_iss_and_sub_must_both_be_the_client_id(partner_rsa: PartnerKey, claims: dict[str, Any]) -> None:
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims=claims))
    assert caught.value.reason is AssertionFailure.ISSUER


@pytest.mark.parametrize(
    "claims",
    [
        {"jti": None},
        {"jti": ""},
        {"jti": 12},
        {"jti": "j" * 257},
        {"exp": None},
        {"exp": "soon"},
        {"exp": True},
        {"iat": "now"},
        {"nbf": [1]},
        {"exp": -1},
        {"exp": 10**13},
    ],
)
def test_jti_and_exp_are_required_and_dates_are_numbers(
    partner_rsa: PartnerKey, claims: dict[str, Any]
) -> None:
    # RFC 7523 §3 items 4 and 7; RFC 7519 §2 NumericDate
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims=claims))
    assert caught.value.reason is AssertionFailure.CLAIM


# -- time --------------------------------------------------------------------------------------------------
def test_an_expired_assertion_is_refused_after_the_leeway(partner_rsa: PartnerKey) -> None:
    token = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW - 120, lifetime=60)  # exp = NOW - 60
    accepted(token, now=NOW - 1)  # RFC 7519 §4.1.4: within the leeway
    assert rejected(token, now=NOW) is AssertionFailure.EXPIRED


def test_nbf_and_iat_in_the_future_are_refused_beyond_the_leeway(partner_rsa: PartnerKey) -> None:
    accepted(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"nbf": int(NOW) + 60}))
    assert rejected(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"nbf": int(NOW) + 61})) is (
        AssertionFailure.NOT_YET_VALID
    )
    future = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW + 61)
    assert rejected(future) is AssertionFailure.NOT_YET_VALID
    accepted(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW + 60))


def test_exp_more_than_an_hour_after_iat_is_refused(partner_rsa: PartnerKey) -> None:
    accepted(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, lifetime=3600))  # authlib's default
    assert (
        rejected(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, lifetime=3601)) is AssertionFailure.TOO_LONG
    )
    far = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"exp": 253_402_300_799})
    assert rejected(far) is AssertionFailure.TOO_LONG


def test_an_assertion_is_usable_for_max_age_after_iat_whatever_its_exp(partner_rsa: PartnerKey) -> None:
    token = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, lifetime=3600)
    # remembered only as long as it is usable: iat + max age + leeway
    assert accepted(token) == int(NOW) + 300 + 60 + 1
    accepted(token, now=NOW + 300 + 59)
    assert rejected(token, now=NOW + 300 + 60) is AssertionFailure.STALE


def test_the_max_age_is_configurable(partner_rsa: PartnerKey) -> None:
    rules = AssertionRules(max_age=60)
    token = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, lifetime=600)
    accepted(token, now=NOW + 119, rules=rules)
    assert rejected(token, now=NOW + 120, rules=rules) is AssertionFailure.STALE
    with pytest.raises(ValueError, match="max age"):
        AssertionRules(max_age=0)
    with pytest.raises(ValueError, match="max age"):
        AssertionRules(max_age=3601)


def test_without_iat_the_exp_itself_must_be_short(partner_rsa: PartnerKey) -> None:
    short = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"iat": None}, lifetime=300)
    assert accepted(short) == int(NOW) + 300 + 60 + 1
    long = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"iat": None}, lifetime=361)
    assert rejected(long) is AssertionFailure.TOO_LONG


# -- header ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "HS256", "HS384", "HS512", "RS1", "", "rs256"])
def test_only_the_asymmetric_allow_list_is_accepted(partner_rsa: PartnerKey, alg: str) -> None:
    # RFC 8725 §3.1-3.2: never none, never HMAC (the verifier's allow-list, partnerauth.algorithms)
    token = compact(
        {"alg": alg, "kid": partner_rsa.kid},
        {"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "exp": int(NOW) + 60, "jti": "j"},
        lambda _: b"signature",
    )
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(token)
    assert caught.value.reason is AssertionFailure.ALGORITHM


def test_hmac_with_the_public_key_as_secret_is_refused(partner_rsa: PartnerKey) -> None:
    public_pem = partner_rsa.signing.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for alg in ("HS256", "HS384", "HS512"):
        with pytest.raises(AssertionRejected) as caught:
            read_client_assertion(hmac_assertion(public_pem, CLIENT, ISSUER, NOW, alg))
        assert caught.value.reason is AssertionFailure.ALGORITHM


@pytest.mark.parametrize(
    "headers",
    [
        {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},  # RFC 8725 §3.10: keys come from registration only
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"x5c": ["MIIB"]},
        {"crit": ["exp"]},  # RFC 7515 §4.1.11
        {"b64": False, "crit": ["b64"]},  # RFC 7797
        {"zip": "DEF"},
        {"kid": ""},
        {"kid": 7},
        {"kid": "k" * 257},
    ],
)
def test_header_parameters_we_do_not_follow_are_refused(
    partner_rsa: PartnerKey, headers: dict[str, Any]
) -> None:
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, headers=headers))
    assert caught.value.reason is AssertionFailure.HEADER


@pytest.mark.parametrize(
    "typ", [None, "JWT", "jwt", "client-authentication+jwt", "application/client-authentication+JWT"]
)
def test_untyped_generic_and_client_authentication_types_are_accepted(
    partner_rsa: PartnerKey, typ: str | None
) -> None:
    accepted(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, headers={"typ": typ}))


@pytest.mark.parametrize("typ", ["at+jwt", "dpop+jwt", "oauth-authz-req+jwt", "JOSE", 1])
def test_other_explicit_types_are_refused(partner_rsa: PartnerKey, typ: Any) -> None:
    # RFC 8725 §3.11: another kind of JWT signed with the same key is not a client assertion
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, headers={"typ": typ}))
    assert caught.value.reason is AssertionFailure.TYPE


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d.e", "eyJhbGciOiJSUzI1NiJ9..sig", "x" * 9000, "é.é.é", 7, None],
)
def test_anything_but_a_canonical_compact_jws_is_malformed(token: Any) -> None:
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(token)
    assert caught.value.reason is AssertionFailure.MALFORMED


def test_a_padded_or_json_serialised_assertion_is_malformed(partner_rsa: PartnerKey) -> None:
    token = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW)
    header = token.split(".")[0]
    padded = base64.urlsafe_b64encode(base64.urlsafe_b64decode(header + "==")).decode()
    for spoiled in (padded + token[len(header) :], token + "="):
        with pytest.raises(AssertionRejected):
            read_client_assertion(spoiled)


# -- the signature -----------------------------------------------------------------------------------------
def test_the_signature_is_checked_with_the_registered_key(
    partner_rsa: PartnerKey, partner_ec: PartnerKey, partner_ed: PartnerKey, stranger_rsa: PartnerKey
) -> None:
    for key in (partner_rsa, partner_ec, partner_ed):
        assertion = read_client_assertion(sign_assertion(key, CLIENT, ISSUER, NOW))
        assert verify_assertion_signature(assertion, [parse_jwk(key.jwk)]).kid == key.kid
    # somebody else's key (another client's): no match
    assertion = read_client_assertion(sign_assertion(stranger_rsa, CLIENT, ISSUER, NOW))
    with pytest.raises(AssertionRejected) as caught:
        verify_assertion_signature(assertion, [parse_jwk(partner_rsa.jwk)])
    assert caught.value.reason is AssertionFailure.BAD_SIGNATURE


def test_alg_is_bound_to_the_key_type(partner_rsa: PartnerKey, partner_ec: PartnerKey) -> None:
    # an RS256 key registered with alg RS256 does not verify a PS256 signature of the same key
    ps = read_client_assertion(sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, alg="PS256"))
    with pytest.raises(AssertionRejected):
        verify_assertion_signature(ps, [parse_jwk(partner_rsa.jwk)])
    # an ES256 header is never tried against an RSA key, whatever the signature
    es = read_client_assertion(sign_assertion(partner_ec, CLIENT, ISSUER, NOW))
    with pytest.raises(AssertionRejected):
        verify_assertion_signature(es, [parse_jwk({**partner_rsa.jwk, "kid": partner_ec.kid})])


def test_a_tampered_payload_fails_the_signature(partner_rsa: PartnerKey) -> None:
    token = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW)
    other = sign_assertion(partner_rsa, CLIENT, ISSUER, NOW, claims={"jti": "another"})
    header, _, signature = token.split(".")
    spliced = f"{header}.{other.split('.')[1]}.{signature}"
    with pytest.raises(AssertionRejected) as caught:
        verify_assertion_signature(read_client_assertion(spliced), [parse_jwk(partner_rsa.jwk)])
    assert caught.value.reason is AssertionFailure.BAD_SIGNATURE
