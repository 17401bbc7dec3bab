"""Fixtures for the token endpoint, the JWKS/metadata endpoints and the client registry.

Everything runs against moto resources built from template.yaml (tests/support) and real API
Gateway REST proxy events (local/proxy_event.py).  The clock is injected; signing keys are
generated once per session and bootstrapped into each test's fresh key table.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from local.proxy_event import ApiIdentity, HttpRequest, parse_proxy_response, rest_proxy_event
from partnerauth.algorithms import KeySpec
from partnerauth.auth_throttle import AuthThrottle
from partnerauth.client_registry import ClientRegistry, IssuedSecret
from partnerauth.client_secrets import SecretHasher
from partnerauth.key_store import KeyStore
from partnerauth.keys import SigningKey, generate_signing_key
from tests.support.clock import FakeClock
from tests.support.log_capture import LogCapture

from .assertions import PartnerKey

ISSUER = "https://auth.example.test"
AUDIENCE = "partner-api"  # the template's DefaultAudience
OTHER_AUDIENCE = "https://inventory.example.test"
START = 1_800_000_000.0
MAX_TOKEN_LIFETIME = 3600  # the template's MaxTokenLifetime default
API = ApiIdentity(
    api_id="authapi123",
    stage="dev",
    region="us-east-1",
    account_id="123456789012",
    domain_name="authapi123.execute-api.us-east-1.amazonaws.com",
)
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
TOKEN_PATH = "/oauth2/token"


class CountingHasher:
    """A real :class:`SecretHasher` that counts its work (the timing rule is checked by counting)."""

    def __init__(self, inner: SecretHasher) -> None:
        self._inner = inner
        self.digests = 0
        self.comparisons = 0

    @property
    def algorithm(self) -> str:
        return self._inner.algorithm

    def digest(self, secret: str) -> bytes:
        self.digests += 1
        return self._inner.digest(secret)

    def matches(self, presented_digest: bytes, stored_digest: bytes) -> bool:
        self.comparisons += 1
        return self._inner.matches(presented_digest, stored_digest)

    def reset(self) -> None:
        self.digests = self.comparisons = 0


class RecordingClient:
    """Wraps a boto3 client: records ``(operation, table)`` of every call, and can inject faults."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, str]] = []
        self.faults: dict[tuple[str, str | None], Exception] = {}

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def fail(self, operation: str, error: Exception, table: str | None = None) -> None:
        self.faults[(operation, table)] = error

    def count(self, operation: str, table: str) -> int:
        return self.calls.count((operation, table))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            # a batch (BatchGetItem) is recorded once, under the names of all its tables joined by a space
            table = str(kwargs.get("TableName", "")) or " ".join(sorted(kwargs.get("RequestItems", {})))
            self.calls.append((name, table))
            fault = self.faults.get((name, table)) or self.faults.get((name, None))
            if fault is not None:
                raise fault
            return attribute(*args, **kwargs)

        return call


def aws_error(code: str, operation: str = "GetItem", status: int = 400) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def form(**params: str) -> str:
    return urlencode(params)


def basic(client_id: str, secret: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: each part form-urlencoded, then ``id:secret``, then base64."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return ("Authorization", "Basic " + base64.b64encode(raw).decode("ascii"))


@dataclass
class Endpoint:
    """Invokes a handler module the way API Gateway does and parses the proxy result strictly."""

    module: ModuleType
    context: Any
    counter: list[int] = field(default_factory=lambda: [0])

    def invoke(self, event: dict[str, Any]) -> Reply:
        response = parse_proxy_response(self.module.lambda_handler(event, self.context))
        headers = {name.lower(): value for name, value in response.headers}
        return Reply(response.status, headers, response.body)

    def event(
        self,
        method: str,
        path: str,
        body: bytes | str = b"",
        headers: Sequence[tuple[str, str]] = (),
        query: str = "",
    ) -> dict[str, Any]:
        self.counter[0] += 1
        raw = body.encode("utf-8") if isinstance(body, str) else body
        request = HttpRequest(method=method, path=path, query=query, headers=tuple(headers), body=raw)
        return rest_proxy_event(request, API, path, {}, f"request-{self.counter[0]}", START)

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.invoke(self.event(method, path, **kwargs))

    def post(
        self, body: bytes | str = b"", headers: Sequence[tuple[str, str]] = FORM, query: str = ""
    ) -> Reply:
        return self.request("POST", TOKEN_PATH, body=body, headers=headers, query=query)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)


