"""Reading our own access tokens at the authorization server: RFC 7662 introspection, and the check
RFC 7009 revocation makes before it writes anything.

:class:`OwnTokenReader` runs the one verification pipeline the authorizer uses
(:class:`~partnerauth.verification.AccessTokenVerifier`: ``typ`` at+jwt per RFC 9068 §4, our issuer only,
a key we publish now, signature, ``exp``/``nbf``/``iat`` with the leeway, the RFC 9068 §2.2 claims, the
maximum lifetime) with our keys read from the table
(:class:`~partnerauth.published_keys.PublishedSigningKeys`).
It accepts any audience: whom a token is for is decided by the caller of the reader (introspection checks
it against the resource server asking, RFC 7662 §4; revocation does not care).

:class:`TokenIntrospection` answers RFC 7662 §2.2: ``{"active": false}`` and nothing else for a token that
is not ours, not a JWT access token, expired, not yet valid, not for the resource server asking, of a client
that is disabled or deleted, or revoked (per client or ``jti``, read from ``RevocationsTable`` with
consistent reads: exact, never a cached copy).  Why a token is inactive goes to the log only (RFC 7662
§2.2: "SHOULD NOT include any additional information about an inactive token").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final, Protocol

from .algorithms import KeySpec
from .client_registry import Client
from .compact import parse_compact
from .errors import ClaimInvalid, KeysUnavailable, MalformedToken, Reason, TokenRejected
from .key_source import KeySource
from .revocations import RevocationStore
from .server_metadata import JWKS_PATH
from .verification import AccessTokenVerifier, IssuerPolicy, VerifiedToken

TOKEN_TYPE: Final = "Bearer"  # RFC 7662 §2.2 token_type: as in RFC 6749 §5.1 (our tokens are bearer tokens)
INACTIVE: Final = {"active": False}
# What our signing keys sign with (every key spec the rotation may generate); each key also pins its own alg.
OWN_ALGORITHMS: Final = frozenset(spec.algorithm.name for spec in KeySpec)


class OwnTokenReader:
    """A token of ``issuer`` (ours), verified whatever its audience; :class:`TokenRejected` otherwise
    (:class:`KeysUnavailable` when our keys cannot be read: the caller answers 503, not "inactive")."""

    def __init__(
        self,
        keys: KeySource,
        *,
        max_token_lifetime: int,
        leeway: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._max_token_lifetime = max_token_lifetime
        self._leeway = leeway
        self._clock = clock

    def read(self, token: str, issuer: str) -> VerifiedToken:
        policy = IssuerPolicy(
            issuer=issuer,
            jwks_uri=issuer + JWKS_PATH,
            audiences=_declared_audience(token),
            algorithms=OWN_ALGORITHMS,
            max_lifetime=self._max_token_lifetime,
        )
        verifier = AccessTokenVerifier([policy], self._keys, leeway=self._leeway, clock=self._clock)
        return verifier.verify(token)


def _declared_audience(token: str) -> frozenset[str]:
    """The ``aud`` the token names (not yet trusted: the verifier then checks the signature over it), so
    that the verifier's audience rule holds for any audience of ours and every other rule still applies."""
    try:
        aud = parse_compact(token).payload.get("aud")
    except TokenRejected:
        raise
    except Exception:  # noqa: BLE001 - the contract: nothing but TokenRejected escapes
        raise MalformedToken(detail="token could not be processed") from None
    audiences = [aud] if isinstance(aud, str) else aud
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(a, str) and a for a in audiences)
    ):
        raise ClaimInvalid(Reason.INVALID_CLAIM, "aud must be a string or a list of strings", claim="aud")
    return frozenset(audiences)


@dataclass(frozen=True, slots=True)
class Introspected:
    """The answer and why (``reason`` is for logs and metrics only, never for the caller)."""

    token: VerifiedToken | None
    reason: str

    @property
    def active(self) -> bool:
        return self.token is not None

    def response_body(self) -> dict[str, Any]:
        """RFC 7662 §2.2: ``active`` and, for an active token, what it says about itself (never the token)."""
        token = self.token
        if token is None:
            return dict(INACTIVE)
        claims = token.claims
        body: dict[str, Any] = {"active": True}
        if "scope" in claims:
            body["scope"] = claims["scope"]
        body |= {"client_id": token.client_id, "token_type": TOKEN_TYPE, "exp": token.expires_at}
        body["iat"] = token.issued_at
        if isinstance(claims.get("nbf"), int):
            body["nbf"] = claims["nbf"]
        body |= {"sub": token.subject, "aud": claims["aud"], "iss": token.issuer, "jti": token.jti}
        return body

    def log_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"active": self.active, "reason": self.reason}
        if self.token is not None:
            fields |= {"token_client_id": self.token.client_id, "jti": self.token.jti, "kid": self.token.kid}
        return fields


class ClientLookup(Protocol):
    def find(self, client_id: str) -> Client | None: ...


class TokenIntrospection:
    """RFC 7662 §2.2 answers for the tokens of ``issuer``, asked by a resource server whose identifiers
    (its registered audiences) are ``resource_audiences``."""

    def __init__(self, reader: OwnTokenReader, revocations: RevocationStore, clients: ClientLookup) -> None:
        self._reader = reader
        self._revocations = revocations
        self._clients = clients

    def introspect(self, token: str, issuer: str, resource_audiences: Collection[str]) -> Introspected:
        try:
            verified = self._reader.read(token, issuer)
        except KeysUnavailable:
            raise  # our key table failed: 503, never "inactive" for a token that may be fine
        except TokenRejected as rejected:
            return Introspected(None, rejected.reason.value)
        if set(verified.audience).isdisjoint(resource_audiences):
            # RFC 7662 §4: a token usable only at certain resource servers is active only for them; §2.2:
            # a token "the protected resource is not allowed to introspect" is answered as inactive.
            return Introspected(None, "not_for_this_resource")
        client = self._clients.find(verified.client_id)
        if client is None or not client.active:
            return Introspected(None, "client_disabled" if client is not None else "client_deleted")
        if self._revocations.is_revoked(verified.client_id, verified.jti, verified.issued_at):
            return Introspected(None, "revoked")  # RFC 7662 §4: revocation MUST be checked
        return Introspected(verified, "active")
