"""API Gateway's authorizer result cache: one policy per identity source value, for a TTL.

API Gateway keeps what an authorizer returned (principal, policy, context) under the request's
identity source -- for a TOKEN authorizer, the token -- for ``ReauthorizeEvery`` seconds, and
evaluates the cached policy against each later request's method ARN: that is why a policy must
cover every route the caller may use, and why one request's ``Deny`` can answer the next.  A TTL of
0 disables the cache.  Only policy results are cached; an ``Unauthorized`` answer or an authorizer
failure is not, so the next request asks again.

Keys are SHA-256 digests of the identity values: no token is kept as a key.  The clock is
injected (epoch seconds); the cache holds at most ``max_entries`` results (oldest dropped first).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Clock = Callable[[], float]
DEFAULT_MAX_ENTRIES = 10_000
Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class AuthorizerResult:
    """What an authorizer admitted: evaluated again for every request it answers."""

    principal_id: str
    policy_document: Mapping[str, Any]
    context: Mapping[str, str] = field(default_factory=dict)
    usage_identifier_key: str | None = None  # the API key to meter the caller against (usage plans)


def cache_key(authorizer_name: str, identity: Sequence[str]) -> str:
    digest = hashlib.sha256(authorizer_name.encode("utf-8"))
    for value in identity:
        digest.update(b"\x00" + value.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class AuthorizerCache(Generic[Result]):
    """Results by key for a TTL: REST policies (:class:`AuthorizerResult`) or HTTP API answers."""

    def __init__(self, clock: Clock = time.time, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Result]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Result | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, result = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            return result

    def put(self, key: str, result: Result, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
