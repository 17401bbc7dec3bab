"""Vendor issuer profiles (issue 18): tokens in the shapes Cognito, Entra ID, Okta, Keycloak and Auth0
document, through the authorizer as API Gateway calls it (REST REQUEST events).

Every vendor is configured at once, each with its own key and JWKS URI, as an operator would list them
in ``EXTERNAL_ISSUERS``; each vendor's case gets a route map in its own scope names:
``GET /orders/{id}`` needs the read scope its token carries, ``POST /orders`` a write scope it does not.

For each profile: the documented token is allowed on the covered route and denied (403) on the
uncovered one, and refused (401) when any check of the profile fails - another audience or client, the
vendor's ID/refresh/v1 token, expired, another issuer, a key of another issuer, the wrong ``typ`` header.
A refusal's log fields name the claim or header at fault and never its value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from authorizer.decision import Authorizer, Decision, Outcome, build_authorizer
from authorizer.settings import AuthorizerSettings
from partnerauth.algorithms import KeySpec
from partnerauth.errors import ConfigurationError, Reason
from partnerauth.jwk import build_jwks
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey, generate_signing_key

from .conftest import EXTERNAL_ISSUER, JWKS_PATH, NOW, bearer, environment, request_event, sign

OUR_JWKS = "https://auth.example.test" + JWKS_PATH


class Vendor(NamedTuple):
    """One vendor's documented access token and the EXTERNAL_ISSUERS entry that trusts it."""

    entry: dict[str, Any]
    header: dict[str, Any]  # beyond alg and kid
    claims: dict[str, Any]
    client_id: str
    read_scope: str
    # claim overrides that make the token another of the vendor's tokens, and the (reason, fault) it gets
    other_tokens: dict[str, tuple[dict[str, Any], Reason, str]]
    wrong_audience: tuple[dict[str, Any], str]  # overrides and the fault


COGNITO_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ex4mPle12"
ENTRA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
ENTRA_ISSUER = f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0"
ENTRA_API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"  # the API's application (client) id: v2 tokens' aud
OKTA_ISSUER = "https://partner.okta.example/oauth2/default"
KEYCLOAK_ISSUER = "https://sso.partner.example/realms/partners"
AUTH0_ISSUER = "https://partner.eu.auth0.example/"  # Auth0 issuers end with "/"

