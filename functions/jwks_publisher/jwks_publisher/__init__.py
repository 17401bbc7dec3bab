"""JwksFunction: the published signing keys (RFC 7517) and the RFC 8414 authorization-server metadata."""
