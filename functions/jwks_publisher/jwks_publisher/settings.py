"""JwksFunction configuration, read from the environment once at import (DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from partnerauth.errors import ConfigurationError
from partnerauth.scopes import is_scope_token


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    signing_keys_table: str
    issuer: str | None  # None: derived per request from the API Gateway domain and stage
    jwks_max_age: int  # seconds, > 0; publish lead >= it + stale-if-error + cache TTL (the rotation checks)
    supported_scopes: tuple[str, ...]
    revocations_table: str | None = None  # None: no revocation document is served (404)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PublisherSettings:
        env = os.environ if env is None else env
        table = env.get("SIGNING_KEYS_TABLE", "").strip()
        if not table:
            raise ConfigurationError("SIGNING_KEYS_TABLE is not set")
        try:
            max_age = int(env.get("JWKS_MAX_AGE", "600"))
        except ValueError:
            raise ConfigurationError("JWKS_MAX_AGE must be an integer") from None
        if max_age <= 0:
            # The caching model (responses.jwks_response) and the rotation's publish lead are counted
            # in max ages: a set that may not be cached at all would make every verifier fetch per call.
            raise ConfigurationError("JWKS_MAX_AGE must be a positive number of seconds")
        scopes = tuple(dict.fromkeys(env.get("SUPPORTED_SCOPES", "").split()))
        if not all(map(is_scope_token, scopes)):
            raise ConfigurationError("SUPPORTED_SCOPES must be scope tokens (RFC 6749 §3.3)")
        return cls(
            signing_keys_table=table,
            issuer=env.get("ISSUER", "").strip().rstrip("/") or None,
            jwks_max_age=max_age,
            supported_scopes=scopes,
            revocations_table=env.get("REVOCATIONS_TABLE", "").strip() or None,
        )
