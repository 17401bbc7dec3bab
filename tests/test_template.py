"""template.yaml keeps DESIGN.md's promises, and the test helpers build what the template declares.

DESIGN.md's tables (functions, tables, environment variables, sample routes) are parsed here, so the contract,
the template and the tests cannot drift apart silently.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.template import (
    Resolver,
    Template,
    create_all_tables,
    create_kms_key_from_template,
    create_secret_from_template,
    create_table_from_template,
    function_environment,
    parse_template,
    resources_of_type,
)

ROOT = Path(__file__).resolve().parents[1]
DESIGN = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
REFS = {
    "AuthApi": "authapi123",
    "SampleApi": "sampleapi1",
    "SampleHttpApi": "httpapi1",
    "SigningKeyEncryptionKey": "key-id",
    "ApisTable": "apis",
    "RevocationsTable": "revocations",
    "ClientAssertionsTable": "client-assertions",
    "AuditTable": "partnerauth-audit",
}


def design_rows(header: str) -> list[list[str]]:
    """The body rows of the DESIGN.md table whose header line starts with `header`, as lists of cells."""
    lines = DESIGN.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def design_functions() -> dict[str, tuple[str, str]]:
    """logical id -> (folder, handler)."""
    return {
        ticked(r[0])[0]: (ticked(r[1])[0], ticked(r[2])[0]) for r in design_rows("| logical id | folder |")
    }


def design_environment() -> dict[str, set[str]]:
    """function -> variable names (parenthesised notes, e.g. allowed values, are not names)."""
    return {
        r[0]: set(ticked(re.sub(r"\([^)]*\)", "", r[1]))) for r in design_rows("| function | variables |")
    }


def design_routes() -> dict[str, list[str]]:
    return {ticked(r[0])[0]: ticked(r[1]) for r in design_rows("| route | scope |")}


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def api_events(template: Template, function_id: str) -> dict[str, dict[str, Any]]:
    events = properties(template, function_id).get("Events", {})
    return {name: e["Properties"] for name, e in events.items() if e["Type"] == "Api"}


# ----------------------------------------------------------------------------------------------------------
# The loader
# ----------------------------------------------------------------------------------------------------------
def test_short_form_tags_load_as_their_long_form() -> None:
    text = """
    a: !Ref Param
    b: !GetAtt Role.Arn
    c: !Sub "${AWS::StackName}-x"
    d: !If [Cond, !Join ["", [a, b]], !Ref AWS::NoValue]
    e: !Not [!Equals [!Ref P, ""]]
    f: !Select [0, !Split [",", "x,y"]]
    g: !FindInMap [M, K, V]
    h: !Base64 text
    i: !Cidr [10.0.0.0/16, 2, 8]
    j: !GetAZs ""
    k: !ImportValue Exported
    l: !And [!Condition A, !Or [!Condition B, !Condition C]]
    """
    loaded = parse_template(text)
    assert loaded["a"] == {"Ref": "Param"}
    assert loaded["b"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert loaded["c"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert loaded["d"] == {"Fn::If": ["Cond", {"Fn::Join": ["", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]}
    assert loaded["e"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]}
    assert loaded["f"] == {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]}
    assert loaded["g"] == {"Fn::FindInMap": ["M", "K", "V"]}
    assert loaded["h"] == {"Fn::Base64": "text"}
    assert loaded["i"] == {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}
    assert loaded["j"] == {"Fn::GetAZs": ""}
    assert loaded["k"] == {"Fn::ImportValue": "Exported"}
    assert loaded["l"] == {
        "Fn::And": [{"Condition": "A"}, {"Fn::Or": [{"Condition": "B"}, {"Condition": "C"}]}]
    }


def test_loader_refuses_python_object_tags() -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        parse_template("a: !!python/object/apply:os.system ['true']")


def test_resolver_refuses_to_invent_a_value_for_an_unknown_reference(cfn_template: Template) -> None:
    with pytest.raises(KeyError, match="ClientsTable"):
        function_environment("TokenFunction", refs={}, template=cfn_template)


# ----------------------------------------------------------------------------------------------------------
# Functions, layer, environment
# ----------------------------------------------------------------------------------------------------------
def test_functions_are_the_ones_design_lists(cfn_template: Template) -> None:
    functions = resources_of_type(cfn_template, "AWS::Serverless::Function")
    assert set(functions) == set(design_functions())
    for logical_id, (folder, handler) in design_functions().items():
        props = functions[logical_id]["Properties"]
        assert props["CodeUri"] == folder
        assert props["Handler"] == handler
        assert functions[logical_id]["Metadata"]["BuildMethod"] == "makefile"
        makefile = (ROOT / folder / "Makefile").read_text(encoding="utf-8")
        # A rule for this function's target (one rule may build several functions of one CodeUri).
        assert re.search(rf"^(?:build-\S+ )*build-{logical_id}(?: build-\S+)*:", makefile, re.MULTILINE)


def test_every_function_runs_on_the_layer_with_arm64_python313_and_tracing(cfn_template: Template) -> None:
    function_globals = cfn_template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    assert function_globals["Layers"] == [{"Ref": "PartnerAuthLayer"}]
    assert function_globals["LoggingConfig"]["LogFormat"] == "JSON"
    layer = cfn_template["Resources"]["PartnerAuthLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"] == "layers/partnerauth"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_each_function_logs_to_its_own_log_group_with_the_stack_retention(cfn_template: Template) -> None:
    groups = [properties(cfn_template, f)["LoggingConfig"]["LogGroup"] for f in design_functions()]
    assert len({json.dumps(g) for g in groups}) == len(groups)
    for group in groups:
        assert cfn_template["Resources"][group["Ref"]]["Type"] == "AWS::Logs::LogGroup"
    for log_group in resources_of_type(cfn_template, "AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_environment_variables_are_the_ones_design_lists(cfn_template: Template) -> None:
    optional = {"EXTERNAL_ISSUERS"}  # set only when its parameter is non-empty
    everything = {"ExternalIssuers": "[]"}
    powertools = set(cfn_template["Globals"]["Function"]["Environment"]["Variables"])
    assert powertools == {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
    refs = {**REFS, **dict.fromkeys(["ClientsTable", "SigningKeysTable", "AuthAttemptsTable"], "t")}
    refs["ClientSecretPepper"] = "arn"
    for function, names in design_environment().items():
        with_all = function_environment(function, refs, everything, cfn_template)
        by_default = function_environment(function, refs, template=cfn_template)
        assert set(with_all) - powertools == names, function
        assert set(by_default) - powertools == names - optional, function


@pytest.mark.parametrize(
    ("issuer_url", "issuer", "jwks_uri"),
    [
        (
            "",
            "https://authapi123.execute-api.us-east-1.amazonaws.com/dev",
            "https://authapi123.execute-api.us-east-1.amazonaws.com/dev/.well-known/jwks.json",
        ),
        (
            "https://auth.example.com",
            "https://auth.example.com",
            "https://auth.example.com/.well-known/jwks.json",
        ),
    ],
)
def test_authorizer_trusts_the_issuer_of_this_stack(
    cfn_template: Template, issuer_url: str, issuer: str, jwks_uri: str
) -> None:
    env = function_environment("AuthorizerFunction", REFS, {"IssuerUrl": issuer_url}, cfn_template)
    assert env["ISSUER"] == issuer
    assert env["JWKS_URI"] == jwks_uri
    # Empty IssuerUrl: the token and JWKS functions derive the issuer from the request (no AuthApi cycle).
    tables = dict.fromkeys(["ClientsTable", "SigningKeysTable", "AuthAttemptsTable"], "t")
    token_env = function_environment(
        "TokenFunction", {**REFS, **tables, "ClientSecretPepper": "a"}, {"IssuerUrl": issuer_url}
    )
    assert token_env["ISSUER"] == issuer_url


def test_authorizer_route_scopes_match_the_sample_api_routes(cfn_template: Template) -> None:
    env = function_environment("AuthorizerFunction", REFS, template=cfn_template)
    route_scopes = json.loads(env["ROUTE_SCOPES"])
    assert route_scopes == design_routes()
    routes = {
        f"{e['Method'].upper()} {e['Path']}" for e in api_events(cfn_template, "SampleApiFunction").values()
    }
    assert routes == set(route_scopes)
    # The HTTP API's profile (stage variable partnerauthApi) lists exactly the HTTP API's routes.
    stage_variables = properties(cfn_template, "SampleHttpApi")["StageVariables"]
    profiles = json.loads(env["API_PROFILES"])
    http_profile = profiles[stage_variables["partnerauthApi"]]
    assert http_profile["audience"] == "partner-api"  # the DefaultAudience parameter
    http_routes = {
        f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}"
        for e in properties(cfn_template, "SampleHttpApiFunction")["Events"].values()
        if e["Type"] == "HttpApi"
    }
    assert http_routes == set(http_profile["routes"])
    supported = function_environment(
        "JwksFunction", {"SigningKeysTable": "t", "RevocationsTable": "r"}, template=cfn_template
    )
    assert set(supported["SUPPORTED_SCOPES"].split()) == {
        s for routes in (route_scopes, http_profile["routes"]) for scopes in routes.values() for s in scopes
    }


# ----------------------------------------------------------------------------------------------------------
# Least privilege
# ----------------------------------------------------------------------------------------------------------
def policy_templates(template: Template, function_id: str) -> set[tuple[str, str]]:
    """(SAM policy template, the resource it is scoped to) for every entry of the function's Policies."""
    scoped = set()
    for entry in properties(template, function_id).get("Policies", []):
        assert isinstance(entry, dict), f"{function_id}: only scoped SAM policy templates, got {entry!r}"
        if "Statement" in entry:
            continue  # inline statements: checked by statement_resources
        ((name, args),) = entry.items()
        ((_, target),) = args.items()
        scoped.add((name, target["Ref"]))
    return scoped


