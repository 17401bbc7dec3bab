"""The template's data resources, created in the local AWS endpoint from their own definitions.

Tables, KMS keys (and their aliases) and Secrets Manager secrets are built by the same helpers the
tests use (``local/cloudformation.py``), so a change of key schema, TTL attribute, key spec or
secret generation in template.yaml reaches the local stack and the tests alike.  Physical names
are ``<stack>-<LogicalId>`` (CloudFormation adds a random suffix; locally a fixed name is easier to
find with the AWS CLI).  Key policies are not applied: moto does not evaluate them.

REST APIs (``AWS::Serverless::Api``) exist in the local API Gateway too, under the id the local gateway
serves them with (:func:`local.assembly.local_api_id`), with their ``ApiKeySourceType`` and stage, so
that the template's usage plans (``AWS::ApiGateway::UsagePlan``: stages, throttle, quota), API keys and
usage plan keys can be created as declared; partners' keys are added by the admin CLI, and
:mod:`local.usage_plans` meters requests by what API Gateway then holds.

Everything else (functions, HTTP APIs, log groups, alarms, topics) has no local AWS counterpart: the
functions run in-process (:mod:`local.lambda_runtime`) and the APIs are served by
:mod:`local.gateway`; those are listed as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .assembly import local_api_id
from .cloudformation import (
    Resolver,
    create_kms_key_from_template,
    create_secret_from_template,
    create_table_from_template,
)

TABLE: Final = "AWS::DynamoDB::Table"
KMS_KEY: Final = "AWS::KMS::Key"
KMS_ALIAS: Final = "AWS::KMS::Alias"
SECRET: Final = "AWS::SecretsManager::Secret"
REST_API: Final = "AWS::Serverless::Api"
USAGE_PLAN: Final = "AWS::ApiGateway::UsagePlan"
API_KEY: Final = "AWS::ApiGateway::ApiKey"
USAGE_PLAN_KEY: Final = "AWS::ApiGateway::UsagePlanKey"
# Creation order: an alias names its key, a plan its APIs, a plan key its plan and key.
CREATED_TYPES: Final = (TABLE, KMS_KEY, SECRET, KMS_ALIAS, REST_API, USAGE_PLAN, API_KEY, USAGE_PLAN_KEY)
REST_API_PROPERTIES: Final = frozenset({"Name", "StageName", "ApiKeySourceType"})
STAGE_DEPLOYMENT: Final = "local"  # the deployment id the local stages name (nothing is deployed)
ClientFactory = Callable[[str], Any]  # service name -> boto3 client bound to the local endpoint


@dataclass
class LocalResources:
    """What ``!Ref`` / ``!GetAtt`` of the created resources return, keyed as the template's Resolver wants."""

    refs: dict[str, str] = field(default_factory=dict)  # "Logical" and "Logical.Attribute"
    created: list[tuple[str, str, str]] = field(default_factory=list)  # (logical id, type, physical id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (logical id, type)


def create_resources(
    template: dict[str, Any],
    client: ClientFactory,
    *,
    stack_name: str,
    parameters: Mapping[str, str],
    id_prefix: str = "",
) -> LocalResources:
    """``id_prefix``: the stack's prefix of function and API ids (``"<example>/"``; "" for the main stack)."""
    resources: Mapping[str, Mapping[str, Any]] = template.get("Resources") or {}
    result = LocalResources()
    for resource_type in CREATED_TYPES:
        for logical_id, declaration in resources.items():
            if declaration.get("Type") != resource_type or not _wanted(template, declaration, parameters):
                continue
            name = f"{stack_name}-{logical_id}"
            if resource_type in (REST_API, USAGE_PLAN, API_KEY, USAGE_PLAN_KEY):
                resolver = Resolver(
                    template, result.refs, parameters, pseudo_parameters={"AWS::StackName": stack_name}
                )
                declared = dict(declaration.get("Properties") or {})
                if resource_type == REST_API:  # only what API Gateway keeps (not log groups, functions)
                    declared = {k: v for k, v in declared.items() if k in REST_API_PROPERTIES}
                properties = resolver.resolve(declared)
                api_id = local_api_id(f"{id_prefix}{logical_id}")
                physical = _create_api_gateway(
                    client("apigateway"), logical_id, resource_type, name, properties, api_id, result
                )
            else:
                physical = _create(template, logical_id, resource_type, client, name, result)
            result.refs[logical_id] = physical
            result.created.append((logical_id, resource_type, physical))
    result.skipped = [
        (logical_id, str(declaration.get("Type")))
        for logical_id, declaration in resources.items()
        if declaration.get("Type") not in CREATED_TYPES
    ]
    return result


