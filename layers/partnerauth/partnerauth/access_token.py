"""JWT access tokens in the RFC 9068 profile: the JWS Compact Serialization (RFC 7515 §7.1) built here,
the signature made by PyJWT's own algorithm object for the key's ``alg``.

Not ``jwt.encode``: for the same claims it spends tens of microseconds per token on work that does not
change between tokens (checking and sorting the same header, a new JSON encoder per call, looking the
algorithm up, preparing the key) beside a signature of a few hundred (benchmarks/bench_token_endpoint.py).
The bytes are those ``jwt.encode`` writes for the same claims, key and header (sorted header keys, compact
JSON, unpadded base64url): tests/layer/test_access_token_encoding.py compares them.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
from dataclasses import dataclass
from functools import lru_cache

from jwt.algorithms import Algorithm, get_default_algorithms

from .keys import SigningKey

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1
JTI_BYTES = 16  # 128 bits of randomness (RFC 9068 §2.2 / RFC 7519 §4.1.7: collision-resistant)

# RFC 7515 §7.1: compact JSON, non-ASCII escaped (what PyJWT writes); one encoder, made once.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_SIGNERS: dict[str, Algorithm] = get_default_algorithms()


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
    signing_input = (
        _encoded_header(key.alg, key.kid) + b"." + _base64url(_COMPACT_JSON.encode(claims).encode())
    )
    signature = _SIGNERS[key.alg].sign(signing_input, key.private_key)
    token = (signing_input + b"." + _base64url(signature)).decode("ascii")
    return IssuedToken(token=token, jti=jti, kid=key.kid, issued_at=issued_at, expires_at=expires_at)


@lru_cache(maxsize=16)
def _encoded_header(alg: str, kid: str) -> bytes:
    """The protected header of every token a key signs (RFC 9068 §2.1 ``typ``; RFC 7515 §4.1.4 ``kid``),
    encoded once per key: its keys sorted, as PyJWT sorts them."""
    header = {"alg": alg, "kid": kid, "typ": ACCESS_TOKEN_TYPE}
    return _base64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _base64url(data: bytes) -> bytes:
    """RFC 7515 §2: base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")