def statement_resources(template: Template, function_id: str) -> dict[str, set[str]]:
    """Table logical id -> the actions the function's inline statements allow on it (one table each)."""
    allowed: dict[str, set[str]] = {}
    for entry in properties(template, function_id).get("Policies", []):
        for statement in entry.get("Statement", []) if isinstance(entry, dict) else []:
            assert statement["Effect"] == "Allow"
            (table, attribute) = statement["Resource"]["Fn::GetAtt"]
            assert attribute == "Arn", "one table per statement, no index or wildcard"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            allowed.setdefault(table, set()).update(actions)
    return allowed


def test_each_function_gets_only_the_data_access_it_needs(cfn_template: Template) -> None:
    assert policy_templates(cfn_template, "TokenFunction") == {
        ("AWSSecretsManagerGetSecretValuePolicy", "ClientSecretPepper"),
    }
    # Reads of clients and keys by key (a client with its failure record in one BatchGetItem, issue 16);
    # the failure and issued-token counters are written. The exact actions are the ones the code calls
    # (tests/template/test_token_policy.py records them).
    token_tables = statement_resources(cfn_template, "TokenFunction")
    assert token_tables["ClientsTable"] == {"dynamodb:GetItem", "dynamodb:BatchGetItem"}
    assert token_tables["SigningKeysTable"] == {"dynamodb:GetItem"}
    # private_key_jwt replay records: a (conditional) PutItem, never a read, update or delete
    assert token_tables["ClientAssertionsTable"] == {"dynamodb:PutItem"}
    assert policy_templates(cfn_template, "JwksFunction") == {
        ("DynamoDBReadPolicy", "SigningKeysTable"),
        ("DynamoDBReadPolicy", "RevocationsTable"),  # publishes the revocation document (issue 14)
    }
    assert policy_templates(cfn_template, "KeyRotationFunction") == {
        ("DynamoDBCrudPolicy", "SigningKeysTable")
    }
    # The authorizer reads API profiles, one item at a time, and nothing else.
    assert properties(cfn_template, "AuthorizerFunction")["Policies"] == [
        {
            "Statement": [
                {
                    "Sid": "ReadApiProfiles",
                    "Effect": "Allow",
                    "Action": "dynamodb:GetItem",
                    "Resource": {"Fn::GetAtt": ["ApisTable", "Arn"]},
                }
            ]
        }
    ]
    assert policy_templates(cfn_template, "SampleApiFunction") == set()
    assert policy_templates(cfn_template, "SampleHttpApiFunction") == set()
    for function in design_functions():
        assert "Role" not in properties(cfn_template, function), "roles are SAM-generated <Function>Role"


