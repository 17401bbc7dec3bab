"""What the local stack reads from template.yaml, and how it resolves it with local values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from local.assembly import (
    StackScope,
    exported_functions,
    function_definitions,
    http_apis,
    import_parameters,
    routes,
)
from local.config import LOCAL_PARAMETERS, STACK_NAME, LocalConfig
from local.identity_source import IdentitySources
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
    "ApisTable": "apis",
    "RevocationsTable": "revocations",
    "ClientAssertionsTable": "client-assertions",
    "AuditTable": "audit",
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
    default = model.apis["SampleApi"].default_authorizer
    assert default is not None
    for route in model.routes:
        assert route.authorizer == (default if route.api_id == "SampleApi" else None)


def test_the_sample_api_authorizer_is_a_request_authorizer_keyed_per_route(model: TemplateModel) -> None:
    # issue 12: one cached answer per (token, method, resource)
    spec = model.apis["SampleApi"].authorizers["PartnerRequestAuthorizer"]
    assert spec.function_id == "AuthorizerFunction"
    assert spec.payload_type == "REQUEST"
    assert spec.identity == IdentitySources(
        headers=("Authorization",), context=("httpMethod", "resourcePath")
    )


def test_the_sample_http_api_is_read_with_its_routes_authorizer_and_stage_variable(
    model: TemplateModel,
) -> None:
    api = model.http_apis["SampleHttpApi"]
    assert api.stage_variables == {"partnerauthApi": "sample-http"}
    authorizer = api.authorizers["PartnerHttpAuthorizer"]
    assert authorizer.function_id == "AuthorizerFunction"
    assert authorizer.simple_responses is True
    assert authorizer.identity == IdentitySources(headers=("Authorization",), context=("routeKey",))
    keys = {(r.route_key, r.function_id, r.authorizer) for r in model.http_routes}
    assert keys == {
        ("GET /shipments", "SampleHttpApiFunction", "PartnerHttpAuthorizer"),
        ("GET /shipments/{id}", "SampleHttpApiFunction", "PartnerHttpAuthorizer"),
        ("POST /shipments/{id}/cancel", "SampleHttpApiFunction", "PartnerHttpAuthorizer"),
    }


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
    assert orders.authorizer.identity.rest_expressions() == [
        "method.request.header.Authorization",
        "context.httpMethod",
        "context.resourcePath",
    ]
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
                Queue: {Type: SQS, Properties: {Queue: arn:aws:sqs:us-east-1:123456789012:q}}
        """,
    )
    assert TemplateModel.load(path).unserved_events == ("Fn.Queue (SQS)",)


# -- HTTP APIs and REQUEST authorizers, from small templates ---------------------------------------------

HTTP_TEMPLATE = """
Parameters:
  Ttl: {Type: Number, Default: 120}
Resources:
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: dev
      StageVariables: {profile: shipping}
      Auth:
        DefaultAuthorizer: L
        Authorizers:
          L:
            FunctionArn: !GetAtt Auth.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              QueryStrings: [tenant]
              Context: [routeKey]
              StageVariables: [profile]
              ReauthorizeEvery: !Ref Ttl
  Auth: {Type: AWS::Serverless::Function, Properties: {CodeUri: a, Handler: a.app.h}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f
      Handler: f.app.h
      Events:
        List: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /things, Method: get}}
        Any: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/things/{proxy+}", Method: any}}
        Slash: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /slash/, Method: post}}
        Open:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: /health, Method: get, Auth: {Authorizer: NONE}}
        Default: {Type: HttpApi, Properties: {ApiId: !Ref Http}}
"""


def test_an_http_api_its_routes_and_its_lambda_authorizer_are_read(tmp_path: Path) -> None:
    model = TemplateModel.load(write_template(tmp_path, HTTP_TEMPLATE))
    api = model.http_apis["Http"]
    assert (api.stage, dict(api.stage_variables), api.default_authorizer) == (
        "dev",
        {"profile": "shipping"},
        "L",
    )
    authorizer = api.authorizers["L"]
    assert authorizer.simple_responses is True
    assert authorizer.identity.http_expressions() == [
        "$request.header.Authorization",
        "$request.querystring.tenant",
        "$context.routeKey",
        "$stageVariables.profile",
    ]
    assert {r.route_key: r.authorizer for r in model.http_routes} == {
        "GET /things": "L",
        "ANY /things/{proxy+}": "L",
        "POST /slash": "L",  # SAM trims the trailing slash
        "GET /health": None,
        "$default": "L",
    }
    assert model.unserved_events == ()


def test_http_api_configs_resolve_ttl_stage_variables_and_the_authorizer_function(tmp_path: Path) -> None:
    model = TemplateModel.load(write_template(tmp_path, HTTP_TEMPLATE))
    (api,) = http_apis(model, {}, model.parameter_defaults(), lambda _: "127.0.0.1:3002")
    assert api.base_path == "/dev"
    assert dict(api.stage_variables) == {"profile": "shipping"}
    route = next(r for r in api.routes if r.route_key == "GET /things")
    assert route.authorizer is not None
    assert (route.authorizer.function_id, route.authorizer.ttl) == ("Auth", 120)