VENDORS: dict[str, Vendor] = {
    # Cognito developer guide, "Understanding the access token" (client-credentials token: sub = client)
    "cognito": Vendor(
        entry={
            "profile": "cognito",
            "issuer": COGNITO_ISSUER,
            "jwks_uri": f"{COGNITO_ISSUER}/.well-known/jwks.json",
            "client_ids": ["1example23456789abcdefghij"],
        },
        header={},
        claims={
            "sub": "1example23456789abcdefghij",
            "token_use": "access",
            "scope": "https://orders.api.example/read https://orders.api.example/audit",
            "auth_time": NOW,
            "iss": COGNITO_ISSUER,
            "exp": NOW + 3600,
            "iat": NOW,
            "version": 2,
            "jti": "5f4b7c0e-1b2d-4e0a-9a3b-7c6d5e4f3a2b",
            "client_id": "1example23456789abcdefghij",
        },
        client_id="1example23456789abcdefghij",
        read_scope="https://orders.api.example/read",
        other_tokens={
            "id token": ({"token_use": "id", "scope": ...}, Reason.WRONG_TYPE, "claim.token_use"),
            "id token with its aud": (
                {"token_use": "id", "aud": "1example23456789abcdefghij", "scope": ...},
                Reason.WRONG_AUDIENCE,
                "claim.aud",
            ),
        },
        wrong_audience=({"client_id": "another-app-client"}, "claim.client_id"),
    ),
    # Entra ID, "Access token claims reference" (v2.0, application permissions in roles)
    "entra": Vendor(
        entry={
            "profile": "entra",
            "issuer": ENTRA_ISSUER,
            "jwks_uri": f"https://login.microsoftonline.com/{ENTRA_TENANT}/discovery/v2.0/keys",
            "audiences": [ENTRA_API],
            "client_ids": ["2c1f8a3e-5d4b-4c6a-9e8f-7a6b5c4d3e2f"],
        },
        header={"typ": "JWT", "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg"},
        claims={
            "aud": ENTRA_API,
            "iss": ENTRA_ISSUER,
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 4980,  # 83 minutes: Entra ID's default lifetimes are 60-90 minutes
            "aio": "E2ZgYJj5k1x9xfd6ZTf8fmVs4v8ZAA==",
            "azp": "2c1f8a3e-5d4b-4c6a-9e8f-7a6b5c4d3e2f",
            "azpacr": "1",
            "oid": "a1b2c3d4-0000-4000-8000-000000000001",
            "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR-example.",
            "roles": ["Orders.Read", "Orders.Audit"],
            "sub": "a1b2c3d4-0000-4000-8000-000000000001",
            "tid": ENTRA_TENANT,
            "uti": "AbCdEfGhIjKlMnOpQrStUv",
            "ver": "2.0",
        },
        client_id="2c1f8a3e-5d4b-4c6a-9e8f-7a6b5c4d3e2f",
        read_scope="Orders.Read",
        other_tokens={
            "v1.0 token": ({"ver": "1.0"}, Reason.WRONG_TYPE, "claim.ver"),
            "id token (no azp)": (
                {"azp": ..., "roles": ..., "nonce": "n-0S6_WzA2Mj"},
                Reason.MISSING_CLAIM,
                "claim.azp",
            ),
        },
        wrong_audience=({"aud": "00000003-0000-0000-c000-000000000000"}, "claim.aud"),  # a Graph token
    ),
    # Okta, "Access token" of a custom authorization server (client credentials: sub = cid)
    "okta": Vendor(
        entry={
            "profile": "okta",
            "issuer": OKTA_ISSUER,
            "jwks_uri": f"{OKTA_ISSUER}/v1/keys",
            "audiences": ["api://default"],
            "client_ids": ["0oa1exampleClient5d7"],
        },
        header={},
        claims={
            "ver": 1,
            "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
            "iss": OKTA_ISSUER,
            "aud": "api://default",
            "iat": NOW,
            "exp": NOW + 3600,
            "cid": "0oa1exampleClient5d7",
            "scp": ["orders.read", "orders.audit"],
            "sub": "0oa1exampleClient5d7",
        },
        client_id="0oa1exampleClient5d7",
        read_scope="orders.read",
        other_tokens={
            "id token (no cid)": (
                {"cid": ..., "scp": ..., "aud": "api://default", "amr": ["pwd"]},
                Reason.MISSING_CLAIM,
                "claim.cid",
            ),
        },
        wrong_audience=({"aud": "api://another"}, "claim.aud"),
    ),
    # Keycloak access token (service account; audience from an audience mapper)
    "keycloak": Vendor(
        entry={
            "profile": "keycloak",
            "issuer": KEYCLOAK_ISSUER,
            "jwks_uri": f"{KEYCLOAK_ISSUER}/protocol/openid-connect/certs",
            "audiences": ["orders-api"],
            "client_ids": ["partner-service"],
        },
        header={"typ": "JWT"},
        claims={
            "exp": NOW + 300,
            "iat": NOW,
            "jti": "onrtcc:6a1f3c2e-8b7d-4e5f-9a0b-1c2d3e4f5a6b",
            "iss": KEYCLOAK_ISSUER,
            "aud": ["orders-api", "account"],
            "sub": "7f3e2d1c-0b9a-4876-9543-210fedcba987",
            "typ": "Bearer",
            "azp": "partner-service",
            "acr": "1",
            "realm_access": {"roles": ["default-roles-partners"]},
            "scope": "profile email orders:read",
            "clientHost": "192.0.2.10",
            "preferred_username": "service-account-partner-service",
            "client_id": "partner-service",
        },
        client_id="partner-service",
        read_scope="orders:read",
        other_tokens={
            "id token": ({"typ": "ID"}, Reason.WRONG_TYPE, "claim.typ"),
            "refresh token": ({"typ": "Refresh"}, Reason.WRONG_TYPE, "claim.typ"),
        },
        wrong_audience=({"aud": "account"}, "claim.aud"),
    ),
    # Auth0, "Access token profiles" (the auth0 profile), a client-credentials token
    "auth0": Vendor(
        entry={
            "profile": "auth0",
            "issuer": AUTH0_ISSUER,
            "jwks_uri": f"{AUTH0_ISSUER}.well-known/jwks.json",
            "audiences": ["https://orders.api.example"],
            "client_ids": ["AbC123partnerClientId"],
        },
        header={"typ": "JWT"},
        claims={
            "iss": AUTH0_ISSUER,
            "sub": "AbC123partnerClientId@clients",
            "aud": "https://orders.api.example",
            "iat": NOW,
            "exp": NOW + 86400,
            "azp": "AbC123partnerClientId",
            "scope": "read:orders audit:orders",
            "gty": "client-credentials",
        },
        client_id="AbC123partnerClientId",
        read_scope="read:orders",
        other_tokens={
            "id token (no azp)": (
                {"aud": "https://orders.api.example", "azp": ..., "scope": ..., "nickname": "p"},
                Reason.MISSING_CLAIM,
                "claim.azp",
            ),
        },
        wrong_audience=({"aud": "https://partner.eu.auth0.example/api/v2/"}, "claim.aud"),
    ),
}
OTHER_TOKENS = [(name, kind) for name, vendor in VENDORS.items() for kind in vendor.other_tokens]


