"""KeyRotationFunction handler: thin glue around :class:`partnerauth.key_lifecycle.KeyRotator`.

Events (samples in ``events/``)::

    {"action": "reconcile"}                EventBridge Scheduler, hourly (template Input)
    {"action": "rotate_now"}               emergency: a fresh key signs at once
    {"action": "revoke", "kid": "<kid>"}   drop a key from the JWKS; a revoked current key is replaced

A malformed event is answered with ``{"ok": false, "error": ...}``; a store or KMS failure is
counted and raised, so the scheduler retries and the errors alarm fires.  Logs carry the
``kid``, never key material.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.algorithms import KeySpec
from partnerauth.errors import ConfigurationError
from partnerauth.jwk import MAX_KID_LENGTH
from partnerauth.key_lifecycle import KeyRotator, RotationSchedule, Transition, UnknownKid
from partnerauth.key_store import KeyState, KeyStore

ACTIONS = ("reconcile", "rotate_now", "revoke")
# Environment variable -> RotationSchedule field (all seconds; absent = the schedule's default).
_TIMINGS = {
    "ROTATION_PERIOD": "period",
    "PUBLISH_LEAD": "publish_lead",
    "GRACE": "grace",
    "MAX_TOKEN_LIFETIME": "max_token_lifetime",
    "AUTHORIZER_CACHE_TTL": "authorizer_cache_ttl",
    "JWKS_MAX_AGE": "jwks_max_age",
    "LEEWAY": "leeway",
    "SIGNING_KEY_CACHE_TTL": "signing_key_cache_ttl",
}


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    kms_key_id: str
    key_spec: KeySpec
    schedule: RotationSchedule

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read once at import; a configuration under which a valid token could be rejected
        fails the cold start (``RotationSchedule.validate``)."""
        table_name, kms_key_id = env.get("SIGNING_KEYS_TABLE", ""), env.get("KMS_KEY_ID", "")
        if not table_name or not kms_key_id:
            raise ConfigurationError("SIGNING_KEYS_TABLE and KMS_KEY_ID are required")
        try:
            key_spec = KeySpec(env.get("SIGNING_ALGORITHM") or KeySpec.RS256)
        except ValueError:
            raise ConfigurationError("SIGNING_ALGORITHM must be RS256, RS256-3072, ES256 or EdDSA") from None
        timings: dict[str, int] = {}
        for variable, name in _TIMINGS.items():
            raw = env.get(variable, "").strip()
            if not raw:
                continue
            if not raw.isdigit():
                raise ConfigurationError(f"{variable} must be a whole number of seconds")
            timings[name] = int(raw)
        return cls(table_name, kms_key_id, key_spec, RotationSchedule(**timings).validate())


class InvalidEvent(ValueError):
    """The event is not one of the three documented shapes; ``code`` goes into the result."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_event(event: object) -> tuple[str, str | None]:
    """``(action, kid)`` from an event; :class:`InvalidEvent` for anything else."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("invalid_event", "the event must be a JSON object")
    action = event.get("action")
    if action not in ACTIONS:
        raise InvalidEvent("unknown_action", "action must be one of: reconcile, rotate_now, revoke")
    if action != "revoke":
        return str(action), None
    kid = event.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise InvalidEvent("invalid_event", "revoke needs the kid of a published key")
    return "revoke", kid


settings = Settings.from_env(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


def record_transition(transition: Transition) -> None:
    """One log line and its metrics per committed transition (kid and states only)."""
    logger.info(
        "signing key transition",
        extra={
            "kid": transition.kid,
            "from": transition.from_state,
            "to": transition.to_state,
            "reason": transition.reason,
        },
    )
    metrics.add_metric(name="KeyTransitions", unit=MetricUnit.Count, value=1)
    if transition.to_state == KeyState.CURRENT:
        metrics.add_metric(name="KeyRotations", unit=MetricUnit.Count, value=1)
    if transition.reason == "revoked" and transition.to_state == "gone":
        metrics.add_metric(name="KeyRevocations", unit=MetricUnit.Count, value=1)


rotator = KeyRotator(
    KeyStore(settings.table_name, boto3.client("dynamodb"), boto3.client("kms"), settings.kms_key_id),
    settings.schedule,
    settings.key_spec,
    observer=record_transition,
)


def _run(action: str, kid: str | None) -> list[Transition]:
    runs: dict[str, Callable[[], list[Transition]]] = {
        "reconcile": rotator.reconcile,
        "rotate_now": rotator.rotate_now,
        "revoke": lambda: rotator.revoke(kid or ""),
    }
    return runs[action]()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001 - Lambda signature
    metrics.add_metric(name="KeyRotationRuns", unit=MetricUnit.Count, value=1)
    try:
        action, kid = parse_event(event)
    except InvalidEvent as error:
        logger.warning("rejected key-rotation event", error=error.code)
        return {"ok": False, "error": error.code, "message": str(error)}
    logger.append_keys(action=action)
    try:
        transitions = _run(action, kid)
    except UnknownKid:
        logger.warning("revoke named an unknown kid", kid=kid)
        return {"ok": False, "action": action, "error": "unknown_kid", "message": "no such signing key"}
    except Exception:
        metrics.add_metric(name="KeyRotationFailures", unit=MetricUnit.Count, value=1)
        logger.exception("key rotation failed")
        raise
    return {"ok": True, "action": action, "transitions": [t.as_dict() for t in transitions]}
