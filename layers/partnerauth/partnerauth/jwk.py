"""Public JWKs and JWK Sets (RFC 7517), thumbprints (RFC 7638) and parsing for verifiers.

Parsing is strict and per key: a JWKS member that we cannot use (wrong type, weak
RSA modulus, private members, unknown ``alg``) is skipped on its own and never
spoils the rest of the set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import base64url
from .algorithms import ALGORITHMS, Algorithm

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_CURVES: dict[str, type[ec.EllipticCurve]] = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384"}
# RFC 7638 §3.2: the required members, per key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_KID_LENGTH = 256


def public_jwk_members(public_key: PublicKey) -> dict[str, str]:
    """The RFC 7518 §6 members of a public key, without ``kid``/``alg``/``use``."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "RSA", "n": base64url.encode_uint(numbers.n), "e": base64url.encode_uint(numbers.e)}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        crv = _CURVE_NAMES[public_key.curve.name]
        size = (public_key.curve.key_size + 7) // 8
        point = public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": crv,
            "x": base64url.encode(point.x.to_bytes(size, "big")),
            "y": base64url.encode(point.y.to_bytes(size, "big")),
        }
    raw = public_key.public_bytes_raw()
    return {"kty": "OKP", "crv": "Ed25519", "x": base64url.encode(raw)}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members, sorted, no whitespace; base64url."""
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64url.encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(public_key: PublicKey, alg: str) -> dict[str, str]:
    """A publishable JWK: members, ``kid`` = RFC 7638 thumbprint, ``use: sig``, ``alg``."""
    members = public_jwk_members(public_key)
    return {**members, "kid": jwk_thumbprint(members), "use": "sig", "alg": alg}


def build_jwks(keys: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set document (RFC 7517 §5) holding only public members."""
    published = []
    for key in keys:
        if _PRIVATE_MEMBERS.intersection(key):
            raise ValueError("refusing to publish private key material")
        published.append(dict(key))
    return {"keys": published}


# A signature check for one key and one algorithm: returns on a good signature, raises on anything else.
SignatureCheck = Callable[[bytes, bytes], None]
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
    "PS256": hashes.SHA256,
    "ES256": hashes.SHA256,
    "ES384": hashes.SHA384,
}


def _signature_check(key: PublicKey, alg: str) -> SignatureCheck:
    """The check of ``alg`` signatures by ``key``, with every object it needs built now, once per key.

    ``key`` and ``alg`` fit each other (``_compatible``): RSA for RS*/PS256, the curve of ES*, Ed25519
    for EdDSA.  The signature formats are RFC 7518's: §3.3 PKCS #1 v1.5, §3.5 PSS with MGF1 and a salt
    as long as the hash, §3.4 ECDSA as the fixed-length R || S, RFC 8037 §3.1 Ed25519."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key.verify  # (signature, data)
    hash_algorithm = _HASHES[alg]()
    if isinstance(key, rsa.RSAPublicKey):
        scheme: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
            if alg.startswith("PS")
            else padding.PKCS1v15()
        )
        return lambda signature, data: key.verify(signature, data, scheme, hash_algorithm)
    ecdsa = ec.ECDSA(hash_algorithm)
    size = (key.curve.key_size + 7) // 8

    def check_ecdsa(signature: bytes, data: bytes) -> None:
        if len(signature) != 2 * size:  # RFC 7518 §3.4: R and S, each exactly the curve's size
            raise ValueError("bad ECDSA signature length")
        r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ecdsa)

    return check_ecdsa


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key ready to verify signatures: ``algorithms`` are those it may be used with."""

    kid: str
    key: PublicKey
    algorithms: frozenset[str]
    _checks: Mapping[str, SignatureCheck] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        checks = {alg: _signature_check(self.key, alg) for alg in self.algorithms}
        object.__setattr__(self, "_checks", checks)

    def accepts(self, alg: str) -> bool:
        return alg in self.algorithms

    def verify_signature(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """``True`` only for a valid ``alg`` signature by this key over ``signing_input``; ``False`` for
        an algorithm the key does not accept and for any malformed signature (wrong length, ECDSA R or
        S out of range), never an exception."""
        check = self._checks.get(alg)
        if check is None:
            return False
        try:
            check(signature, signing_input)
        except Exception:  # noqa: BLE001 - InvalidSignature, and malformed signatures, are all "not valid"
            return False
        return True


def _compatible(algorithm: Algorithm, kty: str, crv: str | None) -> bool:
    return algorithm.kty == kty and algorithm.crv == crv


def _public_key(jwk: Mapping[str, Any]) -> tuple[PublicKey, str | None]:
    kty = jwk.get("kty")
    if kty == "RSA":
        n, e = base64url.decode_uint(jwk["n"]), base64url.decode_uint(jwk["e"])
        if n.bit_length() < 2048 or e < 3 or e % 2 == 0:  # RFC 7518 §3.3: 2048 bits or more
            raise ValueError("weak RSA key")
        return rsa.RSAPublicNumbers(e, n).public_key(), None
    crv = jwk.get("crv")
    if kty == "EC" and isinstance(crv, str) and crv in _CURVES:
        curve = _CURVES[crv]()
        size = (curve.key_size + 7) // 8
        x, y = base64url.decode(jwk["x"]), base64url.decode(jwk["y"])
        if len(x) != size or len(y) != size:
            raise ValueError("bad EC coordinates")
        # from_encoded_point checks that the point is on the curve.
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y), crv
    if kty == "OKP" and crv == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(base64url.decode(jwk["x"])), crv
    raise ValueError("unsupported key type")


def parse_jwk(jwk: Mapping[str, Any]) -> VerificationKey:
    """One JWKS member -> :class:`VerificationKey`; ``ValueError`` if we will not use it."""
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise ValueError("kid missing")
    if _PRIVATE_MEMBERS.intersection(jwk):
        raise ValueError("private key material in a public JWKS")
    if jwk.get("use", "sig") != "sig":  # RFC 7517 §4.2
        raise ValueError("not a signature key")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise ValueError("key_ops does not allow verify")  # RFC 7517 §4.3
    for member in ("n", "e", "x", "y"):
        if member in jwk and not isinstance(jwk[member], str):
            raise ValueError("bad member type")
    try:
        public_key, crv = _public_key(jwk)
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ValueError("unusable key") from None
    kty = str(jwk["kty"])
    alg = jwk.get("alg")
    if alg is not None:
        if not isinstance(alg, str) or alg not in ALGORITHMS or not _compatible(ALGORITHMS[alg], kty, crv):
            raise ValueError("alg does not fit the key")
        algorithms = frozenset({alg})
    else:
        algorithms = frozenset(a.name for a in ALGORITHMS.values() if _compatible(a, kty, crv))
    return VerificationKey(kid=kid, key=public_key, algorithms=algorithms)


def parse_jwks(document: Any) -> dict[str, VerificationKey]:
    """Every usable key of a JWKS document, by ``kid``.  Bad members are skipped one by one;
    a document that is not a JWKS at all raises ``ValueError``.  A ``kid`` that appears twice
    is ambiguous and both are dropped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys: dict[str, VerificationKey] = {}
    duplicated: set[str] = set()
    for member in document["keys"]:
        if not isinstance(member, dict):
            continue
        try:
            parsed = parse_jwk(member)
        except ValueError:
            continue
        if parsed.kid in keys:
            duplicated.add(parsed.kid)
        keys[parsed.kid] = parsed
    for kid in duplicated:
        del keys[kid]
    return keys
