"""CloudFormation / SAM templates as plain dicts, their intrinsic functions, moto resources built from them.

The project's one template loader: the local stack reads its templates with it, and the tests create their
tables, KMS key and pepper secret from `template.yaml` with it, so tests, the local stack and infrastructure
cannot drift: change a key schema or a TTL attribute in the template and both see it.  (It lives in `local/`
because the product never imports from `tests/`; `tests/support/template.py` re-exports it.)

    tables = create_all_tables(boto3.client("dynamodb"))           # {"ClientsTable": "ClientsTable", ...}
    env = function_environment("TokenFunction", refs={**tables, "ClientSecretPepper": arn})

Clients are plain boto3 clients (inside `moto.mock_aws()`); they are typed `Any` because boto3 ships no types.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"

Template = dict[str, Any]
AwsClient = Any  # a boto3 client

# ----------------------------------------------------------------------------------------------------------
# Loading: CloudFormation short tags -> the long (JSON) form
# ----------------------------------------------------------------------------------------------------------
_SHORT_TAGS = (
    "Ref", "Condition", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Select", "Split", "Join",
    "FindInMap", "ImportValue", "Base64", "Cidr", "GetAZs",
)  # fmt: skip


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that turns `!Ref X` into `{"Ref": "X"}`, `!Sub s` into `{"Fn::Sub": "s"}`, etc."""


