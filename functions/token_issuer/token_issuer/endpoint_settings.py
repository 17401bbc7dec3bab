"""What the revocation (RFC 7009) and introspection (RFC 7662) endpoints need beyond the token endpoint's
settings (:mod:`.settings`), read from the environment once at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from partnerauth.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class RevocationSettings:
    revocations_table: str  # RevocationsTable: written by RFC 7009 revocations, read by introspection

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RevocationSettings:
        env = os.environ if env is None else env
        name = env.get("REVOCATIONS_TABLE", "").strip()
        if not name:
            raise ConfigurationError("REVOCATIONS_TABLE is not set")
        return cls(revocations_table=name)
