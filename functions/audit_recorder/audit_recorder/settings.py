"""AuditRecorderFunction configuration, read from the environment once at import (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from partnerauth.audit_trail import AuditedTable
from partnerauth.errors import ConfigurationError

# Environment variable -> the audited table it names (its stream's records carry the table's name).
SOURCE_TABLES = {
    "CLIENTS_TABLE": AuditedTable.CLIENTS,
    "SIGNING_KEYS_TABLE": AuditedTable.SIGNING_KEYS,
    "REVOCATIONS_TABLE": AuditedTable.REVOCATIONS,
    "APIS_TABLE": AuditedTable.APIS,
}


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    audit_table: str
    retention_days: int
    tables: Mapping[str, AuditedTable]  # table name -> which audited table

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RecorderSettings:
        audit_table = env.get("AUDIT_TABLE", "").strip()
        if not audit_table:
            raise ConfigurationError("AUDIT_TABLE is not set")
        raw = env.get("AUDIT_RETENTION_DAYS", "").strip()
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigurationError("AUDIT_RETENTION_DAYS must be a whole number of days >= 1")
        tables: dict[str, AuditedTable] = {}
        for variable, table in SOURCE_TABLES.items():
            name = env.get(variable, "").strip()
            if not name:
                raise ConfigurationError(f"{variable} is not set")
            tables[name] = table
        return cls(audit_table, int(raw), tables)
