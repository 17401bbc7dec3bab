"""The authorization server's public identity: issuer identifier, endpoint URLs, RFC 8414 metadata.

Shared by the token issuer (the ``iss`` it signs) and the JWKS publisher (the metadata it
serves), so the two can never disagree about the issuer or the paths.

When ``ISSUER`` is empty the issuer is ``https://{domainName}/{stage}`` of the request:
``requestContext.domainName`` and ``stage`` are set by API Gateway, not by the client (the
``Host`` header is never used).  Behind a custom domain with base-path mappings the stage is not
part of the public URL, so ``ISSUER`` must be set there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .algorithms import ALGORITHMS
from .errors import ConfigurationError

TOKEN_PATH = "/oauth2/token"
REVOCATION_PATH = "/oauth2/revoke"  # RFC 7009
INTROSPECTION_PATH = "/oauth2/introspect"  # RFC 7662
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
# OpenID Connect Discovery 1.0 §4: where openid-client's default discovery() and API Gateway's native
# JWT authorizers look, at the issuer's own path (issuer + this)
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"
GRANT_TYPES = ("client_credentials",)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
# private_key_jwt assertions: the verifier's asymmetric allow-list (never none or HMAC, RFC 8725 §3.1-3.2)
AUTH_SIGNING_ALGORITHMS = tuple(ALGORITHMS)

_DOMAIN = re.compile(r"[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?")
_STAGE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def issuer_for(configured: str | None, request_context: Mapping[str, Any] | None) -> str:
    """``configured`` (trailing ``/`` removed), else the issuer derived from the request context."""
    if configured and configured.strip():
        return configured.strip().rstrip("/")
    context = request_context or {}
    domain, stage = str(context.get("domainName", "")), str(context.get("stage", ""))
    if not _DOMAIN.fullmatch(domain) or not _STAGE.fullmatch(stage):
        raise ConfigurationError("ISSUER is empty and the request context names no domain and stage")
    return f"https://{domain}/{stage}"


def authorization_server_metadata(issuer: str, scopes: Iterable[str]) -> dict[str, Any]:
    """RFC 8414 §2 metadata for a client-credentials-only server.

    ``response_types_supported`` is REQUIRED by §2 even without an authorization endpoint; the
    empty list says truthfully that no response type is supported.
    """
    return {
        "issuer": issuer,
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        # RFC 8414 §2: the algorithms a private_key_jwt assertion may be signed with
        "token_endpoint_auth_signing_alg_values_supported": list(AUTH_SIGNING_ALGORITHMS),
        # RFC 8414 §2: revocation (RFC 7009) and introspection (RFC 7662) authenticate clients exactly as
        # the token endpoint does, so they list the same methods and assertion algorithms
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(AUTH_SIGNING_ALGORITHMS),
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(AUTH_SIGNING_ALGORITHMS),
        "scopes_supported": list(dict.fromkeys(scopes)),
        "response_types_supported": [],
    }


def openid_configuration(issuer: str, scopes: Iterable[str]) -> dict[str, Any]:
    """The document served at ``/.well-known/openid-configuration``: the RFC 8414 metadata, member for
    member, and nothing an OpenID Provider would add.

    RFC 8414 §1 defines its members so that one document can serve both well-known paths.  We issue
    no ID tokens, have no end users and no authorization or userinfo endpoint, so the members OpenID
    Connect Discovery 1.0 §3 requires of an OpenID Provider for those (``authorization_endpoint``,
    ``subject_types_supported``, ``id_token_signing_alg_values_supported``) are left out rather than
    claimed falsely, and ``openid`` is not a scope here: clients that need only ``issuer``,
    ``jwks_uri`` and ``token_endpoint`` (openid-client's ``discovery()``, API Gateway's JWT
    authorizers) find them, and a client looking for an OpenID Provider sees that this is none.
    """
    return authorization_server_metadata(issuer, (scope for scope in scopes if scope != "openid"))
