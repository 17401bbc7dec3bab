"""The system under attack.

* The hostile-token corpus: trusted keys, an attacker's, a revoked one (:func:`corpus_context`) and a
  verifier over the published ones (:func:`layer_verifier`).
* The authorizer as deployed (:func:`authorizer_app`): the handler module imported under the template's
  environment, its issuer a JWKS server on 127.0.0.1 (:mod:`.jwks_server`) that publishes the
  corpus's trusted keys, fetched at import by the handler's own cache and fetcher.
* The token endpoint as deployed (:func:`token_world`): the handler module imported under the
  template's environment, moto tables/KMS key/pepper built from template.yaml (tests/support),
  a signing key set bootstrapped through ``KeyStore``, and one registered client for each way
  authentication can go (valid, unknown, disabled, expired secret, wrong secret, no grant).

Keys are generated once per session; every clock is injected (nothing sleeps).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.auth_throttle import ThrottlePolicy
from partnerauth.client_registry import ClientRegistry, ClientStatus
from partnerauth.client_secrets import SecretHasher
from partnerauth.jwk import build_jwks
from partnerauth.key_source import StaticKeySource
from partnerauth.key_store import KeyStore
from partnerauth.keys import SigningKey, generate_signing_key
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy
from tests.support.clock import FakeClock
from tests.support.log_capture import LogCapture
from tests.support.template import Template, function_environment

from .hostile_tokens import CorpusContext
from .jwks_server import MisbehavingJwksServer
from .token_endpoint import TokenEndpoint, table_contents

ISSUER = "https://auth.adversarial.test"
AUDIENCE = "https://api.adversarial.test"
JWKS_URI = f"{ISSUER}/.well-known/jwks.json"
NOW = 1_800_000_000
LEEWAY = 60
MAX_LIFETIME = 3600

PARTNER_AUDIENCE = "partner-api"  # the template's DefaultAudience
OTHER_AUDIENCE = "https://inventory.adversarial.test"
PARTNER_SCOPES = ("orders:read", "inventory:read")
UNKNOWN_CLIENT_ID = "pc_00000000deadbeef"
WELL_FORMED_WRONG_SECRET = "pacs_" + "W" * 43  # the shape of a real secret, not anyone's


# -- the hostile-token corpus ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def corpus_context() -> CorpusContext:
    return CorpusContext(
        rsa=generate_signing_key(KeySpec.RS256),
        ec=generate_signing_key(KeySpec.ES256),
        ed=generate_signing_key(KeySpec.EDDSA),
        attacker=generate_signing_key(KeySpec.RS256),
        revoked=generate_signing_key(KeySpec.RS256),
        issuer=ISSUER,
        audience=AUDIENCE,
        now=NOW,
        leeway=LEEWAY,
        max_lifetime=MAX_LIFETIME,
    )


@pytest.fixture(scope="session")
def published_jwks(corpus_context: CorpusContext) -> dict[str, Any]:
    """What the issuer publishes: the three trusted keys (the revoked one was dropped)."""
    return build_jwks(k.public_jwk() for k in (corpus_context.rsa, corpus_context.ec, corpus_context.ed))


@pytest.fixture(scope="session")
def layer_verifier(published_jwks: dict[str, Any]) -> AccessTokenVerifier:
    policy = IssuerPolicy(
        issuer=ISSUER,
        jwks_uri=JWKS_URI,
        audiences=frozenset({AUDIENCE}),
        algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        max_lifetime=MAX_LIFETIME,
    )
    return AccessTokenVerifier(
        [policy], StaticKeySource({JWKS_URI: published_jwks}), leeway=LEEWAY, clock=lambda: NOW
    )


# -- the authorizer as deployed ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def jwks_server() -> Iterator[MisbehavingJwksServer]:
    server = MisbehavingJwksServer().start()
    yield server
    server.stop()


@pytest.fixture
def authorizer_corpus(corpus_context: CorpusContext, jwks_server: MisbehavingJwksServer) -> CorpusContext:
    """The corpus, issued by the loopback issuer for the template's default audience."""
    return dataclasses.replace(corpus_context, issuer=jwks_server.base, audience=PARTNER_AUDIENCE)


