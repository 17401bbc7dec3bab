"""What the local stack reads from template.yaml: functions, layers, APIs, routes, authorizers, schedules.

The template is parsed by the project's one CloudFormation YAML loader (``local/cloudformation.py``,
which also resolves intrinsic functions and builds the moto resources, so tests and the local stack
read the template the same way).  Values stay as the template writes them, intrinsic functions
included, until the local resources exist.  SAM's ``Globals`` merge as SAM merges them: ``Layers``
add up, scalars (``Timeout``, ``MemorySize``) override; environments are merged and resolved by
``local.cloudformation.function_environment``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .cloudformation import load_template

FUNCTION_TYPE: Final = "AWS::Serverless::Function"
API_TYPE: Final = "AWS::Serverless::Api"
LAYER_TYPE: Final = "AWS::Serverless::LayerVersion"
IMPLICIT_API: Final = "ServerlessRestApi"  # SAM's API for Api events without RestApiId
DEFAULT_TTL: Final = 300  # SAM's default ReauthorizeEvery


class TemplateError(ValueError):
    """template.yaml declares something the local stack cannot serve."""


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    memory: int
    layers: tuple[Any, ...]  # raw values (usually {"Ref": layer id})


@dataclass(frozen=True, slots=True)
class AuthorizerSpec:
    name: str
    function_id: str
    payload_type: str
    identity_headers: tuple[str, ...]
    identity_query_strings: tuple[str, ...]
    validation_expression: Any
    ttl: Any  # raw (often {"Ref": "AuthorizerCacheTtl"})


@dataclass(frozen=True, slots=True)
class ApiSpec:
    logical_id: str
    stage: Any
    default_authorizer: str | None
    authorizers: Mapping[str, AuthorizerSpec]
    gateway_responses: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    api_id: str
    function_id: str
    method: str
    path: str
    authorizer: str | None  # the authorizer's name; None: the route is open


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    function_id: str
    event_name: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class TemplateModel:
    path: Path
    template: Mapping[str, Any]
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)
    layers: Mapping[str, str] = field(default_factory=dict)  # logical id -> ContentUri
    apis: Mapping[str, ApiSpec] = field(default_factory=dict)
    routes: tuple[RouteSpec, ...] = ()
    schedules: tuple[ScheduleSpec, ...] = ()
    unserved_events: tuple[str, ...] = ()  # "Function.Event (Type)" of event types not run locally

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return self.template.get("Resources") or {}

    def parameter_defaults(self) -> dict[str, str]:
        """Every parameter's default, as the string CloudFormation's ``Ref`` gives."""
        defaults: dict[str, str] = {}
        for name, declaration in (self.template.get("Parameters") or {}).items():
            if "Default" in declaration:
                default = declaration["Default"]
                defaults[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        return defaults

    @classmethod
    def load(cls, path: str | Path) -> TemplateModel:
        template_path = Path(path).resolve()
        template = load_template(template_path)
        resources: Mapping[str, Any] = template.get("Resources") or {}
        globals_ = template.get("Globals") or {}
        functions = {
            logical_id: _function(
                logical_id, resource.get("Properties") or {}, globals_.get("Function") or {}
            )
            for logical_id, resource in resources.items()
            if resource.get("Type") == FUNCTION_TYPE
        }
        layers = {
            logical_id: str((resource.get("Properties") or {}).get("ContentUri", ""))
            for logical_id, resource in resources.items()
            if resource.get("Type") == LAYER_TYPE
        }
        apis = {
            logical_id: _api(logical_id, _merged(globals_.get("Api") or {}, resource.get("Properties") or {}))
            for logical_id, resource in resources.items()
            if resource.get("Type") == API_TYPE
        }
        routes: list[RouteSpec] = []
        schedules: list[ScheduleSpec] = []
        unserved: list[str] = []
        for logical_id, resource in resources.items():
            if resource.get("Type") != FUNCTION_TYPE:
                continue
            for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
                kind = event.get("Type")
                properties = event.get("Properties") or {}
                if kind == "Api":
                    routes.append(_route(logical_id, event_name, properties, apis))
                elif kind in ("Schedule", "ScheduleV2"):
                    schedules.append(ScheduleSpec(logical_id, event_name, _schedule_input(properties)))
                else:
                    unserved.append(f"{logical_id}.{event_name} ({kind})")
        return cls(
            template_path, template, functions, layers, apis, tuple(routes), tuple(schedules), tuple(unserved)
        )


def _merged(base: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    merged.update(own)
    return merged


def _function(logical_id: str, properties: Mapping[str, Any], globals_: Mapping[str, Any]) -> FunctionSpec:
    merged = _merged(globals_, properties)
    layers = (*(globals_.get("Layers") or ()), *(properties.get("Layers") or ()))
    if "CodeUri" not in merged or "Handler" not in merged:
        raise TemplateError(
            f"{logical_id}: the local stack needs CodeUri and Handler (no inline code, no images)"
        )
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=str(merged["CodeUri"]),
        handler=str(merged["Handler"]),
        timeout=int(merged.get("Timeout", 3)),
        memory=int(merged.get("MemorySize", 128)),
        layers=layers,
    )


def _api(logical_id: str, properties: Mapping[str, Any]) -> ApiSpec:
    auth = properties.get("Auth") or {}
    authorizers = {
        name: _authorizer(logical_id, name, spec) for name, spec in (auth.get("Authorizers") or {}).items()
    }
    default = auth.get("DefaultAuthorizer")
    if default is not None and default not in authorizers:
        raise TemplateError(f"{logical_id}: DefaultAuthorizer {default} is not one of its Authorizers")
    return ApiSpec(
        logical_id,
        properties.get("StageName", "Prod"),
        default,
        authorizers,
        properties.get("GatewayResponses") or {},
    )


def _authorizer(api_id: str, name: str, spec: Mapping[str, Any]) -> AuthorizerSpec:
    function_arn = spec.get("FunctionArn")
    get_att = function_arn.get("Fn::GetAtt") if isinstance(function_arn, Mapping) else None
    if not (isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn"):
        raise TemplateError(
            f"{api_id}.{name}: the local stack serves authorizers given as !GetAtt <Function>.Arn"
        )
    if "UserPoolArn" in spec:
        raise TemplateError(f"{api_id}.{name}: Cognito authorizers are not served locally")
    payload_type = str(spec.get("FunctionPayloadType", "TOKEN"))
    identity = spec.get("Identity") or {}
    unsupported = set(identity) & {"StageVariables", "Context"}
    if unsupported:
        raise TemplateError(f"{api_id}.{name}: identity sources {sorted(unsupported)} are not served locally")
    headers = (
        (str(identity.get("Header", "Authorization")),)
        if payload_type == "TOKEN"
        else tuple(str(h) for h in identity.get("Headers") or ())
    )
    return AuthorizerSpec(
        name=name,
        function_id=str(get_att[0]),
        payload_type=payload_type,
        identity_headers=headers,
        identity_query_strings=tuple(str(q) for q in identity.get("QueryStrings") or ()),
        validation_expression=identity.get("ValidationExpression"),
        ttl=identity.get("ReauthorizeEvery", DEFAULT_TTL),
    )


def _route(
    function_id: str, event_name: str, properties: Mapping[str, Any], apis: Mapping[str, ApiSpec]
) -> RouteSpec:
    rest_api = properties.get("RestApiId")
    api_id = rest_api.get("Ref") if isinstance(rest_api, Mapping) else rest_api
    api_id = str(api_id) if api_id is not None else IMPLICIT_API
    if api_id != IMPLICIT_API and api_id not in apis:
        raise TemplateError(f"{function_id}.{event_name}: RestApiId must be !Ref to an AWS::Serverless::Api")
    api = apis.get(api_id)
    authorizer = api.default_authorizer if api is not None else None
    override = (properties.get("Auth") or {}).get("Authorizer")
    if override == "NONE":
        authorizer = None
    elif override is not None:
        if api is None or override not in api.authorizers:
            raise TemplateError(f"{function_id}.{event_name}: authorizer {override} is not served locally")
        authorizer = str(override)
    method = str(properties.get("Method", "")).upper()
    return RouteSpec(
        api_id, function_id, "ANY" if method == "ANY" else method, str(properties["Path"]), authorizer
    )


def _schedule_input(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = properties.get("Input")
    if raw is None:
        return {}
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(parsed, Mapping):
        raise TemplateError("a schedule's Input must be a JSON object")
    return parsed
