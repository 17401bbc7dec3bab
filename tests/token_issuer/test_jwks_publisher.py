"""GET /.well-known/jwks.json (RFC 7517) and GET /.well-known/oauth-authorization-server (RFC 8414)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.jwk import parse_jwks
from partnerauth.jwks_cache import stale_if_error_for
from partnerauth.key_store import KeyStore
from partnerauth.keys import SigningKey, generate_signing_key
from partnerauth.server_metadata import JWKS_PATH, METADATA_PATH

from .conftest import ISSUER, Endpoint, RecordingClient, aws_error, fresh_import

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_jwks_publishes_the_current_and_next_keys(
    jwks_endpoint: Endpoint, session_keys: tuple[SigningKey, SigningKey]
) -> None:
    reply = jwks_endpoint.get(JWKS_PATH)
    assert reply.status == 200
    # RFC 7517 §8.5.1: the JWK Set media type
    assert reply.header("Content-Type") == "application/jwk-set+json"
    document = reply.json()
    assert [key["kid"] for key in document["keys"]] == [key.kid for key in session_keys]
    # RFC 7517 §5: public members only
    assert all(not PRIVATE_MEMBERS & set(key) for key in document["keys"])
    assert set(parse_jwks(document)) == {key.kid for key in session_keys}


def test_jwks_also_publishes_retired_keys(
    jwks_endpoint: Endpoint, key_store: KeyStore, session_keys: tuple[SigningKey, SigningKey], clock: Any
) -> None:
    # Given a rotation: next -> current, current -> retired (still published for the grace period)
    head = key_store.read_key_set().head
    assert head is not None
    newest = generate_signing_key(KeySpec.ES256)
    key_store.promote_next(head, newest, KeySpec.ES256.value, clock(), grace=86_400)
    kids = [key["kid"] for key in jwks_endpoint.get(JWKS_PATH).json()["keys"]]
    current, upcoming = session_keys
    assert kids == [upcoming.kid, newest.kid, current.kid]  # current, next, retired


def test_jwks_caching_is_the_configured_max_age_and_stale_window_both_inside_the_publish_lead(
    jwks_endpoint: Endpoint, jwks_env: dict[str, str], template_env: Callable[..., dict[str, str]]
) -> None:
    reply = jwks_endpoint.get(JWKS_PATH)
    max_age = int(jwks_env["JWKS_MAX_AGE"])
    stale = stale_if_error_for(max_age)
    # RFC 9111 §5.2.2.1 max-age, RFC 5861 §4 stale-if-error: the figures the rotation checks its lead against
    assert reply.header("Cache-Control") == f"public, max-age={max_age}, stale-if-error={stale}"
    # A verifier's cached copy may be max-age old, stale-if-error more while the endpoint fails: a key
    # published PUBLISH_LEAD before it signs is in it
    rotation = template_env("KeyRotationFunction")
    assert max_age + stale + int(rotation["AUTHORIZER_CACHE_TTL"]) <= int(rotation["PUBLISH_LEAD"])
    assert rotation["JWKS_MAX_AGE"] == jwks_env["JWKS_MAX_AGE"]


def test_empty_key_table_is_served_uncached(
    template_env: Callable[..., dict[str, str]],
    tables: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:
    for name, value in template_env("JwksFunction", IssuerUrl=ISSUER).items():
        monkeypatch.setenv(name, value)
    endpoint = Endpoint(fresh_import("jwks_publisher.app"), lambda_context)
    reply = endpoint.get(JWKS_PATH)
    assert reply.status == 200
    assert reply.json() == {"keys": []}
    # An empty set must not stick in caches for max-age after the first key appears
    assert reply.header("Cache-Control") == "no-cache"


@pytest.mark.parametrize(
    "error",
    [
        aws_error("ProvisionedThroughputExceededException", "Scan"),
        aws_error("InternalServerError", "Scan", 500),
    ],
)
def test_key_store_unavailable_is_503(
    error: Exception,
    jwks_module: ModuleType,
    dynamodb_client: Any,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing = RecordingClient(dynamodb_client)
    failing.fail("scan", error)
    monkeypatch.setattr(jwks_module, "key_store", KeyStore(jwks_module.settings.signing_keys_table, failing))
    reply = Endpoint(jwks_module, lambda_context).get(JWKS_PATH)
    assert reply.status == 503
    assert reply.json() == {"error": "temporarily_unavailable"}
    assert reply.header("Retry-After") == "2"
    assert reply.header("Cache-Control") == "no-store"


def test_publisher_has_no_kms_client(jwks_module: ModuleType) -> None:
    # The publishing role has no decrypt rights; the code holds no KMS client either
    assert jwks_module.key_store._kms is None
    assert not [name for name in vars(jwks_module) if "kms" in name.lower()]


def test_metadata_document(jwks_endpoint: Endpoint, jwks_env: dict[str, str]) -> None:
    reply = jwks_endpoint.get(METADATA_PATH)
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Cache-Control") == f"public, max-age={jwks_env['JWKS_MAX_AGE']}"
    # RFC 8414 §2 (and §3.3: issuer identical to the configured issuer)
    assert reply.json() == {
        "issuer": ISSUER,
        "token_endpoint": f"{ISSUER}/oauth2/token",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        # RFC 8414 §2: asymmetric only; "none" and HMAC are never accepted (RFC 8725 §3.1-3.2)
        "token_endpoint_auth_signing_alg_values_supported": [
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "ES256",
            "ES384",
            "EdDSA",
        ],
        # RFC 8414 §2: RFC 7009 revocation and RFC 7662 introspection, with the token endpoint's client
        # authentication (issue 14)
        "revocation_endpoint": f"{ISSUER}/oauth2/revoke",
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "revocation_endpoint_auth_signing_alg_values_supported": [
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "ES256",
            "ES384",
            "EdDSA",
        ],
        "introspection_endpoint": f"{ISSUER}/oauth2/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "introspection_endpoint_auth_signing_alg_values_supported": [
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "ES256",
            "ES384",
            "EdDSA",
        ],
        "scopes_supported": jwks_env["SUPPORTED_SCOPES"].split(),
        "response_types_supported": [],
    }


def test_metadata_issuer_is_derived_from_the_api_when_not_configured(
    template_env: Callable[..., dict[str, str]],
    key_store: KeyStore,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:
    for name, value in template_env("JwksFunction", IssuerUrl="").items():
        monkeypatch.setenv(name, value)
    endpoint = Endpoint(fresh_import("jwks_publisher.app"), lambda_context)
    body = endpoint.get(METADATA_PATH).json()
    expected = "https://authapi123.execute-api.us-east-1.amazonaws.com/dev"
    assert body["issuer"] == expected
    assert body["token_endpoint"] == expected + "/oauth2/token"


def test_unknown_path_is_404(jwks_endpoint: Endpoint) -> None:
    reply = jwks_endpoint.get("/.well-known/webfinger")  # openid-configuration is served since issue 18
    assert reply.status == 404
    assert reply.json() == {"error": "not_found"}


def test_token_issuer_derives_the_same_issuer(
    template_env: Callable[..., dict[str, str]],
    key_store: KeyStore,
    registry: Any,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:
    import jwt

    from .conftest import FORM, basic, form

    for name, value in template_env("TokenFunction", IssuerUrl="").items():
        monkeypatch.setenv(name, value)
    endpoint = Endpoint(fresh_import("token_issuer.app"), lambda_context)
    issued = registry.create(
        client_name="Derived", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=600
    )
    reply = endpoint.post(
        form(grant_type="client_credentials"), headers=(*FORM, basic(issued.client.client_id, issued.secret))
    )
    claims = jwt.decode(reply.json()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "https://authapi123.execute-api.us-east-1.amazonaws.com/dev"


# -- issue 19: revalidation, unreadable items ------------------------------------------------------------
def test_jwks_carries_an_etag_and_a_matching_if_none_match_gets_304_without_a_body(
    jwks_endpoint: Endpoint, jwks_env: dict[str, str]
) -> None:
    full = jwks_endpoint.get(JWKS_PATH)
    tag = full.header("ETag")
    assert tag is not None
    assert tag.startswith('"')
    assert tag.endswith('"')  # RFC 9110 §8.8.3: a strong entity tag
    # RFC 9110 §13.1.2: If-None-Match is compared weakly, any member of the list may match, * matches all
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        reply = jwks_endpoint.request("GET", JWKS_PATH, headers=(("If-None-Match", header),))
        assert reply.status == 304, header
        assert reply.body == b""
        # RFC 9110 §15.4.5: the 304 carries what the 200 would have said about caching
        assert reply.header("ETag") == tag
        assert reply.header("Cache-Control") == full.header("Cache-Control")
    for header in ('"other"', tag[:-2] + '"', "garbage" * 300):
        reply = jwks_endpoint.request("GET", JWKS_PATH, headers=(("If-None-Match", header),))
        assert reply.status == 200, header
        assert reply.json() == full.json()


def test_a_changed_key_set_has_another_etag(jwks_endpoint: Endpoint, key_store: KeyStore, clock: Any) -> None:
    before = jwks_endpoint.get(JWKS_PATH)
    head = key_store.read_key_set().head
    assert head is not None
    key_store.promote_next(head, generate_signing_key(KeySpec.ES256), KeySpec.ES256.value, clock(), 86_400)
    reply = jwks_endpoint.request("GET", JWKS_PATH, headers=(("If-None-Match", str(before.header("ETag"))),))
    assert reply.status == 200
    assert reply.header("ETag") != before.header("ETag")


@pytest.mark.parametrize(
    "item",
    [
        {"kid": {"S": "test"}},
        {"kid": {"S": "k1"}, "state": {"S": "current"}, "alg": {"S": "RS256"}, "created_at": {"S": "soon"}},
        {
            "kid": {"S": "k2"},
            "state": {"S": "retired"},
            "alg": {"S": "RS256"},
            "created_at": {"N": "1"},
            "public_jwk": {"S": "{not json"},
        },
        {"kid": {"S": "k3"}, "state": {"S": "staged"}},
    ],
    ids=["only a kid", "created_at a string", "public_jwk not JSON", "unknown state"],
)
def test_an_unreadable_item_is_left_out_and_the_other_keys_are_served(
    item: dict[str, Any],
    jwks_module: ModuleType,
    jwks_endpoint: Endpoint,
    dynamodb_client: Any,
    tables: dict[str, str],
    session_keys: tuple[SigningKey, SigningKey],
    capsys: pytest.CaptureFixture[str],
) -> None:
    jwks_module.logger.registered_handler.stream = sys.stdout  # this test's captured stdout
    dynamodb_client.put_item(TableName=tables["SigningKeysTable"], Item=item)
    reply = jwks_endpoint.get(JWKS_PATH)
    # never a 500 for the whole set because of one item
    assert reply.status == 200
    assert [key["kid"] for key in reply.json()["keys"]] == [key.kid for key in session_keys]
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    skipped = [
        (line["kid"], line["reason"]) for line in lines if line.get("message") == "signing-key item skipped"
    ]
    newer = item.get("state") == {"S": "staged"}
    assert len(skipped) == 1
    assert skipped[0][0] == item["kid"]["S"]
    assert (skipped[0][1] == "unknown_state") is newer
    assert "not json" not in out  # the item's content is never logged
    metric = "UnknownStateSigningKeyItems" if newer else "MalformedSigningKeyItems"
    assert any(metric in line for line in lines)


def test_the_published_set_never_exceeds_the_cap(
    jwks_endpoint: Endpoint, key_store: KeyStore, clock: Any
) -> None:
    from partnerauth.key_store import MAX_PUBLISHED_KEYS

    for _ in range(MAX_PUBLISHED_KEYS):  # more than the rotation would ever publish (written directly)
        head = key_store.read_key_set().head
        assert head is not None
        key_store.promote_next(
            head, generate_signing_key(KeySpec.EDDSA), KeySpec.EDDSA.value, clock(), 86_400
        )
        clock.advance(1)
    keys = jwks_endpoint.get(JWKS_PATH).json()["keys"]
    assert len(keys) == MAX_PUBLISHED_KEYS
    # the newest are kept: current, next, then retired newest first
    head = key_store.read_key_set().head
    assert head is not None
    assert [k["kid"] for k in keys[:2]] == [head.current_kid, head.next_kid]


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_a_jwks_max_age_the_caching_model_cannot_use_fails_the_cold_start(
    value: str, jwks_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnerauth.errors import ConfigurationError

    monkeypatch.setenv("JWKS_MAX_AGE", value)
    with pytest.raises(ConfigurationError, match="JWKS_MAX_AGE"):
        fresh_import("jwks_publisher.app")
    sys.modules.pop("jwks_publisher.app", None)
