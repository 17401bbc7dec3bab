"""A partner client's registered public keys, for ``private_key_jwt`` (RFC 7523 §2.2, OpenID Connect Core §9).

A client registers its keys in one of two ways (RFC 7591 §2 ``jwks`` / ``jwks_uri``, never both):

* **inline**: a JWK Set stored with the client (:func:`registered_jwks` checks and normalises it);
  the partner rolls a key by having the operator add the new key before using it and remove the
  old one afterwards;
* **``jwks_uri``**: the partner publishes its JWK Set at an https URL; the token function fetches it
  with the layer's :class:`~partnerauth.jwks_cache.JwksCache` (cooldown, size cap, last good set), so
  a new key is picked up without any operator work.

What registration refuses (RFC 8725 §3.1-3.2; RFC 7518 §3.3): private key material (a partner's
private key must never reach us), symmetric keys (``kty: oct``: HMAC is not ``private_key_jwt``),
RSA keys under 2048 bits, and anything :func:`partnerauth.jwk.parse_jwk` would not use.  Every error
message is a constant, never a key or a value from the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import base64url
from .errors import PartnerAuthError
from .jwk import VerificationKey, jwk_thumbprint, parse_jwk, parse_jwks, public_jwk_members
from .jwks_fetch import is_fetchable_jwks_uri

MAX_CLIENT_KEYS: Final = 5  # enough for a rollover (old + new) with room; bounds the keys tried per assertion
MAX_JWKS_URI_LENGTH: Final = 2048
MIN_RSA_BITS: Final = 2048
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidClientKey(PartnerAuthError, ValueError):
    """A key or key set the registry refuses; the message is a constant fit for one line of CLI output."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What an operator may see of a registered key: never the key itself."""

    kid: str
    kty: str
    alg: str | None
    thumbprint: str  # RFC 7638 §3, SHA-256

    def describe(self) -> dict[str, Any]:
        return {"kid": self.kid, "kty": self.kty, "alg": self.alg, "thumbprint": self.thumbprint}


def registered_jwk(member: Any) -> dict[str, str]:
    """One public JWK as we store it: the RFC 7518 §6 public members, ``kid`` (the RFC 7638 thumbprint
    when the partner gave none), ``alg`` if given, ``use: sig``.  Everything else is dropped."""
    if not isinstance(member, Mapping):
        raise InvalidClientKey("every member of the key set must be a JSON object (a JWK)")
    if member.get("kty") == "oct" or "k" in member:  # RFC 8725 §3.2: HMAC is not private_key_jwt
        raise InvalidClientKey(
            "symmetric keys (kty oct) are refused: register an RSA, EC or Ed25519 public key"
        )
    if _PRIVATE_MEMBERS.intersection(member):
        raise InvalidClientKey("the key set holds private key material: register only the public key")
    kty = member.get("kty")
    if kty == "RSA":
        try:
            bits = base64url.decode_uint(str(member.get("n", ""))).bit_length()
        except ValueError:
            raise InvalidClientKey("an RSA key has no valid modulus") from None
        if bits < MIN_RSA_BITS:  # RFC 7518 §3.3
            raise InvalidClientKey("RSA keys must be at least 2048 bits")
    if kty not in ("RSA", "EC", "OKP"):
        raise InvalidClientKey("unsupported key type: use RSA (2048+), EC (P-256, P-384) or OKP (Ed25519)")
    kid = member.get("kid")
    candidate = dict(member)
    if kid is None:
        try:
            candidate["kid"] = jwk_thumbprint(member)
        except (KeyError, TypeError):
            raise InvalidClientKey("the key is missing members its type requires") from None
    try:
        parsed = parse_jwk(candidate)
    except ValueError:
        raise InvalidClientKey(
            "the key is not a usable public signing key (kid, use, key_ops, alg or key members)"
        ) from None
    stored = public_jwk_members(parsed.key)
    stored["kid"] = parsed.kid
    if isinstance(member.get("alg"), str):
        stored["alg"] = member["alg"]
    stored["use"] = "sig"
    return stored


def registered_jwks(document: Any) -> dict[str, list[dict[str, str]]]:
    """A JWK Set (RFC 7517 §5) fit to register: 1 to :data:`MAX_CLIENT_KEYS` public signing keys with
    distinct ``kid`` values; :class:`InvalidClientKey` otherwise."""
    if not isinstance(document, Mapping):
        raise InvalidClientKey('the key file must be a JWK Set ({"keys": [...]}) or a single JWK')
    members = document.get("keys", [document])
    if not isinstance(members, list) or not members:
        raise InvalidClientKey("the JWK Set holds no key")
    return {"keys": _distinct(registered_jwk(member) for member in members)}


def _distinct(keys: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    result = list(keys)
    if len(result) > MAX_CLIENT_KEYS:
        raise InvalidClientKey(f"a client may register at most {MAX_CLIENT_KEYS} keys")
    kids = [key["kid"] for key in result]
    if len(set(kids)) != len(kids):
        raise InvalidClientKey("two keys have the same kid")
    thumbprints = [jwk_thumbprint(key) for key in result]
    if len(set(thumbprints)) != len(thumbprints):
        raise InvalidClientKey("the same key is registered twice")
    return result


def with_key_added(jwks: Mapping[str, Any], member: Any) -> dict[str, list[dict[str, str]]]:
    """``jwks`` plus one more key (a rollover: the partner publishes before it signs)."""
    return {"keys": _distinct([*jwks["keys"], registered_jwk(member)])}


def with_key_removed(jwks: Mapping[str, Any], kid: str) -> dict[str, list[dict[str, str]]]:
    remaining = [key for key in jwks["keys"] if key["kid"] != kid]
    if len(remaining) == len(jwks["keys"]):
        raise InvalidClientKey("the client has no key with this kid")
    if not remaining:
        raise InvalidClientKey("refusing to remove the last key: register another key first")
    return {"keys": remaining}


def registered_jwks_uri(jwks_uri: str) -> str:
    """A ``jwks_uri`` fit to register: https (http only for a loopback host, as the fetcher allows,
    for tests and the local stack), no user info, no fragment."""
    if len(jwks_uri) > MAX_JWKS_URI_LENGTH or not is_fetchable_jwks_uri(jwks_uri):
        raise InvalidClientKey("jwks_uri must be an https URL without user info or fragment")
    return jwks_uri


def key_infos(jwks: Mapping[str, Any]) -> tuple[KeyInfo, ...]:
    return tuple(
        KeyInfo(kid=key["kid"], kty=key["kty"], alg=key.get("alg"), thumbprint=jwk_thumbprint(key))
        for key in jwks.get("keys", [])
    )


def inline_keys(jwks_json: str) -> dict[str, VerificationKey]:
    """The stored set (canonical JSON in the client item) as verification keys, by ``kid``."""
    return parse_jwks(json.loads(jwks_json))


def canonical_json(jwks: Mapping[str, Any]) -> str:
    return json.dumps(jwks, separators=(",", ":"), sort_keys=True)
