"""JWS algorithms we sign and verify with, and the key each one needs.

RFC 8725 §3.1: the verifier decides which algorithms are acceptable; the token's
``alg`` header is only checked against that list and against the selected key.
``none`` and every HMAC algorithm are absent on purpose (RFC 8725 §2.1, §3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Algorithm:
    """An asymmetric JWS algorithm (RFC 7518 §3) and the JWK it requires."""

    name: str
    kty: str
    crv: str | None = None
    min_rsa_bits: int = 0


RS256 = Algorithm("RS256", "RSA", min_rsa_bits=2048)
RS384 = Algorithm("RS384", "RSA", min_rsa_bits=2048)
RS512 = Algorithm("RS512", "RSA", min_rsa_bits=2048)
PS256 = Algorithm("PS256", "RSA", min_rsa_bits=2048)
ES256 = Algorithm("ES256", "EC", crv="P-256")
ES384 = Algorithm("ES384", "EC", crv="P-384")
EDDSA = Algorithm("EdDSA", "OKP", crv="Ed25519")

ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (RS256, RS384, RS512, PS256, ES256, ES384, EDDSA)}


def algorithm(name: str) -> Algorithm:
    """The algorithm called ``name``; a configuration error for anything else (``none``, HS*)."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ConfigurationError("unsupported algorithm") from None


def allowed_algorithms(names: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Parse an allow-list (comma-separated string or sequence) and refuse unknown names."""
    items = names.split(",") if isinstance(names, str) else list(names)
    result = frozenset(algorithm(item.strip()).name for item in items if item.strip())
    if not result:
        raise ConfigurationError("the algorithm allow-list is empty")
    return result


class KeySpec(StrEnum):
    """What the key-rotation function generates (template parameter ``SigningAlgorithm``)."""

    RS256 = "RS256"  # RSA 2048, the default: API Gateway's own JWT authorizers accept it
    RS256_3072 = "RS256-3072"
    ES256 = "ES256"
    EDDSA = "EdDSA"

    @property
    def algorithm(self) -> Algorithm:
        return {"RS256": RS256, "RS256-3072": RS256, "ES256": ES256, "EdDSA": EDDSA}[self.value]

    @property
    def rsa_bits(self) -> int:
        return 3072 if self is KeySpec.RS256_3072 else 2048
