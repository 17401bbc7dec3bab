"""POST /oauth2/token: the successful client credentials grant (RFC 6749 §4.4, §5.1; RFC 9068 §2)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from partnerauth.client_registry import ClientRegistry, IssuedSecret
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey
from partnerauth.server_metadata import JWKS_PATH
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

from .conftest import AUDIENCE, FORM, ISSUER, MAX_TOKEN_LIFETIME, OTHER_AUDIENCE, START, Endpoint, basic, form


def claims_of(token: str, key: SigningKey) -> dict[str, Any]:
    """The verified claims (time checks off: the test clock is not the wall clock PyJWT reads)."""
    relaxed: Any = {"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False}
    decoded: dict[str, Any] = jwt.decode(
        token, key.private_key.public_key(), algorithms=[key.alg], options=relaxed
    )
    return decoded


def partner_basic(issued: IssuedSecret) -> tuple[str, str]:
    return basic(issued.client.client_id, issued.secret)


def test_client_secret_basic_gets_a_bearer_token(
    token_endpoint: Endpoint, partner: IssuedSecret, session_keys: tuple[SigningKey, SigningKey]
) -> None:
    # Given a registered client; when it authenticates with HTTP Basic (RFC 6749 §2.3.1)
    reply = token_endpoint.post(
        form(grant_type="client_credentials"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    # Then RFC 6749 §5.1: 200, JSON with exactly these members, no refresh_token (§4.4.3)
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "orders:read orders:write"
    assert reply.header("Content-Type") == "application/json;charset=UTF-8"
    # RFC 6749 §5.1: no-store, no-cache on the token response
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("Pragma") == "no-cache"
    # RFC 9068 §2.1: typ at+jwt, signed by the current key
    header = jwt.get_unverified_header(body["access_token"])
    current, _ = session_keys
    assert header == {"alg": "RS256", "kid": current.kid, "typ": "at+jwt"}
    claims = claims_of(body["access_token"], current)
    # RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti (sub = the client for this grant)
    assert claims["iss"] == ISSUER
    assert claims["client_id"] == claims["sub"] == partner.client.client_id
    assert claims["aud"] == AUDIENCE
    assert claims["iat"] == int(START)
    assert claims["exp"] == int(START) + 900
    assert claims["jti"]


def test_client_secret_post_gets_a_bearer_token(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    # RFC 6749 §2.3.1: credentials in the body are allowed (client_secret_post)
    reply = token_endpoint.post(
        form(
            grant_type="client_credentials", client_id=partner.client.client_id, client_secret=partner.secret
        )
    )
    assert reply.status == 200
    assert reply.json()["token_type"] == "Bearer"


def test_basic_auth_scheme_is_case_insensitive(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    name, value = basic(partner.client.client_id, partner.secret)
    # RFC 9110 §11.1: the auth-scheme is case-insensitive
    reply = token_endpoint.post(
        form(grant_type="client_credentials"), headers=(*FORM, (name, "bAsIc" + value[5:]))
    )
    assert reply.status == 200


def test_basic_auth_with_client_id_repeated_in_body_is_accepted_when_equal(
    token_endpoint: Endpoint, partner: IssuedSecret
) -> None:
    # RFC 6749 §3.2.1: the client MAY identify itself with client_id; it must be the same client
    reply = token_endpoint.post(
        form(grant_type="client_credentials", client_id=partner.client.client_id),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert reply.status == 200


def test_percent_encoded_colon_in_client_id_and_secret(
    token_endpoint: Endpoint, registry: ClientRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client whose id and secret both hold ':' (and '%', '+', ' ' in the secret)
    monkeypatch.setattr(registry, "_generate_secret", lambda: "se:cr%et+with space")
    issued = registry.create(
        client_id="partner:acme",
        client_name="Colon",
        scopes=["orders:read"],
        audiences=[AUDIENCE],
        token_lifetime=600,
    )
    # When the client form-urlencodes both before base64 (RFC 6749 §2.3.1): ':' travels as %3A
    header = basic("partner:acme", issued.secret)
    assert "%3A" in base64.b64decode(header[1][6:]).decode()
    reply = token_endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, header))
    # Then the first literal ':' separates id from secret, and both decode back
    assert reply.status == 200


def test_unencoded_colon_in_secret_belongs_to_the_secret(
    token_endpoint: Endpoint, registry: ClientRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RFC 7617 §2: the user-id ends at the first colon; the password may contain colons
    monkeypatch.setattr(registry, "_generate_secret", lambda: "a:b:c")
    issued = registry.create(
        client_name="Raw", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=600
    )
    raw = f"{issued.client.client_id}:a:b:c".encode()
    header = ("Authorization", "Basic " + base64.b64encode(raw).decode())
    assert token_endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, header)).status == 200


def test_omitted_scope_grants_the_clients_scopes(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    # RFC 6749 §3.3: an omitted scope gets the pre-defined default: everything the client may have
    reply = token_endpoint.post(
        form(grant_type="client_credentials"), headers=(*FORM, partner_basic(partner))
    )
    assert reply.json()["scope"] == "orders:read orders:write"


def test_requested_scope_subset_is_granted_exactly(
    token_endpoint: Endpoint, partner: IssuedSecret, session_keys: tuple[SigningKey, SigningKey]
) -> None:
    reply = token_endpoint.post(
        form(grant_type="client_credentials", scope="orders:read"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    body = reply.json()
    assert body["scope"] == "orders:read"
    # RFC 9068 §2.2.3: the scope claim holds what was granted
    assert claims_of(body["access_token"], session_keys[0])["scope"] == "orders:read"


def test_empty_scope_parameter_counts_as_omitted(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    # RFC 6749 §3.1: parameters sent without a value are treated as omitted
    reply = token_endpoint.post(
        "grant_type=client_credentials&scope=",
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert reply.status == 200
    assert reply.json()["scope"] == "orders:read orders:write"


@pytest.mark.parametrize("parameter", ["resource", "audience"])
def test_resource_or_audience_selects_among_allowed_audiences(
    parameter: str,
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    session_keys: tuple[SigningKey, SigningKey],
) -> None:
    # RFC 8707 §2: the resource parameter names the audience the token is for
    reply = token_endpoint.post(
        form(grant_type="client_credentials", **{parameter: OTHER_AUDIENCE}),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert reply.status == 200
    assert claims_of(reply.json()["access_token"], session_keys[0])["aud"] == OTHER_AUDIENCE


def test_default_audience_is_used_when_the_client_may_have_it(
    token_endpoint: Endpoint,
    new_client: Callable[..., IssuedSecret],
    session_keys: tuple[SigningKey, SigningKey],
) -> None:
    issued = new_client(audiences=[OTHER_AUDIENCE, AUDIENCE])
    reply = token_endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, partner_basic(issued)))
    assert claims_of(reply.json()["access_token"], session_keys[0])["aud"] == AUDIENCE


def test_first_audience_is_used_when_the_default_is_not_allowed(
    token_endpoint: Endpoint,
    new_client: Callable[..., IssuedSecret],
    session_keys: tuple[SigningKey, SigningKey],
) -> None:
    issued = new_client(audiences=[OTHER_AUDIENCE])
    reply = token_endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, partner_basic(issued)))
    assert claims_of(reply.json()["access_token"], session_keys[0])["aud"] == OTHER_AUDIENCE


def test_lifetime_is_capped_by_the_template_maximum(
    token_endpoint: Endpoint, registry: ClientRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client stored with a lifetime above today's MAX_TOKEN_LIFETIME (the maximum was lowered)
    monkeypatch.setattr(registry, "max_token_lifetime", 2 * MAX_TOKEN_LIFETIME)
    issued = registry.create(
        client_name="Long",
        scopes=["orders:read"],
        audiences=[AUDIENCE],
        token_lifetime=2 * MAX_TOKEN_LIFETIME,
    )
    reply = token_endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, partner_basic(issued)))
    # Then the token lives no longer than the maximum
    assert reply.json()["expires_in"] == MAX_TOKEN_LIFETIME


def test_unknown_parameters_are_ignored(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    # RFC 6749 §3.2: the authorization server MUST ignore unrecognized request parameters
    reply = token_endpoint.post(
        form(grant_type="client_credentials", foo="bar", state="xyz"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert reply.status == 200


def test_content_type_with_charset_is_accepted(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    headers = (("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"),)
    reply = token_endpoint.post(
        form(
            grant_type="client_credentials", client_id=partner.client.client_id, client_secret=partner.secret
        ),
        headers=headers,
    )
    assert reply.status == 200


def test_token_verifies_with_our_verifier_and_pyjwt_against_the_published_jwks(
    token_endpoint: Endpoint, jwks_endpoint: Endpoint, partner: IssuedSecret, clock: Any
) -> None:
    # Given a token from the endpoint and the JWKS the publisher serves
    token = token_endpoint.post(
        form(grant_type="client_credentials", scope="orders:read"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    ).json()["access_token"]
    jwks_reply = jwks_endpoint.get(JWKS_PATH)
    assert jwks_reply.status == 200
    document = jwks_reply.json()
    jwks_uri = ISSUER + JWKS_PATH

    # Then our verifier accepts it (RFC 9068 §4)
    verifier = AccessTokenVerifier(
        issuers=[IssuerPolicy(issuer=ISSUER, jwks_uri=jwks_uri, audiences=frozenset({AUDIENCE}))],
        keys=StaticKeySource({jwks_uri: document}),
        leeway=60,
        clock=clock,
    )
    verified = verifier.verify(token)
    assert verified.client_id == partner.client.client_id
    assert set(verified.scopes) == {"orders:read"}

    # And PyJWT's PyJWKClient, given the same document, finds the key and verifies too
    class DocumentJWKClient(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            return document

    signing_key = DocumentJWKClient(jwks_uri, cache_keys=False, cache_jwk_set=False).get_signing_key_from_jwt(
        token
    )
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["client_id"] == partner.client.client_id
