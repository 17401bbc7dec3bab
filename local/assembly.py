"""From the template model and the local resources to runnable parts: function definitions and APIs.

Both ``python -m local`` and ``python -m local.invoke`` build their functions here, from the same
template, parameter values and physical ids, so a function invoked by hand runs exactly as the
running stack runs it.

Several stacks run side by side: the main template and each example stack
(``examples/*/template.yaml``).  A function of an example stack runs under the id
``<example>/<LogicalId>`` (its logical ids may repeat the main template's), from its own
``CodeUri``.  An authorizer given as ``!ImportValue`` names another stack's export: it resolves
against the main template's ``Outputs`` (``Export.Name`` with ``AWS::StackName`` the local stack's
name) whose value is ``!GetAtt <Function>.Arn``.  The template parameters an import's name is built
from (``PartnerAuthStackName`` in ``!ImportValue {"Fn::Sub": "${PartnerAuthStackName}-..."}``) are
given the local stack's name, as ``sam deploy --parameter-overrides`` would be told to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cloudformation import Resolver, function_environment
from .config import ACCOUNT_ID, REGION, STACK_NAME
from .gateway import ApiConfig, AuthorizerConfig, GatewayResponse, Route
from .http_api import HttpApiConfig, HttpAuthorizerConfig, HttpRoute
from .lambda_runtime import FunctionDefinition
from .proxy_event import ApiIdentity
from .template_model import (
    ApiSpec,
    AuthorizerSpec,
    HttpAuthorizerSpec,
    TemplateError,
    TemplateModel,
)

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)\}")


def function_definitions(
    model: TemplateModel,
    refs: Mapping[str, str],
    parameters: Mapping[str, str],
    log_level: str,
    *,
    stack_name: str = STACK_NAME,
    id_prefix: str = "",
) -> list[FunctionDefinition]:
    definitions = []
    template = dict(model.template)
    for logical_id, spec in model.functions.items():
        try:
            environment = function_environment(logical_id, refs, parameters, template, stack_name=stack_name)
        except KeyError as error:
            raise TemplateError(
                f"{logical_id}: its environment refers to {error.args[0]}, "
                "which the local stack does not create"
            ) from None
        environment["POWERTOOLS_LOG_LEVEL"] = log_level
        definitions.append(
            FunctionDefinition(
                logical_id=f"{id_prefix}{logical_id}",
                function_name=f"{stack_name}-{logical_id}",
                code_dir=(model.root / spec.code_uri).resolve(),
                handler=spec.handler,
                layer_dirs=tuple(_layer_dir(model, logical_id, layer) for layer in spec.layers),
                environment=environment,
                timeout=spec.timeout,
                memory=spec.memory,
            )
        )
    return definitions


def _layer_dir(model: TemplateModel, function_id: str, layer: Any) -> Path:
    layer_id = layer.get("Ref") if isinstance(layer, Mapping) else None
    if not isinstance(layer_id, str) or layer_id not in model.layers:
        raise TemplateError(
            f"{function_id}: only layers of this template (!Ref <LayerVersion>) can run locally"
        )
    return (model.root / model.layers[layer_id]).resolve()


def local_api_id(logical_id: str) -> str:
    """A stable stand-in for the 10-character id API Gateway would give the API."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


def exported_functions(
    model: TemplateModel, parameters: Mapping[str, str], stack_name: str
) -> dict[str, str]:
    """Export name -> function id, for the template's Outputs whose value is ``!GetAtt <Function>.Arn``."""
    resolver = Resolver(
        dict(model.template), {}, parameters, pseudo_parameters={"AWS::StackName": stack_name}
    )
    exports = {}
    for output in (model.template.get("Outputs") or {}).values():
        value, export = output.get("Value"), output.get("Export")
        get_att = value.get("Fn::GetAtt") if isinstance(value, Mapping) else None
        if not isinstance(export, Mapping) or not isinstance(get_att, list) or get_att[1:] != ["Arn"]:
            continue
        if get_att[0] in model.functions:
            exports[str(resolver.resolve(export.get("Name")))] = str(get_att[0])
    return exports


