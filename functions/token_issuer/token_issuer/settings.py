"""TokenFunction configuration, read from the environment once at import (DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from partnerauth.client_assertion import DEFAULT_MAX_AGE, AssertionRules
from partnerauth.errors import ConfigurationError
from partnerauth.usage_plans import PLAN_TOKEN_RATES
from partnerauth.verification import DEFAULT_LEEWAY

DEFAULT_TOKEN_RATE = PLAN_TOKEN_RATES["bronze"]  # the template's TokenRatePerMinute default


@dataclass(frozen=True, slots=True)
class TokenSettings:
    clients_table: str
    signing_keys_table: str
    kms_key_id: str  # Decrypt names this key: a ciphertext made under any other key is refused
    auth_attempts_table: str
    pepper_secret_arn: str
    issuer: str | None  # None: derived per request from the API Gateway domain and stage
    default_audience: str | None
    max_token_lifetime: int
    # private_key_jwt (RFC 7523): the single-use jti records, how long an assertion is usable, clock skew
    client_assertions_table: str | None = None
    client_assertion_max_age: int = DEFAULT_MAX_AGE  # optional CLIENT_ASSERTION_MAX_AGE (DESIGN.md)
    leeway: int = DEFAULT_LEEWAY
    # issue 15 item 2: tokens per minute of a client without a plan (usage_plans.PLAN_TOKEN_RATES)
    token_rate_per_minute: int = DEFAULT_TOKEN_RATE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenSettings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"{name} is not set")
            return value

        def whole(name: str, default: int) -> int:
            try:
                return int(env.get(name, "").strip() or default)
            except ValueError:
                raise ConfigurationError(f"{name} must be an integer") from None

        try:
            max_lifetime = int(env.get("MAX_TOKEN_LIFETIME", "3600"))
        except ValueError:
            raise ConfigurationError("MAX_TOKEN_LIFETIME must be an integer") from None
        if max_lifetime < 60:
            raise ConfigurationError("MAX_TOKEN_LIFETIME must be at least 60 seconds")
        max_age, leeway = whole("CLIENT_ASSERTION_MAX_AGE", DEFAULT_MAX_AGE), whole("LEEWAY", DEFAULT_LEEWAY)
        try:
            AssertionRules(max_age=max_age, leeway=leeway)  # refused at cold start, never per request
        except ValueError as error:
            raise ConfigurationError(f"CLIENT_ASSERTION_MAX_AGE / LEEWAY: {error}") from None
        token_rate = whole("TOKEN_RATE_PER_MINUTE", DEFAULT_TOKEN_RATE)
        if token_rate < 1:
            raise ConfigurationError("TOKEN_RATE_PER_MINUTE must be at least 1")
        return cls(
            clients_table=required("CLIENTS_TABLE"),
            signing_keys_table=required("SIGNING_KEYS_TABLE"),
            kms_key_id=required("KMS_KEY_ID"),
            auth_attempts_table=required("AUTH_ATTEMPTS_TABLE"),
            pepper_secret_arn=required("PEPPER_SECRET_ARN"),
            issuer=env.get("ISSUER", "").strip().rstrip("/") or None,
            default_audience=env.get("DEFAULT_AUDIENCE", "").strip() or None,
            max_token_lifetime=max_lifetime,
            client_assertions_table=required("CLIENT_ASSERTIONS_TABLE"),
            client_assertion_max_age=max_age,
            leeway=leeway,
            token_rate_per_minute=token_rate,
        )
