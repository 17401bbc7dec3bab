"""The current signing key, kept in memory for a few seconds.

:class:`~partnerauth.key_store.KeyStore` already decrypts each key with KMS once per ``kid`` and
execution environment; what it still does on every call is one consistent ``GetItem`` of the
``#current`` head.  This cache saves that read under load, for :data:`DEFAULT_TTL` seconds.

Why caching is safe for a scheduled rotation: a new key is published ``PUBLISH_LEAD`` before it
becomes current, so verifiers know it before any issuer signs with it; a retired key stays
published for ``GRACE`` after it stops being current.  An issuer that signs with the old key for
up to the TTL after the switch makes tokens that verify as long as
``GRACE >= MAX_TOKEN_LIFETIME + AuthorizerCacheTtl + DEFAULT_TTL`` (the template's defaults,
86400 >= 3600 + 300 + 5, hold it with a wide margin).

Why the TTL is seconds, not a minute: after an emergency ``revoke`` the issuer may keep signing
with the revoked key for up to the TTL.  Nothing unsafe follows (verifiers no longer find the key
and refuse those tokens, fail-closed), but a partner that caches such a token for its lifetime is
locked out until it asks again, so the window is kept small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from partnerauth.keys import SigningKey

DEFAULT_TTL = 5.0


class CurrentKeySource(Protocol):
    def current_signing_key(self) -> SigningKey: ...


class CachedSigningKey:
    """``current_signing_key()`` from ``source`` at most once per ``ttl`` seconds.

    Errors are not cached: while the store or KMS fails and the cached key has expired,
    every call asks again (and the handler answers 503).
    """

    def __init__(
        self, source: CurrentKeySource, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time
    ):
        if ttl < 0:
            raise ValueError("ttl must not be negative")
        self._source = source
        self._ttl = ttl
        self._clock = clock
        self._key: SigningKey | None = None
        self._fetched_at = 0.0

    def current_signing_key(self) -> SigningKey:
        now = self._clock()
        if self._key is None or not 0 <= now - self._fetched_at < self._ttl:
            self._key = self._source.current_signing_key()
            self._fetched_at = now
        return self._key
