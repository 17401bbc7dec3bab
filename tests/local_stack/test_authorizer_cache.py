"""API Gateway's authorizer result cache: per identity source value, for ReauthorizeEvery seconds."""

from __future__ import annotations

from local.authorizer_cache import AuthorizerCache, AuthorizerResult, cache_key
from tests.support.clock import FakeClock

RESULT = AuthorizerResult("client-a", {"Version": "2012-10-17", "Statement": []}, {"scope": "orders:read"})


def test_a_result_is_served_until_the_ttl_has_passed() -> None:
    clock = FakeClock(1_800_000_000.0)
    cache: AuthorizerCache[AuthorizerResult] = AuthorizerCache(clock)
    cache.put("k", RESULT, ttl=300)
    clock.now += 299.9
    assert cache.get("k") is RESULT


def test_a_result_expires_when_the_ttl_has_passed() -> None:
    clock = FakeClock(1_800_000_000.0)
    cache: AuthorizerCache[AuthorizerResult] = AuthorizerCache(clock)
    cache.put("k", RESULT, ttl=300)
    clock.now += 300
    assert cache.get("k") is None
    assert len(cache) == 0


def test_a_ttl_of_zero_caches_nothing() -> None:
    cache: AuthorizerCache[AuthorizerResult] = AuthorizerCache(FakeClock(1_800_000_000.0))
    cache.put("k", RESULT, ttl=0)
    assert cache.get("k") is None


def test_storing_again_restarts_the_ttl() -> None:
    clock = FakeClock(1_800_000_000.0)
    cache: AuthorizerCache[AuthorizerResult] = AuthorizerCache(clock)
    cache.put("k", RESULT, ttl=10)
    clock.now += 8
    cache.put("k", RESULT, ttl=10)
    clock.now += 8
    assert cache.get("k") is RESULT


def test_the_oldest_entry_goes_first_when_full() -> None:
    cache: AuthorizerCache[AuthorizerResult] = AuthorizerCache(FakeClock(1_800_000_000.0), max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(key, RESULT, ttl=60)
    assert cache.get("a") is None
    assert cache.get("b") is RESULT
    assert cache.get("c") is RESULT


def test_keys_differ_per_authorizer_and_per_token() -> None:
    assert cache_key("A", ["token-1"]) != cache_key("A", ["token-2"])
    assert cache_key("A", ["token-1"]) != cache_key("B", ["token-1"])
    assert cache_key("A", ["x", "y"]) != cache_key("A", ["xy"])


def test_a_key_does_not_hold_the_token() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.payload.signature"
    assert token not in cache_key("A", [token])
