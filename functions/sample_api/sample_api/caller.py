"""Who called: the fields the authorizer puts in its context, the same for the REST and the HTTP API.

API Gateway passes the authorizer's context to the backend: ``requestContext.authorizer`` for a REST API
(payload 1.0), ``requestContext.authorizer.lambda`` for an HTTP API (payload 2.0).  Only the fields the
authorizer promises are echoed; the token itself is never in the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

CALLER_FIELDS: Final = ("client_id", "scope", "sub", "jti", "iss")


def caller_from(context: Mapping[str, Any] | None) -> dict[str, str]:
    """The promised fields of an authorizer context, as strings; missing fields are left out."""
    context = context or {}
    return {name: str(context[name]) for name in CALLER_FIELDS if context.get(name) is not None}