def import_parameters(model: TemplateModel, stack_name: str = STACK_NAME) -> dict[str, str]:
    """The template parameters that ``!ImportValue`` names are built from, set to ``stack_name``."""
    declared = set(model.template.get("Parameters") or {})
    found: set[str] = set()

    def walk(value: Any, inside_import: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if inside_import and key == "Ref" and item in declared:
                    found.add(str(item))
                elif inside_import and key == "Fn::Sub":
                    text = item if isinstance(item, str) else item[0]
                    found.update(name for name in _SUB_NAME.findall(str(text)) if name in declared)
                walk(item, inside_import or key == "Fn::ImportValue")
        elif isinstance(value, list):
            for item in value:
                walk(item, inside_import)

    walk(model.template.get("Resources") or {}, inside_import=False)
    return dict.fromkeys(sorted(found), stack_name)


@dataclass(frozen=True, slots=True)
class StackScope:
    """How one stack's names map into the shared runtime and gateways."""

    name: str  # the local stack name (physical names, function names)
    id_prefix: str = ""  # prefix of its function ids ("" for the main stack)
    exports: Mapping[str, str] = field(default_factory=dict)  # export name -> function id (of any stack)

    def function_id(self, where: str, function_arn: Any, resolver: Resolver) -> str:
        get_att = function_arn.get("Fn::GetAtt") if isinstance(function_arn, Mapping) else None
        if isinstance(get_att, list):
            return f"{self.id_prefix}{get_att[0]}"
        try:
            name = str(resolver.resolve(function_arn["Fn::ImportValue"]))
        except KeyError as error:
            raise TemplateError(f"{where}: cannot resolve its import ({error.args[0]})") from None
        if name not in self.exports:
            known = ", ".join(sorted(self.exports)) or "none"
            raise TemplateError(f"{where}: imports {name!r}, which no local stack exports (exports: {known})")
        return self.exports[name]

    def api_id(self, logical_id: str) -> str:
        return local_api_id(f"{self.id_prefix}{logical_id}")


MAIN_SCOPE = StackScope(STACK_NAME)


def routes(
    model: TemplateModel,
    refs: Mapping[str, str],
    parameters: Mapping[str, str],
    host: str,
    scope: StackScope = MAIN_SCOPE,
) -> list[Route]:
    """The REST API routes of ``model`` (every API of it, as one list: they share one local port)."""
    resolver = Resolver(dict(model.template), refs, parameters)
    apis = {
        api_id: _api_config(api_id, model.apis.get(api_id), resolver, host, scope)
        for api_id in {r.api_id for r in model.routes}
    }
    result = []
    for spec in model.routes:
        api_spec = model.apis.get(spec.api_id)
        authorizer = None
        if spec.authorizer is not None and api_spec is not None:
            authorizer = _authorizer(api_spec.authorizers[spec.authorizer], resolver, scope, spec.api_id)
        result.append(
            Route(
                apis[spec.api_id],
                spec.method,
                spec.path,
                f"{scope.id_prefix}{spec.function_id}",
                authorizer,
                spec.api_key_required,
            )
        )
    return result


def http_apis(
    model: TemplateModel,
    refs: Mapping[str, str],
    parameters: Mapping[str, str],
    host_of: Callable[[str], str],
    scope: StackScope = MAIN_SCOPE,
) -> list[HttpApiConfig]:
    """One config per HTTP API of ``model`` that has routes; ``host_of(api id)`` is where it is served."""
    resolver = Resolver(dict(model.template), refs, parameters)
    result = []
    for api_id in sorted({r.api_id for r in model.http_routes}):
        spec = model.http_apis.get(api_id)
        stage = str(resolver.resolve(spec.stage)) if spec is not None else "$default"
        variables = _variables(spec.stage_variables if spec is not None else {}, resolver)
        identity = ApiIdentity(scope.api_id(api_id), stage, REGION, ACCOUNT_ID, host_of(api_id))
        api_routes = []
        for route in (r for r in model.http_routes if r.api_id == api_id):
            authorizer = None
            if route.authorizer is not None and spec is not None:
                authorizer = _http_authorizer(spec.authorizers[route.authorizer], resolver, scope, api_id)
            api_routes.append(
                HttpRoute(route.method, route.path, f"{scope.id_prefix}{route.function_id}", authorizer)
            )
        result.append(HttpApiConfig(api_id, identity, tuple(api_routes), variables))
    return result


def _variables(raw: Mapping[str, Any], resolver: Resolver) -> dict[str, str]:
    return {str(k): str(v) for k, v in resolver.resolve(dict(raw)).items()}


def _api_config(
    api_id: str, spec: ApiSpec | None, resolver: Resolver, host: str, scope: StackScope
) -> ApiConfig:
    stage = str(resolver.resolve(spec.stage)) if spec is not None else "Prod"
    identity = ApiIdentity(scope.api_id(api_id), stage, REGION, ACCOUNT_ID, host)
    responses = {}
    if spec is not None:
        for kind, declaration in resolver.resolve(dict(spec.gateway_responses)).items():
            responses[str(kind)] = _gateway_response(declaration)
    variables = _variables(spec.stage_variables if spec is not None else {}, resolver)
    key_source = str(resolver.resolve(spec.api_key_source)) if spec is not None else "HEADER"
    return ApiConfig(api_id, identity, responses, variables, key_source)


def _gateway_response(declaration: Mapping[str, Any]) -> GatewayResponse:
    status = declaration.get("StatusCode")
    headers = (declaration.get("ResponseParameters") or {}).get("Headers") or {}
    templates = declaration.get("ResponseTemplates") or {}
    return GatewayResponse(
        status=int(status) if status is not None else None,
        headers={str(name): _static(str(value)) for name, value in headers.items()},
        json_template=templates.get("application/json"),
    )


def _static(value: str) -> str:
    # A static value is written in single quotes ("'Bearer error=\"invalid_token\"'").
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def _authorizer(spec: AuthorizerSpec, resolver: Resolver, scope: StackScope, api_id: str) -> AuthorizerConfig:
    expression = (
        resolver.resolve(spec.validation_expression) if spec.validation_expression is not None else None
    )
    return AuthorizerConfig(
        name=f"{scope.id_prefix}{api_id}.{spec.name}",
        function_id=scope.function_id(f"{api_id}.{spec.name}", spec.function_arn, resolver),
        payload_type=spec.payload_type,
        ttl=int(resolver.resolve(spec.ttl)),
        identity=spec.identity,
        validation_expression=str(expression) if expression is not None else None,
    )


def _http_authorizer(
    spec: HttpAuthorizerSpec, resolver: Resolver, scope: StackScope, api_id: str
) -> HttpAuthorizerConfig:
    return HttpAuthorizerConfig(
        name=f"{scope.id_prefix}{api_id}.{spec.name}",
        function_id=scope.function_id(f"{api_id}.{spec.name}", spec.function_arn, resolver),
        simple_responses=spec.simple_responses,
        ttl=int(resolver.resolve(spec.ttl)),
        identity=spec.identity,
    )