def principals_allowed(template: Template, action: str) -> set[str]:
    """Who the signing key's policy lets perform `action` (wildcards in the policy honoured)."""
    statements = properties(template, "SigningKeyEncryptionKey")["KeyPolicy"]["Statement"]
    allowed = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
            allowed.add(json.dumps(statement["Principal"]["AWS"], sort_keys=True))
    return allowed


def role(function_id: str) -> str:
    return json.dumps({"Fn::GetAtt": [f"{function_id}Role", "Arn"]}, sort_keys=True)


def test_only_the_token_role_can_decrypt_and_only_the_rotation_role_can_encrypt(
    cfn_template: Template,
) -> None:
    assert principals_allowed(cfn_template, "kms:Decrypt") == {role("TokenFunction")}
    assert principals_allowed(cfn_template, "kms:Encrypt") == {role("KeyRotationFunction")}
    no_one = ("kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyPair")
    for action in (*no_one, "kms:CreateGrant"):
        assert principals_allowed(cfn_template, action) == set(), action
    # The account administers the key (no lock-out) but cannot use it.
    root = json.dumps({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}, sort_keys=True)
    assert principals_allowed(cfn_template, "kms:PutKeyPolicy") == {root}
    assert properties(cfn_template, "SigningKeyEncryptionKey")["EnableKeyRotation"] is True


