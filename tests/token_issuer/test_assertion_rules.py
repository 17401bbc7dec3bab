"""A client assertion's rules at their limits (partnerauth.client_assertion; RFC 7523 §3, RFC 7519 §4.1,
RFC 8725): each bound exactly at its value and one past it, and the signature loop's refusals.  No I/O.
"""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.client_assertion import (
    AssertionFailure,
    AssertionRejected,
    AssertionRules,
    read_client_assertion,
    verify_assertion_signature,
)
from partnerauth.jwk import MAX_KID_LENGTH, VerificationKey, parse_jwk
from partnerauth.verification import MAX_LEEWAY

from .assertions import PartnerKey, sign_assertion

ISSUER = "https://auth.example.test"
CLIENT = "pc_0123456789abcdef"
NOW = 1_800_000_000.0
RULES = AssertionRules()  # max age 300, leeway 60, max span 3600


def signed(key: PartnerKey, client_id: str = CLIENT, **options: Any) -> str:
    return sign_assertion(key, client_id, ISSUER, NOW, **options)


def reason_read(token: str) -> AssertionFailure:
    with pytest.raises(AssertionRejected) as caught:
        read_client_assertion(token)
    return caught.value.reason


def reason_checked(token: str, rules: AssertionRules = RULES, now: float = NOW) -> AssertionFailure:
    with pytest.raises(AssertionRejected) as caught:
        rules.check(read_client_assertion(token), ISSUER, now)
    return caught.value.reason


# -- the refusal itself --------------------------------------------------------------------------------------
def test_a_refusal_says_only_that_client_authentication_failed() -> None:
    # RFC 7521 §4.2.1 / RFC 6749 §5.2: the caller gets invalid_client; the reason is for the logs alone
    for reason in AssertionFailure:
        refusal = AssertionRejected(reason)
        assert str(refusal) == "client authentication failed"
        assert refusal.reason is reason


# -- configuration -------------------------------------------------------------------------------------------
def test_max_age_and_leeway_are_accepted_at_their_limits() -> None:
    assert AssertionRules(max_age=1).max_age == 1
    assert AssertionRules(max_age=3600).max_age == 3600  # the max span: an hour
    assert AssertionRules(leeway=0).leeway == 0
    assert AssertionRules(leeway=MAX_LEEWAY).leeway == MAX_LEEWAY
    for bad in ({"leeway": -1}, {"leeway": MAX_LEEWAY + 1}, {"max_age": 3601}, {"max_age": 0}):
        with pytest.raises(ValueError, match=r"max age|leeway"):
            AssertionRules(**bad)


# -- time, to the second -------------------------------------------------------------------------------------
def test_without_iat_an_exp_exactly_max_age_plus_leeway_ahead_is_accepted_and_one_second_more_is_not(
    partner_rsa: PartnerKey,
) -> None:
    at_limit = signed(partner_rsa, claims={"iat": None}, lifetime=300 + 60)
    assert RULES.check(read_client_assertion(at_limit), ISSUER, NOW) == int(NOW) + 360 + 60 + 1
    beyond = signed(partner_rsa, claims={"iat": None}, lifetime=300 + 60 + 1)
    assert reason_checked(beyond) is AssertionFailure.TOO_LONG


def test_exp_is_refused_from_the_second_it_passes_beyond_the_leeway(partner_rsa: PartnerKey) -> None:
    token = signed(partner_rsa, lifetime=60)  # exp = NOW + 60
    assert RULES.check(read_client_assertion(token), ISSUER, NOW + 60 + 59) == int(NOW) + 60 + 60 + 1
    assert reason_checked(token, now=NOW + 60 + 60) is AssertionFailure.EXPIRED


def test_a_zero_leeway_is_applied_as_zero(partner_rsa: PartnerKey) -> None:
    strict = AssertionRules(leeway=0)
    token = signed(partner_rsa, lifetime=60)
    assert strict.check(read_client_assertion(token), ISSUER, NOW + 59) == int(NOW) + 60 + 1
    assert reason_checked(token, strict, now=NOW + 60) is AssertionFailure.EXPIRED
    ahead = signed(partner_rsa, claims={"nbf": int(NOW) + 1})
    assert reason_checked(ahead, strict) is AssertionFailure.NOT_YET_VALID


