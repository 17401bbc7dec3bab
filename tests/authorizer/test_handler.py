"""The handler as Lambda runs it: configuration at import, 401/403/200, logs, metrics, JWKS behaviour.

JWKS documents come from a server on 127.0.0.1 (import-time prefetch) or from a counting fetcher
behind the real JwksCache with a fake clock (floods, outages).  Nothing sleeps.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from authorizer.decision import build_authorizer
from authorizer.settings import AuthorizerSettings
from local.iam_policy import Decision as Iam
from local.iam_policy import evaluate
from partnerauth import base64url
from partnerauth.algorithms import KeySpec
from partnerauth.errors import JwksFetchError
from partnerauth.jwk import build_jwks
from partnerauth.jwks_cache import JwksCache
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import SigningKey, generate_signing_key
from tests.adversarial.hostile_tokens import CorpusContext, hostile_tokens, valid_token
from tests.support.clock import FakeClock

from .conftest import (
    ARN_PREFIX,
    EXTERNAL_JWKS_PATH,
    JWKS_PATH,
    NOW,
    ROUTE_SCOPES,
    JwksServer,
    TokenFactory,
    bearer,
    claims,
    environment,
    http_event,
    request_event,
    sign,
    token_event,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLE_REQUESTS = {  # one concrete request per route of the sample API
    "GET /orders": ("GET", "orders"),
    "GET /orders/{id}": ("GET", "orders/42"),
    "POST /orders": ("POST", "orders"),
    "GET /inventory": ("GET", "inventory"),
}


@pytest.fixture
def logs(app: ModuleType) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The handler's log records, as the JSON lines Powertools writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(app.logger.registered_formatter)
    app.logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    app.logger.removeHandler(handler)


def invoke(app: ModuleType, event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    """The handler's answer, or None for the 401 signal (Exception("Unauthorized"))."""
    try:
        answer: dict[str, Any] = app.lambda_handler(event, context)
    except Exception as error:  # noqa: BLE001 - whatever it is, it is checked below
        raised: BaseException = error
    else:
        return answer
    # Exactly what API Gateway maps to 401, and nothing else: any other exception is a 500.
    assert type(raised) is Exception
    assert raised.args == ("Unauthorized",)
    return None


def emf_blobs(output: str) -> list[dict[str, Any]]:
    return [blob for blob in map(json.loads, filter(None, output.splitlines())) if "_aws" in blob]


# -- the happy path, configured from the environment -----------------------------------------------------
def test_the_handler_allows_a_valid_token_with_keys_fetched_at_import(
    app: ModuleType, jwks_server: JwksServer, token: TokenFactory, lambda_context: Any
) -> None:
    import time

    fresh_token = token(now=time.time())  # this module's verifier reads the real clock
    assert jwks_server.hits == {JWKS_PATH: 1}  # prefetched at import (cold start), once
    answer = invoke(app, token_event(bearer(fresh_token)), lambda_context)
    assert answer is not None
    assert answer["principalId"] == "partner-1"
    assert evaluate(answer["policyDocument"], f"{ARN_PREFIX}/GET/orders/42") is Iam.ALLOW
    invoke(app, request_event(bearer(fresh_token), "GET", "orders", "/orders"), lambda_context)
    assert jwks_server.hits == {JWKS_PATH: 1}  # warm: no fetch


@pytest.mark.parametrize(
    "granted",
    ["", "orders:read", "orders:write", "inventory:read", "orders:read orders:write inventory:read"],
)
def test_every_route_of_the_sample_api_gets_the_right_answer_from_one_cached_policy(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    lambda_context: Any,
    granted: str,
) -> None:
    use_static_keys(app, monkeypatch, own_jwks)
    # Given one answer, for the first route the token calls, cached by API Gateway per token,
    answer = invoke(app, token_event(bearer(token(scope=granted)), "GET", "orders/1"), lambda_context)
    assert answer is not None
    for key, (method, path) in SAMPLE_REQUESTS.items():
        expected = set(ROUTE_SCOPES[key]) <= set(granted.split())
        # then every route of the API gets its own right answer from it.
        assert (
            evaluate(answer["policyDocument"], f"{ARN_PREFIX}/{method}/{path}") is Iam.ALLOW
        ) is expected, key


def use_static_keys(app: ModuleType, monkeypatch: pytest.MonkeyPatch, own_jwks: dict[str, Any]) -> None:
    keys = StaticKeySource({app.settings.own_issuer.jwks_uri: own_jwks})
    monkeypatch.setattr(app, "authorizer", build_authorizer(app.settings, keys, clock=lambda: NOW))