@pytest.fixture(scope="module")
def vendor_keys() -> dict[str, SigningKey]:
    """One RS256 key per vendor, each published only at that vendor's JWKS URI."""
    return {name: generate_signing_key(KeySpec.RS256) for name in VENDORS}


@pytest.fixture(scope="module")
def decide(
    vendor_keys: dict[str, SigningKey], own_jwks: dict[str, Any]
) -> Callable[[str, str, str, str], Decision]:
    """``decide(vendor, token, method, resource)``: the decision of an authorizer trusting every vendor,
    with the route map of ``vendor``'s scopes, on a REST REQUEST event at NOW."""
    documents = {OUR_JWKS: own_jwks} | {
        VENDORS[name].entry["jwks_uri"]: build_jwks([key.public_jwk()]) for name, key in vendor_keys.items()
    }
    keys = StaticKeySource(documents)
    authorizers: dict[str, Authorizer] = {}
    for name, vendor in VENDORS.items():
        routes = {"GET /orders/{id}": [vendor.read_scope], "POST /orders": [f"{vendor.read_scope}.write"]}
        env = environment(
            EXTERNAL_ISSUERS=json.dumps([v.entry for v in VENDORS.values()]), ROUTE_SCOPES=json.dumps(routes)
        )
        authorizers[name] = build_authorizer(
            AuthorizerSettings.from_environment(env), keys, clock=lambda: NOW
        )

    def run(vendor: str, token: str, method: str = "GET", resource: str = "/orders/{id}") -> Decision:
        path = "orders/42" if resource == "/orders/{id}" else "orders"
        return authorizers[vendor].decide(request_event(bearer(token), method, path, resource))

    return run