def test_key_use_is_bound_to_the_signing_key_encryption_context(cfn_template: Template) -> None:
    for statement in properties(cfn_template, "SigningKeyEncryptionKey")["KeyPolicy"]["Statement"][1:]:
        # DESIGN.md: context {"kid": kid, "purpose": "partnerauth-signing-key"}
        assert statement["Condition"] == {
            "StringEquals": {"kms:EncryptionContext:purpose": "partnerauth-signing-key"}
        }


# ----------------------------------------------------------------------------------------------------------
# APIs
# ----------------------------------------------------------------------------------------------------------
def test_auth_api_serves_the_token_jwks_and_metadata_endpoints(cfn_template: Template) -> None:
    token = api_events(cfn_template, "TokenFunction")
    jwks = api_events(cfn_template, "JwksFunction")
    assert {(e["Method"], e["Path"]) for e in token.values()} == {
        ("POST", "/oauth2/token"),
        ("POST", "/oauth2/revoke"),  # RFC 7009 (issue 14 item 2)
        ("POST", "/oauth2/introspect"),  # RFC 7662 (issue 14 item 3)
    }
    assert {(e["Method"], e["Path"]) for e in jwks.values()} == {
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/openid-configuration"),  # OpenID Connect Discovery 1.0 §4 (issue 18)
        ("GET", "/.well-known/revocations.json"),  # token revocations beside the JWKS (issue 14)
    }
    assert all(e["RestApiId"] == {"Ref": "AuthApi"} for e in [*token.values(), *jwks.values()])
    settings = properties(cfn_template, "AuthApi")["MethodSettings"]
    token_route = [
        s for s in settings if s["ResourcePath"] == "/~1oauth2~1token" and s["HttpMethod"] == "POST"
    ]
    assert len(token_route) == 1
    assert token_route[0]["ThrottlingRateLimit"] > 0
    # revocation and introspection authenticate clients as the token endpoint does: the same throttling
    for path in ("/~1oauth2~1revoke", "/~1oauth2~1introspect"):
        (route,) = [s for s in settings if s["ResourcePath"] == path and s["HttpMethod"] == "POST"]
        assert route["ThrottlingRateLimit"] == token_route[0]["ThrottlingRateLimit"]
        assert route["ThrottlingBurstLimit"] == token_route[0]["ThrottlingBurstLimit"]


