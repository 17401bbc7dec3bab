"""The verifier's cache of JWK Sets, one per JWKS URI (RFC 7517 §5).

Modelled on awslabs/aws-jwt-verify's ``SimpleJwksCache`` and ``SimplePenaltyBox``
(``src/jwk.ts``), with what they leave out: a maximum age, a bound on how long stale
keys are served, de-duplication across threads and a cooldown that also covers failures.

How :meth:`JwksCache.key_for` answers:

* **Fresh set** (younger than ``max_age``): a dict lookup and a clock read, no lock.
* **At most one fetch per URI per ``cooldown``, whatever the reason** (a cold cache, an
  expired set, an unknown ``kid``, a failed fetch) - **except while there is no usable set at
  all** (a cold start whose first fetch failed): then retries come sooner, after ``first_retry``
  seconds, doubling after each failure, never more often than that and never less often than
  the cooldown.  With ``r = first_retry`` and ``C = cooldown`` that is at most
  ``1 + log2(1 + C / r)`` fetches in the first cooldown (5 for 1 s and 30 s; aws-jwt-verify
  waits 10 s), then one per cooldown; once the endpoint answers again, the 401s of an instance
  with no keys end within ``min(C, r * 2**(k - 1))`` after ``k`` failures, instead of ``C``.
  The cooldown is kept per URI, not per ``(URI, kid)``: a flood of random ``kid`` values
  costs the issuer at most one fetch per cooldown in total, and a failing endpoint is not
  retried (and its timeout is not paid) on every request.  Within the cooldown an unknown
  ``kid`` is :class:`KeyNotFound` at once.
  Because of this, an issuer must publish a new key at least ``max_age`` before signing
  with it (our key rotation's publish lead does).
* **One fetch in flight per URI**: concurrent callers wait for it and share its result.
* **Last good set**: a failed fetch, a document that is not a JWK Set, or a set with no
  usable key never replaces what we have.  A set past ``max_age`` keeps being served while
  refreshes fail, for at most ``stale_if_error`` more seconds (RFC 5861 §4's idea), so that
  keys the issuer has withdrawn are not trusted forever by a verifier that cannot reach it
  (by default :func:`stale_if_error_for`: the figure our JWKS responses announce).
  :class:`KeysUnavailable` is raised only when there is no usable set at all.
* Members are parsed one by one by :func:`partnerauth.jwk.parse_jwks`: one bad key does
  not spoil the set.

``jwks_uri`` must come from configuration (the verifier's issuer policy), never from a
token: entries are kept per URI and never evicted.

The clock is monotonic by default: ages are durations, and a wall-clock step must not
expire or revive a set.  Tests inject their own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import ConfigurationError, JwksFetchError, KeyNotFound, KeysUnavailable
from .jwk import VerificationKey, parse_jwks

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .jwks_fetch import JwksFetcher

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 300.0
DEFAULT_COOLDOWN = 30.0
DEFAULT_FIRST_RETRY = 1.0  # the first retry of a URI with no usable set; doubles up to the cooldown
_MAX_DOUBLINGS = 32
DEFAULT_STALE_IF_ERROR = 3600.0  # the most any set is served past its max age
STALE_AGES = 6  # ...and at most this many max ages (the local stack's 60 s sets: 360 s)


def stale_if_error_for(max_age: float) -> int:
    """How long past ``max_age`` a JWK Set may be served while refreshes fail: ``min(3600,
    6 x max_age)``.  One figure for the whole system: the authorizer's cache (its default here),
    the JWKS response's ``stale-if-error`` (RFC 5861 §4, so HTTP caches agree) and the
    rotation's publish lead (``publish_lead >= max_age + stale_if_error + authorizer cache TTL``)."""
    return int(min(DEFAULT_STALE_IF_ERROR, STALE_AGES * max_age))


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CachedKeySet(Generic[V]):
    """The usable members of one fetched document (a JWK Set's keys by ``kid``) and until when to use them."""

    keys: Mapping[str, V]
    fresh_until: float
    usable_until: float
    document: object = None  # what the fetcher returned: the same object again (a 304) is not re-parsed


