"""Where a verifier finds public keys: anything with ``key_for(jwks_uri, kid)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .errors import KeyNotFound, KeysUnavailable
from .jwk import VerificationKey, parse_jwks


class KeySource(Protocol):
    def key_for(self, jwks_uri: str, kid: str) -> VerificationKey:
        """The key ``kid`` published at ``jwks_uri``.

        Raises :class:`KeyNotFound` when the set has no such key and
        :class:`KeysUnavailable` when the set cannot be had at all.
        """
        ...


class StaticKeySource:
    """Fixed JWK Sets by URI: for tests, tools, and verifying against a document in hand."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._keys = {uri: parse_jwks(document) for uri, document in documents.items()}

    def key_for(self, jwks_uri: str, kid: str) -> VerificationKey:
        keys = self._keys.get(jwks_uri)
        if keys is None:
            raise KeysUnavailable()
        try:
            return keys[kid]
        except KeyError:
            raise KeyNotFound() from None
