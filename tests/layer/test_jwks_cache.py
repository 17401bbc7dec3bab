"""JwksCache: freshness, the per-URI cooldown (penalty box), last-good sets, shared fetches.

No network and no sleeps: a scripted fetcher counts its calls and the clock is injected.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
from collections import Counter
from typing import Any

import pytest

from partnerauth.errors import ConfigurationError, JwksFetchError, KeyNotFound, KeysUnavailable
from partnerauth.jwk import build_jwks
from partnerauth.jwks_cache import JwksCache
from partnerauth.key_source import KeySource
from partnerauth.keys import SigningKey
from tests.support.clock import FakeClock

URI = "https://auth.example.test/.well-known/jwks.json"
OTHER_URI = "https://other.example.test/.well-known/jwks.json"
MAX_AGE = 300.0
COOLDOWN = 30.0
STALE_IF_ERROR = 600.0
DOWN = JwksFetchError("jwks fetch failed")
SECRET_MARKER = "document-marker-that-must-never-be-logged"


class ScriptedFetcher:
    """Serves ``answers[uri]``: a document, or an exception to raise.  Counts calls per URI."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: Counter[str] = Counter()

    def fetch(self, jwks_uri: str) -> Any:
        self.calls[jwks_uri] += 1
        answer = self.answers[jwks_uri]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def jwks_of(*keys: SigningKey) -> dict[str, Any]:
    return build_jwks(key.public_jwk() for key in keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def key_a(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["ES256"]


@pytest.fixture
def key_b(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["EdDSA"]


@pytest.fixture
def fetcher(key_a: SigningKey) -> ScriptedFetcher:
    return ScriptedFetcher({URI: jwks_of(key_a), OTHER_URI: jwks_of(key_a)})


@pytest.fixture
def cache(fetcher: ScriptedFetcher, clock: FakeClock) -> JwksCache:
    return JwksCache(fetcher, max_age=MAX_AGE, cooldown=COOLDOWN, stale_if_error=STALE_IF_ERROR, clock=clock)


def test_is_a_key_source(cache: JwksCache) -> None:
    source: KeySource = cache  # checked by mypy: the verifier takes any KeySource
    assert source is cache


# --- fresh sets ----------------------------------------------------------------------------


def test_a_fresh_set_answers_without_fetching_again(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    clock.advance(MAX_AGE - 1)
    for _ in range(100):
        assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 1


def test_a_set_older_than_max_age_is_fetched_again(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    clock.advance(MAX_AGE)
    cache.key_for(URI, key_a.kid)
    assert fetcher.calls[URI] == 2


def test_a_key_withdrawn_by_the_issuer_is_refused_after_the_next_refresh(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey, key_b: SigningKey
) -> None:
    # Given key A cached, and the issuer then replacing it by key B
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = jwks_of(key_b)
    # When the set expires
    clock.advance(MAX_AGE)
    # Then A is unknown and B is served: a successful fetch replaces the whole set
    with pytest.raises(KeyNotFound):
        cache.key_for(URI, key_a.kid)
    assert cache.key_for(URI, key_b.kid).kid == key_b.kid
    assert fetcher.calls[URI] == 2


def test_one_bad_key_does_not_spoil_the_set(
    cache: JwksCache, fetcher: ScriptedFetcher, key_a: SigningKey
) -> None:
    # RFC 7517 §5: members we cannot use are ignored, the others still count
    bad = {**key_a.public_jwk(), "kid": "bad", "x": "not-a-point"}
    fetcher.answers[URI] = {"keys": [bad, "not a JWK", key_a.public_jwk()]}
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    with pytest.raises(KeyNotFound):
        cache.key_for(URI, "bad")


# --- unknown kids and the cooldown ---------------------------------------------------------


def test_an_unknown_kid_within_the_cooldown_is_refused_without_a_fetch(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    clock.advance(COOLDOWN - 1)
    with pytest.raises(KeyNotFound):
        cache.key_for(URI, "unknown")
    assert fetcher.calls[URI] == 1


def test_an_unknown_kid_after_the_cooldown_fetches_and_finds_a_newly_published_key(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey, key_b: SigningKey
) -> None:
    # Given A cached, then the issuer publishing B next to A (a rotation)
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = jwks_of(key_a, key_b)
    # When a token signed with B arrives after the cooldown
    clock.advance(COOLDOWN)
    # Then the set is fetched again and B is found
    assert cache.key_for(URI, key_b.kid).kid == key_b.kid
    assert fetcher.calls[URI] == 2


def test_a_flood_of_random_kids_fetches_at_most_once_per_cooldown(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    # Given a warm cache
    cache.key_for(URI, key_a.kid)
    # When an attacker sends 1000 tokens with random kids, one every 0.1 s (100 s in all)
    rng = random.Random(7517)
    for _ in range(1000):
        clock.advance(0.1)
        with pytest.raises(KeyNotFound):
            cache.key_for(URI, f"{rng.getrandbits(128):032x}")
        # And valid tokens keep working in between
        assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    # Then the issuer saw one fetch per cooldown window: at 30 s, 60 s and 90 s, besides the first
    assert fetcher.calls[URI] == 1 + int(100 // COOLDOWN)


def test_a_flood_in_one_cooldown_window_costs_no_fetch_at_all(
    cache: JwksCache, fetcher: ScriptedFetcher, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    for i in range(1000):
        with pytest.raises(KeyNotFound):
            cache.key_for(URI, f"random-{i}")
    assert fetcher.calls[URI] == 1


def test_the_cooldown_is_kept_per_uri(cache: JwksCache, fetcher: ScriptedFetcher, key_a: SigningKey) -> None:
    # A flood against one issuer does not stop the first fetch of another
    cache.key_for(URI, key_a.kid)
    with pytest.raises(KeyNotFound):
        cache.key_for(URI, "unknown")
    assert cache.key_for(OTHER_URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls == Counter({URI: 1, OTHER_URI: 1})


# --- the endpoint fails --------------------------------------------------------------------


def test_an_endpoint_that_is_down_does_not_fail_tokens_while_the_cached_keys_are_fresh(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    # Given a warm cache, then the JWKS endpoint going down
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    # When tokens keep coming for the whole max age, some with unknown kids
    for _ in range(int(MAX_AGE) - 1):
        clock.advance(1)
        assert cache.key_for(URI, key_a.kid).kid == key_a.kid
        with pytest.raises(KeyNotFound):
            cache.key_for(URI, "unknown")
    # Then the cached key served every valid token, and the dead endpoint was tried once per cooldown
    assert fetcher.calls[URI] == 1 + int((MAX_AGE - 1) // COOLDOWN)


def test_a_stale_set_is_served_while_refreshes_fail_and_retried_once_per_cooldown(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    # When the set expires, the refresh fails and the last good set still answers
    clock.advance(MAX_AGE)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 2
    # Within the cooldown the dead endpoint is not tried again (nor its timeout paid)
    clock.advance(COOLDOWN - 1)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 2
    clock.advance(1)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 3


def test_a_stale_set_is_not_served_past_stale_if_error(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE + STALE_IF_ERROR - 1)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    # Keys the issuer may have withdrawn are not trusted forever by a verifier that cannot reach it
    clock.advance(COOLDOWN)
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)


def test_the_cache_recovers_when_the_endpoint_comes_back(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey, key_b: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE + STALE_IF_ERROR)
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = jwks_of(key_b)
    clock.advance(COOLDOWN)
    assert cache.key_for(URI, key_b.kid).kid == key_b.kid


def test_no_keys_at_all_is_keys_unavailable_and_retries_come_sooner_than_the_cooldown(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    # Given a cold start whose first fetch fails
    fetcher.answers[URI] = DOWN
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)
    # Then retries come after 1 s, then 2 s, 4 s, ... (never in between), capped at the cooldown
    attempts = [0.0]
    for now in range(1, int(3 * COOLDOWN) + 1):
        clock.now = 1000.0 + now
        before = fetcher.calls[URI]
        for _ in range(3):  # many requests in the same second: one fetch at most
            with pytest.raises(KeysUnavailable):
                cache.key_for(URI, key_a.kid)
        if fetcher.calls[URI] > before:
            attempts.append(float(now))
    assert attempts[:7] == [0, 1, 3, 7, 15, 31, 61]
    # the bound: 1 + log2(1 + C / r) fetches in the first cooldown, then one per cooldown
    assert len([a for a in attempts if a < COOLDOWN]) == 5
    assert all(b - a == COOLDOWN for a, b in itertools.pairwise(attempts[5:]))


def test_a_cold_start_that_failed_serves_as_soon_as_the_endpoint_answers_again(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    fetcher.answers[URI] = DOWN
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = jwks_of(key_a)
    clock.advance(1)  # 1 s, not the 30 s cooldown
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    # and once keys are held, an unknown kid waits the whole cooldown again
    with pytest.raises(KeyNotFound):
        cache.key_for(URI, "unknown")
    clock.advance(1)
    with pytest.raises(KeyNotFound):
        cache.key_for(URI, "unknown")
    assert fetcher.calls[URI] == 2


def test_a_warm_cache_whose_refreshes_fail_retries_once_per_cooldown_not_sooner(
    cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE)
    for _ in range(int(COOLDOWN)):
        assert cache.key_for(URI, key_a.kid).kid == key_a.kid  # the stale set, no retry burst
        clock.advance(1)
    assert fetcher.calls[URI] == 2


def test_the_default_stale_window_is_the_one_the_jwks_response_announces(
    fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    from partnerauth.jwks_cache import stale_if_error_for

    cache = JwksCache(fetcher, max_age=600, cooldown=COOLDOWN, clock=clock)
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    clock.advance(600 + stale_if_error_for(600) - 1)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    clock.advance(1)
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)


UNUSABLE_ANSWERS = {
    "fetch error": DOWN,
    "fetcher bug": RuntimeError("unexpected"),
    "not an object": ["keys"],
    "keys not a list": {"keys": "none"},
    "no keys member": {"kty": "RSA"},
    "empty set": {"keys": []},
    "only unusable keys": {"keys": [{"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "AQAB"}, 42]},
}


@pytest.mark.parametrize("answer", UNUSABLE_ANSWERS.values(), ids=UNUSABLE_ANSWERS.keys())
def test_an_unusable_answer_never_replaces_the_last_good_set(
    answer: Any, cache: JwksCache, fetcher: ScriptedFetcher, clock: FakeClock, key_a: SigningKey
) -> None:
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = answer
    clock.advance(MAX_AGE)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 2


@pytest.mark.parametrize("answer", UNUSABLE_ANSWERS.values(), ids=UNUSABLE_ANSWERS.keys())
def test_an_unusable_first_answer_is_keys_unavailable(
    answer: Any, cache: JwksCache, fetcher: ScriptedFetcher, key_a: SigningKey
) -> None:
    fetcher.answers[URI] = answer
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)


def test_a_failed_refresh_is_logged_without_the_document(
    cache: JwksCache,
    fetcher: ScriptedFetcher,
    clock: FakeClock,
    key_a: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = {"keys": SECRET_MARKER}
    clock.advance(MAX_AGE)
    with caplog.at_level(logging.WARNING, logger="partnerauth.jwks_cache"):
        cache.key_for(URI, key_a.kid)
    [record] = caplog.records
    assert getattr(record, "jwks_uri", None) == URI
    assert getattr(record, "problem", None) == "not a JWK Set"
    assert SECRET_MARKER not in caplog.text


# --- concurrent callers --------------------------------------------------------------------


class CountingClock(FakeClock):
    """Sets ``reached`` once it has been read ``target`` times (reads happen under the cache's lock)."""

    def __init__(self, target: int) -> None:
        super().__init__(1000.0)
        self._lock = threading.Lock()
        self._reads = 0
        self._target = target
        self.reached = threading.Event()

    def __call__(self) -> float:
        with self._lock:
            self._reads += 1
            if self._reads >= self._target:
                self.reached.set()
        return self.now


class BlockingFetcher(ScriptedFetcher):
    """Holds every fetch until ``release`` is set."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__(answers)
        self.release = threading.Event()

    def fetch(self, jwks_uri: str) -> Any:
        document = super().fetch(jwks_uri)
        assert self.release.wait(5), "the test never released the fetch"
        return document


def test_concurrent_callers_share_one_fetch(key_a: SigningKey) -> None:
    # Given a cold cache and a slow JWKS endpoint
    threads_count = 16
    fetcher = BlockingFetcher({URI: jwks_of(key_a)})
    # Each caller reads the clock exactly once, under the cache's lock, to decide whether to
    # fetch or to wait for the fetch in flight: when all have read it, all have decided.
    clock = CountingClock(target=threads_count)
    cache = JwksCache(fetcher, max_age=MAX_AGE, cooldown=COOLDOWN, clock=clock)
    results: list[str] = []
    errors: list[BaseException] = []

    def verify() -> None:
        try:
            results.append(cache.key_for(URI, key_a.kid).kid)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    # When many callers ask for the key at once
    threads = [threading.Thread(target=verify) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    assert clock.reached.wait(5)
    fetcher.release.set()
    for thread in threads:
        thread.join(5)
    # Then the endpoint saw one fetch and every caller got the key from it
    assert errors == []
    assert results == [key_a.kid] * threads_count
    assert fetcher.calls[URI] == 1


# --- warming and settings ------------------------------------------------------------------


def test_prefetch_warms_the_cache(cache: JwksCache, fetcher: ScriptedFetcher, key_a: SigningKey) -> None:
    assert cache.prefetch(URI) is True
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 1


def test_prefetch_of_a_dead_endpoint_reports_false_and_does_not_raise(
    cache: JwksCache, fetcher: ScriptedFetcher
) -> None:
    fetcher.answers[URI] = DOWN
    assert cache.prefetch(URI) is False


@pytest.mark.parametrize(
    ("max_age", "cooldown", "stale_if_error"),
    [(300, 0, 0), (300, -1, 0), (30, 60, 0), (300, 30, -1), (300, float("nan"), 0), (300, 30, float("nan"))],
)
def test_settings_that_cannot_work_are_refused(
    max_age: float, cooldown: float, stale_if_error: float
) -> None:
    with pytest.raises(ConfigurationError):
        JwksCache(ScriptedFetcher({}), max_age=max_age, cooldown=cooldown, stale_if_error=stale_if_error)


@pytest.mark.parametrize("first_retry", [0, -1, COOLDOWN + 1, float("nan")])
def test_a_first_retry_outside_zero_to_the_cooldown_is_refused(first_retry: float) -> None:
    with pytest.raises(ConfigurationError, match="first retry"):
        JwksCache(ScriptedFetcher({}), max_age=MAX_AGE, cooldown=COOLDOWN, first_retry=first_retry)
