"""One error tree for the whole package.

Modelled on awslabs/aws-jwt-verify's ``error.ts``: every rejection carries a fixed,
enumerated :class:`Reason`.  Messages are constant strings chosen here, never built
from the token, its claims or key material, so an error can be logged or counted
as it is.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a token was rejected; one value per metric dimension and log field."""

    MALFORMED = "malformed"
    DISALLOWED_ALGORITHM = "disallowed_algorithm"
    UNSUPPORTED_HEADER = "unsupported_header"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_KEY = "unknown_key"
    KEYS_UNAVAILABLE = "keys_unavailable"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    INSUFFICIENT_SCOPE = "insufficient_scope"


class PartnerAuthError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(PartnerAuthError):
    """Settings that cannot work (refused at start, never at request time)."""


# The claims and header parameters a rejection may name (``TokenRejected.fault``): a fixed set, so a
# log field and a configured claim name can never carry anything else; other names are "claim.other".
FAULT_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "azp", "cid", "appid", "scope", "scp",
     "roles", "token_use", "typ", "ver", "tid", "gty"}
)  # fmt: skip
FAULT_HEADERS = frozenset({"alg", "kid", "typ", "cty", "crit", "b64", "zip"})


class TokenRejected(PartnerAuthError):
    """A token failed verification.  ``reason`` is the only thing callers branch on; ``fault`` names
    the claim or header parameter at fault (``"claim.aud"``, ``"header.cty"``) from a fixed set, never
    its value."""

    reason: Reason = Reason.MALFORMED

    def __init__(
        self,
        reason: Reason | None = None,
        detail: str | None = None,
        *,
        claim: str | None = None,
        header: str | None = None,
    ) -> None:
        if reason is not None:
            self.reason = reason
        # ``detail`` is a constant written in this package (e.g. "exp must be a number"),
        # never a value taken from the token.
        self.detail = detail or self.reason.value.replace("_", " ")
        self.fault: str | None = None
        if claim is not None:
            self.fault = f"claim.{claim}" if claim in FAULT_CLAIMS else "claim.other"
        elif header is not None:
            self.fault = f"header.{header}" if header in FAULT_HEADERS else "header.other"
        super().__init__(f"{self.reason.value}: {self.detail}")


class MalformedToken(TokenRejected):
    """Not a well-formed compact JWS we are willing to parse (RFC 8725 §3.1, §3.11)."""

    reason = Reason.MALFORMED


class HeaderRejected(TokenRejected):
    """A JOSE header we refuse: algorithm, ``typ``, ``crit``, missing ``kid``."""

    reason = Reason.UNSUPPORTED_HEADER


class KeyNotFound(TokenRejected):
    """No published key of the token's issuer has the token's ``kid``."""

    reason = Reason.UNKNOWN_KEY


class KeysUnavailable(TokenRejected):
    """The issuer's keys could not be fetched and none are cached."""

    reason = Reason.KEYS_UNAVAILABLE


class SignatureInvalid(TokenRejected):
    """The signature does not verify with the selected key."""

    reason = Reason.BAD_SIGNATURE


class ClaimInvalid(TokenRejected):
    """A claim is missing, of the wrong type, or outside what the policy accepts."""

    reason = Reason.INVALID_CLAIM


class InsufficientScope(TokenRejected):
    """The token is valid but does not carry the scope the resource needs (RFC 6750 §3.1)."""

    reason = Reason.INSUFFICIENT_SCOPE


class JwksFetchError(PartnerAuthError):
    """A JWKS document could not be fetched or parsed (network, status, size, JSON)."""


class KeyStoreError(PartnerAuthError):
    """The signing-key store is unreachable or holds no usable key."""
