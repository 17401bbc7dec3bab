"""Responses of the publishing endpoints, and the one mapping from failures to responses."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from partnerauth.errors import KeyStoreError
from partnerauth.jwks_cache import stale_if_error_for

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


def jwks_response(document: dict[str, Any], max_age: int, if_none_match: str | None) -> Response[str]:
    """The JWK Set with its caching model, or 304 when the caller holds this very set.

    ``Cache-Control: public, max-age=M, stale-if-error=S`` (RFC 9111 §5.2.2.1, §5.2.2.9; RFC 5861
    §4) with ``S = stale_if_error_for(M)``: the very figures the authorizer's cache uses and the
    rotation's publish lead is checked against (``lead >= M + S + authorizer cache TTL``), so the
    windows SECURITY.md states hold for any verifier that follows these headers.  The ``ETag`` is a
    digest of the body: a verifier revalidating with ``If-None-Match`` (RFC 9110 §13.1.2) gets 304
    and no body while the set is unchanged, and its copy is fresh for ``M`` again.  An empty set is
    ``no-cache``: it must not stick in caches once the first key appears."""
    body = json.dumps(document, separators=(",", ":"))
    tag = entity_tag(body)
    if document.get("keys"):
        cache_control = f"public, max-age={max_age}, stale-if-error={stale_if_error_for(max_age)}"
    else:
        cache_control = "no-cache"
    headers = {"Cache-Control": cache_control, "ETag": tag}
    if if_none_match is not None and matches(if_none_match, tag):
        # RFC 9110 §15.4.5: a 304 carries the Cache-Control and ETag a 200 would have, and no body
        return Response(status_code=304, headers=headers)
    return Response(status_code=200, content_type=JWK_SET, body=body, headers=headers)


def revocations_response(document: dict[str, Any], max_age: int, if_none_match: str | None) -> Response[str]:
    """The revocation document (issue 14; :mod:`partnerauth.revocations`) with the JWKS's caching model:
    the same ``max-age``, ``stale-if-error`` and ``ETag``/304, so a verifier learns a revocation within
    the window it learns a key withdrawal.  An empty document is the normal case and is cached too."""
    body = json.dumps(document, separators=(",", ":"))
    tag = entity_tag(body)
    headers = {
        "Cache-Control": f"public, max-age={max_age}, stale-if-error={stale_if_error_for(max_age)}",
        "ETag": tag,
    }
    if if_none_match is not None and matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)  # RFC 9110 §15.4.5
    return Response(status_code=200, content_type=JSON, body=body, headers=headers)


def entity_tag(body: str) -> str:
    """A strong entity tag (RFC 9110 §8.8.3): 128 bits of the body's SHA-256, base64url."""
    digest = hashlib.sha256(body.encode("utf-8")).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=") + '"'


def matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or a list of entity tags, compared weakly (a ``W/`` prefix is ignored).
    Anything unparsable simply does not match (the full set is served)."""
    if len(if_none_match) > 1024:
        return False
    if if_none_match.strip() == "*":
        return True
    candidates = (part.strip() for part in if_none_match.split(","))
    return any(c.removeprefix("W/") == tag for c in candidates)


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