# -- 401 / 403, logs and metrics -----------------------------------------------------------------------------
def test_a_rejected_token_is_401_with_one_log_line_and_a_metric_by_reason(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    rsa_key: SigningKey,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_static_keys(app, monkeypatch, own_jwks)
    expired = sign(rsa_key, claims(exp=NOW - 100, iat=NOW - 400, nbf=NOW - 400, jti="jti-old"))
    assert invoke(app, token_event(bearer(expired)), lambda_context) is None
    (line,) = [record for record in logs() if record["level"] != "DEBUG"]
    assert (line["message"], line["reason"], line["outcome"]) == ("token rejected", "expired", "reject")
    assert (line["kid"], line["jti"], line["client_id"]) == (rsa_key.kid, "jti-old", "partner-1")
    assert line["function_request_id"] == lambda_context.aws_request_id
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert (blob["reason"], blob["Rejected"]) == ("expired", [1.0])
    (declaration,) = blob["_aws"]["CloudWatchMetrics"]
    assert declaration["Dimensions"] == [
        ["reason", "service"]
    ]  # reasons are a fixed set: bounded cardinality
    assert expired not in json.dumps(logs())


def test_a_denied_route_is_a_403_policy_with_one_log_line(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_static_keys(app, monkeypatch, own_jwks)
    answer = invoke(app, token_event(bearer(token(scope="orders:read")), "POST", "orders"), lambda_context)
    assert answer is not None
    # RFC 6750 §3.1: the gateway response for ACCESS_DENIED says insufficient_scope.
    assert evaluate(answer["policyDocument"], f"{ARN_PREFIX}/POST/orders") is Iam.EXPLICIT_DENY
    (line,) = logs()
    assert (line["message"], line["reason"], line["route"]) == (
        "request denied",
        "insufficient_scope",
        "POST /orders",
    )
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert (blob["reason"], blob["Denied"]) == ("insufficient_scope", [1.0])


def test_an_allowed_request_is_neither_logged_at_info_nor_counted(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Lambda's Invocations metric counts decisions; an EMF line per Allow would cost more than the decision.
    use_static_keys(app, monkeypatch, own_jwks)
    assert invoke(app, token_event(bearer(token())), lambda_context) is not None
    assert logs() == []
    assert emf_blobs(capsys.readouterr().out) == []


# The Lambda context keys Powertools' inject_lambda_context writes; the handler adds them to its lines.
CONTEXT_KEYS = ("function_name", "function_memory_size", "function_arn", "function_request_id")


def test_a_refusal_line_carries_the_lambda_context_and_cold_start_only_on_the_first_invocation(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    use_static_keys(app, monkeypatch, own_jwks)
    # Given a fresh execution environment whose first invocation is refused,
    assert invoke(app, token_event("Basic Zm9vOmJhcg=="), lambda_context) is None
    # and whose later invocations are one allowed and one refused request with another request id,
    assert invoke(app, token_event(bearer(token())), lambda_context) is not None
    second = SimpleNamespace(**{**vars(lambda_context), "aws_request_id": "second-request"})
    assert invoke(app, token_event(bearer(token(scope="orders:read")), "POST", "orders"), second) is not None
    first_line, second_line = logs()
    # then each refusal's line names its own invocation, as inject_lambda_context would have,
    assert [first_line[key] for key in CONTEXT_KEYS] == [
        "AuthorizerFunction",
        512,
        lambda_context.invoked_function_arn,
        lambda_context.aws_request_id,
    ]
    assert second_line["function_request_id"] == "second-request"
    # and cold_start is true on the first invocation only, allowed ones counting.
    assert (first_line["cold_start"], second_line["cold_start"]) == (True, False)


def test_at_debug_an_allowed_request_is_logged_with_its_context_and_without_the_token(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_static_keys(app, monkeypatch, own_jwks)
    allowed = token()
    level = app.logger.log_level
    app.logger.setLevel(logging.DEBUG)  # the logging.Logger outlives this module: restored below
    try:
        assert invoke(app, token_event(bearer(allowed)), lambda_context) is not None
    finally:
        app.logger.setLevel(level)
    (line,) = [record for record in logs() if record["message"] == "request allowed"]
    assert (line["outcome"], line["client_id"], line["function_request_id"]) == (
        "allow",
        "partner-1",
        lambda_context.aws_request_id,
    )
    assert allowed not in json.dumps(logs())
    assert emf_blobs(capsys.readouterr().out) == []  # still not counted


def test_a_sample_rate_redraws_the_debug_level_on_every_warm_invocation(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    lambda_context: Any,
) -> None:
    # POWERTOOLS_LOGGER_SAMPLE_RATE, as inject_lambda_context honours it: drawn again per warm invocation.
    use_static_keys(app, monkeypatch, own_jwks)
    draws: list[bool] = []
    monkeypatch.setattr(app, "_SAMPLED", True)
    monkeypatch.setattr(app.logger, "refresh_sample_rate_calculation", lambda: draws.append(True))
    for _ in range(3):
        invoke(app, token_event(bearer(token())), lambda_context)
    assert draws == [True, True]  # not on the cold start: the logger drew when it was built


def test_no_token_ever_reaches_the_output(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    own_jwks: dict[str, Any],
    token: TokenFactory,
    stranger_key: SigningKey,
    rsa_key: SigningKey,
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    use_static_keys(app, monkeypatch, own_jwks)
    tokens = [token(), token(scope="nothing"), sign(stranger_key, claims(), kid=rsa_key.kid), token()[:-5]]
    for value, factory in itertools.product(tokens, (token_event, request_event, http_event)):
        invoke(app, factory(bearer(value)), lambda_context)
    output = capsys.readouterr().out + json.dumps(logs())
    for value in tokens:
        assert value not in output
        assert value.split(".")[2] not in output  # not even the signature


@pytest.mark.parametrize(
    "event", [None, {}, {"type": "TOKEN"}, {"version": "2.0"}, {"type": "REQUEST", "headers": 5}]
)
def test_garbage_events_are_401_never_a_500(app: ModuleType, event: Any, lambda_context: Any) -> None:
    assert invoke(app, event, lambda_context) is None


# -- the hostile corpus, through every event type ---------------------------------------------------------
@pytest.fixture(scope="module")
def corpus() -> CorpusContext:
    return CorpusContext(
        rsa=generate_signing_key(KeySpec.RS256),
        ec=generate_signing_key(KeySpec.ES256),
        ed=generate_signing_key(KeySpec.EDDSA),
        attacker=generate_signing_key(KeySpec.RS256),
        revoked=generate_signing_key(KeySpec.RS256),
        issuer="https://auth.adversarial.test",
        audience="https://api.adversarial.test",
        now=NOW,
        leeway=60,
        max_lifetime=3600,
    )


def test_every_hostile_token_is_401_through_every_event_type(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, corpus: CorpusContext, lambda_context: Any
) -> None:
    env = environment(ISSUER=corpus.issuer, AUDIENCE=corpus.audience, LEEWAY="60", MAX_TOKEN_LIFETIME="3600")
    settings = AuthorizerSettings.from_environment(env)
    published = build_jwks(k.public_jwk() for k in (corpus.rsa, corpus.ec, corpus.ed))
    keys = StaticKeySource({settings.own_issuer.jwks_uri: published})
    monkeypatch.setattr(app, "authorizer", build_authorizer(settings, keys, clock=lambda: corpus.now))
    factories = (token_event, request_event, http_event)
    # Positive control: a reject-everything handler must not pass.
    for key, factory in itertools.product((corpus.rsa, corpus.ec, corpus.ed), factories):
        assert invoke(app, factory(bearer(valid_token(corpus, key))), lambda_context) is not None
    admitted = [
        f"{name} via {factory.__name__}"
        for (name, hostile), factory in itertools.product(hostile_tokens(corpus), factories)
        if invoke(app, factory(bearer(hostile)), lambda_context) is not None
    ]
    assert admitted == []


# -- JWKS: floods of unknown kids, and an endpoint that is down ---------------------------------------------
class CountingFetcher:
    """Serves fixed documents, counts fetches; ``down`` makes every fetch fail as the network would."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.calls = 0
        self.down = False

    def fetch(self, jwks_uri: str) -> Any:
        self.calls += 1
        if self.down:
            raise JwksFetchError("jwks fetch failed")
        return self.documents[jwks_uri]


@pytest.fixture
def cached(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, own_jwks: dict[str, Any], external_jwks: dict[str, Any]
) -> tuple[CountingFetcher, FakeClock]:
    """The module's authorizer over the real JwksCache (max age 300 s, cooldown 30 s), a counting fetcher."""
    own_uri = app.settings.own_issuer.jwks_uri
    fetcher = CountingFetcher(
        {own_uri: own_jwks, own_uri.replace(JWKS_PATH, EXTERNAL_JWKS_PATH): external_jwks}
    )
    clock = FakeClock(1000.0)
    cache = JwksCache(
        fetcher, max_age=app.settings.jwks_max_age, cooldown=app.settings.jwks_cooldown, clock=clock
    )
    monkeypatch.setattr(app, "authorizer", build_authorizer(app.settings, cache, clock=lambda: NOW))
    return fetcher, clock


def unknown_kid_token(index: int, template: str) -> str:
    _, payload, signature = template.split(".")
    header = base64url.encode(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": f"flood-{index}"}).encode())
    return f"{header}.{payload}.{signature}"


def test_an_unknown_kid_flood_costs_at_most_one_jwks_fetch_per_cooldown(
    app: ModuleType,
    cached: tuple[CountingFetcher, FakeClock],
    token: TokenFactory,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    fetcher, clock = cached
    valid = token()
    assert invoke(app, token_event(bearer(valid)), lambda_context) is not None
    assert fetcher.calls == 1
    windows = 5
    for window in range(windows):
        for index in range(200):
            event = token_event(bearer(unknown_kid_token(window * 1000 + index, valid)))
            assert invoke(app, event, lambda_context) is None
        # RFC 8725 §3.10 spirit: attackers choose kids, not our fetch rate.
        assert fetcher.calls <= 1 + window + 1
        clock.now += app.settings.jwks_cooldown
    assert fetcher.calls <= 1 + windows
    assert {line["reason"] for line in logs()} == {"unknown_key"}
    assert invoke(app, token_event(bearer(valid)), lambda_context) is not None  # still served


def test_a_jwks_endpoint_that_is_down_does_not_fail_tokens_whose_keys_are_cached(
    app: ModuleType, cached: tuple[CountingFetcher, FakeClock], token: TokenFactory, lambda_context: Any
) -> None:
    fetcher, clock = cached
    valid = token()
    assert invoke(app, token_event(bearer(valid)), lambda_context) is not None  # keys cached at t0
    fetcher.down = True
    for step in range(10):  # up to just under the max age
        clock.now += (app.settings.jwks_max_age - 1) / 10
        assert invoke(app, token_event(bearer(valid), "GET", f"orders/{step}"), lambda_context) is not None
        # unknown kids try the endpoint (at most once per cooldown) and fail alone
        assert invoke(app, token_event(bearer(unknown_kid_token(step, valid))), lambda_context) is None
    assert fetcher.calls <= 1 + 10
    # Past the max age the last good set is still served while refreshes fail (bounded stale-if-error).
    clock.now += 60
    assert invoke(app, token_event(bearer(valid)), lambda_context) is not None


def test_keys_of_an_issuer_that_was_never_reachable_are_401_keys_unavailable(
    app: ModuleType,
    cached: tuple[CountingFetcher, FakeClock],
    token: TokenFactory,
    lambda_context: Any,
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    fetcher, _ = cached
    fetcher.down = True
    assert invoke(app, token_event(bearer(token())), lambda_context) is None
    messages = [(line["message"], line.get("reason")) for line in logs()]
    assert messages == [
        ("jwks refresh failed; no keys cached", None),
        ("token rejected", "keys_unavailable"),
    ]


# -- cold start: what the import path pulls in, and a bad configuration ----------------------------------
def run_import(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(str(REPO / p) for p in ("layers/partnerauth", "functions/authorizer", "."))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    full_env.update(
        env,
        PYTHONPATH=path,
        POWERTOOLS_METRICS_NAMESPACE="PartnerAuth",
        POWERTOOLS_SERVICE_NAME="partnerauth",
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_import_path_does_not_load_boto3_botocore_or_the_xray_sdk(jwks_server: JwksServer) -> None:
    # Powertools' package root probes for botocore with a bare `import botocore` (its user-agent
    # hook: one ~0.4 ms module, no session, no client); nothing of botocore beyond that is loaded.
    code = (
        "import sys, authorizer.app as app\n"
        "prefixes = ('boto3', 'botocore.', 'aws_xray_sdk', 's3transfer')\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(prefixes))\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = run_import(environment(jwks_server.base), code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HEAVY=\n" in result.stdout
    assert jwks_server.hits.get(JWKS_PATH) == 1


def test_a_bad_configuration_fails_the_cold_start_with_one_clear_log_line(jwks_server: JwksServer) -> None:
    env = environment(jwks_server.base, ROUTE_SCOPES='{"GET /orders/*": ["orders:read"]}')
    result = run_import(env, "import authorizer.app")
    assert result.returncode != 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    (line,) = [line for line in lines if line.get("message") == "authorizer configuration refused"]
    assert line["level"] == "CRITICAL"
    assert "route map" in line["problem"]
    assert jwks_server.hits == {}  # nothing fetched, nothing served
