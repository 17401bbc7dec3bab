"""Fixtures for the authorizer: keys, tokens, the sample events, a loopback JWKS server, the handler.

Keys are generated once per session.  Unit tests build an :class:`Authorizer` over a
``StaticKeySource`` with a fixed clock; handler tests import ``authorizer.app`` with an
environment whose JWKS URIs point at a JWKS server on 127.0.0.1, and may swap the module's
authorizer for one over a real ``JwksCache`` with a counting fetcher and a fake clock.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from jwt import get_algorithm_by_name

from authorizer.decision import Authorizer, build_authorizer
from authorizer.settings import AuthorizerSettings
from partnerauth import base64url
from partnerauth.algorithms import KeySpec
from partnerauth.jwk import build_jwks
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey, generate_signing_key

EVENTS = Path(__file__).resolve().parents[2] / "events"
PLACEHOLDER = "Bearer PLACEHOLDER.ACCESS.TOKEN"

ISSUER = "https://auth.example.test"
AUDIENCE = "partner-api"
JWKS_PATH = "/.well-known/jwks.json"
EXTERNAL_ISSUER = "https://idp.partner.test"
EXTERNAL_AUDIENCE = "api://orders"
EXTERNAL_JWKS_PATH = "/partner/keys"
NOW = 1_800_000_000
MAX_TOKEN_LIFETIME = 3600
ROUTE_SCOPES = {
    "GET /orders": ["orders:read"],
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "GET /inventory": ["inventory:read"],
}
USAGE_KEY_NAMESPACE = "partnerauth-test"  # the stack name: our clients' API keys are derived in it
ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev"


# -- keys and tokens ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def own_keys() -> dict[str, SigningKey]:
    return {spec.algorithm.name: generate_signing_key(spec) for spec in (KeySpec.RS256, KeySpec.ES256)}


@pytest.fixture(scope="session")
def rsa_key(own_keys: dict[str, SigningKey]) -> SigningKey:
    return own_keys["RS256"]


@pytest.fixture(scope="session")
def external_key() -> SigningKey:
    return generate_signing_key(KeySpec.ES256)


@pytest.fixture(scope="session")
def stranger_key() -> SigningKey:
    """A key nobody publishes."""
    return generate_signing_key(KeySpec.RS256)


@pytest.fixture(scope="session")
def own_jwks(own_keys: dict[str, SigningKey]) -> dict[str, Any]:
    return build_jwks(key.public_jwk() for key in own_keys.values())


@pytest.fixture(scope="session")
def external_jwks(external_key: SigningKey) -> dict[str, Any]:
    return build_jwks([external_key.public_jwk()])


def _segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return base64url.encode(raw)


def claims(now: float = NOW, **overrides: Any) -> dict[str, Any]:
    """Valid RFC 9068 claims of our own issuer at ``now``; ``...`` removes a claim."""
    values: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "partner-1",
        "aud": AUDIENCE,
        "exp": int(now) + 300,
        "iat": int(now),
        "nbf": int(now),
        "jti": "jti-0001",
        "client_id": "partner-1",
        "scope": "orders:read inventory:read",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not ...}


def sign(key: SigningKey, payload: dict[str, Any], **header: Any) -> str:
    """A compact JWS of ``payload`` signed with ``key``; ``header`` members override (``...`` removes)."""
    full = {
        k: v for k, v in ({"alg": key.alg, "typ": "at+jwt", "kid": key.kid} | header).items() if v is not ...
    }
    signing_input = f"{_segment(full)}.{_segment(payload)}"
    signature = get_algorithm_by_name(key.alg).sign(signing_input.encode(), key.private_key)
    return f"{signing_input}.{base64url.encode(signature)}"


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def token(rsa_key: SigningKey) -> TokenFactory:
    """``token(scope="orders:read", jti="x")``: a valid token of our issuer at NOW, claims overridden."""

    def factory(key: SigningKey | None = None, now: float = NOW, **overrides: Any) -> str:
        return sign(key or rsa_key, claims(now, **overrides))

    return factory


# -- events -----------------------------------------------------------------------------------------
def _load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def _replace_placeholder(value: Any, header: Any) -> Any:
    if isinstance(value, dict):
        return {k: _replace_placeholder(v, header) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_placeholder(v, header) for v in value]
    return header if value == PLACEHOLDER else value


def token_event(
    header: Any, method: str = "GET", path: str = "orders/42", prefix: str = ARN_PREFIX
) -> dict[str, Any]:
    """A REST API TOKEN event (events/authorizer-token.json) for ``METHOD /path`` with ``header``."""
    event = _replace_placeholder(_load("authorizer-token.json"), header)
    event["methodArn"] = f"{prefix}/{method}/{path}"
    return event


def request_event(
    header: Any, method: str = "POST", path: str = "orders", resource: str = "/orders"
) -> dict[str, Any]:
    """A REST API REQUEST event (events/authorizer-request.json); ``header`` None drops the header."""
    event = _replace_placeholder(_load("authorizer-request.json"), header)
    if header is None:
        event["headers"].pop("Authorization")
        event["multiValueHeaders"].pop("Authorization")
    event["methodArn"] = f"{ARN_PREFIX}/{method}/{path}"
    event["httpMethod"] = method
    event["resource"] = resource
    event["path"] = f"/{path}"
    return event


def http_event(
    header: Any, route_key: str = "GET /orders/{id}", method: str = "GET", path: str = "orders/42"
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event (events/authorizer-http-api.json)."""
    event = _replace_placeholder(_load("authorizer-http-api.json"), header)
    if header is None:
        event["headers"].pop("authorization")
        event["identitySource"] = []
    event["routeKey"] = route_key
    event["routeArn"] = f"arn:aws:execute-api:us-east-1:123456789012:httpapi123/$default/{method}/{path}"
    return event


