"""The token function's routing and its one error handler, fast (issue 20: "token_endpoint" mutation group).

:mod:`token_issuer.app` imported once per module with a deployed-like environment and no AWS call (building
boto3 clients and the grant does no I/O); the grant, the revocation/introspection endpoints, the logger and
the metrics replaced by fakes that record what they were given.  The moto-backed end-to-end versions of these
rules are test_token_routing.py, test_token_errors.py and test_dependency_failures.py.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from partnerauth.access_token import IssuedToken
from partnerauth.errors import ConfigurationError, KeyStoreError
from partnerauth.server_metadata import INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH
from partnerauth.token_rate import TokenRateExceeded
from token_issuer.client_auth import AuthMethod, ClientCredentials
from token_issuer.grant import TokenGranted
from token_issuer.oauth_errors import InvalidScope, NotFound
from token_issuer.token_request import TokenRequest

ISSUER = "https://auth.example.test"
ENVIRONMENT = {
    "CLIENTS_TABLE": "clients",
    "SIGNING_KEYS_TABLE": "signing-keys",
    "KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/x",
    "AUTH_ATTEMPTS_TABLE": "auth-attempts",
    "PEPPER_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pepper",
    "CLIENT_ASSERTIONS_TABLE": "client-assertions",
    "REVOCATIONS_TABLE": "revocations",
    "ISSUER": ISSUER + "/",
    "POWERTOOLS_SERVICE_NAME": "partnerauth-test",
    "POWERTOOLS_METRICS_NAMESPACE": "PartnerAuth",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}
GRANTED = TokenGranted(
    IssuedToken(token="h.p.s", jti="j1", kid="k1", issued_at=100, expires_at=400),
    "pc_partner",
    ("orders:read", "stock:read"),
    "https://api.example.test",
    300,
)


@pytest.fixture(scope="module")
def app() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        sys.modules.pop("token_issuer.app", None)
        module = importlib.import_module("token_issuer.app")
    sys.modules.pop("token_issuer.app", None)  # the next importer reads its own environment
    return module


class FakeLogger:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any], Any]] = []
        self.keys: dict[str, Any] = {}
        self.refreshed = 0

    def info(self, message: str, *, extra: dict[str, Any]) -> None:
        self.records.append(("info", message, extra, None))

    def error(self, message: str, *, extra: dict[str, Any], exc_info: Any) -> None:
        self.records.append(("error", message, extra, exc_info))

    def append_keys(self, **keys: Any) -> None:
        self.keys = keys

    def refresh_sample_rate_calculation(self) -> None:
        self.refreshed += 1


class FakeMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, Any, float]] = []

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        self.added.append((name, unit, value))


class FakeGrant:
    def __init__(self, outcome: TokenGranted | Exception = GRANTED) -> None:
        self.outcome = outcome
        self.requests: list[tuple[TokenRequest, str]] = []

    def issue(self, request: TokenRequest, issuer: str) -> TokenGranted:
        self.requests.append((request, issuer))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@dataclasses.dataclass
class Fakes:
    logger: FakeLogger
    metrics: FakeMetrics
    grant: FakeGrant


@pytest.fixture
def fakes(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    made = Fakes(FakeLogger(), FakeMetrics(), FakeGrant())
    monkeypatch.setattr(app, "logger", made.logger)
    monkeypatch.setattr(app, "metrics", made.metrics)
    monkeypatch.setattr(app, "grant", made.grant)
    return made


def event(method: str = "POST", path: str = TOKEN_PATH, body: str = "grant_type=client_credentials") -> Any:
    headers = {"Content-Type": ["application/x-www-form-urlencoded"], "Authorization": ["Basic cGM6cw=="]}
    return {
        "httpMethod": method,
        "path": path,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": headers,
        "headers": {name: values[-1] for name, values in headers.items()},
        "requestContext": {"domainName": "auth.execute-api.test", "stage": "dev", "requestId": "req-1"},
    }


NO_STORE_JSON = {
    "Cache-Control": ["no-store"],
    "Pragma": ["no-cache"],
    "Content-Type": ["application/json;charset=UTF-8"],
}


# -- routing (app.route, app.answer) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [(TOKEN_PATH, "token"), (REVOCATION_PATH, "revoke"), (INTROSPECTION_PATH, "introspect")],
)
@pytest.mark.parametrize("suffix", ["", "/", "//"])
@pytest.mark.parametrize("method", ["POST", "post", "pOsT"])
def test_each_endpoint_is_its_post_route_with_trailing_slashes_and_the_method_in_any_case(
    app: ModuleType, path: str, endpoint: str, suffix: str, method: str
) -> None:
    assert app.route(event(method, path + suffix)) is getattr(app, endpoint)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "POSTS", "", "POST "])
@pytest.mark.parametrize("path", [TOKEN_PATH, REVOCATION_PATH, INTROSPECTION_PATH])
def test_any_method_but_post_is_not_found(app: ModuleType, method: str, path: str) -> None:
    with pytest.raises(NotFound):
        app.route(event(method, path))


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "/oauth2",
        "/oauth2/",
        "/oauth2/tokens",
        "/oauth2/token/x",
        "/oauth2/tokenx",
        "/v1/oauth2/token",
        "x/oauth2/token",
        "/OAUTH2/TOKEN",
        "//oauth2/token",
        "/oauth2/revoke/introspect",
        "/oauth2.token",
    ],
)
def test_a_path_that_is_no_endpoint_is_not_found(app: ModuleType, path: str) -> None:
    with pytest.raises(NotFound) as refused:
        app.route(event("POST", path))
    assert refused.value.description == "no such endpoint"


def test_an_unroutable_request_is_answered_404_with_no_store(app: ModuleType, fakes: Fakes) -> None:
    response = app.answer(event("GET"))

    assert (response["statusCode"], json.loads(response["body"])) == (
        404,
        {"error": "not_found", "error_description": "no such endpoint"},
    )
    assert response["multiValueHeaders"] == NO_STORE_JSON
    assert fakes.grant.requests == []


@pytest.mark.parametrize("spoil", [{"httpMethod": None}, {"path": None}, {"path": 7}])
def test_a_malformed_event_is_the_500_answer_not_an_exception(
    app: ModuleType, fakes: Fakes, spoil: dict[str, Any]
) -> None:
    response = app.answer({**event(), **spoil})

    assert (response["statusCode"], response["body"]) == (500, '{"error":"server_error"}')
    assert response["multiValueHeaders"] == NO_STORE_JSON


# -- the token endpoint (app.token) -----------------------------------------------------------------------


def test_a_granted_token_is_answered_200_with_no_store_logged_and_counted(
    app: ModuleType, fakes: Fakes
) -> None:
    response = app.answer(
        event(body="grant_type=client_credentials&scope=orders%3Aread&resource=https%3A%2F%2Fa.test")
    )

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == GRANTED.response_body()
    assert response["multiValueHeaders"] == NO_STORE_JSON
    assert fakes.grant.requests == [
        (
            TokenRequest(
                "client_credentials",
                ClientCredentials("pc", "s", AuthMethod.CLIENT_SECRET_BASIC),
                scope="orders:read",
                resource="https://a.test",
            ),
            ISSUER,  # the configured issuer, its trailing slash removed
        )
    ]
    assert fakes.logger.records == [("info", "access token issued", GRANTED.log_fields(), None)]
    assert [(name, value) for name, _, value in fakes.metrics.added] == [("TokenIssued", 1)]
    assert str(fakes.metrics.added[0][1].value) == "Count"


def test_without_a_configured_issuer_it_is_derived_from_the_request_context(
    app: ModuleType, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, issuer=None))

    app.answer(event())

    assert fakes.grant.requests[0][1] == "https://auth.execute-api.test/dev"


def test_a_malformed_token_request_is_refused_before_the_grant(app: ModuleType, fakes: Fakes) -> None:
    response = app.answer(event(body="scope=x"))

    assert (response["statusCode"], json.loads(response["body"])["error"]) == (400, "invalid_request")
    assert fakes.grant.requests == []


# -- the one error handler (app.handle_error) -------------------------------------------------------------


def test_a_client_error_is_logged_at_info_with_its_code_status_and_fields(
    app: ModuleType, fakes: Fakes
) -> None:
    response = app.handle_error(InvalidScope("scope is malformed", client_id="pc_partner"))

    assert (response["statusCode"], json.loads(response["body"])["error"]) == (400, "invalid_scope")
    assert fakes.logger.records == [
        (
            "info",
            "token request refused",
            {"error": "invalid_scope", "status": 400, "client_id": "pc_partner"},
            None,
        )
    ]
    assert [(name, value) for name, _, value in fakes.metrics.added] == [("TokenError.invalid_scope", 1)]
    assert str(fakes.metrics.added[0][1].value) == "Count"


def test_a_defect_is_a_bare_500_logged_as_an_error_with_its_traceback(app: ModuleType, fakes: Fakes) -> None:
    defect = ValueError("private detail")

    response = app.handle_error(defect)

    assert (response["statusCode"], response["body"]) == (500, '{"error":"server_error"}')
    assert "private detail" not in response["body"]
    assert fakes.logger.records == [
        (
            "error",
            "token request failed",
            {"error": "server_error", "status": 500, "exception": "ValueError"},
            defect,
        )
    ]
    assert [name for name, _, _ in fakes.metrics.added] == ["TokenError.server_error"]


def test_a_dependency_failure_is_a_503_logged_as_an_error_without_a_traceback(
    app: ModuleType, fakes: Fakes
) -> None:
    response = app.handle_error(KeyStoreError("no usable key"))

    assert response["statusCode"] == 503
    assert response["multiValueHeaders"]["Retry-After"] == ["2"]
    assert fakes.logger.records == [
        (
            "error",
            "token request failed",
            {
                "error": "temporarily_unavailable",
                "status": 503,
                "dependency_error": "KeyStoreError",
                "aws_code": None,
            },
            None,
        )
    ]
    assert [name for name, _, _ in fakes.metrics.added] == ["TokenError.temporarily_unavailable"]


def test_a_client_over_its_token_rate_is_counted_apart_from_an_outage(app: ModuleType, fakes: Fakes) -> None:
    fakes.grant.outcome = TokenRateExceeded("pc_partner", retry_after=5, limit=3)

    response = app.answer(event())

    assert (response["statusCode"], response["multiValueHeaders"]["Retry-After"]) == (429, ["5"])
    assert [(name, value) for name, _, value in fakes.metrics.added] == [("TokenRateLimited", 1)]
    assert str(fakes.metrics.added[0][1].value) == "Count"
    assert [record[:2] for record in fakes.logger.records] == [("info", "token request refused")]


# -- revocation and introspection glue (app.revoke, app.introspect) ---------------------------------------


class FakeRevocation:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, str]] = []

    def revoke(self, event: Any, *, issuer: str) -> Any:
        self.calls.append((event, issuer))
        return SimpleNamespace(result="Revoked", log_fields=lambda: {"jti": "j9"})


class FakeIntrospection:
    def __init__(self, active: bool) -> None:
        self.active = active
        self.calls: list[tuple[Any, str]] = []

    def introspect(self, event: Any, *, issuer: str) -> Any:
        self.calls.append((event, issuer))
        outcome = SimpleNamespace(
            active=self.active,
            log_fields=lambda: {"jti": "j9"},
            response_body=lambda: {"active": self.active},
        )
        return "pc_caller", outcome


def test_a_revocation_is_200_with_an_empty_body_logged_and_counted_by_result(
    app: ModuleType, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 7009 §2.2."""
    revocation = FakeRevocation()
    monkeypatch.setattr(app, "endpoints", SimpleNamespace(revocation=revocation))
    request = event(path=REVOCATION_PATH, body="token=x")

    response = app.answer(request)

    assert response == {
        "statusCode": 200,
        "body": "",
        "isBase64Encoded": False,
        "multiValueHeaders": {"Cache-Control": ["no-store"], "Pragma": ["no-cache"]},
    }
    assert revocation.calls == [(request, ISSUER)]
    assert fakes.logger.records == [("info", "token revocation", {"jti": "j9"}, None)]
    assert [(name, value) for name, _, value in fakes.metrics.added] == [("Revocation.Revoked", 1)]
    assert str(fakes.metrics.added[0][1].value) == "Count"