def _long_form(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":  # !GetAtt Resource.Attribute -> ["Resource", "Attribute"]
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in _SHORT_TAGS:
    CloudFormationLoader.add_constructor(f"!{_tag}", _long_form(_tag))


def parse_template(text: str) -> Template:
    """Parse CloudFormation/SAM YAML text into plain dicts, lists and scalars."""
    loaded = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(loaded, dict):
        raise TypeError("a template is a YAML mapping")
    return loaded


@functools.cache
def _parsed(path: Path) -> Template:
    return parse_template(path.read_text(encoding="utf-8"))


def load_template(path: Path = TEMPLATE_PATH) -> Template:
    """The template as plain dicts (a fresh copy: callers may mutate it)."""
    return copy.deepcopy(_parsed(path))


def resources_of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of `resource_type` (e.g. "AWS::DynamoDB::Table")."""
    return {lid: res for lid, res in template["Resources"].items() if res.get("Type") == resource_type}


def resource(template: Template, logical_id: str, resource_type: str) -> dict[str, Any]:
    res = template["Resources"].get(logical_id)
    if res is None or res.get("Type") != resource_type:
        raise KeyError(f"{logical_id} is not a {resource_type} in template.yaml")
    return dict(res)


# ----------------------------------------------------------------------------------------------------------
# Resolving intrinsic functions (enough for environments and resource properties in tests)
# ----------------------------------------------------------------------------------------------------------
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "partnerauth-test",
    "AWS::URLSuffix": "amazonaws.com",
}
_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against parameter values and the physical ids of resources.

    `refs` maps a logical id to what `!Ref` returns (a table name, a secret ARN, a key id) and
    "LogicalId.Attribute" to what `!GetAtt` returns. Parameters take their template default unless given.
    `pseudo_parameters` override `PSEUDO_PARAMETERS` (e.g. `AWS::StackName`); `imports` maps export names
    to what `!ImportValue` returns. A reference to anything not supplied raises KeyError, so a test never
    silently gets a placeholder.
    """

    def __init__(
        self,
        template: Template,
        refs: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        *,
        pseudo_parameters: Mapping[str, str] | None = None,
        imports: Mapping[str, str] | None = None,
    ) -> None:
        self._template = template
        self._refs = dict(refs or {})
        self._pseudo = {**PSEUDO_PARAMETERS, **(pseudo_parameters or {})}
        self._imports = dict(imports or {})  # export name -> value, for Fn::ImportValue
        declared = template.get("Parameters", {})
        unknown = set(parameters or {}) - set(declared)
        if unknown:
            raise KeyError(f"not parameters of the template: {sorted(unknown)}")
        self._parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        self._parameters.update(parameters or {})
        self._functions = self._function_table()

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function evaluated; AWS::NoValue entries are dropped."""
        resolved = self._resolve(value)
        if resolved is _NO_VALUE:
            raise ValueError("the value resolves to AWS::NoValue")
        return resolved

    def condition(self, name: str) -> bool:
        return bool(self._resolve(self._template["Conditions"][name]))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self._resolve, value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            function = self._functions.get(key)
            if function is not None:
                return function(arg)
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _function_table(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref,
            "Condition": self.condition,
            "Fn::GetAtt": lambda arg: self._lookup(".".join(arg) if isinstance(arg, list) else arg),
            "Fn::Sub": self._sub,
            "Fn::If": self._if,
            "Fn::Equals": lambda arg: self._resolve(arg[0]) == self._resolve(arg[1]),
            "Fn::Not": lambda arg: not self._resolve(arg[0]),
            "Fn::And": lambda arg: all(self._resolve(a) for a in arg),
            "Fn::Or": lambda arg: any(self._resolve(a) for a in arg),
            "Fn::Join": lambda arg: str(self._resolve(arg[0])).join(str(v) for v in self._resolve(arg[1])),
            "Fn::Select": lambda arg: self._resolve(arg[1])[int(self._resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self._resolve(arg[1])).split(str(self._resolve(arg[0]))),
            "Fn::FindInMap": self._find_in_map,
            "Fn::ImportValue": self._import_value,
        }

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._parameters:
            return self._parameters[name]
        return self._lookup(name)

    def _import_value(self, arg: Any) -> str:
        name = str(self._resolve(arg))
        if name not in self._imports:
            raise KeyError(f"no export named {name!r}: pass it in imports=")
        return self._imports[name]

    def _lookup(self, name: str) -> str:
        if name in self._pseudo:
            return self._pseudo[name]
        if name not in self._refs:
            raise KeyError(f"no value for {name!r}: pass it in refs=")
        return self._refs[name]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        local = {k: self._resolve(v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name:
                return self._lookup(name)
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self._resolve(when_true if self.condition(name) else when_false)

    def _find_in_map(self, arg: list[Any]) -> Any:
        name, top, second = (self._resolve(a) for a in arg)
        return self._template["Mappings"][name][top][second]


def function_environment(
    logical_id: str,
    refs: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
    template: Template | None = None,
    *,
    stack_name: str | None = None,
) -> dict[str, str]:
    """The environment variables a function gets when deployed: Globals merged with its own, resolved.

    `refs` gives the physical ids (table names, secret ARN, key id, API ids) the variables refer to;
    `stack_name` is `AWS::StackName` (default: `PSEUDO_PARAMETERS`').
    """
    template = template if template is not None else load_template()
    function = resource(template, logical_id, "AWS::Serverless::Function")
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    own_env = function.get("Properties", {}).get("Environment", {})
    merged = {**global_env.get("Variables", {}), **own_env.get("Variables", {})}
    pseudo = {"AWS::StackName": stack_name} if stack_name is not None else None
    resolved = Resolver(template, refs, parameters, pseudo_parameters=pseudo).resolve(merged)
    return {name: str(value) for name, value in resolved.items()}


# ----------------------------------------------------------------------------------------------------------
# moto resources built from the template
# ----------------------------------------------------------------------------------------------------------
def _without_throughput_when_on_demand(
    indexes: list[dict[str, Any]], on_demand: bool
) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in index.items() if not (on_demand and k == "ProvisionedThroughput")}
        for index in indexes
    ]


def _table_properties(template: Template, logical_id: str) -> dict[str, Any]:
    declared = resource(template, logical_id, "AWS::DynamoDB::Table")["Properties"]
    # A ResourcePolicy is IAM only (local and test tables enforce none) and names roles that exist only when
    # deployed (AuditTable's names AuditRecorderFunctionRole): left out, not resolved.
    declared = {name: value for name, value in declared.items() if name != "ResourcePolicy"}
    properties: dict[str, Any] = Resolver(template).resolve(declared)
    return properties


def table_request(
    logical_id: str, table_name: str | None = None, template: Template | None = None
) -> dict[str, Any]:
    """The `CreateTable` request equivalent to the template's `AWS::DynamoDB::Table` definition."""
    template = template if template is not None else load_template()
    props = _table_properties(template, logical_id)
    billing_mode = props.get("BillingMode", "PROVISIONED")
    on_demand = billing_mode == "PAY_PER_REQUEST"
    request: dict[str, Any] = {
        "TableName": table_name or props.get("TableName") or logical_id,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing_mode,
    }
    if not on_demand:
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = _without_throughput_when_on_demand(
            props["GlobalSecondaryIndexes"], on_demand
        )
    if "LocalSecondaryIndexes" in props:
        request["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        request["SSESpecification"] = {
            "Enabled": sse.get("SSEEnabled", False),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
            **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
        }
    # DeletionProtectionEnabled is left out on purpose: test tables must be deletable.
    return request


def create_table_from_template(
    dynamodb_client: AwsClient,
    logical_id: str,
    table_name: str | None = None,
    template: Template | None = None,
) -> str:
    """Create the table `logical_id` of the template (keys, indexes, billing, TTL, PITR); return its name."""
    template = template if template is not None else load_template()
    request = table_request(logical_id, table_name, template)
    props = _table_properties(template, logical_id)
    name: str = request["TableName"]
    dynamodb_client.create_table(**request)
    dynamodb_client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 0, "MaxAttempts": 5}
    )
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb_client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        dynamodb_client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return name