def bearer(value: str) -> str:
    return f"Bearer {value}"


# -- settings and authorizers ------------------------------------------------------------------------
def environment(jwks_base: str = "https://auth.example.test", **overrides: str) -> dict[str, str]:
    """The authorizer's environment (as template.yaml sets it), JWKS URIs under ``jwks_base``."""
    env = {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "JWKS_URI": f"{jwks_base}{JWKS_PATH}",
        "ALLOWED_ALGORITHMS": "RS256,ES256,EdDSA",
        "ROUTE_SCOPES": json.dumps(ROUTE_SCOPES),
        "EXTERNAL_ISSUERS": json.dumps(
            [
                {
                    "issuer": EXTERNAL_ISSUER,
                    "jwks_uri": f"{jwks_base}{EXTERNAL_JWKS_PATH}",
                    "audiences": [EXTERNAL_AUDIENCE],
                    "algorithms": ["ES256"],
                    "scope_claim": "scp",
                    "client_id_claim": "azp",
                    "require_access_token_type": False,
                    "required_claims": ["iss", "exp", "aud", "iat", "azp"],
                }
            ]
        ),
        "USAGE_KEY_NAMESPACE": USAGE_KEY_NAMESPACE,
        "JWKS_MAX_AGE": "300",
        "JWKS_COOLDOWN": "30",
        "LEEWAY": "60",
        "MAX_TOKEN_LIFETIME": str(MAX_TOKEN_LIFETIME),
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


AuthorizerFactory = Callable[..., Authorizer]


@pytest.fixture(scope="session")
def make_authorizer(own_jwks: dict[str, Any], external_jwks: dict[str, Any]) -> AuthorizerFactory:
    """``make_authorizer(HTTP_API_RESPONSE="policy")``: an Authorizer over static keys at NOW."""

    def factory(now: float = NOW, **env: str) -> Authorizer:
        settings = AuthorizerSettings.from_environment(environment(**env))
        keys = StaticKeySource(
            {
                "https://auth.example.test" + JWKS_PATH: own_jwks,
                "https://auth.example.test" + EXTERNAL_JWKS_PATH: external_jwks,
            }
        )
        return build_authorizer(settings, keys, clock=lambda: now)

    return factory


@pytest.fixture
def authorizer(make_authorizer: AuthorizerFactory) -> Authorizer:
    return make_authorizer()


# -- a JWKS server on 127.0.0.1 ---------------------------------------------------------------------
class JwksServer:
    """Serves JWK Sets by path on loopback; ``down`` answers 503; ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self.down = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                document = server.documents.get(self.path)
                if server.down or document is None:
                    self.send_response(503 if server.down else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def jwks_server_session() -> Iterator[JwksServer]:
    server = JwksServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def jwks_server(
    jwks_server_session: JwksServer, own_jwks: dict[str, Any], external_jwks: dict[str, Any]
) -> JwksServer:
    server = jwks_server_session
    server.documents = {JWKS_PATH: own_jwks, EXTERNAL_JWKS_PATH: external_jwks}
    server.hits = {}
    server.down = False
    return server


# -- the handler module --------------------------------------------------------------------------------
@pytest.fixture
def handler_env(jwks_server: JwksServer) -> dict[str, str]:
    return {
        **environment(jwks_server.base),
        "POWERTOOLS_SERVICE_NAME": "partnerauth",
        "POWERTOOLS_METRICS_NAMESPACE": "PartnerAuth",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def import_app(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    """Import ``authorizer.app`` afresh under ``env`` (it reads its configuration at import)."""
    for name in (
        "ISSUER",
        "AUDIENCE",
        "JWKS_URI",
        "EXTERNAL_ISSUERS",
        "USAGE_KEY_NAMESPACE",
        "HTTP_API_RESPONSE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "authorizer.app", raising=False)
    return importlib.import_module("authorizer.app")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, handler_env: dict[str, str]) -> Iterator[ModuleType]:
    module = import_app(monkeypatch, handler_env)
    yield module
    module.metrics.clear_metrics()


@pytest.fixture
def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="AuthorizerFunction",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction",
        aws_request_id="0f6a1c52-7d3e-4b9a-8c21-5e4f3a2b1c0d",
        log_group_name="/aws/lambda/AuthorizerFunction",
        log_stream_name="2026/11/22/[$LATEST]0123456789abcdef",
    )