@pytest.mark.parametrize(
    ("active", "metric"), [(True, "IntrospectionActive"), (False, "IntrospectionInactive")]
)
def test_an_introspection_is_answered_with_no_store_logged_and_counted_by_activity(
    app: ModuleType, fakes: Fakes, monkeypatch: pytest.MonkeyPatch, active: bool, metric: str
) -> None:
    """RFC 7662 §2.2."""
    introspection = FakeIntrospection(active)
    monkeypatch.setattr(app, "endpoints", SimpleNamespace(introspection=introspection))
    request = event(path=INTROSPECTION_PATH, body="token=x")

    response = app.answer(request)

    assert (response["statusCode"], json.loads(response["body"])) == (200, {"active": active})
    assert response["multiValueHeaders"] == NO_STORE_JSON
    assert introspection.calls == [(request, ISSUER)]
    assert fakes.logger.records == [
        ("info", "token introspection", {"client_id": "pc_caller", "jti": "j9"}, None)
    ]
    assert [(name, value) for name, _, value in fakes.metrics.added] == [(metric, 1)]
    assert str(fakes.metrics.added[0][1].value) == "Count"


# -- the handler (app.lambda_handler, app.traced, app.message_as_written) ---------------------------------


@pytest.mark.parametrize("message", ['{"a": 1}', "[1]", "text", None])
def test_a_log_message_is_kept_as_written(app: ModuleType, message: Any) -> None:
    assert app.message_as_written(message) is message