@pytest.mark.parametrize(
    ("authorizer", "message"),
    [
        ("{FunctionArn: !GetAtt Auth.Arn, AuthorizerPayloadFormatVersion: '1.0'}", r"payload format 2\.0"),
        ("{FunctionArn: !GetAtt Auth.Arn}", r"payload format 2\.0"),
        ("{JwtConfiguration: {issuer: x}, IdentitySource: $request.header.Authorization}", "JWT"),
        (
            (
                "{FunctionArn: !GetAtt Auth.Arn, AuthorizerPayloadFormatVersion: '2.0', "
                "Identity: {Context: [nonsense]}}"
            ),
            "context variables",
        ),
    ],
)
def test_http_api_authorizers_the_local_stack_cannot_serve_are_refused(
    tmp_path: Path, authorizer: str, message: str
) -> None:
    path = write_template(
        tmp_path,
        f"""
        Resources:
          Http:
            Type: AWS::Serverless::HttpApi
            Properties:
              Auth:
                Authorizers:
                  L: {authorizer}
          Auth: {{Type: AWS::Serverless::Function, Properties: {{CodeUri: a, Handler: a.app.h}}}}
        """,
    )
    with pytest.raises(TemplateError, match=message):
        TemplateModel.load(path)


def test_an_http_api_integration_of_payload_format_1_is_refused(tmp_path: Path) -> None:
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
                V1: {Type: HttpApi, Properties: {Path: /x, Method: get, PayloadFormatVersion: "1.0"}}
        """,
    )
    with pytest.raises(TemplateError, match=r"payload format 2\.0"):
        TemplateModel.load(path)


def test_rest_request_authorizer_context_and_stage_variable_sources_and_stage_variables_are_read(
    tmp_path: Path,
) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: dev
              Variables: {partnerauthApi: inventory}
              Auth:
                DefaultAuthorizer: R
                Authorizers:
                  R:
                    FunctionPayloadType: REQUEST
                    FunctionArn: !GetAtt Auth.Arn
                    Identity:
                      Headers: [Authorization]
                      Context: [httpMethod, resourcePath]
                      StageVariables: [partnerauthApi]
          Auth: {Type: AWS::Serverless::Function, Properties: {CodeUri: a, Handler: a.app.h}}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: f
              Handler: f.app.h
              Events:
                Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items, Method: get}}
        """,
    )
    model = TemplateModel.load(path)
    (route,) = routes(model, {}, model.parameter_defaults(), "127.0.0.1:3000")
    assert route.api.stage_variables == {"partnerauthApi": "inventory"}
    assert route.authorizer is not None
    assert route.authorizer.identity.rest_expressions() == [
        "method.request.header.Authorization",
        "context.httpMethod",
        "context.resourcePath",
        "stageVariables.partnerauthApi",
    ]


def test_a_rest_context_variable_api_gateway_does_not_have_is_refused(tmp_path: Path) -> None:
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
                  R:
                    FunctionPayloadType: REQUEST
                    FunctionArn: !GetAtt Auth.Arn
                    Identity: {Context: [routeKey]}
          Auth: {Type: AWS::Serverless::Function, Properties: {CodeUri: a, Handler: a.app.h}}
        """,
    )
    with pytest.raises(TemplateError, match="context variables"):
        TemplateModel.load(path)


# -- an example stack attaching this stack's authorizer ------------------------------------------------


EXAMPLE_TEMPLATE = """
Parameters:
  PartnerAuthStackName: {Type: String, Default: partnerauth}
Resources:
  InventoryApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Partner
        Authorizers:
          Partner:
            FunctionPayloadType: REQUEST
            FunctionArn: !ImportValue {"Fn::Sub": "${PartnerAuthStackName}-AuthorizerFunctionArn"}
            Identity: {Headers: [Authorization], Context: [httpMethod, resourcePath]}
  InventoryFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: inventory
      Handler: inventory.app.h
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref InventoryApi, Path: /items, Method: get}}
"""


def test_an_imported_authorizer_resolves_to_the_main_stacks_exported_function(
    tmp_path: Path, model: TemplateModel, parameters: dict[str, str]
) -> None:
    example = TemplateModel.load(write_template(tmp_path, EXAMPLE_TEMPLATE))
    # the parameter naming the stack an import comes from is the local stack's name
    example_parameters = {**example.parameter_defaults(), **import_parameters(example)}
    assert example_parameters["PartnerAuthStackName"] == STACK_NAME
    exports = exported_functions(model, parameters, STACK_NAME)
    assert exports[f"{STACK_NAME}-AuthorizerFunctionArn"] == "AuthorizerFunction"
    scope = StackScope(f"{STACK_NAME}-inventory", "inventory/", exports)
    (route,) = routes(example, {}, example_parameters, "127.0.0.1:3003", scope)
    assert route.authorizer is not None
    assert route.authorizer.function_id == "AuthorizerFunction"
    assert route.function_id == "inventory/InventoryFunction"
    (definition,) = function_definitions(example, {}, example_parameters, "INFO", id_prefix="inventory/")
    assert definition.logical_id == "inventory/InventoryFunction"
    assert definition.code_dir == tmp_path / "inventory"


def test_an_import_no_local_stack_exports_is_refused(tmp_path: Path) -> None:
    example = TemplateModel.load(write_template(tmp_path, EXAMPLE_TEMPLATE))
    scope = StackScope("x", "inventory/", {})
    with pytest.raises(TemplateError, match="no local stack exports"):
        routes(example, {}, {**example.parameter_defaults(), **import_parameters(example)}, "h", scope)


def test_every_event_of_the_template_is_served(model: TemplateModel) -> None:
    assert model.unserved_events == ()
