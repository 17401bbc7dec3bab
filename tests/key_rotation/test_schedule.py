"""RotationSchedule refuses every configuration under which a valid token could be rejected."""

from __future__ import annotations

import dataclasses

import pytest

from partnerauth.errors import ConfigurationError
from partnerauth.jwks_cache import stale_if_error_for
from partnerauth.key_lifecycle import RotationSchedule
from partnerauth.key_store import MAX_PUBLISHED_KEYS

DEFAULTS = RotationSchedule()


def test_the_defaults_are_valid_and_match_the_template_defaults() -> None:
    # Given the schedule's defaults / When validated / Then accepted, with the template's figures
    schedule = DEFAULTS.validate()
    assert (schedule.period, schedule.publish_lead, schedule.grace) == (30 * 86_400, 86_400, 86_400)
    assert (schedule.max_token_lifetime, schedule.authorizer_cache_ttl, schedule.jwks_max_age) == (
        3_600,
        300,
        600,
    )


def test_publish_lead_must_cover_the_oldest_jwks_copy_a_verifier_may_hold() -> None:
    # RFC 7517 §5 sets are cached: a verifier's copy is up to jwks_max_age old while the endpoint
    # answers, and up to stale-if-error more while it fails (RFC 5861 §4): min(3600, 6 x max age);
    # + API Gateway's cache
    schedule = dataclasses.replace(DEFAULTS, jwks_max_age=3_600, authorizer_cache_ttl=300, publish_lead=7_499)
    with pytest.raises(ConfigurationError, match="stale_if_error"):
        schedule.validate()
    assert dataclasses.replace(schedule, publish_lead=7_500).validate().min_publish_lead == 7_500


@pytest.mark.parametrize(("max_age", "stale"), [(60, 360), (300, 1_800), (600, 3_600), (86_400, 3_600)])
def test_the_stale_window_is_the_one_the_authorizer_and_the_jwks_response_use(
    max_age: int, stale: int
) -> None:
    # One figure for the whole system: the rotation checks the lead against what verifiers really keep
    schedule = dataclasses.replace(DEFAULTS, jwks_max_age=max_age)
    assert schedule.stale_if_error == stale_if_error_for(max_age) == stale
    assert schedule.min_publish_lead == max_age + stale + schedule.authorizer_cache_ttl


def test_a_lead_shorter_than_the_stale_window_is_refused_even_when_it_covers_the_max_age() -> None:
    # The lead that was accepted before issue 19 (max age + cache TTL): during a JWKS outage a verifier
    # serving its stale copy would refuse the new key's tokens
    schedule = dataclasses.replace(DEFAULTS, publish_lead=600 + 300)
    with pytest.raises(ConfigurationError, match="publish_lead"):
        schedule.validate()


def test_grace_over_period_must_leave_room_under_the_cap_on_published_keys() -> None:
    # current + next + one retired key per period of the grace: at most MAX_PUBLISHED_KEYS
    fits = dataclasses.replace(DEFAULTS, period=86_401, grace=86_401 * (MAX_PUBLISHED_KEYS - 2))
    assert fits.validate()
    with pytest.raises(ConfigurationError, match="cap on published keys"):
        dataclasses.replace(fits, grace=fits.grace + 1).validate()


def test_grace_must_outlive_the_last_token_a_retired_key_signed() -> None:
    # RFC 7519 §4.1.4: a token is accepted until exp (+ leeway); the issuer may sign with the old key for
    # its cache TTL after the switch, and the token then lives max_token_lifetime
    minimum = 3_600 + 60 + 300 + 60
    schedule = dataclasses.replace(DEFAULTS, grace=minimum - 1)
    with pytest.raises(ConfigurationError, match="grace"):
        schedule.validate()
    assert dataclasses.replace(schedule, grace=minimum).validate().min_grace == minimum


def test_period_must_be_longer_than_the_publish_lead() -> None:
    # Given a next key that could not be published for a whole lead before it is due
    with pytest.raises(ConfigurationError, match="period"):
        dataclasses.replace(DEFAULTS, period=86_400, publish_lead=86_400).validate()


@pytest.mark.parametrize("field", ["period", "publish_lead", "grace", "max_token_lifetime"])
def test_a_zero_duration_is_refused(field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        dataclasses.replace(DEFAULTS, **{field: 0}).validate()


@pytest.mark.parametrize("value", [-1, 1.5, True, "60"])
def test_timings_are_whole_non_negative_seconds(value: object) -> None:
    with pytest.raises(ConfigurationError, match="leeway"):
        dataclasses.replace(DEFAULTS, leeway=value).validate()  # type: ignore[arg-type]
