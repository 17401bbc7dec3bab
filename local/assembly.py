"""From the template model and the local resources to runnable parts: function definitions and routes.

Both ``python -m local`` and ``python -m local.invoke`` build their functions here, from the same
template, parameter values and physical ids, so a function invoked by hand runs exactly as the
running stack runs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .cloudformation import Resolver, function_environment
from .config import ACCOUNT_ID, REGION, STACK_NAME
from .gateway import ApiConfig, AuthorizerConfig, GatewayResponse, Route
from .lambda_runtime import FunctionDefinition
from .proxy_event import ApiIdentity
from .template_model import ApiSpec, AuthorizerSpec, TemplateError, TemplateModel


def function_definitions(
    model: TemplateModel,
    refs: Mapping[str, str],
    parameters: Mapping[str, str],
    log_level: str,
) -> list[FunctionDefinition]:
    definitions = []
    template = dict(model.template)
    for logical_id, spec in model.functions.items():
        try:
            environment = function_environment(logical_id, refs, parameters, template)
        except KeyError as error:
            raise TemplateError(
                f"{logical_id}: its environment refers to {error.args[0]}, "
                "which the local stack does not create"
            ) from None
        environment["POWERTOOLS_LOG_LEVEL"] = log_level
        definitions.append(
            FunctionDefinition(
                logical_id=logical_id,
                function_name=f"{STACK_NAME}-{logical_id}",
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


def routes(
    model: TemplateModel, refs: Mapping[str, str], parameters: Mapping[str, str], host: str
) -> list[Route]:
    resolver = Resolver(dict(model.template), refs, parameters)
    apis = {
        api_id: _api_config(api_id, model.apis.get(api_id), resolver, host)
        for api_id in {r.api_id for r in model.routes}
    }
    result = []
    for spec in model.routes:
        api_spec = model.apis.get(spec.api_id)
        authorizer = None
        if spec.authorizer is not None and api_spec is not None:
            authorizer = _authorizer(api_spec.authorizers[spec.authorizer], resolver)
        result.append(Route(apis[spec.api_id], spec.method, spec.path, spec.function_id, authorizer))
    return result


def _api_config(api_id: str, spec: ApiSpec | None, resolver: Resolver, host: str) -> ApiConfig:
    stage = str(resolver.resolve(spec.stage)) if spec is not None else "Prod"
    identity = ApiIdentity(local_api_id(api_id), stage, REGION, ACCOUNT_ID, host)
    responses = {}
    if spec is not None:
        for kind, declaration in resolver.resolve(dict(spec.gateway_responses)).items():
            responses[str(kind)] = _gateway_response(declaration)
    return ApiConfig(api_id, identity, responses)


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


def _authorizer(spec: AuthorizerSpec, resolver: Resolver) -> AuthorizerConfig:
    expression = (
        resolver.resolve(spec.validation_expression) if spec.validation_expression is not None else None
    )
    return AuthorizerConfig(
        name=spec.name,
        function_id=spec.function_id,
        payload_type=spec.payload_type,
        ttl=int(resolver.resolve(spec.ttl)),
        identity_headers=spec.identity_headers,
        identity_query_strings=spec.identity_query_strings,
        validation_expression=str(expression) if expression is not None else None,
    )
