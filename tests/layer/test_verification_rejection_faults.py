"""Every rejection of the verifier names its reason AND the claim or header at fault; the edges of each
rule (exactly at a bound is inside) and the vendor-profile checks, each on its own.

Written to kill the mutants `make mutate` found alive (issue 20 item 2): a rejection that named the
wrong claim, a boundary moved by one, a profile check skipped when only one of its two parts is set.
"""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.errors import ConfigurationError, Reason, TokenRejected
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey
from partnerauth.scopes import SCOPE_CLAIMS
from partnerauth.verification import (
    MAX_LEEWAY,
    MAX_NUMERIC_DATE,
    RFC9068_REQUIRED_CLAIMS,
    AccessTokenVerifier,
    IssuerPolicy,
)

from .conftest import AUDIENCE, ISSUER, JWKS_URI, NOW, TokenFactory

LEEWAY = 60
MAX_LIFETIME = 3600


def rejection(verifier: AccessTokenVerifier, token: str) -> tuple[Reason, str | None]:
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    return caught.value.reason, caught.value.fault


def verifier_for(jwks: dict[str, Any], **policy: Any) -> AccessTokenVerifier:
    settings: dict[str, Any] = {
        "issuer": ISSUER,
        "jwks_uri": JWKS_URI,
        "audiences": frozenset({AUDIENCE}),
        "algorithms": frozenset({"RS256", "ES256", "EdDSA"}),
        "max_lifetime": MAX_LIFETIME,
    }
    return AccessTokenVerifier(
        [IssuerPolicy(**(settings | policy))],
        StaticKeySource({JWKS_URI: jwks}),
        leeway=LEEWAY,
        clock=lambda: NOW,
    )


# -- header rules: reason and the header parameter at fault ----------------------------------------


@pytest.mark.parametrize(
    ("header", "reason", "fault"),
    [
        ({"alg": "none"}, Reason.DISALLOWED_ALGORITHM, "header.alg"),  # RFC 8725 §3.1
        ({"alg": ...}, Reason.DISALLOWED_ALGORITHM, "header.alg"),
        ({"crit": ["exp"]}, Reason.UNSUPPORTED_HEADER, "header.crit"),  # RFC 7515 §4.1.11
        ({"b64": False}, Reason.UNSUPPORTED_HEADER, "header.b64"),  # RFC 7797
        ({"zip": "DEF"}, Reason.UNSUPPORTED_HEADER, "header.zip"),
        ({"b64": False, "zip": "DEF"}, Reason.UNSUPPORTED_HEADER, "header.b64"),
        ({"cty": "JWT"}, Reason.UNSUPPORTED_HEADER, "header.cty"),  # RFC 7519 §5.2
        ({"kid": ...}, Reason.UNKNOWN_KEY, "header.kid"),
        ({"kid": ""}, Reason.UNKNOWN_KEY, "header.kid"),
        ({"kid": "k" * 257}, Reason.UNKNOWN_KEY, "header.kid"),
        ({"typ": "JWT"}, Reason.WRONG_TYPE, "header.typ"),  # RFC 9068 §4 item 1
    ],
)
def test_a_header_rejection_names_its_reason_and_the_header_at_fault(
    make_token: TokenFactory,
    verifier: AccessTokenVerifier,
    header: dict[str, Any],
    reason: Reason,
    fault: str,
) -> None:
    assert rejection(verifier, make_token(header=header)) == (reason, fault)


@pytest.mark.parametrize("length", [1, 256])
def test_a_kid_of_one_to_256_characters_is_looked_up_not_refused_as_a_header(
    make_token: TokenFactory, verifier: AccessTokenVerifier, length: int
) -> None:
    # no published key has it: unknown key, with no header at fault
    assert rejection(verifier, make_token(header={"kid": "k" * length})) == (Reason.UNKNOWN_KEY, None)


