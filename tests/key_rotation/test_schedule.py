"""RotationSchedule refuses every configuration under which a valid token could be rejected."""

from __future__ import annotations

import dataclasses

import pytest

from partnerauth.errors import ConfigurationError
from partnerauth.key_lifecycle import RotationSchedule

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
    # RFC 7517 §5 sets are cached: a verifier's copy is up to jwks_max_age old (+ API Gateway's cache)
    schedule = dataclasses.replace(DEFAULTS, jwks_max_age=3_600, authorizer_cache_ttl=300, publish_lead=3_899)
    with pytest.raises(ConfigurationError, match="publish_lead"):
        schedule.validate()
    assert dataclasses.replace(schedule, publish_lead=3_900).validate()


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