def test_sample_api_requires_the_request_authorizer_cached_per_route_on_every_route(
    cfn_template: Template,
) -> None:
    auth = properties(cfn_template, "SampleApi")["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    # The answer speaks for one route: it may only be cached per token, method and resource.
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert set(authorizer["Identity"]["Context"]) == {"httpMethod", "resourcePath"}
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtl"}
    events = api_events(cfn_template, "SampleApiFunction").values()
    assert all(e["RestApiId"] == {"Ref": "SampleApi"} and "Auth" not in e for e in events)


def test_sample_http_api_requires_the_authorizer_cached_per_route_key_on_every_route(
    cfn_template: Template,
) -> None:
    api = properties(cfn_template, "SampleHttpApi")
    authorizer = api["Auth"]["Authorizers"][api["Auth"]["DefaultAuthorizer"]]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True  # the authorizer's default HTTP_API_RESPONSE
    assert authorizer["EnableFunctionDefaultPermissions"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert authorizer["Identity"]["Context"] == ["routeKey"]
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtl"}
    events = properties(cfn_template, "SampleHttpApiFunction")["Events"].values()
    assert events
    assert all(
        e["Type"] == "HttpApi"
        and e["Properties"]["ApiId"] == {"Ref": "SampleHttpApi"}
        and "Auth" not in e["Properties"]
        for e in events
    )


def test_gateway_responses_carry_the_rfc6750_challenge(cfn_template: Template) -> None:
    responses = properties(cfn_template, "SampleApi")["GatewayResponses"]
    # RFC 6750 §3.1; API Gateway header values are quoted in single quotes.
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["UNAUTHORIZED"]["ResponseParameters"]["Headers"] == {
        "WWW-Authenticate": "'Bearer error=\"invalid_token\"'"
    }
    assert responses["ACCESS_DENIED"]["StatusCode"] == "403"
    assert responses["ACCESS_DENIED"]["ResponseParameters"]["Headers"] == {
        "WWW-Authenticate": "'Bearer error=\"insufficient_scope\"'"
    }


def test_key_rotation_reconciles_on_a_schedule(cfn_template: Template) -> None:
    events = properties(cfn_template, "KeyRotationFunction")["Events"]
    schedules = [e["Properties"] for e in events.values() if e["Type"] == "ScheduleV2"]
    assert len(schedules) == 1
    assert json.loads(schedules[0]["Input"]) == {"action": "reconcile"}


def test_outputs_name_every_endpoint_and_resource_operators_need(cfn_template: Template) -> None:
    outputs = cfn_template["Outputs"]
    assert set(outputs) >= {
        "Issuer", "TokenUrl", "JwksUrl", "SampleApiUrl", "SampleHttpApiUrl", "ClientsTableName",
        "SigningKeysTableName", "AuthAttemptsTableName", "ApisTableName", "PepperSecretArn",
        "AuthorizerFunctionArn",
    }  # fmt: skip
    assert "Export" in outputs["AuthorizerFunctionArn"]
    token_url = Resolver(cfn_template, REFS).resolve(outputs["TokenUrl"]["Value"])
    assert token_url == "https://authapi123.execute-api.us-east-1.amazonaws.com/dev/oauth2/token"


# ----------------------------------------------------------------------------------------------------------
# Tables, KMS key and pepper built from the template (moto)
# ----------------------------------------------------------------------------------------------------------
def test_tables_are_the_ones_design_lists(cfn_template: Template) -> None:
    declared = resources_of_type(cfn_template, "AWS::DynamoDB::Table")
    rows = design_rows("| logical id | key |")
    assert set(declared) == {ticked(r[0])[0] for r in rows}
    for row in rows:
        props = declared[ticked(row[0])[0]]["Properties"]
        keys = ticked(row[1])  # the HASH key, then the RANGE key if the table has one
        assert props["KeySchema"] == [
            {"AttributeName": key, "KeyType": kind}
            for key, kind in zip(keys, ("HASH", "RANGE"), strict=False)
        ]
        indexed = [
            k["AttributeName"] for i in props.get("GlobalSecondaryIndexes", []) for k in i["KeySchema"]
        ]
        assert props["AttributeDefinitions"] == [
            {"AttributeName": key, "AttributeType": "S"} for key in dict.fromkeys([*keys, *indexed])
        ]
        ttl = ticked(row[2])
        assert props.get("TimeToLiveSpecification") == (
            {"AttributeName": ttl[0], "Enabled": True} if ttl else None
        )
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["DeletionProtectionEnabled"] == {"Ref": "DeletionProtection"}


def test_create_table_from_template_builds_keys_ttl_and_backups(dynamodb_client: Any) -> None:
    name = create_table_from_template(dynamodb_client, "SigningKeysTable", table_name="keys-under-test")
    table = dynamodb_client.describe_table(TableName=name)["Table"]
    assert name == "keys-under-test"
    assert table["KeySchema"] == [{"AttributeName": "kid", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb_client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"AttributeName": "expires_at", "TimeToLiveStatus": "ENABLED"}
    backups = dynamodb_client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_table_without_ttl_in_the_template_gets_none(dynamodb_client: Any) -> None:
    name = create_table_from_template(dynamodb_client, "ClientsTable")
    ttl = dynamodb_client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_secondary_indexes_of_the_template_are_created(dynamodb_client: Any) -> None:
    template = parse_template("""
    Resources:
      Things:
        Type: AWS::DynamoDB::Table
        Properties:
          BillingMode: PAY_PER_REQUEST
          AttributeDefinitions:
            - {AttributeName: pk, AttributeType: S}
            - {AttributeName: sk, AttributeType: S}
            - {AttributeName: owner, AttributeType: S}
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
          GlobalSecondaryIndexes:
            - IndexName: by-owner
              KeySchema: [{AttributeName: owner, KeyType: HASH}]
              Projection: {ProjectionType: KEYS_ONLY}
          LocalSecondaryIndexes:
            - IndexName: by-owner-local
              KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: owner, KeyType: RANGE}]
              Projection: {ProjectionType: ALL}
    """)
    name = create_table_from_template(dynamodb_client, "Things", template=template)
    table = dynamodb_client.describe_table(TableName=name)["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-owner"]
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["by-owner-local"]


def test_create_all_tables_returns_every_logical_id_with_its_name(dynamodb_client: Any) -> None:
    names = create_all_tables(dynamodb_client, name_prefix="t-")
    assert names == {
        "ApisTable": "t-ApisTable",
        "AuditTable": "t-AuditTable",
        "AuthAttemptsTable": "t-AuthAttemptsTable",
        "ClientAssertionsTable": "t-ClientAssertionsTable",
        "ClientsTable": "t-ClientsTable",
        "RevocationsTable": "t-RevocationsTable",
        "SigningKeysTable": "t-SigningKeysTable",
    }
    assert sorted(dynamodb_client.list_tables()["TableNames"]) == sorted(names.values())


def test_kms_key_from_template_is_symmetric_with_rotation(kms_client: Any) -> None:
    key_id = create_kms_key_from_template(kms_client)
    metadata = kms_client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert kms_client.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_pepper_from_template_is_generated_as_the_template_says(secretsmanager_client: Any) -> None:
    arn = create_secret_from_template(secretsmanager_client)
    value = secretsmanager_client.get_secret_value(SecretId=arn)["SecretString"]
    assert len(value) == 64
    assert value.isalnum()


def test_fixtures_give_a_deployed_like_environment(template_env: Any, tables: dict[str, str]) -> None:
    env = template_env("TokenFunction", DefaultAudience="https://api.example.test")
    assert env["CLIENTS_TABLE"] == tables["ClientsTable"]
    assert env["PEPPER_SECRET_ARN"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert env["DEFAULT_AUDIENCE"] == "https://api.example.test"
    assert env["POWERTOOLS_SERVICE_NAME"] == "partnerauth-test"  # the stack's name: its metrics' dimension


# ----------------------------------------------------------------------------------------------------------
# Layer dependencies
# ----------------------------------------------------------------------------------------------------------
def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_layer_pins_match_the_dev_pins_and_leave_boto_to_the_runtime() -> None:
    layer = pins(ROOT / "layers" / "partnerauth" / "requirements.txt")
    dev = pins(ROOT / "requirements" / "dev.txt")
    assert {name: dev.get(name) for name in layer} == layer
    assert {"pyjwt", "cryptography", "aws-lambda-powertools", "aws-xray-sdk"} <= set(layer)
    assert not {"boto3", "botocore", "s3transfer"} & set(layer)
