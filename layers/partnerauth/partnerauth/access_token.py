"""JWT access tokens in the RFC 9068 profile, signed with PyJWT."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import jwt

from .keys import SigningKey

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1
JTI_BYTES = 16  # 128 bits of randomness (RFC 9068 §2.2 / RFC 7519 §4.1.7: collision-resistant)


@dataclass(frozen=True, slots=True)
class AccessTokenRequest:
    """What the authorization server decided to grant; becomes the token's claims."""

    issuer: str
    client_id: str
    audience: str | tuple[str, ...]
    scopes: tuple[str, ...]
    lifetime: int
    subject: str | None = None  # RFC 9068 §2.2: for client credentials, sub identifies the client


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed token and the fields we may log instead of it."""

    token: str = ""
    jti: str = ""
    kid: str = ""
    issued_at: int = 0
    expires_at: int = 0

    def __repr__(self) -> str:  # never the token itself
        return f"IssuedToken(jti={self.jti!r}, kid={self.kid!r}, expires_at={self.expires_at})"


def sign_access_token(key: SigningKey, request: AccessTokenRequest, now: float) -> IssuedToken:
    """Sign an RFC 9068 §2 access token: header ``typ: at+jwt``/``alg``/``kid``; claims
    ``iss sub aud exp iat nbf jti client_id scope``."""
    if request.lifetime <= 0:
        raise ValueError("lifetime must be positive")
    issued_at = math.floor(now)
    expires_at = issued_at + request.lifetime
    jti = secrets.token_urlsafe(JTI_BYTES)
    audience = request.audience if isinstance(request.audience, str) else list(request.audience)
    claims: dict[str, object] = {
        "iss": request.issuer,
        "sub": request.subject or request.client_id,
        "aud": audience,
        "exp": expires_at,
        "iat": issued_at,
        "nbf": issued_at,
        "jti": jti,
        "client_id": request.client_id,
    }
    if request.scopes:
        claims["scope"] = " ".join(request.scopes)  # RFC 9068 §2.2.3 / RFC 8693 §4.2
    token = jwt.encode(
        claims, key.private_key, algorithm=key.alg, headers={"typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
    )
    return IssuedToken(token=token, jti=jti, kid=key.kid, issued_at=issued_at, expires_at=expires_at)