def test_a_fractional_time_is_remembered_until_the_next_whole_second(partner_rsa: PartnerKey) -> None:
    token = signed(partner_rsa, claims={"iat": None, "exp": NOW + 10.25})
    assert RULES.check(read_client_assertion(token), ISSUER, NOW) == int(NOW) + 11 + 60 + 1


# -- the shape of claims and header, at their limits ---------------------------------------------------------
@pytest.mark.parametrize("client_id", ["a", "!" * 128, "~" * 128, "pc_" + "x" * 125])
def test_client_ids_of_one_to_128_visible_ascii_characters_are_accepted(
    partner_rsa: PartnerKey, client_id: str
) -> None:
    assert read_client_assertion(signed(partner_rsa, client_id)).client_id == client_id


@pytest.mark.parametrize("client_id", ["", "a" * 129, "pc client", "pc\x7f", "pc\u00e9", "pc\t"])
def test_other_client_ids_are_refused_as_the_issuer(partner_rsa: PartnerKey, client_id: str) -> None:
    assert reason_read(signed(partner_rsa, client_id)) is AssertionFailure.ISSUER


@pytest.mark.parametrize("length", [1, MAX_KID_LENGTH])
def test_a_kid_of_one_to_the_maximum_length_is_read(partner_rsa: PartnerKey, length: int) -> None:
    kid = "k" * length
    assert read_client_assertion(signed(partner_rsa, headers={"kid": kid})).kid == kid


@pytest.mark.parametrize("kid", ["", "k" * (MAX_KID_LENGTH + 1), 7, ["k"]])
def test_an_empty_overlong_or_non_string_kid_is_refused(partner_rsa: PartnerKey, kid: Any) -> None:
    assert reason_read(signed(partner_rsa, headers={"kid": kid})) is AssertionFailure.HEADER


@pytest.mark.parametrize("length", [1, 256])
def test_a_jti_of_one_to_256_characters_is_read(partner_rsa: PartnerKey, length: int) -> None:
    jti = "j" * length
    assert read_client_assertion(signed(partner_rsa, claims={"jti": jti})).jti == jti


@pytest.mark.parametrize("jti", ["", "j" * 257, 7])
def test_an_empty_overlong_or_non_string_jti_is_refused(partner_rsa: PartnerKey, jti: Any) -> None:
    assert reason_read(signed(partner_rsa, claims={"jti": jti})) is AssertionFailure.CLAIM


def test_dates_at_zero_are_numeric_dates(partner_rsa: PartnerKey) -> None:
    # RFC 7519 §2: a NumericDate is non-negative; 0 is the epoch itself (refused later by the time rules)
    assertion = read_client_assertion(signed(partner_rsa, claims={"iat": 0, "nbf": 0.0, "exp": 0}))
    assert (assertion.issued_at, assertion.not_before, assertion.expires_at) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("value", [-1, -0.5, True, "1800000000", [1]])
def test_a_negative_or_non_number_date_is_refused(partner_rsa: PartnerKey, value: Any) -> None:
    assert reason_read(signed(partner_rsa, claims={"nbf": value})) is AssertionFailure.CLAIM


def test_an_assertion_over_8192_bytes_is_malformed(partner_rsa: PartnerKey) -> None:
    token = signed(partner_rsa, claims={"pad": "p" * 8192})
    assert len(token) > 8192
    assert reason_read(token) is AssertionFailure.MALFORMED


# -- the signature loop --------------------------------------------------------------------------------------
def test_keys_of_another_type_are_skipped_and_the_next_one_is_tried(
    partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    assertion = read_client_assertion(signed(partner_rsa))
    ec_key, rsa_key = parse_jwk(partner_ec.jwk), parse_jwk(partner_rsa.jwk)
    assert verify_assertion_signature(assertion, [ec_key, rsa_key]) is rsa_key


def test_a_key_that_cannot_check_the_signature_is_a_bad_signature_never_a_pass(
    partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    # an EC key wrongly listed for RS256: the check raises inside the library, which must count as invalid
    assertion = read_client_assertion(signed(partner_rsa))
    confused = VerificationKey(partner_rsa.kid, parse_jwk(partner_ec.jwk).key, frozenset({"RS256"}))
    with pytest.raises(AssertionRejected) as caught:
        verify_assertion_signature(assertion, [confused])
    assert caught.value.reason is AssertionFailure.BAD_SIGNATURE
