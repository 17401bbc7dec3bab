"""Registering a partner's public keys (partnerauth.client_keys, ClientRegistry key methods).

What registration refuses, each with a one-line constant message: private key material, symmetric
keys, RSA under 2048 bits, unusable keys, duplicates, more than five keys, a non-https jwks_uri.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from partnerauth import base64url
from partnerauth.client_keys import MAX_CLIENT_KEYS, InvalidClientKey, registered_jwks, registered_jwks_uri
from partnerauth.client_registry import PRIVATE_KEY_JWT, ClientRegistry, InvalidClientMetadata
from partnerauth.jwk import jwk_thumbprint
from tests.support.clock import FakeClock

from .assertions import PartnerKey
from .conftest import AUDIENCE


def weak_rsa_jwk() -> dict[str, str]:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the key to refuse
    numbers = weak.public_key().public_numbers()
    return {"kty": "RSA", "n": base64url.encode_uint(numbers.n), "e": base64url.encode_uint(numbers.e)}


@pytest.fixture
def keyed_client(registry: ClientRegistry, partner_rsa: PartnerKey) -> Callable[..., Any]:
    def create(**overrides: Any) -> Any:
        options: dict[str, Any] = {
            "client_name": "Keyed Partner",
            "scopes": ["orders:read"],
            "audiences": [AUDIENCE],
            "token_lifetime": 900,
            "jwks": partner_rsa.jwks(),
        }
        options.update(overrides)
        return registry.create_with_keys(**options)

    return create


def test_public_keys_of_every_supported_type_are_registered_as_public_members_only(
    partner_rsa: PartnerKey, partner_ec: PartnerKey, partner_ed: PartnerKey
) -> None:
    extra = {"x5t": "ignored", "ext": True, "key_ops": ["verify"]}
    stored = registered_jwks({"keys": [{**partner_rsa.jwk, **extra}, partner_ec.jwk, partner_ed.jwk]})
    assert [key["kid"] for key in stored["keys"]] == [partner_rsa.kid, partner_ec.kid, partner_ed.kid]
    assert set(stored["keys"][0]) == {"kty", "n", "e", "kid", "alg", "use"}


def test_a_key_without_kid_gets_its_rfc7638_thumbprint(partner_ec: PartnerKey) -> None:
    bare = {k: v for k, v in partner_ec.jwk.items() if k not in ("kid", "alg", "use")}
    (key,) = registered_jwks(bare)["keys"]  # a single JWK is accepted as a set of one
    assert key["kid"] == jwk_thumbprint(bare)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("private", "private key material"),
        ("symmetric", "symmetric keys"),
        ("oct_no_k", "symmetric keys"),
        ("weak_rsa", "at least 2048 bits"),
        ("unknown_kty", "unsupported key type"),
        ("bad_curve", "not a usable public signing key"),
        ("encryption_key", "not a usable public signing key"),
        ("alg_mismatch", "not a usable public signing key"),
        ("empty", "holds no key"),
        ("not_a_set", "must be a JWK Set"),
        ("duplicate_kid", "same kid"),
        ("same_key_twice", "registered twice"),
        ("too_many", f"at most {MAX_CLIENT_KEYS} keys"),
    ],
)
def test_registration_refuses_with_a_one_line_message(
    partner_rsa: PartnerKey, partner_ec: PartnerKey, document: str, message: str
) -> None:
    documents: dict[str, Any] = {
        "private": {"keys": [partner_rsa.private_jwk()]},
        "symmetric": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]},
        "oct_no_k": {"keys": [{"kty": "oct", "kid": "hmac"}]},
        "weak_rsa": {"keys": [weak_rsa_jwk()]},
        "unknown_kty": {"keys": [{"kty": "DSA", "kid": "d"}]},
        "bad_curve": {"keys": [{**partner_ec.jwk, "crv": "P-521"}]},
        "encryption_key": {"keys": [{**partner_rsa.jwk, "use": "enc"}]},
        "alg_mismatch": {"keys": [{**partner_rsa.jwk, "alg": "ES256"}]},
        "empty": {"keys": []},
        "not_a_set": ["not", "a", "set"],
        "duplicate_kid": {"keys": [partner_rsa.jwk, {**partner_ec.jwk, "kid": partner_rsa.kid}]},
        "same_key_twice": {"keys": [partner_rsa.jwk, {**partner_rsa.jwk, "kid": "again"}]},
        "too_many": {"keys": [{**partner_ec.jwk, "kid": str(i), "x": partner_ec.jwk["x"]} for i in range(6)]},
    }
    with pytest.raises(InvalidClientKey) as caught:
        registered_jwks(documents[document])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    # the message never carries key material
    assert partner_rsa.jwk["n"][:16] not in str(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
        "http://partner.example/jwks.json",
        "ftp://partner.example/jwks",
        "https://user:pw@partner.example/j",
        "https://partner.example/jwks#frag",
        "partner.example/jwks",
        "https://" + "a" * 2050,
    ],
)
def test_jwks_uri_must_be_https(uri: str) -> None:
    with pytest.raises(InvalidClientKey, match="https"):
        registered_jwks_uri(uri)


def test_jwks_uri_over_https_or_loopback_http_is_accepted() -> None:
    assert registered_jwks_uri("https://partner.example/.well-known/jwks.json")
    assert registered_jwks_uri("http://127.0.0.1:8080/jwks.json")  # as the fetcher: tests and the local stack


def test_a_keyed_client_has_no_secret_and_describes_its_keys(
    keyed_client: Any, partner_rsa: PartnerKey
) -> None:
    client = keyed_client()
    assert client.secrets == ()
    described = client.describe(0)
    assert described["token_endpoint_auth_methods"] == [PRIVATE_KEY_JWT]
    assert described["keys"] == [
        {"kid": partner_rsa.kid, "kty": "RSA", "alg": "RS256", "thumbprint": jwk_thumbprint(partner_rsa.jwk)}
    ]
    assert partner_rsa.jwk["n"] not in json.dumps(described)


def test_a_client_registers_keys_or_a_jwks_uri_never_both(keyed_client: Any, partner_rsa: PartnerKey) -> None:
    with pytest.raises(InvalidClientMetadata, match="not both"):
        keyed_client(jwks_uri="https://partner.example/jwks.json")
    with pytest.raises(InvalidClientMetadata, match="not both"):
        keyed_client(jwks=None)
    with pytest.raises(InvalidClientMetadata, match="private key material"):
        keyed_client(jwks={"keys": [partner_rsa.private_jwk()]})
    client = keyed_client(jwks=None, jwks_uri="https://partner.example/jwks.json")
    assert (client.jwks, client.jwks_uri) == (None, "https://partner.example/jwks.json")


def test_rollover_add_then_remove_a_key(
    keyed_client: Any, registry: ClientRegistry, partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    client = keyed_client()
    added = registry.add_key(client.client_id, partner_ec.jwk)
    assert [k["kid"] for k in added.describe(0)["keys"]] == [partner_rsa.kid, partner_ec.kid]
    removed = registry.remove_key(client.client_id, partner_rsa.kid)
    assert [k["kid"] for k in removed.describe(0)["keys"]] == [partner_ec.kid]
    with pytest.raises(InvalidClientMetadata, match="last key"):
        registry.remove_key(client.client_id, partner_ec.kid)
    with pytest.raises(InvalidClientMetadata, match="no key with this kid"):
        registry.remove_key(client.client_id, "nope")
    with pytest.raises(InvalidClientMetadata, match="same kid"):
        registry.add_key(client.client_id, partner_ec.jwk)


def test_add_key_refuses_a_jwks_uri_client_and_a_secret_client(
    keyed_client: Any, registry: ClientRegistry, partner: Any, partner_ec: PartnerKey
) -> None:
    by_uri = keyed_client(jwks=None, jwks_uri="https://partner.example/jwks.json")
    for client_id in (by_uri.client_id, partner.client.client_id):
        with pytest.raises(InvalidClientMetadata, match="no inline keys"):
            registry.add_key(client_id, partner_ec.jwk)


def test_switching_from_secrets_to_keys_keeps_the_secret_for_the_overlap(
    registry: ClientRegistry, partner: Any, partner_rsa: PartnerKey, clock: FakeClock
) -> None:
    client_id, secret = partner.client.client_id, partner.secret
    switched = registry.use_keys(client_id, jwks=partner_rsa.jwks(), secret_overlap=600)
    assert switched.auth_methods(clock()) == (PRIVATE_KEY_JWT, "client_secret_basic")
    assert registry.authenticate(client_id, secret).client_id == client_id  # still works during the overlap
    clock.advance(600)
    assert switched.auth_methods(clock()) == (PRIVATE_KEY_JWT,)
    now_cut = registry.use_keys(client_id, jwks=partner_rsa.jwks(), secret_overlap=0)
    assert now_cut.secrets == ()
    with pytest.raises(InvalidClientMetadata, match="negative"):
        registry.use_keys(client_id, jwks=partner_rsa.jwks(), secret_overlap=-1)
