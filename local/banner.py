"""What ``make dev`` prints once the stack is up: where everything is, and curl lines to try."""

from __future__ import annotations

import shlex
from pathlib import Path

from .config import REPO_ROOT
from .demo_client import token_function
from .gateway import Gateway
from .stack import RunningStack
from .stack_state import DEMO_CLIENT_FILE

ROTATE_NOW_EVENT = "events/rotation-rotate-now.json"
FAKE_CREDENTIALS = "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1"


def render_banner(stack: RunningStack) -> str:
    demo = stack.demo_client
    token_url = stack.url_of("POST", "/token")
    credentials = shlex.quote(f"{demo.client_id}:{demo.client_secret}")
    lines = [
        "",
        "PartnerAuth local stack: template.yaml on 127.0.0.1, no Docker, no AWS account.",
        "",
        "APIs (each has its base URL; a REST API's stage is not part of it locally, an HTTP API's is):",
    ]
    lines += [f"  {api.name:<32} {api.kind:<5} {api.base_url}" for api in stack.apis]
    lines += ["", "Routes:"]
    lines += route_lines(stack)
    if stack.model.unserved_events:
        lines.append(f"  not served locally: {', '.join(stack.model.unserved_events)}")
    lines += ["", f"AWS endpoint (moto, in memory, fresh each run): {stack.aws_endpoint_url}"]
    lines += [f"  {logical_id:<30} {physical}" for logical_id, _, physical in stack.resources.created]
    token_env = token_function(list(stack.runtime.definitions.values())).environment
    aws = f"AWS_ENDPOINT_URL={stack.aws_endpoint_url} {FAKE_CREDENTIALS}"
    names = f"CLIENTS_TABLE={token_env['CLIENTS_TABLE']} PEPPER_SECRET_ARN={token_env['PEPPER_SECRET_ARN']}"
    if "REVOCATIONS_TABLE" in token_env:  # revoke-tokens (issue 14)
        names += f" REVOCATIONS_TABLE={token_env['REVOCATIONS_TABLE']}"
    recorder = stack.runtime.definitions.get("AuditRecorderFunction")
    if recorder is not None:  # `audit` and `keys list` (issue 14)
        names += f" AUDIT_TABLE={recorder.environment['AUDIT_TABLE']}"
        names += f" SIGNING_KEYS_TABLE={recorder.environment['SIGNING_KEYS_TABLE']}"
    # what the CLI reads from a deployed stack's outputs and parameters: the issuer (whose metadata declares
    # the scopes it checks) and the lifetimes it shows
    stack_facts = (
        f"PARTNERAUTH_ISSUER={stack.parameters.get('IssuerUrl', stack.base_url)} "
        f"PARTNERAUTH_TOKEN_LIFETIME={stack.parameters.get('TokenLifetime', '')} "
        f"PARTNERAUTH_MAX_TOKEN_LIFETIME={stack.parameters.get('MaxTokenLifetime', '')}"
    )
    # and the figures revoke-tokens states its bound with (JwksMaxAge + AuthorizerCacheTtl) and its cut's TTL
    stack_facts += "".join(
        f" PARTNERAUTH_{variable}={stack.parameters[name]}"
        for variable, name in (
            ("JWKS_MAX_AGE", "JwksMaxAge"),
            ("AUTHORIZER_CACHE_TTL", "AuthorizerCacheTtl"),
            ("LEEWAY", "Leeway"),
        )
        if stack.parameters.get(name)
    )
    if stack.plans is not None:  # what `create|update --plan` reads from a deployed stack's outputs
        stack_facts += " " + " ".join(f"{k}={shlex.quote(v)}" for k, v in stack.plans.environment().items())
    lines += [
        "",
        "Admin CLI (and the AWS CLI) against this stack, in another shell:",
        f"  export {aws}",
        f"  export {names}",
        f"  export {stack_facts}",
        "  .venv/bin/python -m tools.partnerauth_admin list      (or: make admin ARGS=list)",
    ]
    interval = stack.config.rotation_interval
    timings = ", ".join(
        f"{name} {stack.parameters.get(name)}s" for name in ("RotationPeriod", "PublishLead", "Grace")
    )
    for schedule in stack.model.schedules:
        when = f"every {interval:g}s" if interval > 0 else "off (ROTATION_INTERVAL=0)"
        lines += ["", f"Schedule: {schedule.function_id} {when}; {timings}"]
    lines += [
        "",
        "Demo client (a throwaway client of this run only: its secret is printed on purpose):",
        f"  client_id      {demo.client_id}",
        f"  client_secret  {demo.client_secret}",
        f"  scopes         {' '.join(demo.scopes)}",
        *(
            [f"  plan           {stack.demo_plan} (usage plan of the sample REST API)"]
            if stack.demo_plan
            else []
        ),
        f"  written to     {_shown(stack.config.state_dir / DEMO_CLIENT_FILE)}",
        "",
        "Get a token (client_credentials, HTTP Basic client authentication):",
        f"  curl -s -u {credentials} -d grant_type=client_credentials {token_url}",
        "",
        "Call the sample API with one:",
        f"  TOKEN=$(curl -s -u {credentials} -d grant_type=client_credentials {token_url} \\",
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'  curl -i -H "Authorization: Bearer $TOKEN" {stack.protected_example_url()}',
    ]
    lines += [f'  curl -i -H "Authorization: Bearer $TOKEN" {url}' for url in _http_examples(stack)]
    if (REPO_ROOT / ROTATE_NOW_EVENT).exists():
        command = f"make invoke FUNCTION=KeyRotationFunction EVENT={ROTATE_NOW_EVENT}"
        lines += ["", "Rotate the signing key now:", f"  {command}"]
    lines += ["", "One line per request follows. Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def route_lines(stack: RunningStack) -> list[str]:
    """One line per route of every served API: method, URL, API -> function, and its guard."""
    lines = []
    for api in stack.apis:
        if isinstance(api.gateway, Gateway):
            name = api.name.rpartition("/")[2]
            for route in (r for r in api.gateway.routes if r.api.logical_id == name):
                guard = _guard(route.authorizer.name, route.authorizer.ttl) if route.authorizer else "open"
                url = f"{api.base_url}{route.resource}"
                lines.append(f"  {route.method:<6} {url:<62} {api.name} -> {route.function_id} ({guard})")
        else:
            for http_route in api.gateway.routes:
                guard = (
                    _guard(http_route.authorizer.name, http_route.authorizer.ttl)
                    if http_route.authorizer
                    else "open"
                )
                shown = "*" if http_route.path == "$default" else f"{api.base_url}{http_route.path}"
                lines.append(
                    f"  {http_route.method:<6} {shown:<62} {api.name} -> {http_route.function_id} ({guard})"
                )
    return lines


def _http_examples(stack: RunningStack) -> list[str]:
    """A protected GET route without path parameters of each HTTP API, for a printed curl line."""
    urls = []
    for api in stack.apis:
        if isinstance(api.gateway, Gateway):
            continue
        for route in api.gateway.routes:
            if route.authorizer is not None and route.method == "GET" and "{" not in route.path:
                urls.append(f"{api.base_url}{route.path}")
                break
    return urls


def _guard(name: str, ttl: int) -> str:
    return f"authorizer {name}, cache {ttl}s"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