def _wanted(template: dict[str, Any], declaration: Mapping[str, Any], parameters: Mapping[str, str]) -> bool:
    condition = declaration.get("Condition")
    return condition is None or Resolver(template, parameters=parameters).condition(condition)


def _create(
    template: dict[str, Any],
    logical_id: str,
    resource_type: str,
    client: ClientFactory,
    name: str,
    result: LocalResources,
) -> str:
    if resource_type == TABLE:
        dynamodb = client("dynamodb")
        table_name = create_table_from_template(dynamodb, logical_id, name, template)
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        result.refs[f"{logical_id}.Arn"] = table["TableArn"]
        if "LatestStreamArn" in table:
            result.refs[f"{logical_id}.StreamArn"] = table["LatestStreamArn"]
        return table_name
    if resource_type == KMS_KEY:
        kms = client("kms")
        key_id = create_kms_key_from_template(kms, logical_id, template)
        result.refs[f"{logical_id}.Arn"] = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        return key_id
    if resource_type == SECRET:
        return create_secret_from_template(client("secretsmanager"), logical_id, name, template)
    # KMS_ALIAS: its name and target come from the template (resolved against the keys made above).
    properties = Resolver(template, result.refs).resolve(template["Resources"][logical_id]["Properties"])
    alias_name = str(properties["AliasName"])
    client("kms").create_alias(AliasName=alias_name, TargetKeyId=str(properties["TargetKeyId"]))
    return alias_name


def _create_api_gateway(
    apigateway: Any,
    logical_id: str,
    resource_type: str,
    name: str,
    properties: Mapping[str, Any],
    api_id: str,
    result: LocalResources,
) -> str:
    if resource_type == REST_API:
        # The local gateway serves the API as `api_id`; moto takes a wanted id from this tag.
        created = apigateway.create_rest_api(
            name=str(properties.get("Name") or name),
            apiKeySource=str(properties.get("ApiKeySourceType", "HEADER")),
            tags={"_custom_id_": api_id},
        )
        stage = str(properties.get("StageName", "Prod"))
        apigateway.create_stage(restApiId=created["id"], stageName=stage, deploymentId=STAGE_DEPLOYMENT)
        result.refs[f"{logical_id}.Stage"] = stage
        result.refs[f"{logical_id}.RootResourceId"] = str(created.get("rootResourceId", ""))
        return str(created["id"])
    if resource_type == USAGE_PLAN:
        return str(apigateway.create_usage_plan(**usage_plan_request(properties, name))["id"])
    if resource_type == API_KEY:
        request: dict[str, Any] = {
            "name": str(properties.get("Name") or name),
            "enabled": bool(properties.get("Enabled", False)),
        }
        if properties.get("Value"):
            request["value"] = str(properties["Value"])
        return str(apigateway.create_api_key(**request)["id"])
    # USAGE_PLAN_KEY
    apigateway.create_usage_plan_key(
        usagePlanId=str(properties["UsagePlanId"]),
        keyId=str(properties["KeyId"]),
        keyType=str(properties.get("KeyType", "API_KEY")),
    )
    return f"{properties['UsagePlanId']}:{properties['KeyId']}"


def usage_plan_request(properties: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``CreateUsagePlan`` arguments from an ``AWS::ApiGateway::UsagePlan``'s resolved properties."""
    request: dict[str, Any] = {
        "name": str(properties.get("UsagePlanName") or name),
        "description": str(properties.get("Description", "")),
        "apiStages": [
            {
                "apiId": str(stage["ApiId"]),
                "stage": str(stage["Stage"]),
                **({"throttle": _method_throttles(stage["Throttle"])} if stage.get("Throttle") else {}),
            }
            for stage in properties.get("ApiStages") or ()
        ],
    }
    throttle = properties.get("Throttle")
    if throttle:
        request["throttle"] = _throttle(throttle)
    quota = properties.get("Quota")
    if quota:
        request["quota"] = {
            "limit": int(quota["Limit"]),
            "period": str(quota.get("Period", "DAY")),
            "offset": int(quota.get("Offset", 0)),
        }
    tags = properties.get("Tags") or ()
    if tags:
        request["tags"] = {str(tag["Key"]): str(tag["Value"]) for tag in tags}
    return request


def _throttle(throttle: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if "RateLimit" in throttle:
        settings["rateLimit"] = float(throttle["RateLimit"])
    if "BurstLimit" in throttle:
        settings["burstLimit"] = int(throttle["BurstLimit"])
    return settings


def _method_throttles(throttles: Mapping[str, Any]) -> dict[str, Any]:
    return {str(method): _throttle(settings) for method, settings in throttles.items()}
