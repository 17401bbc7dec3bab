"""The JWKS cache's rules at their boundaries (partnerauth.jwks_cache): the penalty box's waits, the end of
the stale window to the second, settings at their limits, revalidated documents, what a failure logs.

No network and no sleeps: a scripted fetcher and an injected clock (tests/layer/test_jwks_cache.py's).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from partnerauth.errors import ConfigurationError, KeysUnavailable
from partnerauth.jwk import parse_jwks
from partnerauth.jwks_cache import DocumentCache, JwksCache, PenaltyBox
from partnerauth.keys import SigningKey
from tests.support.clock import FakeClock

from .test_jwks_cache import DOWN, ScriptedFetcher, jwks_of

URI = "https://auth.example.test/.well-known/jwks.json"
MAX_AGE = 300.0
COOLDOWN = 30.0
STALE_IF_ERROR = 600.0
FIRST_RETRY = 1.0
START = 1000.0


@pytest.fixture
def key_a(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["ES256"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def cache_at(
    fetcher: ScriptedFetcher, clock: FakeClock, *, stale_if_error: float = STALE_IF_ERROR
) -> JwksCache:
    return JwksCache(
        fetcher,
        max_age=MAX_AGE,
        cooldown=COOLDOWN,
        stale_if_error=stale_if_error,
        first_retry=FIRST_RETRY,
        clock=clock,
    )


# -- the penalty box ---------------------------------------------------------------------------------------
def test_a_box_not_told_the_uri_is_starving_waits_the_full_cooldown_after_a_failure() -> None:
    box = PenaltyBox(COOLDOWN, FIRST_RETRY)
    assert box.try_enter(URI, START)
    box.failed(URI)
    assert not box.try_enter(URI, START + FIRST_RETRY)
    assert box.try_enter(URI, START + FIRST_RETRY, starving=True)


def test_without_a_first_retry_a_starving_uri_waits_the_full_cooldown() -> None:
    box = PenaltyBox(COOLDOWN)
    box.failed(URI)
    assert box.wait(URI, starving=True) == COOLDOWN


def test_retries_come_sooner_only_after_a_failure() -> None:
    # a starving uri whose last attempt did not fail (nothing counted) keeps the cooldown
    box = PenaltyBox(COOLDOWN, FIRST_RETRY)
    assert box.wait(URI, starving=True) == COOLDOWN
    assert box.try_enter(URI, START, starving=True)
    assert not box.try_enter(URI, START + FIRST_RETRY, starving=True)
    assert not box.try_enter(URI, START + COOLDOWN - 1, starving=True)
    assert box.try_enter(URI, START + COOLDOWN, starving=True)


def test_the_doubling_reaches_the_cooldown_however_small_the_first_retry() -> None:
    # min(C, r * 2**(k - 1)): with r = C / 2**32 the wait is C only after 33 failures
    box = PenaltyBox(COOLDOWN, COOLDOWN / 2**32)
    for _ in range(32):
        box.failed(URI)
    assert box.wait(URI, starving=True) == COOLDOWN / 2
    for _ in range(100):  # and no further: the count is capped, the wait stays the cooldown
        box.failed(URI)
        assert box.wait(URI, starving=True) == COOLDOWN


def test_a_success_starts_the_doubling_over(clock: FakeClock, key_a: SigningKey) -> None:
    fetcher = ScriptedFetcher({URI: DOWN})
    cache = cache_at(fetcher, clock, stale_if_error=0)
    for advance in (0, 1, 2):  # three failures in a row: the next wait would be 4 s
        clock.advance(advance)
        with pytest.raises(KeysUnavailable):
            cache.key_for(URI, key_a.kid)
    assert fetcher.calls[URI] == 3
    fetcher.answers[URI] = jwks_of(key_a)
    clock.advance(4)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    # the set ends unused; the next outage starts again at the first retry
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE + 10)
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = jwks_of(key_a)
    clock.advance(FIRST_RETRY)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 6


# -- failures count, whatever they are ---------------------------------------------------------------------
@pytest.mark.parametrize("answer", [RuntimeError("a bug"), {"keys": []}], ids=["fetcher bug", "empty set"])
def test_a_fetcher_bug_or_an_empty_set_counts_as_a_failure_and_the_retry_comes_after_the_first_retry(
    clock: FakeClock, key_a: SigningKey, answer: object
) -> None:
    fetcher = ScriptedFetcher({URI: answer})
    cache = cache_at(fetcher, clock)
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = jwks_of(key_a)
    clock.advance(FIRST_RETRY)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid


def test_a_document_cache_that_allows_empty_documents_keeps_an_empty_one(clock: FakeClock) -> None:
    # the revocation list's cache: no entry is the normal case, not a failure (partnerauth.revocations)
    fetcher = ScriptedFetcher({URI: {}})
    cache: DocumentCache[Any] = DocumentCache(
        fetcher, parse=dict, allow_empty=True, max_age=MAX_AGE, cooldown=COOLDOWN, clock=clock
    )
    assert cache.members(URI) == {}
    assert cache.prefetch(URI) is True


# -- the end of the stale window, to the second -----------------------------------------------------------
def test_at_the_end_of_the_stale_window_the_set_is_no_longer_usable(
    clock: FakeClock, key_a: SigningKey
) -> None:
    fetcher = ScriptedFetcher({URI: jwks_of(key_a)})
    cache = cache_at(fetcher, clock)
    assert cache.prefetch(URI) is True
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE + STALE_IF_ERROR - 1)
    assert cache.prefetch(URI) is True  # stale, still usable
    clock.advance(1)
    assert cache.prefetch(URI) is False
    with pytest.raises(KeysUnavailable):
        cache.key_for(URI, key_a.kid)


def test_from_the_end_of_the_stale_window_retries_come_at_the_starving_pace(
    clock: FakeClock, key_a: SigningKey
) -> None:
    fetcher = ScriptedFetcher({URI: jwks_of(key_a)})
    cache = cache_at(fetcher, clock)
    cache.key_for(URI, key_a.kid)
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE + STALE_IF_ERROR - 10)
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid  # stale; its refresh failed
    fetcher.answers[URI] = jwks_of(key_a)
    clock.advance(10)  # exactly the end of the window: within the cooldown, past the first retry
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid
    assert fetcher.calls[URI] == 3


# -- settings at their limits ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("max_age", "cooldown", "stale_if_error", "first_retry"),
    [
        (30, 30, 0, 30),  # cooldown = max age, no stale window, first retry = cooldown
        (300, 0.5, 0.5, 0.5),  # under a second
    ],
)
def test_settings_at_their_limits_are_accepted_and_work(
    max_age: float, cooldown: float, stale_if_error: float, first_retry: float, key_a: SigningKey
) -> None:
    clock = FakeClock(START)
    fetcher = ScriptedFetcher({URI: jwks_of(key_a)})
    cache = JwksCache(
        fetcher,
        max_age=max_age,
        cooldown=cooldown,
        stale_if_error=stale_if_error,
        first_retry=first_retry,
        clock=clock,
    )
    assert cache.key_for(URI, key_a.kid).kid == key_a.kid


def test_a_zero_cooldown_is_refused_whatever_the_first_retry() -> None:
    with pytest.raises(ConfigurationError):
        JwksCache(ScriptedFetcher({}), max_age=MAX_AGE, cooldown=0, first_retry=0)


# -- revalidation (HttpJwksFetcher returns the very document it returned before on a 304) ------------------
def test_a_revalidated_document_is_kept_fresh_without_being_parsed_again(
    clock: FakeClock, key_a: SigningKey
) -> None:
    document = jwks_of(key_a)
    fetcher = ScriptedFetcher({URI: document})
    parsed: list[object] = []

    def parse(answer: Any) -> Any:
        parsed.append(answer)
        return parse_jwks(answer)

    cache: DocumentCache[Any] = DocumentCache(
        fetcher, parse=parse, max_age=MAX_AGE, cooldown=COOLDOWN, stale_if_error=0, clock=clock
    )
    for _ in range(5):  # each refresh answers with the same object: the set is fresh again, unparsed
        assert cache.key_for(URI, key_a.kid).kid == key_a.kid
        clock.advance(MAX_AGE)
    assert parsed == [document]
    assert fetcher.calls[URI] == 5


# -- what a refresh logs -----------------------------------------------------------------------------------
PROBLEMS = {
    "fetch error": (DOWN, "jwks fetch failed"),
    "fetcher bug": (RuntimeError("body text"), "RuntimeError"),
    "not a JWK Set": (["keys"], "not a JWK Set"),
    "empty set": ({"keys": []}, "no usable key in the JWK Set"),
}


@pytest.mark.parametrize(("answer", "problem"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_a_failed_refresh_logs_the_uri_its_problem_and_whether_the_last_good_set_is_kept(
    answer: Any, problem: str, clock: FakeClock, key_a: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    fetcher = ScriptedFetcher({URI: answer})
    cache = cache_at(fetcher, clock)
    with caplog.at_level(logging.WARNING, logger="partnerauth.jwks_cache"):
        cache.prefetch(URI)
        fetcher.answers[URI] = jwks_of(key_a)
        clock.advance(FIRST_RETRY)
        cache.prefetch(URI)
        fetcher.answers[URI] = answer
        clock.advance(MAX_AGE)
        cache.prefetch(URI)
    cold, warm = caplog.records
    for record in (cold, warm):
        assert (record.levelno, record.jwks_uri, record.problem) == (logging.WARNING, URI, problem)  # type: ignore[attr-defined]
    assert cold.getMessage() == "jwks refresh failed; no keys cached"
    assert warm.getMessage() == "jwks refresh failed; keeping the last good set"


def test_a_refresh_logs_the_uri_and_the_kids_it_found(
    clock: FakeClock, key_a: SigningKey, keys: dict[str, SigningKey], caplog: pytest.LogCaptureFixture
) -> None:
    key_b = keys["EdDSA"]
    fetcher = ScriptedFetcher({URI: jwks_of(key_b, key_a)})
    with caplog.at_level(logging.DEBUG, logger="partnerauth.jwks_cache"):
        cache_at(fetcher, clock).prefetch(URI)
    [record] = caplog.records
    assert record.getMessage() == "jwks refreshed"
    assert record.jwks_uri == URI  # type: ignore[attr-defined]
    assert record.kids == sorted([key_a.kid, key_b.kid])  # type: ignore[attr-defined]


# -- members: the whole document (the revocation list's reader) ---------------------------------------------
def document_cache(fetcher: ScriptedFetcher, clock: FakeClock) -> DocumentCache[Any]:
    return DocumentCache(
        fetcher,
        parse=dict,
        allow_empty=True,
        max_age=MAX_AGE,
        cooldown=COOLDOWN,
        stale_if_error=STALE_IF_ERROR,
        first_retry=FIRST_RETRY,
        clock=clock,
    )


def test_members_are_fetched_once_and_served_until_the_max_age(clock: FakeClock) -> None:
    fetcher = ScriptedFetcher({URI: {"a": 1}})
    cache = document_cache(fetcher, clock)
    assert cache.members(URI) == {"a": 1}
    fetcher.answers[URI] = {"b": 2}
    clock.advance(MAX_AGE - 1)  # fresh, and past the cooldown: still no fetch
    assert cache.members(URI) == {"a": 1}
    assert fetcher.calls[URI] == 1
    clock.advance(1)  # exactly the max age: fetched again
    assert cache.members(URI) == {"b": 2}
    assert fetcher.calls[URI] == 2


def test_members_are_served_stale_while_refreshes_fail_until_the_window_ends(clock: FakeClock) -> None:
    fetcher = ScriptedFetcher({URI: {"a": 1}})
    cache = document_cache(fetcher, clock)
    cache.members(URI)
    fetcher.answers[URI] = DOWN
    clock.advance(MAX_AGE + STALE_IF_ERROR - 1)
    assert cache.members(URI) == {"a": 1}
    clock.advance(1)
    with pytest.raises(KeysUnavailable):
        cache.members(URI)


def test_members_of_a_uri_never_fetched_successfully_are_unavailable(clock: FakeClock) -> None:
    fetcher = ScriptedFetcher({URI: DOWN})
    with pytest.raises(KeysUnavailable):
        document_cache(fetcher, clock).members(URI)
    assert fetcher.calls[URI] == 1
