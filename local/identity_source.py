"""A Lambda authorizer's identity sources: which request values it needs, and its cache key.

API Gateway reads every configured source (headers, query strings, context variables, stage
variables) before it calls a REQUEST authorizer.  One missing, null or empty value is ``401``
without a call; all of them together are the cache key ("identitySource ... used to derive the
authorization caching key", CreateAuthorizer in the REST API reference; "API Gateway uses the
specified identity sources as the request authorizer caching key", "Working with AWS Lambda
authorizers for HTTP APIs").  SAM writes them as ``Identity: {Headers, QueryStrings, Context,
StageVariables}``; REST spells them ``method.request.header.X`` / ``context.X`` /
``stageVariables.X``, HTTP APIs ``$request.header.X`` / ``$context.X`` / ``$stageVariables.X``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# The context variables a REST API identity source may name (its requestContext fields).
REST_CONTEXT_VARIABLES: Final = frozenset(
    {
        "accountId",
        "apiId",
        "domainName",
        "domainPrefix",
        "extendedRequestId",
        "httpMethod",
        "identity.sourceIp",
        "identity.userAgent",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "requestTimeEpoch",
        "resourceId",
        "resourcePath",
        "stage",
    }
)
# The context variables of an HTTP API ($context.X) the local gateway knows.
HTTP_CONTEXT_VARIABLES: Final = frozenset(
    {
        "accountId",
        "apiId",
        "domainName",
        "domainPrefix",
        "httpMethod",
        "identity.sourceIp",
        "identity.userAgent",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "requestTimeEpoch",
        "routeKey",
        "stage",
    }
)


class IdentitySourceError(ValueError):
    """An identity source the local gateway cannot read."""


@dataclass(frozen=True, slots=True)
class IdentitySources:
    headers: tuple[str, ...] = ()
    query_strings: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    stage_variables: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.headers or self.query_strings or self.context or self.stage_variables)

    def check_context(self, known: frozenset[str], api_kind: str) -> None:
        unknown = sorted(set(self.context) - known)
        if unknown:
            raise IdentitySourceError(
                f"context variables {unknown} are not {api_kind} context variables the local stack knows"
            )

    def rest_expressions(self) -> list[str]:
        return [
            *(f"method.request.header.{n}" for n in self.headers),
            *(f"method.request.querystring.{n}" for n in self.query_strings),
            *(f"context.{n}" for n in self.context),
            *(f"stageVariables.{n}" for n in self.stage_variables),
        ]

    def http_expressions(self) -> list[str]:
        return [
            *(f"$request.header.{n}" for n in self.headers),
            *(f"$request.querystring.{n}" for n in self.query_strings),
            *(f"$context.{n}" for n in self.context),
            *(f"$stageVariables.{n}" for n in self.stage_variables),
        ]

    def values(
        self,
        header: Callable[[str], str | None],
        query: Mapping[str, str],
        context: Mapping[str, Any],
        stage_variables: Mapping[str, str],
    ) -> tuple[str, ...] | None:
        """Every source's value, in order; None when one is missing or empty (401 without a call)."""
        values = [
            *(header(n) for n in self.headers),
            *(query.get(n) for n in self.query_strings),
            *(_context_value(context, n) for n in self.context),
            *(stage_variables.get(n) for n in self.stage_variables),
        ]
        present = tuple(v for v in values if v)
        return present if len(present) == len(values) else None


def _context_value(context: Mapping[str, Any], dotted: str) -> str | None:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if value is None or isinstance(value, Mapping | list):
        return None
    return str(value)
