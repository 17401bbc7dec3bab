"""The revocation (RFC 7009) and introspection (RFC 7662) endpoints and their collaborators, built from
settings and injected AWS clients (no I/O here), like :func:`.grant.build_grant`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partnerauth.client_registry import ClientRegistry
from partnerauth.client_secrets import LazySecretHasher
from partnerauth.published_keys import PublishedSigningKeys
from partnerauth.revocations import RevocationStore
from partnerauth.token_introspection import OwnTokenReader, TokenIntrospection

from .endpoint_settings import RevocationSettings
from .introspection_endpoint import IntrospectionEndpoint
from .revocation_endpoint import Authenticator, TokenRevocation
from .settings import TokenSettings


@dataclass(frozen=True, slots=True)
class OwnTokenEndpoints:
    revocation: TokenRevocation
    introspection: IntrospectionEndpoint


def build_own_token_endpoints(
    settings: TokenSettings,
    revocation_settings: RevocationSettings,
    *,
    dynamodb: Any,
    authenticator: Authenticator,
    fetch_pepper: Callable[[], str | bytes],
    clock: Callable[[], float] = time.time,
) -> OwnTokenEndpoints:
    """``authenticator`` is the token endpoint's (``grant.authenticator``): one set of client rules."""
    reader = OwnTokenReader(
        PublishedSigningKeys(settings.signing_keys_table, dynamodb, clock),
        max_token_lifetime=settings.max_token_lifetime,
        leeway=settings.leeway,
        clock=clock,
    )
    store = RevocationStore(
        revocation_settings.revocations_table,
        dynamodb,
        max_token_lifetime=settings.max_token_lifetime,
        leeway=settings.leeway,
        clock=clock,
    )
    # find() only: one consistent read of the client (disabled or deleted: inactive); nothing is hashed
    clients = ClientRegistry(settings.clients_table, dynamodb, LazySecretHasher(fetch_pepper), clock)
    return OwnTokenEndpoints(
        TokenRevocation(authenticator, reader, store),
        IntrospectionEndpoint(authenticator, TokenIntrospection(reader, store, clients)),
    )