# -- claim rules: reason and the claim at fault ----------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "reason", "fault"),
    [
        ({"iss": ...}, Reason.MISSING_CLAIM, "claim.iss"),
        ({"iss": "https://elsewhere.test"}, Reason.WRONG_ISSUER, "claim.iss"),  # RFC 9068 §4 item 3
        ({"exp": int(NOW) - LEEWAY}, Reason.EXPIRED, "claim.exp"),  # RFC 7519 §4.1.4
        ({"nbf": int(NOW) + LEEWAY + 1}, Reason.NOT_YET_VALID, "claim.nbf"),  # RFC 7519 §4.1.5
        ({"iat": int(NOW) + LEEWAY + 1, "exp": int(NOW) + 600}, Reason.NOT_YET_VALID, "claim.iat"),
        ({"exp": int(NOW) + MAX_LIFETIME + 1}, Reason.LIFETIME_TOO_LONG, "claim.exp"),
        ({"aud": "https://other.test"}, Reason.WRONG_AUDIENCE, "claim.aud"),  # RFC 9068 §4 item 4
        ({"aud": 7}, Reason.INVALID_CLAIM, "claim.aud"),
        ({"aud": []}, Reason.INVALID_CLAIM, "claim.aud"),
        ({"exp": "soon"}, Reason.INVALID_CLAIM, "claim.exp"),  # RFC 7519 §2 NumericDate
        ({"exp": MAX_NUMERIC_DATE + 1}, Reason.INVALID_CLAIM, "claim.exp"),
        ({"nbf": True}, Reason.INVALID_CLAIM, "claim.nbf"),
        ({"iat": -1}, Reason.INVALID_CLAIM, "claim.iat"),
        ({"sub": 12}, Reason.INVALID_CLAIM, "claim.sub"),
        ({"sub": ""}, Reason.INVALID_CLAIM, "claim.sub"),
        ({"client_id": ""}, Reason.INVALID_CLAIM, "claim.client_id"),
        ({"jti": 99}, Reason.INVALID_CLAIM, "claim.jti"),
    ],
)
def test_a_claim_rejection_names_its_reason_and_the_claim_at_fault(
    make_token: TokenFactory,
    verifier: AccessTokenVerifier,
    claims: dict[str, Any],
    reason: Reason,
    fault: str,
) -> None:
    assert rejection(verifier, make_token(**claims)) == (reason, fault)


@pytest.mark.parametrize("claim", [c for c in RFC9068_REQUIRED_CLAIMS if c != "iss"])
def test_a_missing_required_claim_is_named(
    make_token: TokenFactory, verifier: AccessTokenVerifier, claim: str
) -> None:
    # RFC 9068 §2.2
    assert rejection(verifier, make_token(**{claim: ...})) == (Reason.MISSING_CLAIM, f"claim.{claim}")


