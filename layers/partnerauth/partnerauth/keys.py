"""Signing keys: generation, the public JWK, and the private PEM the key store encrypts."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .algorithms import ALGORITHMS, KeySpec
from .errors import ConfigurationError
from .jwk import public_jwk

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private signing key with its algorithm; ``kid`` is the RFC 7638 thumbprint.

    ``repr`` shows only the ``kid`` and ``alg``: a key that ends up in a log line or a
    traceback must not leak its private half.
    """

    kid: str
    alg: str
    private_key: PrivateKey = field(repr=False)

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key.public_key(), self.alg)

    def private_pem(self) -> bytes:
        """PKCS#8 PEM for the key store, which encrypts it with KMS before it is stored."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_private_key(cls, private_key: PrivateKey, alg: str) -> SigningKey:
        spec = ALGORITHMS.get(alg)
        jwk = public_jwk(private_key.public_key(), alg)
        if spec is None or spec.kty != jwk["kty"] or spec.crv != jwk.get("crv"):
            raise ConfigurationError("algorithm does not fit the key")
        return cls(kid=jwk["kid"], alg=alg, private_key=private_key)

    @classmethod
    def from_pem(cls, pem: bytes, alg: str) -> SigningKey:
        private_key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(
            private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        ):
            raise ConfigurationError("unsupported private key type")
        return cls.from_private_key(private_key, alg)


def generate_signing_key(spec: KeySpec | str) -> SigningKey:
    """A fresh key for ``spec`` (RS256 with 2048 or 3072 bits, ES256 on P-256, EdDSA on Ed25519)."""
    spec = KeySpec(spec)
    private_key: PrivateKey
    if spec in (KeySpec.RS256, KeySpec.RS256_3072):
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=spec.rsa_bits)
    elif spec is KeySpec.ES256:
        private_key = ec.generate_private_key(ec.SECP256R1())
    else:
        private_key = ed25519.Ed25519PrivateKey.generate()
    return SigningKey.from_private_key(private_key, spec.algorithm.name)