@pytest.fixture
def load_authorizer(
    monkeypatch: pytest.MonkeyPatch,
    cfn_template: Template,
    jwks_server: MisbehavingJwksServer,
    published_jwks: dict[str, Any],
) -> Iterator[Callable[..., ModuleType]]:
    """``load_authorizer(HTTP_API_RESPONSE="policy")``: ``authorizer.app`` imported afresh under the
    environment template.yaml gives it (``IssuerUrl`` = the loopback JWKS server, which serves
    ``document`` - the corpus's trusted keys by default - and is fetched at import), keyword
    arguments overriding variables."""
    loaded: list[ModuleType] = []

    def load(document: dict[str, Any] | None = None, **overrides: str) -> ModuleType:
        jwks_server.reset(published_jwks if document is None else document)
        refs = {"ApisTable": "apis"}  # the registry is never read: these events name no profile
        env = function_environment("AuthorizerFunction", refs, {"IssuerUrl": jwks_server.base}, cfn_template)
        for name in ("EXTERNAL_ISSUERS", "USAGE_KEY_NAMESPACE", "HTTP_API_RESPONSE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (env | overrides).items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("authorizer.app", None)
        module = importlib.import_module("authorizer.app")
        loaded.append(module)
        return module

    try:
        yield load
    finally:
        for module in loaded:
            module.metrics.clear_metrics()
        sys.modules.pop("authorizer.app", None)


@pytest.fixture
def authorizer_app(load_authorizer: Callable[..., ModuleType]) -> ModuleType:
    """The authorizer as deployed with the template's defaults (see :func:`load_authorizer`)."""
    return load_authorizer()


@pytest.fixture
def authorizer_context() -> Any:
    return SimpleNamespace(
        function_name="AuthorizerFunction",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction",
        aws_request_id="00000000-0000-0000-0000-0000000a7701",
    )


# -- the token endpoint as deployed -----------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who a request claims to be, and what the registry must make of it."""

    name: str
    client_id: str
    secret: str = field(repr=False)
    authenticates: bool
    may_use_grant: bool = True


@dataclass
class TokenWorld:
    module: ModuleType
    endpoint: TokenEndpoint
    clock: FakeClock
    dynamodb: Any
    kms: Any
    kms_key_id: str
    tables: dict[str, str]
    registry: ClientRegistry
    key_store: KeyStore
    principals: dict[str, Principal]
    logs: LogCapture
    patch: pytest.MonkeyPatch

    def snapshot(self, *logical_ids: str) -> dict[str, list[str]]:
        """Full scans of the named tables (all of them by default)."""
        wanted = logical_ids or tuple(self.tables)
        return {lid: table_contents(self.dynamodb, self.tables[lid]) for lid in wanted}

    def forget_failures(self) -> None:
        """Move past the throttle's memory (ThrottlePolicy.reset_after), so every case starts clean."""
        self.clock.advance(ThrottlePolicy().reset_after + 1)

    def verifier(self) -> AccessTokenVerifier:
        """A verifier of our own tokens against what the issuer publishes now."""
        jwks_uri = f"{ISSUER}/.well-known/jwks.json"
        policy = IssuerPolicy(
            issuer=ISSUER,
            jwks_uri=jwks_uri,
            audiences=frozenset({PARTNER_AUDIENCE, OTHER_AUDIENCE}),
            algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
            max_lifetime=MAX_LIFETIME,
        )
        keys = StaticKeySource({jwks_uri: self.key_store.published_jwks()})
        return AccessTokenVerifier([policy], keys, leeway=LEEWAY, clock=self.clock)

    def secrets(self) -> list[str]:
        return [p.secret for p in self.principals.values()]

    def fresh_grant(self, **collaborators: Any) -> None:
        """The handler's grant rebuilt by its own factory, as a cold Lambda environment has it: no signing
        key decrypted, no pepper fetched yet; ``collaborators`` replace the test's clients and clock."""
        from token_issuer.grant import build_grant

        options: dict[str, Any] = {
            "dynamodb": self.dynamodb,
            "kms": self.kms,
            "fetch_pepper": self.module._pepper,
            "clock": self.clock,
        }
        self.patch.setattr(
            self.module, "grant", build_grant(self.module.settings, **(options | collaborators))
        )


@pytest.fixture(scope="session")
def issuer_keys() -> tuple[SigningKey, SigningKey]:
    """(current, next) of the token issuer: RSA keys are slow to generate, so once per session."""
    return generate_signing_key(KeySpec.RS256), generate_signing_key(KeySpec.RS256)


@pytest.fixture
def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="TokenFunction",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        aws_request_id="00000000-0000-0000-0000-00000000a77a",
    )


