"""The verifier, rule by rule (RFC 8725, RFC 9068 §4).  Every rejection reason has a test."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.access_token import AccessTokenRequest, sign_access_token
from partnerauth.errors import ConfigurationError, KeysUnavailable, Reason, TokenRejected
from partnerauth.jwk import VerificationKey
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey
from partnerauth.verification import MAX_KNOWN_HEADERS, AccessTokenVerifier, IssuerPolicy

from .conftest import AUDIENCE, ISSUER, JWKS_URI, NOW, TokenFactory, segment


def reason_of(verifier: AccessTokenVerifier, token: object) -> Reason:
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    return caught.value.reason


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_token_signed_by_the_layer_verifies(
    keys: dict[str, SigningKey], verifier: AccessTokenVerifier, alg: str
) -> None:
    request = AccessTokenRequest(
        issuer=ISSUER, client_id="partner-1", audience=AUDIENCE, scopes=("orders:read",), lifetime=300
    )
    issued = sign_access_token(keys[alg], request, NOW)

    verified = verifier.verify(issued.token)

    assert verified.client_id == verified.subject == "partner-1"
    assert verified.scopes == frozenset({"orders:read"})
    assert (verified.jti, verified.kid, verified.alg) == (issued.jti, keys[alg].kid, alg)
    assert verified.expires_at == issued.expires_at == int(NOW) + 300


def test_issued_token_carries_the_rfc9068_header_and_claims(rsa_key: SigningKey) -> None:
    import jwt

    request = AccessTokenRequest(
        issuer=ISSUER, client_id="c", audience=AUDIENCE, scopes=("a", "b"), lifetime=60
    )
    issued = sign_access_token(rsa_key, request, NOW + 0.9)
    header = jwt.get_unverified_header(issued.token)
    claims = jwt.decode(issued.token, options={"verify_signature": False})

    # RFC 9068 §2.1 header, §2.2 claims
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": rsa_key.kid}
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}
    assert claims["iat"] == claims["nbf"] == int(NOW)
    assert claims["exp"] == int(NOW) + 60
    assert claims["scope"] == "a b"
    assert len(claims["jti"]) >= 22  # 128 bits of randomness, base64url
    assert issued.token not in repr(issued)


def test_every_jti_is_new(rsa_key: SigningKey) -> None:
    request = AccessTokenRequest(issuer=ISSUER, client_id="c", audience=AUDIENCE, scopes=(), lifetime=60)
    assert len({sign_access_token(rsa_key, request, NOW).jti for _ in range(50)}) == 50


def test_typ_accepts_the_media_type_form_in_any_case(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    # RFC 9068 §4 item 1, RFC 7515 §4.1.9
    for typ in ("at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"):
        assert verifier.verify(make_token(header={"typ": typ})).client_id == "partner-1"


def test_audience_list_containing_ours_is_accepted(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert verifier.verify(make_token(aud=["https://other", AUDIENCE])).audience == (
        "https://other",
        AUDIENCE,
    )


def test_leeway_accepts_a_token_expired_less_than_leeway_ago(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert verifier.verify(make_token(exp=int(NOW) - 59, iat=int(NOW) - 300, nbf=...)).jti == "jti-0001"


def test_scope_is_optional(make_token: TokenFactory, verifier: AccessTokenVerifier) -> None:
    assert verifier.verify(make_token(scope=...)).scopes == frozenset()


# -- malformed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        b"a.b.c",
        "",
        "abc",
        "a.b",
        "a.b.c.d.e",  # JWE compact
        '{"payload":"x","signatures":[]}',  # JSON serialisation
        "x" * 9000,  # size cap
        "..",
        "é.é.é",
    ],
)
def test_malformed_tokens_are_rejected(verifier: AccessTokenVerifier, token: object) -> None:
    assert reason_of(verifier, token) is Reason.MALFORMED


@pytest.mark.parametrize(
    "raw_header",
    [
        b"\xef\xbb\xbf" + b'{"alg":"RS256","typ":"at+jwt","kid":"k"}',  # UTF-8 BOM
        '{"alg":"RS256","typ":"at+jwt","kid":"k"}'.encode("utf-16"),
        b'{"alg":"RS256","alg":"none","typ":"at+jwt","kid":"k"}',  # duplicate member
        b"[1,2,3]",
        b'"RS256"',
        b'{"alg":"RS256","x":NaN}',
        b'{"alg":"RS256","x":Infinity}',
        b'{"alg":"RS256","x":1e999}',
        b'{"alg":"RS256","x":' + b"9" * 40 + b"}",
        b"[" * 2000 + b"]" * 2000,  # deep nesting within the size cap
        b'{"alg":"RS256"',
        b"\xff\xfe",
    ],
)
def test_header_that_is_not_a_strict_json_object_is_malformed(
    make_token: TokenFactory, verifier: AccessTokenVerifier, raw_header: bytes
) -> None:
    token = make_token(header=raw_header)
    assert len(token) <= 8192
    assert reason_of(verifier, token) is Reason.MALFORMED


def test_non_canonical_signature_encoding_is_malformed(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    token = make_token()
    for variant in (token + "=", token.replace(".", ". ", 1), token + "\n"):
        assert reason_of(verifier, variant) is Reason.MALFORMED


def test_empty_signature_is_malformed(make_token: TokenFactory, verifier: AccessTokenVerifier) -> None:
    head, payload, _ = make_token().split(".")
    assert reason_of(verifier, f"{head}.{payload}.") is Reason.MALFORMED


# -- header rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS256", "HS512", "", None, 1, ["RS256"], "rs256"])
def test_algorithms_outside_the_allow_list_are_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier, alg: Any
) -> None:
    # RFC 8725 §2.1, §3.1
    assert reason_of(verifier, make_token(header={"alg": alg})) is Reason.DISALLOWED_ALGORITHM


def test_algorithm_allowed_elsewhere_but_not_for_this_issuer_is_refused(
    keys: dict[str, SigningKey], make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    policy = IssuerPolicy(
        issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}), algorithms=frozenset({"RS256"})
    )
    verifier = AccessTokenVerifier([policy], StaticKeySource({JWKS_URI: jwks}), clock=lambda: NOW)
    assert reason_of(verifier, make_token(key=keys["ES256"])) is Reason.DISALLOWED_ALGORITHM


def test_header_alg_that_does_not_fit_the_key_is_refused(
    keys: dict[str, SigningKey], make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    # an EC-signed token claiming the RSA key's kid: the alg/kty check fires before any signature math
    token = make_token(key=keys["ES256"], header={"kid": keys["RS256"].kid})
    assert reason_of(verifier, token) is Reason.DISALLOWED_ALGORITHM


@pytest.mark.parametrize("kid", [..., "", 7, None, "k" * 257])
def test_kid_is_required(make_token: TokenFactory, verifier: AccessTokenVerifier, kid: Any) -> None:
    assert reason_of(verifier, make_token(header={"kid": kid})) is Reason.UNKNOWN_KEY


def test_unknown_kid_is_refused(make_token: TokenFactory, verifier: AccessTokenVerifier) -> None:
    assert reason_of(verifier, make_token(header={"kid": "not-published"})) is Reason.UNKNOWN_KEY


@pytest.mark.parametrize("crit", [["exp"], ["b64"], [], "exp", [1]])
def test_crit_is_refused_unless_understood(
    make_token: TokenFactory, verifier: AccessTokenVerifier, crit: Any
) -> None:
    # RFC 7515 §4.1.11
    assert reason_of(verifier, make_token(header={"crit": crit})) is Reason.UNSUPPORTED_HEADER


@pytest.mark.parametrize("member", [{"b64": False}, {"zip": "DEF"}])
def test_unencoded_payload_and_zip_are_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier, member: dict[str, Any]
) -> None:
    assert reason_of(verifier, make_token(header=member)) is Reason.UNSUPPORTED_HEADER


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c"])
def test_key_carrying_headers_are_never_followed(
    stranger_key: SigningKey,
    rsa_key: SigningKey,
    make_token: TokenFactory,
    verifier: AccessTokenVerifier,
    header: str,
) -> None:
    # RFC 8725 §3.10: the attacker's key travels in the header; we look keys up only by kid at the issuer
    value: Any = {"jku": "https://evil.test/jwks", "x5u": "https://evil.test/cert", "x5c": ["MIIB"]}.get(
        header
    )
    if header == "jwk":
        value = stranger_key.public_jwk()
    token = make_token(key=stranger_key, header={header: value, "kid": rsa_key.kid})
    assert reason_of(verifier, token) is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("typ", [..., "JWT", "jwt", "at+jwt ", "application/jwt", 1, None])
def test_typ_must_be_at_jwt(make_token: TokenFactory, verifier: AccessTokenVerifier, typ: Any) -> None:
    # RFC 9068 §4 item 1; RFC 8725 §3.11 explicit typing
    assert reason_of(verifier, make_token(header={"typ": typ})) is Reason.WRONG_TYPE


# -- signature -------------------------------------------------------------------------------


def test_token_signed_by_an_unpublished_key_with_a_published_kid_is_refused(
    stranger_key: SigningKey, rsa_key: SigningKey, make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert (
        reason_of(verifier, make_token(key=stranger_key, header={"kid": rsa_key.kid})) is Reason.BAD_SIGNATURE
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_tampered_payload_fails_the_signature(
    keys: dict[str, SigningKey], make_token: TokenFactory, verifier: AccessTokenVerifier, alg: str
) -> None:
    head, _, signature = make_token(key=keys[alg]).split(".")
    forged = segment({**_claims(), "scope": "admin"})
    assert reason_of(verifier, f"{head}.{forged}.{signature}") is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("mangle", ["zeros", "truncated", "one-byte", "doubled"])
def test_mangled_signatures_are_bad_signatures(
    keys: dict[str, SigningKey],
    make_token: TokenFactory,
    verifier: AccessTokenVerifier,
    alg: str,
    mangle: str,
) -> None:
    from partnerauth import base64url

    head, payload, signature = make_token(key=keys[alg]).split(".")
    raw = base64url.decode(signature)
    mangled = {
        "zeros": bytes(len(raw)),
        "truncated": raw[:-1],
        "one-byte": b"\x00",
        "doubled": raw + raw,
    }[mangle]
    assert reason_of(verifier, f"{head}.{payload}.{base64url.encode(mangled)}") is Reason.BAD_SIGNATURE


def test_ecdsa_signature_with_r_or_s_out_of_range_is_refused(
    keys: dict[str, SigningKey], make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    from partnerauth import base64url

    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 group order
    head, payload, signature = make_token(key=keys["ES256"]).split(".")
    r, s = base64url.decode(signature)[:32], base64url.decode(signature)[32:]
    for bad in (
        bytes(32) + s,
        r + bytes(32),
        order.to_bytes(32, "big") + s,
        r + order.to_bytes(32, "big"),
        b"\xff" * 64,
    ):
        assert reason_of(verifier, f"{head}.{payload}.{base64url.encode(bad)}") is Reason.BAD_SIGNATURE


# -- claims ----------------------------------------------------------------------------------


def _claims(**overrides: Any) -> dict[str, Any]:
    from .conftest import claims_for

    return claims_for(**overrides)


@pytest.mark.parametrize("iss", ["https://evil.test", ISSUER + "/", ISSUER.upper(), 1, ["x"]])
def test_untrusted_issuer_is_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier, iss: Any
) -> None:
    # RFC 9068 §4 item 3: exact match
    assert reason_of(verifier, make_token(iss=iss)) is Reason.WRONG_ISSUER


@pytest.mark.parametrize("aud", ["https://other", ["https://other"], AUDIENCE + "/"])
def test_wrong_audience_is_refused(make_token: TokenFactory, verifier: AccessTokenVerifier, aud: Any) -> None:
    # RFC 9068 §4 item 4
    assert reason_of(verifier, make_token(aud=aud)) is Reason.WRONG_AUDIENCE


@pytest.mark.parametrize("claim", ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"])
def test_required_claims_must_be_present(
    make_token: TokenFactory, verifier: AccessTokenVerifier, claim: str
) -> None:
    # RFC 9068 §2.2
    assert reason_of(verifier, make_token(**{claim: ...})) is Reason.MISSING_CLAIM


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "1800000300"),
        ("exp", True),
        ("exp", None),
        ("exp", 1e300),
        ("exp", -1),
        ("exp", [1800000300]),
        ("iat", "now"),
        ("iat", False),
        ("iat", -1),
        ("iat", 253_402_300_800),  # after year 9999: not a NumericDate we accept
        ("nbf", "0"),
        ("nbf", True),
        ("nbf", -1),
        ("nbf", 1e300),
        ("aud", 7),
        ("aud", []),
        ("aud", [AUDIENCE, 7]),
        ("sub", 12),
        ("sub", ""),
        ("client_id", {"id": "x"}),
        ("jti", 99),
        ("scope", ["orders:read"]),
        ("scope", 1),
    ],
)
def test_claims_of_the_wrong_type_are_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier, claim: str, value: Any
) -> None:
    expected = Reason.MISSING_CLAIM if value is None else Reason.INVALID_CLAIM
    assert reason_of(verifier, make_token(**{claim: value})) is expected


def test_expired_token_is_refused_at_the_leeway_boundary(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    # RFC 7519 §4.1.4: exp + leeway (60 s) <= now is expired
    token = make_token(exp=int(NOW) - 60, iat=int(NOW) - 600, nbf=...)
    assert reason_of(verifier, token) is Reason.EXPIRED


def test_token_not_yet_valid_beyond_the_leeway_is_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    # RFC 7519 §4.1.5
    assert reason_of(verifier, make_token(nbf=int(NOW) + 61)) is Reason.NOT_YET_VALID
    assert verifier.verify(make_token(nbf=int(NOW) + 60)).jti == "jti-0001"


def test_token_issued_in_the_future_is_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert (
        reason_of(verifier, make_token(iat=int(NOW) + 61, nbf=..., exp=int(NOW) + 400))
        is Reason.NOT_YET_VALID
    )


def test_lifetime_longer_than_the_maximum_is_refused(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    assert reason_of(verifier, make_token(exp=int(NOW) + 3601)) is Reason.LIFETIME_TOO_LONG


# -- scopes, issuers, configuration --------------------------------------------------------------


def test_missing_scope_is_insufficient_scope(make_token: TokenFactory, verifier: AccessTokenVerifier) -> None:
    verified = verifier.verify(make_token(scope="orders:read"))
    verified.require_scopes({"orders:read"})
    with pytest.raises(TokenRejected) as caught:
        verified.require_scopes({"orders:write"})
    assert caught.value.reason is Reason.INSUFFICIENT_SCOPE  # RFC 6750 §3.1


def test_scp_list_is_read_for_issuers_that_use_it(stranger_key: SigningKey, make_token: TokenFactory) -> None:
    from partnerauth.jwk import build_jwks

    external = IssuerPolicy(
        issuer="https://idp.partner.test",
        jwks_uri="https://idp.partner.test/keys",
        audiences=frozenset({AUDIENCE}),
        scope_claim="scp",
        client_id_claim="cid",
        require_access_token_type=False,
        required_claims=("iss", "exp", "aud", "iat"),
    )
    keys = StaticKeySource({"https://idp.partner.test/keys": build_jwks([stranger_key.public_jwk()])})
    verifier = AccessTokenVerifier([external], keys, clock=lambda: NOW)
    payload = {
        "iss": external.issuer,
        "aud": AUDIENCE,
        "exp": int(NOW) + 60,
        "iat": int(NOW),
        "cid": "app-9",
        "scp": ["a", "b"],
    }
    verified = verifier.verify(make_token(key=stranger_key, header={"typ": "JWT"}, payload=payload))
    assert (verified.client_id, verified.scopes) == ("app-9", frozenset({"a", "b"}))


def test_keys_are_looked_up_per_issuer(
    keys: dict[str, SigningKey], stranger_key: SigningKey, make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    # RFC 8725 §3.8: a key published by issuer B never verifies a token claiming issuer A
    from partnerauth.jwk import build_jwks

    other = IssuerPolicy(
        issuer="https://b.test", jwks_uri="https://b.test/jwks", audiences=frozenset({AUDIENCE})
    )
    ours = IssuerPolicy(issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}))
    source = StaticKeySource({JWKS_URI: jwks, "https://b.test/jwks": build_jwks([stranger_key.public_jwk()])})
    verifier = AccessTokenVerifier([ours, other], source, clock=lambda: NOW)
    assert reason_of(verifier, make_token(key=stranger_key)) is Reason.UNKNOWN_KEY


class _BrokenKeys:
    def key_for(self, jwks_uri: str, kid: str) -> VerificationKey:
        raise RuntimeError("boom")


class _NoKeys:
    def key_for(self, jwks_uri: str, kid: str) -> VerificationKey:
        raise KeysUnavailable()


@pytest.mark.parametrize("source", [_BrokenKeys(), _NoKeys()])
def test_unavailable_keys_are_a_rejection_not_a_crash(make_token: TokenFactory, source: Any) -> None:
    policy = IssuerPolicy(issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}))
    verifier = AccessTokenVerifier([policy], source, clock=lambda: NOW)
    assert reason_of(verifier, make_token()) is Reason.KEYS_UNAVAILABLE


def test_rejections_never_carry_the_token_or_its_claims(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    token = make_token(aud="https://secret-audience.test", scope="very-secret-scope")
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    text = f"{caught.value!s} {caught.value!r} {caught.value.detail}"
    assert "secret" not in text
    assert token not in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"audiences": frozenset()},
        {"algorithms": frozenset({"HS256"})},
        {"algorithms": frozenset({"none"})},
        {"algorithms": frozenset()},
        {"scope_claim": "groups"},  # roles and scp are scope claims of vendor profiles (issue 18)
        {"max_lifetime": 0},
        {"issuer": ""},
    ],
)
def test_unsafe_issuer_policies_are_refused_at_start(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": JWKS_URI, "audiences": frozenset({AUDIENCE})}
    with pytest.raises(ConfigurationError):
        IssuerPolicy(**(base | kwargs))


def test_verifier_refuses_no_issuers_and_silly_leeway(jwks: dict[str, Any]) -> None:
    policy = IssuerPolicy(issuer=ISSUER, jwks_uri=JWKS_URI, audiences=frozenset({AUDIENCE}))
    with pytest.raises(ConfigurationError):
        AccessTokenVerifier([], StaticKeySource({}))
    with pytest.raises(ConfigurationError):
        AccessTokenVerifier([policy], StaticKeySource({}), leeway=3600)


def test_fractional_dates_are_numeric_dates(make_token: TokenFactory, verifier: AccessTokenVerifier) -> None:
    # RFC 7519 §2: a NumericDate may be non-integer; the verified token carries whole seconds
    token = make_token(exp=NOW + 300.75, iat=NOW - 0.5, nbf=NOW - 0.25)
    verified = verifier.verify(token)
    assert (verified.issued_at, verified.expires_at) == (int(NOW) - 1, int(NOW) + 300)


def test_verified_token_is_read_only_and_its_repr_holds_no_claims(
    make_token: TokenFactory, verifier: AccessTokenVerifier
) -> None:
    verified = verifier.verify(make_token(jti="jti-visible", sub="secret-subject-value"))
    with pytest.raises(TypeError):
        verified.claims["scope"] = "admin"  # type: ignore[index]
    with pytest.raises(AttributeError):
        verified.scopes = frozenset({"admin"})  # type: ignore[misc]
    assert "jti-visible" in repr(verified)
    assert "secret-subject-value" not in repr(verified)


# -- parsed headers of accepted tokens are remembered, byte for byte ---------------------------------


def test_a_header_is_remembered_only_once_its_token_is_accepted(
    make_token: TokenFactory, verifier: AccessTokenVerifier, stranger_key: SigningKey, rsa_key: SigningKey
) -> None:
    accepted = make_token()
    forged = make_token(key=stranger_key, header={"kid": rsa_key.kid})  # same kid, another key
    assert reason_of(verifier, forged) is Reason.BAD_SIGNATURE
    assert verifier._known_headers == {}  # the cache is the subject of this test
    verifier.verify(accepted)
    assert list(verifier._known_headers) == [accepted.split(".")[0].encode()]


def test_a_remembered_header_spelled_otherwise_is_parsed_and_judged_again(
    make_token: TokenFactory, verifier: AccessTokenVerifier, rsa_key: SigningKey
) -> None:
    verifier.verify(make_token())
    # the same members with a duplicate: other bytes, so the strict parser sees them (RFC 7515 §5.2)
    duplicate = f'{{"alg":"RS256","typ":"at+jwt","kid":"{rsa_key.kid}","kid":"{rsa_key.kid}"}}'.encode()
    assert reason_of(verifier, make_token(header=duplicate)) is Reason.MALFORMED
    assert reason_of(verifier, make_token(header={"crit": ["exp"]})) is Reason.UNSUPPORTED_HEADER
    assert len(verifier._known_headers) == 1


def test_remembered_headers_are_bounded(make_token: TokenFactory, verifier: AccessTokenVerifier) -> None:
    for index in range(MAX_KNOWN_HEADERS + 5):  # a header member that changes the bytes, not the meaning
        verifier.verify(make_token(header={"x-n": index}))
        assert len(verifier._known_headers) <= MAX_KNOWN_HEADERS


def test_a_remembered_header_without_typ_still_fails_an_issuer_that_requires_it(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    # RFC 9068 §4 item 1 is per issuer here: the header's answers are remembered, not the verdict
    lax = IssuerPolicy(
        "https://lax.example.test", JWKS_URI, frozenset({AUDIENCE}), require_access_token_type=False
    )
    strict = IssuerPolicy(ISSUER, JWKS_URI, frozenset({AUDIENCE}))
    verifier = AccessTokenVerifier([lax, strict], StaticKeySource({JWKS_URI: jwks}), clock=lambda: NOW)
    untyped = {"typ": ...}
    verifier.verify(make_token(header=untyped, iss="https://lax.example.test"))
    assert reason_of(verifier, make_token(header=untyped)) is Reason.WRONG_TYPE
