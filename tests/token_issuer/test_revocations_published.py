"""JwksFunction publishes the revocation document beside the JWKS with the JWKS's caching model (issue 14)."""

from __future__ import annotations

import json
from typing import Any

from partnerauth.jwks_cache import stale_if_error_for
from partnerauth.revocations import REVOCATIONS_PATH, RevocationStore, parse_revocations

from .conftest import Endpoint


def test_the_revocations_are_served_with_the_jwks_caching_model_and_revalidate(
    jwks_endpoint: Endpoint,
    jwks_env: dict[str, str],
    tables: dict[str, str],
    dynamodb_client: Any,
    clock: Any,
) -> None:
    empty = jwks_endpoint.get(REVOCATIONS_PATH)
    assert empty.status == 200
    assert parse_revocations(json.loads(empty.body)) == {}  # the normal case: cached like any other
    store = RevocationStore(
        tables["RevocationsTable"], dynamodb_client, max_token_lifetime=3600, leeway=60, clock=clock
    )
    store.revoke_client("acme")
    reply = jwks_endpoint.get(REVOCATIONS_PATH)
    max_age = int(jwks_env["JWKS_MAX_AGE"])
    # RFC 9111 §5.2.2.1, RFC 5861 §4: the same figures as the JWKS, so the same windows hold
    assert (
        reply.header("Cache-Control")
        == f"public, max-age={max_age}, stale-if-error={stale_if_error_for(max_age)}"
    )
    assert "client:acme" in parse_revocations(json.loads(reply.body))
    tag = reply.header("ETag")
    assert tag is not None
    assert tag != empty.header("ETag")
    # RFC 9110 §13.1.2, §15.4.5: the unchanged document is a 304 without a body
    again = jwks_endpoint.request("GET", REVOCATIONS_PATH, headers=(("If-None-Match", tag),))
    assert again.status == 304
    assert again.body == b""