@pytest.fixture(scope="session")
def session_keys() -> tuple[SigningKey, SigningKey]:
    """(current, next): RSA keys are slow to generate, so once per session."""
    return generate_signing_key(KeySpec.RS256), generate_signing_key(KeySpec.RS256)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="TokenFunction",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        aws_request_id="00000000-0000-0000-0000-000000000000",
    )


@pytest.fixture
def key_store(
    tables: dict[str, str],
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
    session_keys: tuple[SigningKey, SigningKey],
    clock: FakeClock,
) -> KeyStore:
    """The template's signing-key table with a current and a next key (seeded through KeyStore)."""
    store = KeyStore(tables["SigningKeysTable"], dynamodb_client, kms_client, kms_key_id, clock=clock)
    current, upcoming = session_keys
    store.bootstrap(current, upcoming, KeySpec.RS256.value, clock())
    return store


@pytest.fixture
def pepper(secretsmanager_client: Any, pepper_secret_arn: str) -> str:
    value: str = secretsmanager_client.get_secret_value(SecretId=pepper_secret_arn)["SecretString"]
    return value


@pytest.fixture
def hasher(pepper: str) -> CountingHasher:
    return CountingHasher(SecretHasher(pepper))


@pytest.fixture
def recording_dynamodb(dynamodb_client: Any) -> RecordingClient:
    return RecordingClient(dynamodb_client)


@pytest.fixture
def recording_kms(kms_client: Any) -> RecordingClient:
    return RecordingClient(kms_client)


@pytest.fixture
def registry(tables: dict[str, str], dynamodb_client: Any, pepper: str, clock: FakeClock) -> ClientRegistry:
    """The operator's view of the clients table (what the admin CLI uses)."""
    return ClientRegistry(
        tables["ClientsTable"],
        dynamodb_client,
        SecretHasher(pepper),
        clock,
        max_token_lifetime=MAX_TOKEN_LIFETIME,
    )


@pytest.fixture
def throttle(tables: dict[str, str], dynamodb_client: Any, clock: FakeClock) -> AuthThrottle:
    return AuthThrottle(tables["AuthAttemptsTable"], dynamodb_client, clock=clock)


@pytest.fixture
def new_client(registry: ClientRegistry) -> Callable[..., IssuedSecret]:
    def create(**overrides: Any) -> IssuedSecret:
        options: dict[str, Any] = {
            "client_name": "Acme Logistics",
            "scopes": ["orders:read", "orders:write"],
            "audiences": [AUDIENCE, OTHER_AUDIENCE],
            "token_lifetime": 900,
        }
        options.update(overrides)
        return registry.create(**options)

    return create


@pytest.fixture
def partner(new_client: Callable[..., IssuedSecret]) -> IssuedSecret:
    return new_client()