def table_logical_ids(template: Template | None = None) -> list[str]:
    template = template if template is not None else load_template()
    return sorted(resources_of_type(template, "AWS::DynamoDB::Table"))


def create_all_tables(
    dynamodb_client: AwsClient,
    name_prefix: str = "",
    template: Template | None = None,
) -> dict[str, str]:
    """Create every table of the template; return logical id -> table name (`name_prefix` + logical id)."""
    template = template if template is not None else load_template()
    return {
        lid: create_table_from_template(dynamodb_client, lid, f"{name_prefix}{lid}", template)
        for lid in table_logical_ids(template)
    }


def create_kms_key_from_template(
    kms_client: AwsClient,
    logical_id: str = "SigningKeyEncryptionKey",
    template: Template | None = None,
) -> str:
    """Create the template's KMS key (spec, usage, description, rotation); return its key id (= `!Ref`).

    The key policy is not applied: moto does not evaluate key policies (tests/test_template.py checks it).
    """
    template = template if template is not None else load_template()
    props = resource(template, logical_id, "AWS::KMS::Key")["Properties"]
    created = kms_client.create_key(
        Description=props.get("Description", logical_id),
        KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
        KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
    )
    key_id: str = created["KeyMetadata"]["KeyId"]
    if props.get("EnableKeyRotation"):
        kms_client.enable_key_rotation(KeyId=key_id)
    return key_id


def create_secret_from_template(
    secretsmanager_client: AwsClient,
    logical_id: str = "ClientSecretPepper",
    name: str | None = None,
    template: Template | None = None,
) -> str:
    """Create the template's secret, its value generated as `GenerateSecretString` says; return its ARN."""
    template = template if template is not None else load_template()
    props = resource(template, logical_id, "AWS::SecretsManager::Secret")["Properties"]
    generate = props.get("GenerateSecretString")
    if generate is None:
        raise ValueError(f"{logical_id} has no GenerateSecretString")
    options = {
        k: generate[k]
        for k in (
            "PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation", "ExcludeUppercase",
            "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType",
        )
        if k in generate
    }  # fmt: skip
    value: str = secretsmanager_client.get_random_password(**options)["RandomPassword"]
    created = secretsmanager_client.create_secret(
        Name=name or logical_id,
        Description=props.get("Description", logical_id),
        SecretString=value,
    )
    arn: str = created["ARN"]
    return arn
