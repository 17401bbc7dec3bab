"""What the local stack reads from template.yaml: functions, layers, APIs, routes, authorizers, schedules.

The template is parsed by the project's one CloudFormation YAML loader (``local/cloudformation.py``,
which also resolves intrinsic functions and builds the moto resources, so tests and the local stack
read the template the same way).  Values stay as the template writes them, intrinsic functions
included, until the local resources exist.  SAM's ``Globals`` merge as SAM merges them: ``Layers``
add up, scalars (``Timeout``, ``MemorySize``) override; environments are merged and resolved by
``local.cloudformation.function_environment``.

Both kinds of API are read: ``AWS::Serverless::Api`` (REST; ``Api`` function events, stage variables
from ``Variables``) and ``AWS::Serverless::HttpApi`` (payload 2.0; ``HttpApi`` function events with
``Method`` incl. ``ANY``, ``Path`` incl. ``{proxy+}``, or neither for ``$default``; stage variables
from ``StageVariables``).  Lambda authorizers of either kind name their function with
``!GetAtt <Function>.Arn`` or, in a stack that attaches another stack's authorizer,
``!ImportValue`` of that stack's export (resolved in :mod:`local.assembly`).  Their identity
sources are SAM's ``Identity`` (``Headers``, ``QueryStrings``, ``Context``, ``StageVariables``,
``ReauthorizeEvery``; a TOKEN authorizer's ``Header`` and ``ValidationExpression``).  What would change
behaviour and is not emulated (Cognito and JWT authorizers, payload format 1.0 for HTTP APIs) is
refused with a :class:`TemplateError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .cloudformation import load_template
from .identity_source import (
    HTTP_CONTEXT_VARIABLES,
    REST_CONTEXT_VARIABLES,
    IdentitySourceError,
    IdentitySources,
)
from .routing import DEFAULT_ROUTE

FUNCTION_TYPE: Final = "AWS::Serverless::Function"
API_TYPE: Final = "AWS::Serverless::Api"
HTTP_API_TYPE: Final = "AWS::Serverless::HttpApi"
LAYER_TYPE: Final = "AWS::Serverless::LayerVersion"
IMPLICIT_API: Final = "ServerlessRestApi"  # SAM's API for Api events without RestApiId
IMPLICIT_HTTP_API: Final = "ServerlessHttpApi"  # SAM's API for HttpApi events without ApiId
DEFAULT_TTL: Final = 300  # SAM's default ReauthorizeEvery
HTTP_DEFAULT_STAGE: Final = "$default"  # an HttpApi without StageName


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
    """A REST API Lambda authorizer (TOKEN or REQUEST)."""

    name: str
    function_arn: Any  # raw: {"Fn::GetAtt": [id, "Arn"]} or {"Fn::ImportValue": ...}
    payload_type: str
    identity: IdentitySources
    validation_expression: Any
    ttl: Any  # raw (often {"Ref": "AuthorizerCacheTtl"})

    @property
    def function_id(self) -> str | None:
        """The function of this template (``!GetAtt X.Arn``), or None for an imported one."""
        return _get_att_function(self.function_arn)


@dataclass(frozen=True, slots=True)
class ApiSpec:
    logical_id: str
    stage: Any
    default_authorizer: str | None
    authorizers: Mapping[str, AuthorizerSpec]
    gateway_responses: Mapping[str, Any]
    stage_variables: Mapping[str, Any] = field(default_factory=dict)
    api_key_source: Any = "HEADER"  # ApiKeySourceType: HEADER | AUTHORIZER (raw)
    api_key_required: bool = False  # Auth.ApiKeyRequired: every method's default


@dataclass(frozen=True, slots=True)
class HttpAuthorizerSpec:
    """An HTTP API Lambda authorizer (payload format 2.0)."""

    name: str
    function_arn: Any
    simple_responses: bool
    identity: IdentitySources
    ttl: Any

    @property
    def function_id(self) -> str | None:
        return _get_att_function(self.function_arn)


@dataclass(frozen=True, slots=True)
class HttpApiSpec:
    logical_id: str
    stage: Any  # "$default" unless StageName says otherwise
    default_authorizer: str | None
    authorizers: Mapping[str, HttpAuthorizerSpec]
    stage_variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HttpRouteSpec:
    api_id: str
    function_id: str
    method: str  # an HTTP method or ANY
    path: str  # "/shipments/{id}", or "$default"
    authorizer: str | None

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    api_id: str
    function_id: str
    method: str
    path: str
    authorizer: str | None  # the authorizer's name; None: the route is open
    api_key_required: bool = False  # the method requires an API key (usage plans)


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
    http_apis: Mapping[str, HttpApiSpec] = field(default_factory=dict)
    http_routes: tuple[HttpRouteSpec, ...] = ()
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
        http_apis = {
            logical_id: _http_api(
                logical_id, _merged(globals_.get("HttpApi") or {}, resource.get("Properties") or {})
            )
            for logical_id, resource in resources.items()
            if resource.get("Type") == HTTP_API_TYPE
        }
        routes: list[RouteSpec] = []
        http_routes: list[HttpRouteSpec] = []
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
                elif kind == "HttpApi":
                    http_routes.append(_http_route(logical_id, event_name, properties, http_apis))
                elif kind in ("Schedule", "ScheduleV2"):
                    schedules.append(ScheduleSpec(logical_id, event_name, _schedule_input(properties)))
                else:
                    unserved.append(f"{logical_id}.{event_name} ({kind})")
        return cls(
            template_path,
            template,
            functions,
            layers,
            apis,
            tuple(routes),
            http_apis,
            tuple(http_routes),
            tuple(schedules),
            tuple(unserved),
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
        _stage_variables(logical_id, properties.get("Variables")),
        properties.get("ApiKeySourceType", "HEADER"),
        _flag(f"{logical_id}.Auth.ApiKeyRequired", auth.get("ApiKeyRequired", False)),
    )


def _flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TemplateError(f"{where} must be true or false")
    return value


def _http_api(logical_id: str, properties: Mapping[str, Any]) -> HttpApiSpec:
    auth = properties.get("Auth") or {}
    authorizers = {
        name: _http_authorizer(logical_id, name, spec)
        for name, spec in (auth.get("Authorizers") or {}).items()
    }
    default = auth.get("DefaultAuthorizer")
    if default is not None and default not in authorizers:
        raise TemplateError(f"{logical_id}: DefaultAuthorizer {default} is not one of its Authorizers")
    return HttpApiSpec(
        logical_id,
        properties.get("StageName", HTTP_DEFAULT_STAGE),
        default,
        authorizers,
        _stage_variables(logical_id, properties.get("StageVariables")),
    )


def _stage_variables(api_id: str, variables: Any) -> Mapping[str, Any]:
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise TemplateError(f"{api_id}: stage variables must be a mapping of names to values")
    return dict(variables)


def _function_arn(where: str, spec: Mapping[str, Any]) -> Any:
    function_arn = spec.get("FunctionArn")
    if _get_att_function(function_arn) is None and not (
        isinstance(function_arn, Mapping) and set(function_arn) == {"Fn::ImportValue"}
    ):
        raise TemplateError(
            f"{where}: the local stack serves authorizers given as !GetAtt <Function>.Arn "
            "or !ImportValue of another stack's export"
        )
    return function_arn


def _get_att_function(function_arn: Any) -> str | None:
    get_att = function_arn.get("Fn::GetAtt") if isinstance(function_arn, Mapping) else None
    if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
        return str(get_att[0])
    return None


def _identity(
    where: str, identity: Mapping[str, Any], known_context: frozenset[str], kind: str
) -> IdentitySources:
    sources = IdentitySources(
        headers=tuple(str(h) for h in identity.get("Headers") or ()),
        query_strings=tuple(str(q) for q in identity.get("QueryStrings") or ()),
        context=tuple(str(c) for c in identity.get("Context") or ()),
        stage_variables=tuple(str(v) for v in identity.get("StageVariables") or ()),
    )
    try:
        sources.check_context(known_context, kind)
    except IdentitySourceError as error:
        raise TemplateError(f"{where}: {error}") from None
    return sources


def _authorizer(api_id: str, name: str, spec: Mapping[str, Any]) -> AuthorizerSpec:
    where = f"{api_id}.{name}"
    if "UserPoolArn" in spec:
        raise TemplateError(f"{where}: Cognito authorizers are not served locally")
    function_arn = _function_arn(where, spec)
    payload_type = str(spec.get("FunctionPayloadType", "TOKEN"))
    identity = spec.get("Identity") or {}
    if payload_type == "TOKEN":
        extra = sorted(set(identity) & {"Headers", "QueryStrings", "Context", "StageVariables"})
        if extra:
            raise TemplateError(f"{where}: a TOKEN authorizer reads one Header, not {extra}")
        sources = IdentitySources(headers=(str(identity.get("Header", "Authorization")),))
    else:
        sources = _identity(where, identity, REST_CONTEXT_VARIABLES, "REST API")
    return AuthorizerSpec(
        name=name,
        function_arn=function_arn,
        payload_type=payload_type,
        identity=sources,
        validation_expression=identity.get("ValidationExpression"),
        ttl=identity.get("ReauthorizeEvery", DEFAULT_TTL),
    )


def _http_authorizer(api_id: str, name: str, spec: Mapping[str, Any]) -> HttpAuthorizerSpec:
    where = f"{api_id}.{name}"
    if "JwtConfiguration" in spec or "IdentitySource" in spec:
        raise TemplateError(f"{where}: JWT authorizers are not served locally (Lambda authorizers are)")
    function_arn = _function_arn(where, spec)
    version = str(spec.get("AuthorizerPayloadFormatVersion", ""))
    if version != "2.0":
        raise TemplateError(
            f"{where}: the local stack serves HTTP API Lambda authorizers of payload format 2.0 "
            f"(AuthorizerPayloadFormatVersion is {version or 'missing'})"
        )
    simple = spec.get("EnableSimpleResponses", False)
    if not isinstance(simple, bool):
        raise TemplateError(f"{where}: EnableSimpleResponses must be true or false")
    identity = spec.get("Identity") or {}
    return HttpAuthorizerSpec(
        name=name,
        function_arn=function_arn,
        simple_responses=simple,
        identity=_identity(where, identity, HTTP_CONTEXT_VARIABLES, "HTTP API"),
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
    # SAM: the event's Auth.ApiKeyRequired overrides the API's
    key_required = (properties.get("Auth") or {}).get(
        "ApiKeyRequired", api.api_key_required if api else False
    )
    return RouteSpec(
        api_id,
        function_id,
        "ANY" if method == "ANY" else method,
        str(properties["Path"]),
        authorizer,
        _flag(f"{function_id}.{event_name}.Auth.ApiKeyRequired", key_required),
    )


def _http_route(
    function_id: str, event_name: str, properties: Mapping[str, Any], apis: Mapping[str, HttpApiSpec]
) -> HttpRouteSpec:
    where = f"{function_id}.{event_name}"
    api_ref = properties.get("ApiId")
    api_id = api_ref.get("Ref") if isinstance(api_ref, Mapping) else api_ref
    api_id = str(api_id) if api_id is not None else IMPLICIT_HTTP_API
    if api_id != IMPLICIT_HTTP_API and api_id not in apis:
        raise TemplateError(f"{where}: ApiId must be !Ref to an AWS::Serverless::HttpApi")
    version = str(properties.get("PayloadFormatVersion", "2.0"))
    if version != "2.0":
        raise TemplateError(f"{where}: the local stack serves HTTP API integrations of payload format 2.0")
    api = apis.get(api_id)
    authorizer = api.default_authorizer if api is not None else None
    override = (properties.get("Auth") or {}).get("Authorizer")
    if override == "NONE":
        authorizer = None
    elif override is not None:
        if api is None or override not in api.authorizers:
            raise TemplateError(f"{where}: authorizer {override} is not served locally")
        authorizer = str(override)
    path = properties.get("Path")
    method = str(properties.get("Method", "ANY" if path is not None else "")).upper()
    if path is None or path == DEFAULT_ROUTE:
        # SAM: an HttpApi event without Path and Method is the API's $default route.
        return HttpRouteSpec(api_id, function_id, "ANY", DEFAULT_ROUTE, authorizer)
    path = str(path)
    if len(path) > 1:
        path = path.rstrip("/")  # SAM trims a trailing slash (aws/serverless-application-model#1949)
    if method.lower() == "x-amazon-apigateway-any-method":
        method = "ANY"
    return HttpRouteSpec(api_id, function_id, method, path, authorizer)


def _schedule_input(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = properties.get("Input")
    if raw is None:
        return {}
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(parsed, Mapping):
        raise TemplateError("a schedule's Input must be a JSON object")
    return parsed