class FakeTracer:
    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self.options: dict[str, Any] = {}

    def capture_lambda_handler(self, **options: Any) -> Any:
        self.options = options
        return lambda handler: ("wrapped", handler)


def test_a_disabled_tracer_leaves_the_handler_as_it_is_and_an_enabled_one_wraps_it_without_the_response(
    app: ModuleType,
) -> None:
    def handler(event: Any, context: Any) -> Any:
        return event

    assert app.traced(FakeTracer(disabled=True), handler) is handler
    enabled = FakeTracer(disabled=False)
    assert app.traced(enabled, handler) == ("wrapped", handler)
    assert enabled.options == {"capture_response": False, "capture_error": False}  # the token is in both


def test_every_invocation_logs_with_its_request_id_and_only_the_first_is_the_cold_start(
    app: ModuleType, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnerauth.invocation_log import ColdStart

    answered: list[Any] = []

    def answer(event: Any, context: Any) -> str:
        answered.append((event, context))
        return "answer"

    monkeypatch.setattr(app, "_answer", answer)
    monkeypatch.setattr(app, "_cold_start", ColdStart())
    monkeypatch.setattr(app, "_SAMPLED", True)
    context = SimpleNamespace(
        function_name="TokenFunction",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        memory_limit_in_mb=512,
        aws_request_id="lambda-1",
    )
    request = event()

    assert app.lambda_handler(request, context) == "answer"
    assert fakes.logger.keys["correlation_id"] == "req-1"
    assert fakes.logger.keys["cold_start"] is True
    assert fakes.logger.keys["function_request_id"] == "lambda-1"
    assert fakes.logger.refreshed == 0  # the cold start's sample was drawn at import

    assert app.lambda_handler(request, context) == "answer"
    assert fakes.logger.keys["cold_start"] is False
    assert fakes.logger.refreshed == 1  # drawn again per warm invocation
    assert answered == [(request, context), (request, context)]

    monkeypatch.setattr(app, "_SAMPLED", False)
    app.lambda_handler(request, context)
    assert fakes.logger.refreshed == 1


def test_the_module_refuses_to_start_without_its_settings(app: ModuleType) -> None:
    with pytest.raises(ConfigurationError):
        type(app.settings).from_env({})


@pytest.mark.parametrize(
    ("path", "endpoint"), [(REVOCATION_PATH, "revocation"), (INTROSPECTION_PATH, "introspection")]
)
def test_revocation_and_introspection_derive_the_issuer_from_the_request_context_without_a_configured_one(
    app: ModuleType, fakes: Fakes, monkeypatch: pytest.MonkeyPatch, path: str, endpoint: str
) -> None:
    """The issuer a token must name (RFC 7009 §2.1 / RFC 7662 §2.1 authenticate the caller against it)."""
    fake = FakeRevocation() if endpoint == "revocation" else FakeIntrospection(active=False)
    monkeypatch.setattr(app, "endpoints", SimpleNamespace(**{endpoint: fake}))
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, issuer=None))

    app.answer(event(path=path, body="token=x"))

    assert [issuer for _, issuer in fake.calls] == ["https://auth.execute-api.test/dev"]


class FakeSecrets:
    def __init__(self) -> None:
        self.reads: list[tuple[str, Any]] = []

    def get(self, name: str, *, max_age: Any) -> str:
        self.reads.append((name, max_age))
        return "the-pepper"


def test_the_pepper_is_the_configured_secret_kept_for_an_hour(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = FakeSecrets()
    monkeypatch.setattr(app, "_secrets", secrets)

    assert app._pepper() == "the-pepper"
    assert secrets.reads == [(ENVIRONMENT["PEPPER_SECRET_ARN"], 3600)]
    assert app.PEPPER_MAX_AGE == 3600
