"""The demo client: a throwaway local partner client holding every scope of the sample API.

It is registered through the layer's own :class:`partnerauth.client_registry.ClientRegistry`, with
the pepper the local stack generated for ``ClientSecretPepper``, exactly as the admin CLI registers
partners.  Its scopes are the union of the authorizer's ``ROUTE_SCOPES`` (the template's
route -> scope map) and of its ``API_PROFILES`` of the same audience (the HTTP sample API's); its
audience is the token function's ``DEFAULT_AUDIENCE``.  Its secret is
printed and written to ``.local/demo-client.json`` on purpose: it exists only in this run's
in-memory AWS endpoint and dies with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .lambda_runtime import FunctionDefinition

DEMO_CLIENT_ID: Final = "local-demo-client"
DEMO_CLIENT_NAME: Final = "Local demo client (throwaway)"


@dataclass(frozen=True, slots=True)
class DemoClient:
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    audience: str


def sample_api_scopes(definitions: Sequence[FunctionDefinition], audience: str | None = None) -> list[str]:
    """Every scope a route of the template's APIs requires, in order: the authorizers' ``ROUTE_SCOPES``
    (the ``default`` API profile) and the routes of their ``API_PROFILES`` for ``audience`` (all when None),
    such as the HTTP sample API's."""
    scopes: dict[str, None] = {}
    for definition in definitions:
        raw = definition.environment.get("ROUTE_SCOPES")
        if raw:
            for required in json.loads(raw).values():
                scopes.update(dict.fromkeys(required))
        profiles = json.loads(definition.environment.get("API_PROFILES") or "{}")
        for profile in profiles.values() if isinstance(profiles, dict) else ():
            if audience is None or profile.get("audience") == audience:
                for required in (profile.get("routes") or {}).values():
                    scopes.update(dict.fromkeys(required))
    return list(scopes)


def token_function(definitions: Sequence[FunctionDefinition]) -> FunctionDefinition:
    """The function that authenticates clients: it holds the clients table and the pepper."""
    for definition in definitions:
        if {"CLIENTS_TABLE", "PEPPER_SECRET_ARN"} <= set(definition.environment):
            return definition
    raise LookupError("no function of the template has CLIENTS_TABLE and PEPPER_SECRET_ARN")


def register_demo_client(
    definitions: Sequence[FunctionDefinition], client: Callable[[str], Any]
) -> DemoClient:
    # The layer is importable once the runtime has put its folder on sys.path.
    from partnerauth.client_registry import ClientRegistry  # noqa: PLC0415
    from partnerauth.client_secrets import SecretHasher  # noqa: PLC0415
    from partnerauth.usage_plans import PLANS  # noqa: PLC0415

    token = token_function(definitions)
    env = token.environment
    pepper = client("secretsmanager").get_secret_value(SecretId=env["PEPPER_SECRET_ARN"])["SecretString"]
    max_lifetime = int(env.get("MAX_TOKEN_LIFETIME") or 3600)
    registry = ClientRegistry(
        env["CLIENTS_TABLE"], client("dynamodb"), SecretHasher(pepper), max_token_lifetime=max_lifetime
    )
    audience = env.get("DEFAULT_AUDIENCE") or "partner-api"
    scopes = sample_api_scopes(definitions, audience)
    issued = registry.create(
        client_name=DEMO_CLIENT_NAME,
        scopes=scopes,
        audiences=[audience],
        token_lifetime=min(int(env.get("TOKEN_LIFETIME") or max_lifetime), max_lifetime),
        client_id=DEMO_CLIENT_ID,
        # the largest tier, as local.usage_plans.assign_plan puts its API key: its token rate (issue 15) too
        plan=PLANS[-1],
    )
    return DemoClient(issued.client.client_id, issued.secret, tuple(scopes), audience)