def vendor_token(
    vendor: str,
    keys: dict[str, SigningKey],
    key: str | None = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """``vendor``'s documented token (claims overridden; ``...`` removes), signed with a vendor's key."""
    case = VENDORS[vendor]
    payload = {k: v for k, v in (case.claims | claims).items() if v is not ...}
    return sign(keys[key or vendor], payload, **({"typ": ...} | case.header | (header or {})))


Decide = Callable[..., Decision]


def assert_refused(decision: Decision, reason: Reason, fault: str, token_claims: Mapping[str, Any]) -> None:
    assert (decision.outcome, decision.reason, decision.response) == (Outcome.REJECT, reason.value, None)
    fields = decision.log_fields()
    assert fields["fault"] == fault  # the claim or header at fault, by name
    logged = json.dumps(fields)
    for value in token_claims.values():  # never a value of the token, beyond the loggable identifiers
        if (
            isinstance(value, str)
            and len(value) > 3
            and value not in (fields.get("jti"), fields.get("client_id"))
        ):
            assert value not in logged


# -- accepted, and per route -------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_access_token_is_allowed_on_a_route_its_scopes_cover(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    decision = decide(vendor, vendor_token(vendor, vendor_keys))
    assert decision.outcome is Outcome.ALLOW, decision
    assert decision.response is not None
    assert decision.response["principalId"] == VENDORS[vendor].client_id
    context = decision.response["context"]
    assert context["client_id"] == VENDORS[vendor].client_id
    assert context["iss"] == VENDORS[vendor].entry["issuer"]
    assert VENDORS[vendor].read_scope in context["scope"].split(" ")
    assert "usageIdentifierKey" not in decision.response  # only our own clients have API keys


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_access_token_is_denied_a_route_its_scopes_do_not_cover(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    decision = decide(vendor, vendor_token(vendor, vendor_keys), "POST", "/orders")
    # RFC 6750 §3.1 insufficient_scope: 403
    assert (decision.outcome, decision.reason) == (Outcome.DENY, Reason.INSUFFICIENT_SCOPE.value)


def test_entra_delegated_scp_counts_as_scopes_next_to_roles(
    decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    token = vendor_token("entra", vendor_keys, roles=..., scp="Orders.Read User.Read")
    assert decide("entra", token).outcome is Outcome.ALLOW


# -- refused when a check of the profile fails -------------------------------------------------------
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_token_for_another_audience_or_client_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    overrides, fault = VENDORS[vendor].wrong_audience
    # RFC 9068 §4 item 4 (for Cognito: the client allow-list that replaces the audience)
    assert_refused(
        decide(vendor, vendor_token(vendor, vendor_keys, **overrides)),
        Reason.WRONG_AUDIENCE,
        fault,
        overrides,
    )


@pytest.mark.parametrize("vendor", [v for v in VENDORS if v != "cognito"])
def test_a_vendor_token_of_a_client_outside_the_allow_list_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    claim = {"entra": "azp", "okta": "cid", "keycloak": "azp", "auth0": "azp"}[vendor]
    overrides: dict[str, Any] = {claim: "some-other-client"}
    decision = decide(vendor, vendor_token(vendor, vendor_keys, **overrides))
    assert_refused(decision, Reason.WRONG_AUDIENCE, f"claim.{claim}", overrides)


@pytest.mark.parametrize(("vendor", "kind"), OTHER_TOKENS)
def test_a_vendors_other_tokens_are_not_access_tokens(
    vendor: str, kind: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    overrides, reason, fault = VENDORS[vendor].other_tokens[kind]
    assert_refused(
        decide(vendor, vendor_token(vendor, vendor_keys, **overrides)), reason, fault, VENDORS[vendor].claims
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_expired_vendor_token_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    lifetime = VENDORS[vendor].claims["exp"] - NOW
    token = vendor_token(vendor, vendor_keys, iat=NOW - lifetime - 120, exp=NOW - 120, nbf=...)
    # RFC 7519 §4.1.4, past the 60 s leeway
    assert_refused(decide(vendor, token), Reason.EXPIRED, "claim.exp", VENDORS[vendor].claims)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_token_naming_another_issuer_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    issuer = VENDORS[vendor].entry["issuer"]
    lookalike = (
        issuer.rstrip("/") if issuer.endswith("/") else issuer + "/"
    )  # RFC 9068 §4 item 3: exact match
    for other in (lookalike, "https://evil.example/"):
        decision = decide(vendor, vendor_token(vendor, vendor_keys, iss=other))
        assert_refused(decision, Reason.WRONG_ISSUER, "claim.iss", {"iss": other})


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_token_signed_with_another_issuers_key_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    # RFC 8725 §3.8: keys are looked up at the token's issuer's JWKS URI only
    for other in VENDORS:
        if other != vendor:
            decision = decide(vendor, vendor_token(vendor, vendor_keys, key=other))
            assert (decision.outcome, decision.reason) == (Outcome.REJECT, Reason.UNKNOWN_KEY.value)


@pytest.mark.parametrize("vendor", ["entra", "keycloak", "auth0"])
def test_a_vendor_token_without_its_typ_header_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    for typ in (..., "at+jwt", "JOSE"):
        decision = decide(vendor, vendor_token(vendor, vendor_keys, header={"typ": typ}))
        assert_refused(decision, Reason.WRONG_TYPE, "header.typ", {})


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_nested_vendor_token_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    # RFC 7519 §5.2: cty "JWT" announces a nested JWT; an access token is never one
    decision = decide(vendor, vendor_token(vendor, vendor_keys, header={"cty": "JWT"}))
    assert_refused(decision, Reason.UNSUPPORTED_HEADER, "header.cty", {})


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_token_longer_lived_than_its_profile_allows_is_refused(
    vendor: str, decide: Decide, vendor_keys: dict[str, SigningKey]
) -> None:
    token = vendor_token(vendor, vendor_keys, exp=NOW + 10 * 24 * 3600)
    assert_refused(decide(vendor, token), Reason.LIFETIME_TOO_LONG, "claim.exp", {})


# -- configuration ------------------------------------------------------------------------------------
def settings_with(entry: dict[str, Any]) -> AuthorizerSettings:
    return AuthorizerSettings.from_environment(environment(EXTERNAL_ISSUERS=json.dumps([entry])))


def test_each_profile_defaults_to_its_vendors_default_token_lifetime() -> None:
    lifetimes = {
        name: settings_with(vendor.entry).issuers[1].max_lifetime for name, vendor in VENDORS.items()
    }
    assert lifetimes == {"cognito": 3600, "entra": 5400, "okta": 3600, "keycloak": 300, "auth0": 86400}
    assert settings_with(VENDORS["okta"].entry | {"max_lifetime": 7200}).issuers[1].max_lifetime == 7200


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (VENDORS["cognito"].entry | {"client_ids": []}, "client_ids"),
        ({k: v for k, v in VENDORS["cognito"].entry.items() if k != "client_ids"}, "client_ids are required"),
        (VENDORS["cognito"].entry | {"audiences": ["x"]}, "carry no aud"),
        ({k: v for k, v in VENDORS["okta"].entry.items() if k != "audiences"}, "audiences are required"),
        (VENDORS["entra"].entry | {"scope_claim": "scope"}, "members are"),  # a vendor's shape is fixed
        (VENDORS["keycloak"].entry | {"required_claims": ["iss"]}, "members are"),
        (VENDORS["auth0"].entry | {"profile": "auth1"}, "profile must be one of"),
        (VENDORS["auth0"].entry | {"algorithms": ["HS256"]}, "unsupported algorithm"),
        (VENDORS["auth0"].entry | {"client_ids": "AbC"}, "client_ids"),
    ],
)
def test_a_profile_without_its_audience_or_client_allow_list_is_refused(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        settings_with(entry)


def test_the_rfc9068_profile_may_add_a_client_allow_list() -> None:
    entry = {
        "profile": "rfc9068",
        "issuer": EXTERNAL_ISSUER,
        "jwks_uri": "https://auth.example.test/partner/keys",
        "audiences": ["api://orders"],
        "client_ids": ["partner-9"],
    }
    policy = settings_with(entry).issuers[1]
    assert (policy.client_ids, policy.require_access_token_type) == (frozenset({"partner-9"}), True)


def test_every_worked_example_of_the_docs_is_a_configuration_that_starts() -> None:
    # docs/authorizer.md, "Trusted issuers": one example per vendor, each accepted as written
    doc = (Path(__file__).resolve().parents[2] / "docs" / "authorizer.md").read_text(encoding="utf-8")
    section = doc.split("### One worked example per vendor", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"^```json\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    examples = [json.loads(block) for block in blocks]
    assert sorted(entry["profile"] for entry in examples) == sorted(VENDORS)
    settings = AuthorizerSettings.from_environment(environment(EXTERNAL_ISSUERS=json.dumps(examples)))
    assert {policy.issuer for policy in settings.issuers[1:]} == {entry["issuer"] for entry in examples}
