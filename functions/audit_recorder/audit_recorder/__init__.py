"""AuditRecorderFunction: the admin tables' DynamoDB streams -> the append-only AuditTable (issue 14)."""
