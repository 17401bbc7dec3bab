"""Responses of the publishing endpoints, and the one mapping from failures to responses."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from partnerauth.errors import KeyStoreError

JSON = "application/json"
JWK_SET = "application/jwk-set+json"  # RFC 7517 §8.5.1
RETRY_AFTER = 2


def cached_json(body: dict[str, Any], max_age: int, content_type: str = JSON) -> Response[str]:
    # Public documents: any cache may hold them for max_age (RFC 9111 §5.2.2.1, §5.2.2.9).
    cache_control = f"public, max-age={max_age}" if max_age > 0 else "no-cache"
    return Response(
        status_code=200,
        content_type=content_type,
        body=json.dumps(body, separators=(",", ":")),
        headers={"Cache-Control": cache_control},
    )


def failure_response(error: Exception) -> tuple[Response[str], str]:
    """The response for ``error`` and the code to log: 404, 503 + Retry-After, or 500 (nothing cached)."""
    status, code, headers = 500, "server_error", {"Cache-Control": "no-store"}
    if isinstance(error, NotFoundError):
        status, code = 404, "not_found"
    elif isinstance(error, KeyStoreError) or _is_aws_failure(error):
        status, code = 503, "temporarily_unavailable"
        headers["Retry-After"] = str(RETRY_AFTER)
    response = Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps({"error": code}, separators=(",", ":")),
        headers=headers,
    )
    return response, code


def _is_aws_failure(error: Exception) -> bool:
    return any(cls.__module__ == "botocore.exceptions" for cls in type(error).__mro__)
