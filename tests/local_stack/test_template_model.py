"""What the local stack reads from template.yaml, and how it resolves it with local values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from local.assembly import function_definitions, routes
from local.config import LOCAL_PARAMETERS, LocalConfig
from local.template_model import TemplateError, TemplateModel
from partnerauth.key_lifecycle import RotationSchedule
from tests.support.template import TEMPLATE_PATH

BASE_URL = "http://127.0.0.1:3000"
REFS = {
    "ClientsTable": "clients",
    "SigningKeysTable": "signing-keys",
    "AuthAttemptsTable": "attempts",
    "ClientSecretPepper": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pepper",
    "SigningKeyEncryptionKey": "key-id",
}


@pytest.fixture(scope="module")
def model() -> TemplateModel:
    return TemplateModel.load(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def parameters(model: TemplateModel) -> dict[str, str]:
    return {**model.parameter_defaults(), **LocalConfig().parameters(BASE_URL)}


def test_every_api_event_of_the_template_is_a_route(model: TemplateModel) -> None:
    served = {(r.api_id, r.method, r.path, r.function_id) for r in model.routes}
    assert ("AuthApi", "POST", "/oauth2/token", "TokenFunction") in served
    assert ("AuthApi", "GET", "/.well-known/jwks.json", "JwksFunction") in served
    assert ("AuthApi", "GET", "/.well-known/oauth-authorization-server", "JwksFunction") in served
    assert ("SampleApi", "GET", "/orders/{id}", "SampleApiFunction") in served


def test_the_sample_api_routes_use_its_default_authorizer_and_the_auth_api_is_open(
    model: TemplateModel,
) -> None:
    for route in model.routes:
        assert route.authorizer == ("PartnerTokenAuthorizer" if route.api_id == "SampleApi" else None)


def test_the_authorizer_is_a_token_authorizer_of_the_authorizer_function(model: TemplateModel) -> None:
    spec = model.apis["SampleApi"].authorizers["PartnerTokenAuthorizer"]
    assert spec.function_id == "AuthorizerFunction"
    assert spec.payload_type == "TOKEN"
    assert spec.identity_headers == ("Authorization",)


def test_the_rotation_schedule_and_its_input_are_read(model: TemplateModel) -> None:
    (schedule,) = model.schedules
    assert schedule.function_id == "KeyRotationFunction"
    assert schedule.input == {"action": "reconcile"}


def test_resolved_routes_carry_ttl_validation_and_gateway_response_headers(
    model: TemplateModel, parameters: dict[str, str]
) -> None:
    resolved = routes(model, REFS, parameters, "127.0.0.1:3000")
    orders = next(r for r in resolved if (r.method, r.resource) == ("GET", "/orders"))
    assert orders.authorizer is not None
    assert orders.authorizer.ttl == int(parameters["AuthorizerCacheTtl"])  # the template's TTL, kept locally
    assert orders.authorizer.validation_expression is not None
    assert orders.api.identity.stage == parameters["Stage"]
    # RFC 6750 §3.1: the quotes of the template's static header values are not part of the value
    assert (
        orders.api.gateway_responses["UNAUTHORIZED"].headers["WWW-Authenticate"]
        == 'Bearer error="invalid_token"'
    )
    assert orders.api.gateway_responses["ACCESS_DENIED"].status == 403


def test_functions_get_the_local_issuer_jwks_uri_and_physical_ids(
    model: TemplateModel, parameters: dict[str, str]
) -> None:
    definitions = {d.logical_id: d for d in function_definitions(model, REFS, parameters, "WARNING")}
    assert definitions["TokenFunction"].environment["ISSUER"] == BASE_URL
    assert definitions["TokenFunction"].environment["CLIENTS_TABLE"] == "clients"
    assert definitions["AuthorizerFunction"].environment["ISSUER"] == BASE_URL
    assert definitions["AuthorizerFunction"].environment["JWKS_URI"] == f"{BASE_URL}/.well-known/jwks.json"
    assert definitions["KeyRotationFunction"].environment["KMS_KEY_ID"] == "key-id"
    assert all(d.environment["POWERTOOLS_LOG_LEVEL"] == "WARNING" for d in definitions.values())
    token = definitions["TokenFunction"]
    assert token.handler == "token_issuer.app.lambda_handler"
    assert token.code_dir == TEMPLATE_PATH.parent / "functions" / "token_issuer"
    assert token.layer_dirs == (TEMPLATE_PATH.parent / "layers" / "partnerauth",)


def test_a_function_referring_to_something_not_created_locally_is_refused(
    model: TemplateModel, parameters: dict[str, str]
) -> None:
    with pytest.raises(TemplateError, match="ClientsTable"):
        function_definitions(
            model, {k: v for k, v in REFS.items() if k != "ClientsTable"}, parameters, "INFO"
        )


def test_the_local_timings_keep_every_relation_the_rotation_function_checks(
    model: TemplateModel, parameters: dict[str, str]
) -> None:
    definitions = {d.logical_id: d for d in function_definitions(model, REFS, parameters, "INFO")}
    env = definitions["KeyRotationFunction"].environment
    schedule = RotationSchedule(
        period=int(env["ROTATION_PERIOD"]),
        publish_lead=int(env["PUBLISH_LEAD"]),
        grace=int(env["GRACE"]),
        max_token_lifetime=int(env["MAX_TOKEN_LIFETIME"]),
        authorizer_cache_ttl=int(env["AUTHORIZER_CACHE_TTL"]),
        jwks_max_age=int(env["JWKS_MAX_AGE"]),
        leeway=int(env["LEEWAY"]),
    )
    assert schedule.validate() is schedule
    assert schedule.period == int(LOCAL_PARAMETERS["RotationPeriod"])
    assert schedule.period < 3600  # short enough to watch


# -- templates the local stack cannot serve -------------------------------------------------------------


def write_template(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_an_auth_none_event_is_an_open_route(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: dev
              Auth:
                DefaultAuthorizer: A
                Authorizers:
                  A: {FunctionArn: !GetAtt Auth.Arn}
          Auth: {Type: AWS::Serverless::Function, Properties: {CodeUri: a, Handler: a.app.h}}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: f
              Handler: f.app.h
              Events:
                Open:
                  Type: Api
                  Properties: {RestApiId: !Ref Api, Path: /health, Method: get, Auth: {Authorizer: NONE}}
                Closed: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /data, Method: get}}
        """,
    )
    model = TemplateModel.load(path)
    assert {r.path: r.authorizer for r in model.routes} == {"/health": None, "/data": "A"}
    assert {r.method for r in model.routes} == {"GET"}


def test_an_authorizer_not_given_as_a_function_of_the_template_is_refused(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: dev
              Auth:
                Authorizers:
                  A: {FunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:elsewhere"}
        """,
    )
    with pytest.raises(TemplateError, match="GetAtt"):
        TemplateModel.load(path)


def test_a_function_without_code_uri_is_refused(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Fn: {Type: AWS::Serverless::Function, Properties: {InlineCode: "x", Handler: index.h}}
        """,
    )
    with pytest.raises(TemplateError, match="CodeUri"):
        TemplateModel.load(path)


def test_events_the_stack_does_not_run_are_listed_not_dropped_silently(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: f
              Handler: f.app.h
              Events:
                Http: {Type: HttpApi, Properties: {Path: /x, Method: get}}
        """,
    )
    assert TemplateModel.load(path).unserved_events == ("Fn.Http (HttpApi)",)


def test_every_event_of_the_template_is_served(model: TemplateModel) -> None:
    assert model.unserved_events == ()