class PenaltyBox:
    """Allows at most one fetch per URI per ``cooldown`` seconds; for a URI with no usable set,
    after ``k`` failed fetches in a row, one per ``min(cooldown, first_retry * 2**(k - 1))``.
    Not thread-safe on its own: :class:`JwksCache` calls it under its lock."""

    def __init__(self, cooldown: float, first_retry: float | None = None) -> None:
        self._cooldown = cooldown
        self._first_retry = cooldown if first_retry is None else first_retry
        self._last_attempt: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def wait(self, jwks_uri: str, *, starving: bool) -> float:
        """Seconds between two attempts for ``jwks_uri`` now."""
        failures = self._failures.get(jwks_uri, 0)
        if not starving or failures == 0:
            return self._cooldown
        return min(self._cooldown, self._first_retry * float(2 ** min(failures - 1, _MAX_DOUBLINGS)))

    def try_enter(self, jwks_uri: str, now: float, *, starving: bool = False) -> bool:
        """Record a fetch attempt at ``now`` if the wait since the last one has passed."""
        last = self._last_attempt.get(jwks_uri)
        if last is not None and now < last + self.wait(jwks_uri, starving=starving):
            return False
        self._last_attempt[jwks_uri] = now
        return True

    def failed(self, jwks_uri: str) -> None:
        self._failures[jwks_uri] = min(self._failures.get(jwks_uri, 0) + 1, _MAX_DOUBLINGS + 1)

    def succeeded(self, jwks_uri: str) -> None:
        self._failures.pop(jwks_uri, None)


