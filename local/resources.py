"""The template's data resources, created in the local AWS endpoint from their own definitions.

Tables, KMS keys (and their aliases) and Secrets Manager secrets are built by the same helpers the
tests use (``local/cloudformation.py``), so a change of key schema, TTL attribute, key spec or
secret generation in template.yaml reaches the local stack and the tests alike.  Physical names
are ``<stack>-<LogicalId>`` (CloudFormation adds a random suffix; locally a fixed name is easier to
find with the AWS CLI).  Key policies are not applied: moto does not evaluate them.

Everything else (functions, APIs, log groups, alarms, topics) has no local AWS counterpart: the
functions run in-process (:mod:`local.lambda_runtime`) and the APIs are served by
:mod:`local.gateway`; those are listed as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

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
# Creation order: an alias names its key, so keys come first.
CREATED_TYPES: Final = (TABLE, KMS_KEY, SECRET, KMS_ALIAS)
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
) -> LocalResources:
    resources: Mapping[str, Mapping[str, Any]] = template.get("Resources") or {}
    result = LocalResources()
    for resource_type in CREATED_TYPES:
        for logical_id, declaration in resources.items():
            if declaration.get("Type") != resource_type or not _wanted(template, declaration, parameters):
                continue
            physical = _create(
                template, logical_id, resource_type, client, f"{stack_name}-{logical_id}", result
            )
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
