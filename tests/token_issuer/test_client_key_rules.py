"""What a client may register for private_key_jwt, fast (partnerauth.client_keys; RFC 7591 §2 jwks / jwks_uri,
RFC 7517 §5, RFC 7638): a rollover's add and remove, what an operator sees, the stored canonical text and the
keys read back from it, the jwks_uri's length bound.  No AWS: the registry's own tests cover its writes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.client_keys import (
    MAX_CLIENT_KEYS,
    MAX_JWKS_URI_LENGTH,
    InvalidClientKey,
    KeyInfo,
    canonical_json,
    inline_keys,
    key_infos,
    registered_jwk,
    registered_jwks,
    registered_jwks_uri,
    with_key_added,
    with_key_removed,
)
from partnerauth.jwk import jwk_thumbprint
from partnerauth.keys import generate_signing_key

from .assertions import PartnerKey


def kids(jwks: dict[str, Any]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


# -- rollover ------------------------------------------------------------------------------------------------
def test_a_key_added_comes_after_the_registered_ones(partner_rsa: PartnerKey, partner_ec: PartnerKey) -> None:
    jwks = registered_jwks(partner_rsa.jwks())
    added = with_key_added(jwks, partner_ec.jwk)
    assert kids(added) == [partner_rsa.kid, partner_ec.kid]
    assert added["keys"][1] == registered_jwk(partner_ec.jwk)  # checked and normalised like a registration


def test_adding_a_registered_kid_or_key_or_one_too_many_is_refused(
    partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    jwks = registered_jwks(partner_rsa.jwks())
    with pytest.raises(InvalidClientKey, match="same kid"):
        with_key_added(jwks, {**partner_ec.jwk, "kid": partner_rsa.kid})
    with pytest.raises(InvalidClientKey, match="registered twice"):
        with_key_added(jwks, {**partner_rsa.jwk, "kid": "again"})
    full = {"keys": [{**partner_ec.jwk, "kid": f"k{i}"} for i in range(MAX_CLIENT_KEYS)]}
    with pytest.raises(InvalidClientKey, match=f"at most {MAX_CLIENT_KEYS} keys"):
        with_key_added(full, partner_rsa.jwk)


def test_exactly_the_maximum_number_of_keys_is_accepted(partner_rsa: PartnerKey) -> None:
    # distinct key material: the same key twice is refused whatever its kid
    others = [PartnerKey(generate_signing_key(KeySpec.ES256)).jwk for _ in range(MAX_CLIENT_KEYS - 1)]
    assert len(registered_jwks({"keys": [partner_rsa.jwk, *others]})["keys"]) == MAX_CLIENT_KEYS


def test_a_key_is_removed_by_its_kid_and_the_others_stay(
    partner_rsa: PartnerKey, partner_ec: PartnerKey, partner_ed: PartnerKey
) -> None:
    jwks = registered_jwks({"keys": [partner_rsa.jwk, partner_ec.jwk, partner_ed.jwk]})
    assert kids(with_key_removed(jwks, partner_ec.kid)) == [partner_rsa.kid, partner_ed.kid]


def test_removing_an_unknown_kid_or_the_last_key_is_refused(partner_rsa: PartnerKey) -> None:
    jwks = registered_jwks(partner_rsa.jwks())
    with pytest.raises(InvalidClientKey, match="no key with this kid"):
        with_key_removed(jwks, "nope")
    with pytest.raises(InvalidClientKey, match="last key"):
        with_key_removed(jwks, partner_rsa.kid)


# -- what is stored and read back ----------------------------------------------------------------------------
def test_the_stored_text_is_canonical_json() -> None:
    # sorted members, no whitespace: the same set is always stored as the same text
    assert canonical_json({"keys": [{"kty": "EC", "crv": "P-256"}], "a": 1}) == (
        '{"a":1,"keys":[{"crv":"P-256","kty":"EC"}]}'
    )


def test_the_stored_set_reads_back_as_verification_keys_by_kid(
    partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    stored = canonical_json(registered_jwks({"keys": [partner_rsa.jwk, partner_ec.jwk]}))
    keys = inline_keys(stored)
    assert sorted(keys) == sorted([partner_rsa.kid, partner_ec.kid])
    assert keys[partner_rsa.kid].accepts("RS256")
    assert keys[partner_ec.kid].accepts("ES256")


def test_an_operator_sees_kid_type_alg_and_thumbprint_never_the_key(
    partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    without_alg = {k: v for k, v in partner_ec.jwk.items() if k != "alg"}
    jwks = registered_jwks({"keys": [partner_rsa.jwk, without_alg]})
    infos = key_infos(jwks)
    assert infos == (
        KeyInfo(kid=partner_rsa.kid, kty="RSA", alg="RS256", thumbprint=jwk_thumbprint(partner_rsa.jwk)),
        KeyInfo(kid=partner_ec.kid, kty="EC", alg=None, thumbprint=jwk_thumbprint(partner_ec.jwk)),
    )
    described = [info.describe() for info in infos]
    assert described[0] == {
        "kid": partner_rsa.kid,
        "kty": "RSA",
        "alg": "RS256",
        "thumbprint": jwk_thumbprint(partner_rsa.jwk),
    }
    assert partner_rsa.jwk["n"] not in json.dumps(described)
    assert key_infos({}) == ()


def test_a_registered_key_keeps_its_kid_and_alg_and_is_marked_for_signatures(partner_rsa: PartnerKey) -> None:
    stored = registered_jwk({**partner_rsa.jwk, "use": "sig", "x5t": "dropped"})
    assert stored == {
        "kty": "RSA",
        "n": partner_rsa.jwk["n"],
        "e": partner_rsa.jwk["e"],
        "kid": partner_rsa.kid,
        "alg": "RS256",
        "use": "sig",
    }


def test_a_key_with_a_symmetric_member_is_refused_as_symmetric_whatever_its_type(
    partner_rsa: PartnerKey,
) -> None:
    # RFC 8725 §3.2: HMAC is not private_key_jwt, even dressed as an RSA key
    with pytest.raises(InvalidClientKey, match="symmetric keys"):
        registered_jwk({**partner_rsa.jwk, "k": "c2VjcmV0"})


def test_an_rsa_key_without_a_modulus_is_refused_as_such(partner_rsa: PartnerKey) -> None:
    without_n = {k: v for k, v in partner_rsa.jwk.items() if k != "n"}
    with pytest.raises(InvalidClientKey, match="no valid modulus"):
        registered_jwk(without_n)


# -- jwks_uri ------------------------------------------------------------------------------------------------
def test_a_jwks_uri_of_exactly_the_maximum_length_is_accepted_and_one_more_is_not() -> None:
    base = "https://partner.example.test/"
    at_limit = base + "j" * (MAX_JWKS_URI_LENGTH - len(base))
    assert registered_jwks_uri(at_limit) == at_limit
    with pytest.raises(InvalidClientKey, match="https"):
        registered_jwks_uri(at_limit + "j")
