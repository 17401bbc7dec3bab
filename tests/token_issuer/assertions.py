"""Partner-side helpers for ``private_key_jwt`` tests: a partner's key pair and the assertions it signs.

:func:`sign_assertion` builds the compact JWS by hand (JSON, base64url, PyJWT's algorithm objects for the
signature), so a test controls every header and claim: overrides replace, ``None`` removes.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from jwt import get_algorithm_by_name

from partnerauth import base64url
from partnerauth.client_assertion import JWT_BEARER
from partnerauth.keys import SigningKey

_counter = itertools.count(1)


@dataclass(frozen=True)
class PartnerKey:
    """A partner's key pair; :attr:`jwk` is what the partner registers (public members only)."""

    signing: SigningKey = field(repr=False)

    @property
    def kid(self) -> str:
        return self.signing.kid

    @property
    def alg(self) -> str:
        return self.signing.alg

    @property
    def jwk(self) -> dict[str, str]:
        return self.signing.public_jwk()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def private_jwk(self) -> dict[str, Any]:
        """The key with its private members, as a careless partner might hand it over."""
        document = get_algorithm_by_name(self.alg).to_jwk(self.signing.private_key, as_dict=True)
        return {**document, "kid": self.kid}


def new_jti() -> str:
    return f"jti-{next(_counter):08d}"


def compact(header: dict[str, Any], payload: dict[str, Any], sign: Any) -> str:
    signing_input = ".".join(
        base64url.encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    return f"{signing_input}.{base64url.encode(sign(signing_input.encode('ascii')))}"


def _apply(target: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    for name, value in (changes or {}).items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return target


def assertion_claims(client_id: str, audience: Any, now: float, lifetime: int = 60) -> dict[str, Any]:
    """RFC 7523 §3: iss = sub = the client id, aud, exp, iat, jti."""
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": new_jti(),
    }


def sign_assertion(
    key: PartnerKey,
    client_id: str,
    audience: Any,
    now: float,
    *,
    claims: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    alg: str | None = None,
    lifetime: int = 60,
) -> str:
    """A client assertion signed with ``key`` (``alg`` in the header may be overridden; the signature is
    always made with ``key``'s own algorithm unless ``alg`` names another of the same key type)."""
    payload = _apply(assertion_claims(client_id, audience, now, lifetime), claims)
    header = _apply({"alg": alg or key.alg, "typ": "client-authentication+jwt", "kid": key.kid}, headers)
    algorithm = get_algorithm_by_name(alg or key.alg)
    return compact(header, payload, lambda data: algorithm.sign(data, key.signing.private_key))


def hmac_assertion(secret: bytes, client_id: str, audience: Any, now: float, alg: str = "HS256") -> str:
    """The classic key-confusion forgery: HMAC keyed with the public key (RFC 8725 §2.1)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    header = {"alg": alg, "typ": "JWT"}
    return compact(
        header, assertion_claims(client_id, audience, now), lambda d: hmac.new(secret, d, digest).digest()
    )


def assertion_form(assertion: str, **extra: str) -> dict[str, str]:
    """A token request authenticated by ``assertion`` (RFC 7523 §2.2)."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **extra,
    }