def test_of_several_missing_claims_the_first_in_policy_order_is_named(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert rejection(verifier, make_token(jti=..., exp=...)) == (Reason.MISSING_CLAIM, "claim.exp")


def test_a_token_with_exactly_the_required_claims_and_no_other_is_accepted(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    token = make_token(nbf=..., scope=...)  # iss exp aud sub client_id iat jti, nothing else
    assert verifier.verify(token).scopes == frozenset()


# -- edges: exactly at a bound is inside -----------------------------------------------------------


def test_a_token_issued_exactly_leeway_seconds_ahead_is_accepted(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    iat = int(NOW) + LEEWAY
    assert verifier.verify(make_token(iat=iat, nbf=iat, exp=iat + 300)).issued_at == iat


def test_a_lifetime_of_exactly_the_maximum_is_accepted(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert verifier.verify(make_token(exp=int(NOW) + MAX_LIFETIME)).expires_at == int(NOW) + MAX_LIFETIME


@pytest.mark.parametrize("nbf", [0, 0.0])
def test_nbf_zero_is_a_numeric_date_on_every_path(
    make_token: TokenFactory, verifier: AccessTokenVerifier, nbf: float
) -> None:
    # a fractional exp takes the general path, where nbf = 0 is checked on its own (RFC 7519 §2)
    assert verifier.verify(make_token(exp=NOW + 300.5, nbf=nbf)).expires_at == int(NOW) + 300


def test_nbf_at_the_last_numeric_date_is_not_yet_valid_rather_than_invalid(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    token = make_token(exp=NOW + 300.5, nbf=MAX_NUMERIC_DATE)
    assert rejection(verifier, token) == (Reason.NOT_YET_VALID, "claim.nbf")


# -- what a verified token carries -----------------------------------------------------------------


def test_a_verified_token_carries_its_issuer_and_its_claims(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    verified = verifier.verify(make_token(jti="jti-claims"))
    assert verified.issuer == ISSUER
    assert verified.claims["jti"] == "jti-claims"
    assert verified.audience == (AUDIENCE,)


def test_a_second_token_of_the_same_header_reports_the_same_key(
    make_token: TokenFactory, verifier: AccessTokenVerifier, rsa_key: SigningKey
) -> None:
    first = verifier.verify(make_token(jti="first"))
    second = verifier.verify(make_token(jti="second"))  # its header is remembered from the first
    assert (first.kid, second.kid, second.alg) == (rsa_key.kid, rsa_key.kid, "RS256")


def test_an_optional_sub_may_be_absent_and_then_is_empty(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    required = tuple(c for c in RFC9068_REQUIRED_CLAIMS if c != "sub")
    verified = verifier_for(jwks, required_claims=required).verify(make_token(sub=...))
    assert (verified.subject, verified.client_id) == ("", "partner-1")


def test_scopes_are_the_union_of_every_configured_scope_claim(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    verifier = verifier_for(jwks, scope_claim=("scp", "roles"))
    verified = verifier.verify(make_token(scope=..., scp="orders:read", roles=["admin"]))
    assert verified.scopes == frozenset({"orders:read", "admin"})


def test_the_verifier_refuses_a_token_larger_than_its_own_limit(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    token = make_token()
    policy = IssuerPolicy(issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}))
    small = AccessTokenVerifier(
        [policy], StaticKeySource({JWKS_URI: jwks}), clock=lambda: NOW, max_token_bytes=len(token) - 1
    )
    assert rejection(small, token)[0] is Reason.MALFORMED


# -- vendor profiles: each part of a profile is checked on its own ---------------------------------


def test_a_client_allow_list_alone_refuses_other_clients(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    verifier = verifier_for(jwks, client_ids=frozenset({"partner-2"}))
    assert rejection(verifier, make_token()) == (Reason.WRONG_AUDIENCE, "claim.client_id")


def test_an_exact_claim_value_alone_is_required(make_token: TokenFactory, jwks: dict[str, Any]) -> None:
    verifier = verifier_for(jwks, claim_values=(("token_use", "access"),))
    assert rejection(verifier, make_token(token_use="id")) == (Reason.WRONG_TYPE, "claim.token_use")
    assert verifier.verify(make_token(token_use="access")).client_id == "partner-1"


def test_without_audiences_a_token_carrying_an_audience_is_someone_elses(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    required = tuple(c for c in RFC9068_REQUIRED_CLAIMS if c != "aud")
    verifier = verifier_for(
        jwks, audiences=frozenset(), client_ids=frozenset({"partner-1"}), required_claims=required
    )
    assert rejection(verifier, make_token()) == (Reason.WRONG_AUDIENCE, "claim.aud")
    assert verifier.verify(make_token(aud=...)).audience == ()


@pytest.mark.parametrize("typ", ["JWT", "jwt"])
def test_a_vendor_typ_is_compared_case_insensitively(
    make_token: TokenFactory, jwks: dict[str, Any], typ: str
) -> None:
    # RFC 7515 §4.1.9
    verifier = verifier_for(jwks, header_type="JWT", require_access_token_type=False)
    assert verifier.verify(make_token(header={"typ": typ})).client_id == "partner-1"


@pytest.mark.parametrize("typ", ["at+jwt", ...])
def test_a_token_without_the_vendor_typ_is_the_wrong_type(
    make_token: TokenFactory, jwks: dict[str, Any], typ: Any
) -> None:
    verifier = verifier_for(jwks, header_type="JWT", require_access_token_type=False)
    assert rejection(verifier, make_token(header={"typ": typ})) == (Reason.WRONG_TYPE, "header.typ")


# -- settings at their edges -----------------------------------------------------------------------


@pytest.mark.parametrize("leeway", [0, MAX_LEEWAY])
def test_leeway_from_zero_to_the_maximum_is_a_valid_setting(jwks: dict[str, Any], leeway: int) -> None:
    policy = IssuerPolicy(issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}))
    AccessTokenVerifier([policy], StaticKeySource({JWKS_URI: jwks}), leeway=leeway)


def test_every_scope_claim_together_and_a_one_second_lifetime_are_valid_settings() -> None:
    policy = IssuerPolicy(
        issuer=ISSUER,
        jwks_uri=JWKS_URI,
        audiences=frozenset({AUDIENCE}),
        scope_claim=tuple(sorted(SCOPE_CLAIMS)),
        max_lifetime=1,
    )
    assert set(policy.scope_claims) == SCOPE_CLAIMS


@pytest.mark.parametrize(
    "kwargs", [{"audiences": frozenset({""})}, {"audiences": frozenset(), "client_ids": frozenset({""})}]
)
def test_an_empty_audience_or_client_id_is_refused_at_start(kwargs: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": JWKS_URI}
    with pytest.raises(ConfigurationError):
        IssuerPolicy(**(settings | kwargs))


@pytest.mark.parametrize("claim", ["exp", "aud"])
def test_a_claim_a_policy_leaves_optional_is_still_needed_by_its_own_rule(
    make_token: TokenFactory, jwks: dict[str, Any], claim: str
) -> None:
    # exp: RFC 9068 §2.2 and the lifetime bound need it; aud: RFC 9068 §4 item 4 with audiences configured
    required = tuple(c for c in RFC9068_REQUIRED_CLAIMS if c != claim)
    verifier = verifier_for(jwks, required_claims=required)
    assert rejection(verifier, make_token(**{claim: ...})) == (Reason.MISSING_CLAIM, f"claim.{claim}")