def fresh_import(name: str) -> ModuleType:
    """Import a handler module anew, so it reads this test's environment and builds its clients under moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def register_principals(registry: ClientRegistry, clock: FakeClock) -> dict[str, Principal]:
    def create(**overrides: Any) -> Any:
        options: dict[str, Any] = {
            "client_name": "Adversarial Partner",
            "scopes": list(PARTNER_SCOPES),
            "audiences": [PARTNER_AUDIENCE, OTHER_AUDIENCE],
            "token_lifetime": 900,
        }
        return registry.create(**(options | overrides))

    valid = create()
    disabled = create()
    registry.set_status(disabled.client.client_id, ClientStatus.DISABLED)
    expired = create(secret_expires_at=int(clock()) + 10)
    no_grant = create(grant_types=[])
    clock.advance(11)
    return {
        p.name: p
        for p in (
            Principal("valid", valid.client.client_id, valid.secret, authenticates=True),
            Principal("unknown", UNKNOWN_CLIENT_ID, WELL_FORMED_WRONG_SECRET, authenticates=False),
            Principal("disabled", disabled.client.client_id, disabled.secret, authenticates=False),
            Principal("expired", expired.client.client_id, expired.secret, authenticates=False),
            Principal("wrong", valid.client.client_id, WELL_FORMED_WRONG_SECRET, authenticates=False),
            Principal("no_grant", no_grant.client.client_id, no_grant.secret, True, may_use_grant=False),
        )
    }


@pytest.fixture
def token_world(
    template_env: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
    secretsmanager_client: Any,
    pepper_secret_arn: str,
    tables: dict[str, str],
    issuer_keys: tuple[SigningKey, SigningKey],
    lambda_context: Any,
) -> Iterator[TokenWorld]:
    """The deployed token handler over this test's moto account, its grant rebuilt by the module's own
    factory (``build_grant``) with an injected clock."""
    env = template_env("TokenFunction", IssuerUrl=ISSUER)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clock = FakeClock(NOW)
    key_store = KeyStore(tables["SigningKeysTable"], dynamodb_client, kms_client, kms_key_id, clock=clock)
    key_store.bootstrap(*issuer_keys, KeySpec.RS256.value, clock())
    pepper = secretsmanager_client.get_secret_value(SecretId=pepper_secret_arn)["SecretString"]
    registry = ClientRegistry(
        tables["ClientsTable"], dynamodb_client, SecretHasher(pepper), clock, max_token_lifetime=MAX_LIFETIME
    )
    principals = register_principals(registry, clock)
    module = fresh_import("token_issuer.app")
    service = logging.getLogger(env["POWERTOOLS_SERVICE_NAME"])
    logs = LogCapture(next((h.formatter for h in service.handlers if h.formatter is not None), None))
    root = logging.getLogger()
    service.addHandler(logs)
    root.addHandler(logs)
    world = TokenWorld(
        module=module,
        endpoint=TokenEndpoint(module, lambda_context),
        clock=clock,
        dynamodb=dynamodb_client,
        kms=kms_client,
        kms_key_id=kms_key_id,
        tables=tables,
        registry=registry,
        key_store=key_store,
        principals=principals,
        logs=logs,
        patch=monkeypatch,
    )
    world.fresh_grant()
    try:
        yield world
    finally:
        root.removeHandler(logs)
        service.removeHandler(logs)
        sys.modules.pop("token_issuer.app", None)