class _Flight:
    """A fetch in progress; followers wait on ``done``."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class DocumentCache(Generic[V]):
    """Named members of a JSON document per URI, with every rule above.  ``parse`` turns the fetched
    document into its members (``ValueError`` for a document that is not one); an empty result is a
    failure unless ``allow_empty`` (a JWK Set with no key is useless; a revocation list with no entry is
    the normal case, :mod:`partnerauth.revocations`)."""

    def __init__(
        self,
        fetcher: JwksFetcher,
        *,
        parse: Callable[[Any], Mapping[str, V]],
        allow_empty: bool = False,
        max_age: float = DEFAULT_MAX_AGE,
        cooldown: float = DEFAULT_COOLDOWN,
        stale_if_error: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_retry: float = DEFAULT_FIRST_RETRY,
    ) -> None:
        """``stale_if_error`` defaults to :func:`stale_if_error_for` ``(max_age)``: the window our
        JWKS responses announce and the rotation's publish lead covers."""
        self._parse = parse
        self._allow_empty = allow_empty
        if not 0 < cooldown <= max_age:
            raise ConfigurationError("JWKS cooldown must be positive and no longer than the max age")
        if stale_if_error is None:
            stale_if_error = stale_if_error_for(max_age)
        if not stale_if_error >= 0:
            raise ConfigurationError("JWKS stale-if-error must not be negative")
        if not 0 < first_retry <= cooldown:
            raise ConfigurationError("JWKS first retry must be positive and no longer than the cooldown")
        self._fetcher = fetcher
        self._max_age = max_age
        self._stale_if_error = stale_if_error
        self._clock = clock
        self._box = PenaltyBox(cooldown, first_retry)
        self._entries: dict[str, CachedKeySet[V]] = {}
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def key_for(self, jwks_uri: str, kid: str) -> V:
        """The key ``kid`` of the set at ``jwks_uri``: :class:`KeyNotFound` when the set (as
        fresh as the cooldown allows) lacks it, :class:`KeysUnavailable` when no set is usable."""
        entry = self._entries.get(jwks_uri)
        if entry is not None and self._clock() < entry.fresh_until:
            key = entry.keys.get(kid)
            if key is not None:
                return key
        self._refresh(jwks_uri)
        return self._answer(jwks_uri, kid)

    def members(self, uri: str) -> Mapping[str, V]:
        """Every member of the document at ``uri``, refreshed when it is past ``max_age`` (as the
        cooldown allows); :class:`KeysUnavailable` when no copy is usable (none, or stale too long)."""
        entry = self._entries.get(uri)
        if entry is None or self._clock() >= entry.fresh_until:
            self._refresh(uri)
            entry = self._entries.get(uri)
        if entry is None or self._clock() >= entry.usable_until:
            raise KeysUnavailable
        return entry.keys

    def prefetch(self, jwks_uri: str) -> bool:
        """Warm the cache (e.g. at import); ``True`` when a usable set is cached.  Never raises
        for a failed fetch, and counts against the cooldown like any other fetch."""
        self._refresh(jwks_uri)
        entry = self._entries.get(jwks_uri)
        return entry is not None and self._clock() < entry.usable_until

    def _answer(self, jwks_uri: str, kid: str) -> V:
        entry = self._entries.get(jwks_uri)
        if entry is None or self._clock() >= entry.usable_until:
            raise KeysUnavailable
        key = entry.keys.get(kid)
        if key is None:
            raise KeyNotFound
        return key

    def _refresh(self, jwks_uri: str) -> None:
        """Fetch unless the cooldown forbids it; join the fetch in flight if there is one."""
        with self._lock:
            now = self._clock()
            flight = self._flights.get(jwks_uri)
            if flight is None:
                entry = self._entries.get(jwks_uri)
                starving = entry is None or now >= entry.usable_until
                if not self._box.try_enter(jwks_uri, now, starving=starving):
                    return
                flight = self._flights[jwks_uri] = _Flight()
                leader = True
            else:
                leader = False
        if not leader:
            flight.done.wait()  # the leader always sets it; its fetch has its own deadline
            return
        try:
            self._fetch(jwks_uri)
        finally:
            with self._lock:
                del self._flights[jwks_uri]
            flight.done.set()

    def _fetch(self, jwks_uri: str) -> None:
        try:
            document = self._fetcher.fetch(jwks_uri)
        except JwksFetchError as error:
            self._report_failure(jwks_uri, str(error))
            return
        except Exception as error:  # noqa: BLE001 - a fetcher's bug must not cost us the last good set
            self._report_failure(jwks_uri, type(error).__name__)
            return
        previous = self._entries.get(jwks_uri)
        if previous is not None and document is previous.document:
            keys = previous.keys  # revalidated (304): the very document we parsed last time
        else:
            try:
                keys = self._parse(document)
            except ValueError:
                self._report_failure(jwks_uri, "not a JWK Set")
                return
        if not keys and not self._allow_empty:
            self._report_failure(jwks_uri, "no usable key in the JWK Set")
            return
        now = self._clock()
        self._entries[jwks_uri] = CachedKeySet(
            keys=keys,
            fresh_until=now + self._max_age,
            usable_until=now + self._max_age + self._stale_if_error,
            document=document,
        )
        with self._lock:
            self._box.succeeded(jwks_uri)
        logger.debug("jwks refreshed", extra={"jwks_uri": jwks_uri, "kids": sorted(keys)})

    def _report_failure(self, jwks_uri: str, problem: str) -> None:
        # ``problem`` is a constant of this package or an exception class name, never a body.
        # The last good set, if any, stays in ``_entries`` untouched.
        with self._lock:
            self._box.failed(jwks_uri)
        logger.warning(
            "jwks refresh failed; %s",
            "keeping the last good set" if jwks_uri in self._entries else "no keys cached",
            extra={"jwks_uri": jwks_uri, "problem": problem},
        )


class JwksCache(DocumentCache[VerificationKey]):
    """Public keys per JWKS URI: a :class:`~partnerauth.key_source.KeySource`."""

    def __init__(
        self,
        fetcher: JwksFetcher,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        cooldown: float = DEFAULT_COOLDOWN,
        stale_if_error: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_retry: float = DEFAULT_FIRST_RETRY,
    ) -> None:
        super().__init__(
            fetcher,
            parse=parse_jwks,
            max_age=max_age,
            cooldown=cooldown,
            stale_if_error=stale_if_error,
            clock=clock,
            first_retry=first_retry,
        )