def fresh_import(name: str) -> ModuleType:
    """Import a handler module anew, so it reads this test's environment and builds its clients under moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def token_env(template_env: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = template_env("TokenFunction", IssuerUrl=ISSUER)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def token_module(token_env: dict[str, str], key_store: KeyStore) -> Iterator[ModuleType]:
    yield fresh_import("token_issuer.app")
    sys.modules.pop("token_issuer.app", None)


@pytest.fixture
def token_endpoint(
    token_module: ModuleType,
    lambda_context: Any,
    recording_dynamodb: RecordingClient,
    recording_kms: RecordingClient,
    hasher: CountingHasher,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Endpoint:
    """The deployed handler, its grant rebuilt by the same factory with the test's clock and counting
    collaborators (the module's own grant, with the real clock, is used by the full-run log test)."""
    from token_issuer.grant import build_grant

    grant = build_grant(
        token_module.settings,
        dynamodb=recording_dynamodb,
        kms=recording_kms,
        fetch_pepper=lambda: "unused: the hasher is injected",
        clock=clock,
        hasher=hasher,
    )
    monkeypatch.setattr(token_module, "grant", grant)
    return Endpoint(token_module, lambda_context)


@pytest.fixture
def table_snapshot(dynamodb_client: Any, tables: dict[str, str]) -> Callable[[], dict[str, Any]]:
    """Every item of every table, for 'nothing stored changed' assertions."""

    def snapshot() -> dict[str, Any]:
        result = {}
        for logical_id, name in tables.items():
            items = dynamodb_client.scan(TableName=name, ConsistentRead=True)["Items"]
            result[logical_id] = sorted(json.dumps(item, sort_keys=True, default=repr) for item in items)
        return result

    return snapshot


@pytest.fixture
def captured_logs(token_env: dict[str, str], token_module: ModuleType) -> Iterator[LogCapture]:
    """Records of the service logger and of everything else at INFO (the deployed level), formatted."""
    service = logging.getLogger(token_env["POWERTOOLS_SERVICE_NAME"])
    formatter = next((h.formatter for h in service.handlers if h.formatter is not None), None)
    capture = LogCapture(formatter)
    service.addHandler(capture)
    root = logging.getLogger()
    root.addHandler(capture)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.setLevel(previous)
        root.removeHandler(capture)
        service.removeHandler(capture)


@pytest.fixture
def jwks_env(template_env: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = template_env("JwksFunction", IssuerUrl=ISSUER)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def jwks_module(jwks_env: dict[str, str], key_store: KeyStore) -> Iterator[ModuleType]:
    yield fresh_import("jwks_publisher.app")
    sys.modules.pop("jwks_publisher.app", None)


@pytest.fixture
def jwks_endpoint(jwks_module: ModuleType, lambda_context: Any) -> Endpoint:
    return Endpoint(jwks_module, lambda_context)


# -- private_key_jwt: partners' key pairs (generated once per session, never committed) ------------------
@pytest.fixture(scope="session")
def partner_rsa() -> PartnerKey:
    return PartnerKey(generate_signing_key(KeySpec.RS256))


@pytest.fixture(scope="session")
def partner_ec() -> PartnerKey:
    return PartnerKey(generate_signing_key(KeySpec.ES256))


@pytest.fixture(scope="session")
def partner_ed() -> PartnerKey:
    return PartnerKey(generate_signing_key(KeySpec.EDDSA))


@pytest.fixture(scope="session")
def stranger_rsa() -> PartnerKey:
    """Somebody else's key (another client's, or an attacker's)."""
    return PartnerKey(generate_signing_key(KeySpec.RS256))


class CountingJwksFetcher:
    """A partner's jwks_uri as the token function's JwksCache sees it: documents by URI, fetches counted."""

    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.documents = dict(documents or {})
        self.fetches: list[str] = []

    def fetch(self, jwks_uri: str) -> Any:
        from partnerauth.errors import JwksFetchError

        self.fetches.append(jwks_uri)
        if jwks_uri not in self.documents:
            raise JwksFetchError("jwks fetch failed")
        return self.documents[jwks_uri]


@pytest.fixture
def assertions_table(tables: dict[str, str]) -> str:
    """ClientAssertionsTable, as template.yaml defines it."""
    return tables["ClientAssertionsTable"]


@pytest.fixture
def partner_jwks_fetcher() -> CountingJwksFetcher:
    return CountingJwksFetcher()


@pytest.fixture
def jwks_clock() -> FakeClock:
    """The monotonic clock of the token function's JwksCache (ages of partners' key sets)."""
    return FakeClock(1000.0)


@pytest.fixture
def assertion_endpoint(
    token_module: ModuleType,
    lambda_context: Any,
    recording_dynamodb: RecordingClient,
    recording_kms: RecordingClient,
    clock: FakeClock,
    jwks_clock: FakeClock,
    partner_jwks_fetcher: CountingJwksFetcher,
    assertions_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Endpoint:
    """The deployed handler, its grant rebuilt by the same factory with the test's clocks, a fake
    fetcher behind the real JwksCache for jwks_uri clients, and the real pepper."""
    import dataclasses

    from partnerauth.jwks_cache import JwksCache
    from token_issuer.grant import build_grant

    settings = dataclasses.replace(token_module.settings, client_assertions_table=assertions_table)
    grant = build_grant(
        settings,
        dynamodb=recording_dynamodb,
        kms=recording_kms,
        fetch_pepper=token_module._pepper,
        clock=clock,
        jwks_uri_keys=JwksCache(partner_jwks_fetcher, clock=jwks_clock),
    )
    monkeypatch.setattr(token_module, "grant", grant)
    return Endpoint(token_module, lambda_context)
