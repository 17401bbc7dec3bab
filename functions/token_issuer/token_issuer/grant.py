"""The client credentials grant (RFC 6749 §4.4): authenticate, decide scope/audience/lifetime, sign.

Order of checks (each a §5.2 error):

1. ``grant_type`` is ``client_credentials``, else ``unsupported_grant_type`` (no store work for junk);
2. client authentication (``invalid_client``) and the throttle for the presented id, by the
   :class:`~token_issuer.client_authentication.ClientAuthenticator` the other endpoints share;
3. the client is registered for this grant (RFC 7591 ``grant_types``), else ``unauthorized_client``;
4. ``scope`` is well-formed (RFC 6749 §3.3) and within the client's scopes, else ``invalid_scope``;
   omitted, it defaults to all of the client's scopes (§3.3 allows a pre-defined default);
5. ``resource`` (RFC 8707) / ``audience`` is one of the client's audiences, else ``invalid_target``;
6. the client's token issuance limit (issue 15 item 2, :mod:`partnerauth.token_rate`): 429 with
   ``Retry-After`` over it; counted only for a token that is then signed.

No refresh token is issued (RFC 6749 §4.4.3): the client simply asks again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from partnerauth.access_token import AccessTokenRequest, IssuedToken, sign_access_token
from partnerauth.assertion_authentication import AssertionAuthenticator
from partnerauth.assertion_replay import AssertionReplayGuard
from partnerauth.auth_throttle import AuthThrottle
from partnerauth.client_and_attempts import ClientAndAttemptsReader
from partnerauth.client_assertion import AssertionRules
from partnerauth.client_registry import CLIENT_CREDENTIALS, Client, ClientRegistry
from partnerauth.client_secrets import Hasher, LazySecretHasher
from partnerauth.jwks_cache import JwksCache
from partnerauth.jwks_fetch import HttpJwksFetcher
from partnerauth.key_store import KeyStore
from partnerauth.keys import SigningKey
from partnerauth.resource_indicator import is_resource_indicator
from partnerauth.token_rate import TokenRateLimiter
from partnerauth.usage_plans import token_rate

from .client_authentication import ClientAuthenticator
from .oauth_errors import InvalidScope, InvalidTarget, UnauthorizedClient, UnsupportedGrantType
from .settings import DEFAULT_TOKEN_RATE, TokenSettings
from .signing_key_cache import DEFAULT_TTL, CachedSigningKey
from .token_request import TokenRequest

# RFC 6749 §3.3: scope = scope-token *( SP scope-token ); scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
MAX_SCOPE_LENGTH = 1024


class SigningKeySource(Protocol):
    def current_signing_key(self) -> SigningKey: ...


@dataclass(frozen=True, slots=True)
class GrantPolicy:
    max_token_lifetime: int
    default_audience: str | None = None
    default_token_rate: int = DEFAULT_TOKEN_RATE  # tokens per minute of a client without a plan


@dataclass(frozen=True, slots=True)
class TokenGranted:
    """The outcome of a successful request.  ``repr`` (via :class:`IssuedToken`) never shows the token."""

    issued: IssuedToken
    client_id: str
    scopes: tuple[str, ...]
    audience: str
    lifetime: int

    def response_body(self) -> dict[str, Any]:
        """RFC 6749 §5.1 (and §4.4.3: no ``refresh_token``)."""
        return {
            "access_token": self.issued.token,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": " ".join(self.scopes),
        }

    def log_fields(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "jti": self.issued.jti,
            "kid": self.issued.kid,
            "scope": " ".join(self.scopes),
            "aud": self.audience,
            "expires_at": self.issued.expires_at,
        }


class ClientCredentialsGrant:
    def __init__(
        self,
        authenticator: ClientAuthenticator,
        signing_keys: SigningKeySource,
        policy: GrantPolicy,
        token_rate: TokenRateLimiter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.authenticator = authenticator  # shared with revocation and introspection (same rules)
        self._signing_keys = signing_keys
        self._token_rate = token_rate
        self._policy = policy
        self._clock = clock

    def issue(self, request: TokenRequest, issuer: str) -> TokenGranted:
        if request.grant_type != CLIENT_CREDENTIALS:
            raise UnsupportedGrantType("only client_credentials is supported", reason="grant_type")
        client = self.authenticator.authenticate(request.credentials, issuer)
        if CLIENT_CREDENTIALS not in client.grant_types:
            raise UnauthorizedClient(
                "the client may not use the client_credentials grant", client_id=client.client_id
            )
        scopes = _granted_scopes(client, request.scope)
        audience = self._audience(client, request)
        lifetime = min(client.token_lifetime, self._policy.max_token_lifetime)
        key = self._signing_keys.current_signing_key()
        # Counted last, just before signing (which cannot fail): only tokens actually issued count, and
        # no token is issued uncounted (a DynamoDB failure here is the endpoint's 503).
        self._token_rate.count(client.client_id, token_rate(client.plan, self._policy.default_token_rate))
        issued = sign_access_token(
            key,
            AccessTokenRequest(
                issuer=issuer, client_id=client.client_id, audience=audience, scopes=scopes, lifetime=lifetime
            ),
            now=self._clock(),
        )
        return TokenGranted(issued, client.client_id, scopes, audience, lifetime)

    def _audience(self, client: Client, request: TokenRequest) -> str:
        if request.resource is not None:
            # RFC 8707 §2: an absolute URI without a fragment; a malformed one is invalid_target, not a 500.
            if not is_resource_indicator(request.resource):
                raise InvalidTarget(
                    "resource must be an absolute URI without a fragment", client_id=client.client_id
                )
            target = request.resource
        elif request.audience is not None:
            target = request.audience
        else:
            default = self._policy.default_audience
            return default if default is not None and default in client.audiences else client.audiences[0]
        if target not in client.audiences:
            raise InvalidTarget(
                "the requested audience is not allowed for this client", client_id=client.client_id
            )
        return target


def _granted_scopes(client: Client, scope: str | None) -> tuple[str, ...]:
    if scope is None:
        return client.scopes  # RFC 6749 §3.3: the pre-defined default is everything the client may have
    if len(scope) > MAX_SCOPE_LENGTH or not _SCOPE.fullmatch(scope):
        raise InvalidScope("scope is malformed", client_id=client.client_id)
    requested = tuple(dict.fromkeys(scope.split(" ")))
    if not set(requested) <= set(client.scopes):
        # RFC 6749 §5.2 "exceeds the scope granted": invalid_scope, never a silently narrowed token.
        raise InvalidScope(
            "the requested scope exceeds what the client may request", client_id=client.client_id
        )
    return requested


def build_grant(
    settings: TokenSettings,
    *,
    dynamodb: Any,
    kms: Any,
    fetch_pepper: Callable[[], str | bytes],
    clock: Callable[[], float] = time.time,
    key_cache_ttl: float = DEFAULT_TTL,
    hasher: Hasher | None = None,
    jwks_uri_keys: JwksCache | None = None,
) -> ClientCredentialsGrant:
    """The grant and its collaborators, from settings and injected AWS clients (no I/O here).
    ``hasher`` replaces the pepper-keyed hasher (tests wrap one to count the work)."""
    registry = ClientRegistry(
        settings.clients_table,
        dynamodb,
        hasher or LazySecretHasher(fetch_pepper),
        clock,
        max_token_lifetime=settings.max_token_lifetime,
    )
    throttle = AuthThrottle(settings.auth_attempts_table, dynamodb, clock=clock)
    reader = ClientAndAttemptsReader(registry, throttle, dynamodb)
    key_store = KeyStore(
        settings.signing_keys_table, dynamodb, kms_client=kms, kms_key_id=settings.kms_key_id, clock=clock
    )
    assertions = None
    if settings.client_assertions_table is not None:
        assertions = AssertionAuthenticator(
            jwks_uri_keys or JwksCache(HttpJwksFetcher()),
            AssertionReplayGuard(settings.client_assertions_table, dynamodb),
            AssertionRules(max_age=settings.client_assertion_max_age, leeway=settings.leeway),
            clock,
        )
    return ClientCredentialsGrant(
        ClientAuthenticator(registry, throttle, reader, assertions),
        CachedSigningKey(key_store, ttl=key_cache_ttl, clock=clock),
        GrantPolicy(
            max_token_lifetime=settings.max_token_lifetime,
            default_audience=settings.default_audience,
            default_token_rate=settings.token_rate_per_minute,
        ),
        TokenRateLimiter(settings.auth_attempts_table, dynamodb, clock=clock),
        clock,
    )
