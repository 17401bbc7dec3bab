"""Validated at deploy: every value template.yaml's parameter ranges allow keeps the rotation's relations.

CloudFormation ``Rules`` cannot compare numbers, so the relations are kept by the parameters' own
``MinValue``/``MaxValue``: each relation is checked here at the worst corner of the ranges (every relation
is monotone in each setting).  The rotation function checks the deployed values again at cold start
(``RotationSchedule.validate``).
"""

from __future__ import annotations

import math

from partnerauth.jwks_cache import stale_if_error_for
from partnerauth.key_lifecycle import RotationSchedule
from partnerauth.key_store import MAX_PUBLISHED_KEYS
from tests.support.template import Template

SIGNING_KEY_CACHE_TTL = RotationSchedule().signing_key_cache_ttl


def bounds(template: Template, name: str) -> tuple[int, int]:
    parameter = template["Parameters"][name]
    return int(parameter["MinValue"]), int(parameter["MaxValue"])


def test_the_template_defaults_keep_every_relation(cfn_template: Template) -> None:
    defaults = {
        name: int(p["Default"]) for name, p in cfn_template["Parameters"].items() if p["Type"] == "Number"
    }
    schedule = RotationSchedule(
        period=defaults["RotationPeriod"],
        publish_lead=defaults["PublishLead"],
        grace=defaults["Grace"],
        max_token_lifetime=defaults["MaxTokenLifetime"],
        authorizer_cache_ttl=defaults["AuthorizerCacheTtl"],
        jwks_max_age=defaults["JwksMaxAge"],
        leeway=defaults["Leeway"],
    )
    assert schedule.validate() is schedule


def test_every_allowed_publish_lead_covers_every_allowed_stale_copy(cfn_template: Template) -> None:
    lead_min, _ = bounds(cfn_template, "PublishLead")
    _, max_age_max = bounds(cfn_template, "JwksMaxAge")
    _, ttl_max = bounds(cfn_template, "AuthorizerCacheTtl")
    # publish_lead >= jwks_max_age + stale_if_error + authorizer_cache_ttl, at the worst corner
    assert lead_min >= max_age_max + stale_if_error_for(max_age_max) + ttl_max


def test_every_allowed_period_is_longer_than_every_allowed_lead(cfn_template: Template) -> None:
    period_min, _ = bounds(cfn_template, "RotationPeriod")
    _, lead_max = bounds(cfn_template, "PublishLead")
    assert period_min > lead_max


def test_every_allowed_grace_outlives_every_allowed_token(cfn_template: Template) -> None:
    grace_min, _ = bounds(cfn_template, "Grace")
    _, lifetime_max = bounds(cfn_template, "MaxTokenLifetime")
    _, ttl_max = bounds(cfn_template, "AuthorizerCacheTtl")
    _, leeway_max = bounds(cfn_template, "Leeway")
    assert grace_min >= lifetime_max + SIGNING_KEY_CACHE_TTL + ttl_max + leeway_max


def test_every_allowed_grace_and_period_keep_the_published_keys_under_the_cap(cfn_template: Template) -> None:
    period_min, _ = bounds(cfn_template, "RotationPeriod")
    _, grace_max = bounds(cfn_template, "Grace")
    assert 2 + math.ceil(grace_max / period_min) <= MAX_PUBLISHED_KEYS
