"""The authorizer's settings: parsed once, validated whole; a bad configuration never starts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authorizer.settings import AuthorizerSettings
from partnerauth.errors import ConfigurationError
from tests.support.template import function_environment, load_template

from .conftest import AUDIENCE, EXTERNAL_ISSUER, ISSUER, ROUTE_SCOPES, USAGE_KEY_NAMESPACE, environment


def test_the_environment_becomes_typed_settings() -> None:
    settings = AuthorizerSettings.from_environment(environment())
    own, external = settings.issuers
    assert (own.issuer, own.audiences, own.algorithms) == (
        ISSUER,
        frozenset({AUDIENCE}),
        frozenset({"RS256", "ES256", "EdDSA"}),
    )
    assert own.max_lifetime == 3600
    assert (external.issuer, external.scope_claim, external.client_id_claim) == (
        EXTERNAL_ISSUER,
        "scp",
        "azp",
    )
    assert external.require_access_token_type is False
    assert {route.key for route in settings.routes.routes} == set(ROUTE_SCOPES)
    assert settings.usage_key_namespace == USAGE_KEY_NAMESPACE
    assert (settings.jwks_max_age, settings.jwks_cooldown, settings.leeway) == (300, 30, 60)
    assert settings.http_api_response == "simple"


def test_optional_variables_have_defaults() -> None:
    env = environment(
        EXTERNAL_ISSUERS="", USAGE_KEY_NAMESPACE="", JWKS_MAX_AGE="", JWKS_COOLDOWN="", LEEWAY=""
    )
    del env["ALLOWED_ALGORITHMS"], env["MAX_TOKEN_LIFETIME"]
    settings = AuthorizerSettings.from_environment(env)
    assert len(settings.issuers) == 1
    assert settings.own_issuer.algorithms == frozenset({"RS256"})
    assert settings.usage_key_namespace is None  # no usageIdentifierKey in answers
    assert (settings.jwks_max_age, settings.jwks_cooldown, settings.leeway) == (300, 30, 60)


def test_the_template_configuration_is_accepted() -> None:
    # What template.yaml gives the AuthorizerFunction must start.
    env = function_environment(
        "AuthorizerFunction", refs={"AuthApi": "authapi123", "SampleApi": "sampleapi1", "ApisTable": "apis"}
    )
    settings = AuthorizerSettings.from_environment(env)
    assert settings.own_issuer.jwks_uri.startswith("https://")


def test_the_route_map_covers_exactly_the_sample_api_routes() -> None:
    # Every route of the sample API is in the map (unknown routes are denied), and nothing else.
    template = load_template()
    events = template["Resources"]["SampleApiFunction"]["Properties"]["Events"]
    routes = {
        f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}"
        for e in events.values()
        if e["Type"] == "Api"
    }
    env = function_environment(
        "AuthorizerFunction", refs={"AuthApi": "authapi123", "SampleApi": "sampleapi1", "ApisTable": "apis"}
    )
    assert set(json.loads(env["ROUTE_SCOPES"])) == routes


EXTERNAL: dict[str, Any] = {
    "issuer": "https://idp.example.test",
    "jwks_uri": "https://idp.example.test/keys",
    "audiences": ["api://x"],
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ISSUER": ""}, "ISSUER is required"),
        ({"AUDIENCE": " "}, "AUDIENCE is required"),
        ({"JWKS_URI": ""}, "JWKS_URI is required"),
        # RFC 8414 §2 / RFC 8725 §3.10: keys only over TLS (plain http only on loopback)
        ({"JWKS_URI": "http://auth.example.test/jwks"}, "JWKS_URI: the JWKS URI must be https"),
        ({"JWKS_URI": "https://user:pw@auth.example.test/jwks"}, "must be https"),
        ({"ALLOWED_ALGORITHMS": "none"}, "unsupported algorithm"),  # RFC 8725 §2.1
        ({"ALLOWED_ALGORITHMS": "RS256,HS256"}, "unsupported algorithm"),  # RFC 8725 §3.2
        ({"ROUTE_SCOPES": ""}, "ROUTE_SCOPES is required"),
        ({"ROUTE_SCOPES": '{"GET /orders/*": ["x"]}'}, "route map"),
        ({"JWKS_MAX_AGE": "0"}, "JWKS_MAX_AGE must be"),
        ({"JWKS_MAX_AGE": "five"}, "JWKS_MAX_AGE must be"),
        ({"JWKS_COOLDOWN": "-1"}, "JWKS_COOLDOWN must be"),
        ({"JWKS_COOLDOWN": "600"}, "must not exceed JWKS_MAX_AGE"),
        ({"LEEWAY": "301"}, "LEEWAY must be at most"),
        ({"MAX_TOKEN_LIFETIME": "1.5"}, "MAX_TOKEN_LIFETIME must be"),
        ({"HTTP_API_RESPONSE": "iam"}, "HTTP_API_RESPONSE"),
        ({"EXTERNAL_ISSUERS": "{"}, "EXTERNAL_ISSUERS is not valid JSON"),
        ({"EXTERNAL_ISSUERS": "{}"}, "JSON list"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"audience": "typo"}])}, "members are"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"issuer": ISSUER}])}, "configured twice"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL, EXTERNAL])}, "configured twice"),
        (
            {"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"jwks_uri": "http://idp.example.test/k"}])},
            "must be https",
        ),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"audiences": []}])}, "audiences"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"audiences": "api://x"}])}, "audiences"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"algorithms": ["HS256"]}])}, "unsupported algorithm"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"scope_claim": "roles"}])}, "scope_claim"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"require_access_token_type": "no"}])}, "true or false"),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"required_claims": "iss"}])}, "required_claims"),
        (
            {
                "EXTERNAL_ISSUERS": json.dumps(
                    [EXTERNAL | {"client_id_claim": "azp", "required_claims": ["iss"]}]
                )
            },
            "must include the client_id_claim",
        ),
        ({"EXTERNAL_ISSUERS": json.dumps([EXTERNAL | {"max_lifetime": True}])}, "max_lifetime"),
        ({"USAGE_KEY_NAMESPACE": "x" * 129}, "USAGE_KEY_NAMESPACE must be"),
        ({"USAGE_KEY_NAMESPACE": "stack\nname"}, "USAGE_KEY_NAMESPACE must be"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AuthorizerSettings.from_environment(environment(**overrides))


def test_loopback_jwks_uris_are_allowed_for_tests_and_the_local_stack() -> None:
    settings = AuthorizerSettings.from_environment(environment("http://127.0.0.1:8123"))
    assert settings.own_issuer.jwks_uri == "http://127.0.0.1:8123/.well-known/jwks.json"
