"""``private_key_jwt`` at the token endpoint (issue 13): RFC 7523 §2.2, RFC 7521 §4.2, OpenID Connect Core §9.

Through the deployed handler, with moto tables built from template.yaml.  Every refusal is RFC 6749 §5.2
``invalid_client`` (401), byte-for-byte the same whatever went wrong, except the request-syntax errors
(two methods at once, half an assertion), which are ``invalid_request``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from partnerauth.assertion_replay import assertion_id
from partnerauth.client_assertion import JWT_BEARER
from partnerauth.client_registry import Client, ClientRegistry, ClientStatus, IssuedSecret
from partnerauth.jwks_cache import JwksCache
from tests.support.clock import FakeClock

from .assertions import PartnerKey, assertion_claims, assertion_form, compact, hmac_assertion, sign_assertion
from .conftest import (
    AUDIENCE,
    FORM,
    ISSUER,
    TOKEN_PATH,
    CountingJwksFetcher,
    Endpoint,
    RecordingClient,
    Reply,
    basic,
    fresh_import,
)

TOKEN_URL = ISSUER + TOKEN_PATH
PARTNER_JWKS_URI = "https://partner.example/.well-known/jwks.json"
INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


@pytest.fixture
def keyed(registry: ClientRegistry, partner_rsa: PartnerKey, partner_ec: PartnerKey) -> Client:
    """A partner registered with two inline keys (mid-rollover), no secret."""
    return registry.create_with_keys(
        client_name="Keyed Partner",
        scopes=["orders:read", "orders:write"],
        audiences=[AUDIENCE],
        token_lifetime=900,
        jwks={"keys": [partner_rsa.jwk, partner_ec.jwk]},
    )


@pytest.fixture
def by_uri(
    registry: ClientRegistry, partner_ed: PartnerKey, partner_jwks_fetcher: CountingJwksFetcher
) -> Client:
    partner_jwks_fetcher.documents[PARTNER_JWKS_URI] = partner_ed.jwks()
    return registry.create_with_keys(
        client_name="Uri Partner",
        scopes=["orders:read"],
        audiences=[AUDIENCE],
        token_lifetime=900,
        jwks_uri=PARTNER_JWKS_URI,
    )


def post(endpoint: Endpoint, params: dict[str, str], headers: tuple[tuple[str, str], ...] = FORM) -> Reply:
    return endpoint.post(urlencode(params), headers=headers)


def assertion_for(key: PartnerKey, client: Client, clock: FakeClock, **kwargs: Any) -> str:
    return sign_assertion(key, client.client_id, kwargs.pop("audience", ISSUER), clock(), **kwargs)


def refused_as_invalid_client(reply: Reply) -> None:
    # RFC 6749 §5.2 / RFC 7521 §4.2.1: invalid_client, 401, a challenge, no-store
    assert reply.status == 401
    assert reply.json() == INVALID_CLIENT
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("WWW-Authenticate") is not None


def claims_of(reply: Reply) -> dict[str, Any]:
    return dict(jwt.decode(reply.json()["access_token"], options={"verify_signature": False}))


# -- success -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key_name", ["partner_rsa", "partner_ec"])
def test_a_signed_assertion_gets_a_token(
    assertion_endpoint: Endpoint,
    keyed: Client,
    clock: FakeClock,
    key_name: str,
    request: pytest.FixtureRequest,
) -> None:
    key: PartnerKey = request.getfixturevalue(key_name)
    reply = post(assertion_endpoint, assertion_form(assertion_for(key, keyed, clock)))
    assert reply.status == 200, reply.body
    claims = claims_of(reply)
    assert (claims["client_id"], claims["sub"], claims["aud"]) == (keyed.client_id, keyed.client_id, AUDIENCE)


def test_an_assertion_without_kid_is_tried_against_every_registered_key_of_its_type(
    assertion_endpoint: Endpoint, keyed: Client, partner_ec: PartnerKey, clock: FakeClock
) -> None:
    # authlib's PrivateKeyJWT sends no kid: the inline keys of the fitting type are tried
    token = assertion_for(partner_ec, keyed, clock, headers={"kid": None, "typ": "JWT"})
    assert post(assertion_endpoint, assertion_form(token)).status == 200


def test_a_client_id_in_the_body_must_name_the_same_client(
    assertion_endpoint: Endpoint, keyed: Client, partner_rsa: PartnerKey, clock: FakeClock
) -> None:
    # RFC 7521 §4.2: client_id is optional; sent, it identifies the client the assertion is about
    same = assertion_form(assertion_for(partner_rsa, keyed, clock), client_id=keyed.client_id)
    assert post(assertion_endpoint, same).status == 200
    other = assertion_form(assertion_for(partner_rsa, keyed, clock), client_id="pc_someone_else")
    refused_as_invalid_client(post(assertion_endpoint, other))


def test_a_jwks_uri_client_is_verified_with_the_published_key(
    assertion_endpoint: Endpoint, by_uri: Client, partner_ed: PartnerKey, clock: FakeClock
) -> None:
    reply = post(assertion_endpoint, assertion_form(assertion_for(partner_ed, by_uri, clock)))
    assert reply.status == 200, reply.body


def test_a_jwks_uri_rollover_needs_no_operator_and_unknown_kids_cost_one_fetch_per_cooldown(
    assertion_endpoint: Endpoint,
    by_uri: Client,
    partner_ed: PartnerKey,
    partner_ec: PartnerKey,
    partner_jwks_fetcher: CountingJwksFetcher,
    jwks_clock: FakeClock,
    clock: FakeClock,
) -> None:
    assert post(assertion_endpoint, assertion_form(assertion_for(partner_ed, by_uri, clock))).status == 200
    assert len(partner_jwks_fetcher.fetches) == 1
    # a flood of unknown kids within the cooldown: refused without fetching again
    for n in range(5):
        forged = assertion_for(partner_ed, by_uri, clock, headers={"kid": f"unknown-{n}"})
        refused_as_invalid_client(post(assertion_endpoint, assertion_form(forged)))
        clock.advance(400)  # past the throttle's delays; the JWKS cache's own clock stands still
    assert len(partner_jwks_fetcher.fetches) == 1  # the cooldown since the first fetch has not passed
    # the partner publishes a new key and uses it: picked up after the cooldown, no operator involved
    partner_jwks_fetcher.documents[PARTNER_JWKS_URI] = {"keys": [partner_ed.jwk, partner_ec.jwk]}
    jwks_clock.advance(31)
    reply = post(assertion_endpoint, assertion_form(assertion_for(partner_ec, by_uri, clock)))
    assert reply.status == 200, reply.body
    assert len(partner_jwks_fetcher.fetches) == 2


def test_a_jwks_uri_client_must_name_its_key(
    assertion_endpoint: Endpoint, by_uri: Client, partner_ed: PartnerKey, clock: FakeClock
) -> None:
    refused_as_invalid_client(
        post(
            assertion_endpoint,
            assertion_form(assertion_for(partner_ed, by_uri, clock, headers={"kid": None})),
        )
    )


def test_an_unreachable_jwks_uri_is_invalid_client_not_a_5xx(
    assertion_endpoint: Endpoint,
    by_uri: Client,
    partner_ed: PartnerKey,
    partner_jwks_fetcher: CountingJwksFetcher,
    clock: FakeClock,
) -> None:
    partner_jwks_fetcher.documents.clear()
    refused_as_invalid_client(
        post(assertion_endpoint, assertion_form(assertion_for(partner_ed, by_uri, clock)))
    )


# -- single use --------------------------------------------------------------------------------------------
def test_a_replayed_assertion_is_refused(
    assertion_endpoint: Endpoint, keyed: Client, partner_rsa: PartnerKey, clock: FakeClock
) -> None:
    form = assertion_form(assertion_for(partner_rsa, keyed, clock))
    assert post(assertion_endpoint, form).status == 200
    clock.advance(1)
    refused_as_invalid_client(post(assertion_endpoint, form))  # RFC 7523 §3 item 7


def test_a_replay_is_refused_by_another_instance_sharing_the_table(
    token_env: dict[str, str],
    assertion_endpoint: Endpoint,
    keyed: Client,
    partner_rsa: PartnerKey,
    clock: FakeClock,
    assertions_table: str,
    lambda_context: Any,
    recording_dynamodb: RecordingClient,
    recording_kms: RecordingClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a second execution environment: the handler module imported afresh, its own grant and caches
    from token_issuer.grant import build_grant

    first_module = assertion_endpoint.module
    sys.modules.pop("token_issuer.app", None)
    second_module: ModuleType = fresh_import("token_issuer.app")
    assert second_module is not first_module
    second_settings = dataclasses.replace(second_module.settings, client_assertions_table=assertions_table)
    monkeypatch.setattr(
        second_module,
        "grant",
        build_grant(
            second_settings,
            dynamodb=recording_dynamodb,
            kms=recording_kms,
            fetch_pepper=second_module._pepper,
            clock=clock,
            jwks_uri_keys=JwksCache(CountingJwksFetcher()),
        ),
    )
    second = Endpoint(second_module, lambda_context)
    form = assertion_form(assertion_for(partner_rsa, keyed, clock))
    # When the first instance accepts it, then the second refuses it (and the other way round)
    assert post(assertion_endpoint, form).status == 200
    refused_as_invalid_client(post(second, form))
    other = assertion_form(assertion_for(partner_rsa, keyed, clock))
    assert post(second, other).status == 200
    refused_as_invalid_client(post(assertion_endpoint, other))


def test_the_replay_record_is_keyed_by_client_and_jti_and_expires_with_the_assertion(
    assertion_endpoint: Endpoint,
    keyed: Client,
    partner_rsa: PartnerKey,
    clock: FakeClock,
    dynamodb_client: Any,
    assertions_table: str,
) -> None:
    token = assertion_for(partner_rsa, keyed, clock, claims={"jti": "once"}, lifetime=120)
    assert post(assertion_endpoint, assertion_form(token)).status == 200
    items = dynamodb_client.scan(TableName=assertions_table)["Items"]
    assert items == [
        {
            "assertion_id": {"S": assertion_id(keyed.client_id, "once")},
            "client_id": {"S": keyed.client_id},
            "expires_at": {"N": str(int(clock()) + 120 + 60 + 1)},  # exp + leeway: then refused anyway
        }
    ]


# -- every refusal, one answer -----------------------------------------------------------------------------
HOSTILE: dict[str, Callable[[dict[str, Any]], str]] = {
    "token endpoint as aud": lambda c: sign_assertion(c["key"], c["id"], TOKEN_URL, c["now"]),
    "foreign aud": lambda c: sign_assertion(c["key"], c["id"], "https://attacker.example", c["now"]),
    "aud array with extra": lambda c: sign_assertion(c["key"], c["id"], [ISSUER, TOKEN_URL], c["now"]),
    "expired": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"] - 3000),
    "far-future exp": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"], lifetime=86400),
    "stale iat": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"] - 400, lifetime=3600),
    "future nbf": lambda c: sign_assertion(
        c["key"], c["id"], ISSUER, c["now"], claims={"nbf": c["now"] + 600}
    ),
    "no exp": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"], claims={"exp": None}),
    "no jti": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"], claims={"jti": None}),
    "sub differs": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"], claims={"sub": "pc_other"}),
    "alg none": lambda c: compact(
        {"alg": "none"}, assertion_claims(c["id"], ISSUER, c["now"]), lambda _: b"unsigned"
    ),
    "HS256 with the public key": lambda c: hmac_assertion(c["pem"], c["id"], ISSUER, c["now"]),
    "PS256 with an RS256 key": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"], alg="PS256"),
    "embedded jwk": lambda c: sign_assertion(
        c["stranger"], c["id"], ISSUER, c["now"], headers={"jwk": c["stranger"].jwk, "kid": None}
    ),
    "jku": lambda c: sign_assertion(
        c["key"], c["id"], ISSUER, c["now"], headers={"jku": "https://attacker.example/j"}
    ),
    "another client's key": lambda c: sign_assertion(c["stranger"], c["id"], ISSUER, c["now"]),
    "another client's key, our kid": lambda c: sign_assertion(
        c["stranger"], c["id"], ISSUER, c["now"], headers={"kid": c["key"].kid}
    ),
    "unknown kid": lambda c: sign_assertion(c["key"], c["id"], ISSUER, c["now"], headers={"kid": "nope"}),
    "access token type": lambda c: sign_assertion(
        c["key"], c["id"], ISSUER, c["now"], headers={"typ": "at+jwt"}
    ),
    "unknown client": lambda c: sign_assertion(c["key"], "pc_00000000deadbeef", ISSUER, c["now"]),
    "garbage": lambda c: "not-a-jwt",
    "JSON serialisation": lambda c: json.dumps({"payload": "e30", "signatures": []}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_bad_assertion_is_invalid_client_and_stores_nothing(
    assertion_endpoint: Endpoint,
    keyed: Client,
    partner_rsa: PartnerKey,
    stranger_rsa: PartnerKey,
    clock: FakeClock,
    table_snapshot: Callable[[], dict[str, Any]],
    case: str,
) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = partner_rsa.signing.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    context = {
        "key": partner_rsa,
        "stranger": stranger_rsa,
        "id": keyed.client_id,
        "now": clock(),
        "pem": pem,
    }
    before = table_snapshot()
    reply = post(assertion_endpoint, assertion_form(HOSTILE[case](context)))
    refused_as_invalid_client(reply)
    after = table_snapshot()
    # Nothing stored changed but the throttle's failure counter (AuthAttemptsTable, by design)
    assert {k: v for k, v in after.items() if k != "AuthAttemptsTable"} == {
        k: v for k, v in before.items() if k != "AuthAttemptsTable"
    }


def test_disabled_client_and_a_secret_only_client_are_refused_alike(
    assertion_endpoint: Endpoint,
    keyed: Client,
    partner: IssuedSecret,
    registry: ClientRegistry,
    partner_rsa: PartnerKey,
    clock: FakeClock,
) -> None:
    registry.set_status(keyed.client_id, ClientStatus.DISABLED)
    refused_as_invalid_client(
        post(assertion_endpoint, assertion_form(assertion_for(partner_rsa, keyed, clock)))
    )
    # a client with secrets only has no keys: its assertion cannot authenticate it
    secret_only = sign_assertion(partner_rsa, partner.client.client_id, ISSUER, clock())
    refused_as_invalid_client(post(assertion_endpoint, assertion_form(secret_only)))


# -- request syntax ----------------------------------------------------------------------------------------
def test_an_assertion_with_a_basic_header_or_a_secret_is_two_methods(
    assertion_endpoint: Endpoint,
    keyed: Client,
    partner: IssuedSecret,
    partner_rsa: PartnerKey,
    clock: FakeClock,
) -> None:
    form = assertion_form(assertion_for(partner_rsa, keyed, clock))
    with_basic = post(assertion_endpoint, form, (*FORM, basic(partner.client.client_id, partner.secret)))
    with_secret = post(assertion_endpoint, {**form, "client_secret": partner.secret})
    for reply in (with_basic, with_secret):
        # RFC 6749 §2.3: MUST NOT use more than one authentication method
        assert (reply.status, reply.json()["error"]) == (400, "invalid_request")


def test_half_an_assertion_is_invalid_request_and_another_type_is_invalid_client(
    assertion_endpoint: Endpoint, keyed: Client, partner_rsa: PartnerKey, clock: FakeClock
) -> None:
    token = assertion_for(partner_rsa, keyed, clock)
    no_type = post(assertion_endpoint, {"grant_type": "client_credentials", "client_assertion": token})
    no_assertion = post(
        assertion_endpoint, {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER}
    )
    for reply in (no_type, no_assertion):
        assert (reply.status, reply.json()["error"]) == (400, "invalid_request")  # RFC 7521 §4.2
    saml = {
        **assertion_form(token),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
    }
    refused_as_invalid_client(post(assertion_endpoint, saml))  # RFC 6749 §5.2: unsupported method


def test_assertion_failures_count_towards_the_throttle(
    assertion_endpoint: Endpoint,
    keyed: Client,
    stranger_rsa: PartnerKey,
    partner_rsa: PartnerKey,
    clock: FakeClock,
) -> None:
    for _ in range(5):  # the free failures
        refused_as_invalid_client(
            post(assertion_endpoint, assertion_form(assertion_for(stranger_rsa, keyed, clock)))
        )
    # then a failed assertion waits: the delay is open
    throttled = post(assertion_endpoint, assertion_form(assertion_for(stranger_rsa, keyed, clock)))
    assert throttled.status == 429  # RFC 6585 §4, as for secrets
    assert throttled.header("Retry-After") is not None
    # but the right key is never stopped by it (issue 14 item 6: no lockout by strangers)
    assert post(assertion_endpoint, assertion_form(assertion_for(partner_rsa, keyed, clock))).status == 200


def test_neither_the_assertion_nor_the_token_is_logged(
    assertion_endpoint: Endpoint,
    keyed: Client,
    partner_rsa: PartnerKey,
    stranger_rsa: PartnerKey,
    clock: FakeClock,
    captured_logs: Any,
) -> None:
    good = assertion_for(partner_rsa, keyed, clock)
    bad = assertion_for(stranger_rsa, keyed, clock)
    token = post(assertion_endpoint, assertion_form(good)).json()["access_token"]
    post(assertion_endpoint, assertion_form(bad))
    text = "\n".join(captured_logs.lines)
    for secret in (good, bad, token, good.split(".")[2], bad.split(".")[2]):
        assert secret not in text
    assert keyed.client_id in text


# -- configuration (read once, at cold start) -------------------------------------------------------------
def test_the_template_configures_the_replay_table_the_leeway_and_the_default_max_age(
    token_env: dict[str, str], assertions_table: str
) -> None:
    from token_issuer.settings import TokenSettings

    settings = TokenSettings.from_env(token_env)
    assert settings.client_assertions_table == assertions_table
    assert (settings.client_assertion_max_age, settings.leeway) == (300, 60)
    assert (
        TokenSettings.from_env({**token_env, "CLIENT_ASSERTION_MAX_AGE": "120"}).client_assertion_max_age
        == 120
    )


@pytest.mark.parametrize(
    "override",
    [
        {"CLIENT_ASSERTION_MAX_AGE": "0"},
        {"CLIENT_ASSERTION_MAX_AGE": "3601"},
        {"CLIENT_ASSERTION_MAX_AGE": "five minutes"},
        {"LEEWAY": "301"},
        {"LEEWAY": "-1"},
        {"CLIENT_ASSERTIONS_TABLE": ""},
    ],
)
def test_settings_that_cannot_work_fail_the_cold_start(
    token_env: dict[str, str], override: dict[str, str]
) -> None:
    from partnerauth.errors import ConfigurationError
    from token_issuer.settings import TokenSettings

    with pytest.raises(ConfigurationError):
        TokenSettings.from_env({**token_env, **override})


def test_a_jwks_uri_is_fetched_by_the_deployed_fetcher_over_loopback_at_most_once_per_cooldown(
    token_module: ModuleType,
    lambda_context: Any,
    registry: ClientRegistry,
    partner_ed: PartnerKey,
    clock: FakeClock,
    dynamodb_client: Any,
    kms_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the handler's own factory with its real JwksCache and HttpJwksFetcher, and a partner publishing
    # its keys on a loopback server (http is accepted for loopback only, as by the fetcher)
    from tests.adversarial.jwks_server import MisbehavingJwksServer
    from token_issuer.grant import build_grant

    server = MisbehavingJwksServer().start()
    try:
        server.reset(partner_ed.jwks())
        client = registry.create_with_keys(
            client_name="Uri Partner", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900,
            jwks_uri=server.jwks_uri,
        )  # fmt: skip
        grant = build_grant(
            token_module.settings,
            dynamodb=dynamodb_client,
            kms=kms_client,
            fetch_pepper=token_module._pepper,
            clock=clock,
        )
        monkeypatch.setattr(token_module, "grant", grant)
        endpoint = Endpoint(token_module, lambda_context)
        # When it authenticates, then a flood of unknown kids follows
        assert post(endpoint, assertion_form(assertion_for(partner_ed, client, clock))).status == 200
        for n in range(3):
            forged = assertion_for(partner_ed, client, clock, headers={"kid": f"unknown-{n}"})
            refused_as_invalid_client(post(endpoint, assertion_form(forged)))
        # Then the partner's server saw one request: the cooldown covers unknown kids too
        assert server.hits == 1
    finally:
        server.stop()
