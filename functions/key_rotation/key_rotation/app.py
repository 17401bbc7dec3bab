"""KeyRotationFunction handler: thin glue around :class:`partnerauth.key_lifecycle.KeyRotator`.

Events (samples in ``events/``)::

    {"action": "reconcile"}                EventBridge Scheduler, hourly (template Input)
    {"action": "rotate_now"}               emergency: the published next key signs at once
    {"action": "rotate_now", "kid": "<kid>"}   the same, stated as "stop signing with <kid>"
    {"action": "revoke", "kid": "<kid>"}   drop a key (or an unreadable item) from the table

Any event may add ``"requested_by": "<caller's STS ARN>"`` (the admin CLI's ``keys`` commands do): every
item the run writes is stamped ``changed_by = "<requested_by> (via KeyRotationFunction)"`` for the audit
trail (``KeyStore.changes_by``); without it, ``changed_by`` names the schedule or an unnamed direct invoke.
It is the invoker's statement, relayed: who may invoke the function is what IAM decides (SECURITY.md).

Both manual actions are safe to repeat after a lost answer (``KeyRotator.rotate_now`` /
``revoke``): a repeat answers ``ok`` with no transitions.  A malformed event is answered with
``{"ok": false, "error": ...}``; so is an action the cap on published keys refuses
(``published_key_limit``).  A store or KMS failure is counted and raised, so the scheduler
retries and the errors alarm fires.  Items of the table that cannot be read are logged (kid and
fixed reason, never content) and counted once per run: ``MalformedSigningKeyItems`` (alarm) or
``UnknownStateSigningKeyItems`` (a newer version's state: forward compatibility).  Logs carry
the ``kid``, never key material.
"""

from __future__ import annotations

import os
import re
import time
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
from partnerauth.key_lifecycle import KeyLimitReached, KeyRotator, RotationSchedule, Transition, UnknownKid
from partnerauth.key_store import KeyState, KeyStore, SkippedItem, kid_label

ACTIONS = ("reconcile", "rotate_now", "revoke")
REPEAT_MESSAGES = {
    "rotate_now": "nothing to do: the key was rotated already (a rotate_now without kid within the publish "
    "lead of the last one is taken for a repeat of it; name the current kid to rotate again)",
    "revoke": "nothing to do: the key was revoked already",
}
MAX_REQUESTED_BY = 256  # an STS assumed-role ARN is at most about 200 characters
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
UNSTATED = "KeyRotationFunction (no requested_by: the hourly schedule or a direct invoke)"
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


def requested_by(event: Mapping[str, Any]) -> str:
    """What the run stamps as ``changed_by``: the event's ``requested_by`` (short, printable), relayed."""
    if "requested_by" not in event:
        return UNSTATED
    stated = event["requested_by"]
    if not isinstance(stated, str) or len(stated) > MAX_REQUESTED_BY or not _PRINTABLE.fullmatch(stated):
        raise InvalidEvent("invalid_event", "requested_by must be the caller's ARN (printable, at most 256)")
    return f"{stated} (via KeyRotationFunction)"


def parse_event(event: object) -> tuple[str, str | None]:
    """``(action, kid)`` from an event; :class:`InvalidEvent` for anything else."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("invalid_event", "the event must be a JSON object")
    requested_by(event)  # refused here, before anything is done
    action = event.get("action")
    if action not in ACTIONS:
        raise InvalidEvent("unknown_action", "action must be one of: reconcile, rotate_now, revoke")
    if action == "reconcile" or (action == "rotate_now" and "kid" not in event):
        return str(action), None
    kid = event.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise InvalidEvent("invalid_event", f"{action} needs the kid of a published key")
    return str(action), kid


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


skipped_this_run: dict[str, SkippedItem] = {}


def note_skipped(item: SkippedItem) -> None:
    """The store's observer: one entry per item and run (a run reads the table several times)."""
    skipped_this_run[item.kid] = item


def report_skipped() -> None:
    """One log line per unreadable item (its kid or a fingerprint, and a fixed reason) and the count."""
    for item in skipped_this_run.values():
        logger.warning("signing-key item skipped", extra={"kid": item.label, "reason": item.reason})
        name = "MalformedSigningKeyItems" if item.reason.malformed else "UnknownStateSigningKeyItems"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    skipped_this_run.clear()


key_store = KeyStore(
    settings.table_name,
    boto3.client("dynamodb"),
    boto3.client("kms"),
    settings.kms_key_id,
    on_skipped=note_skipped,
)
rotator = KeyRotator(
    key_store,
    settings.schedule,
    settings.key_spec,
    observer=record_transition,
)


def record_key_age(now: float) -> None:
    """After a scheduled run: how old the signing key is and how long until it is due to rotate.

    The dashboard graphs both, and ``KeySetNotRotatingAlarm`` pages when the rotation is overdue or these
    gauges stop arriving (the schedule or the function stopped).  Best effort: a failed read only leaves a
    gap, which that alarm treats as breaching.
    """
    try:
        head = key_store.read_key_set().head
    except Exception:  # noqa: BLE001 - the run itself succeeded; a missing gauge is alarmed on
        logger.warning("signing-key age not measured")
        return
    if head is None:
        return
    age = max(0.0, now - head.activated_at)
    metrics.add_metric(name="SigningKeyAge", unit=MetricUnit.Seconds, value=age)
    remaining = settings.schedule.period - age  # negative once the rotation is overdue
    metrics.add_metric(name="SecondsToRotation", unit=MetricUnit.Seconds, value=remaining)


def _run(action: str, kid: str | None) -> list[Transition]:
    runs: dict[str, Callable[[], list[Transition]]] = {
        "reconcile": rotator.reconcile,
        "rotate_now": lambda: rotator.rotate_now(kid=kid),
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
    actor = requested_by(event)
    logger.append_keys(action=action, requested_by=actor)
    skipped_this_run.clear()
    try:
        with key_store.changes_by(actor):
            transitions = _run(action, kid)
        if action == "reconcile":
            record_key_age(time.time())  # before report_skipped: its read notes the same items
    except UnknownKid:
        logger.warning("a manual action named an unknown kid", kid=kid_label(kid or ""))
        return {"ok": False, "action": action, "error": "unknown_kid", "message": "no such signing key"}
    except KeyLimitReached as error:
        metrics.add_metric(name="KeyRotationFailures", unit=MetricUnit.Count, value=1)
        logger.error("refused by the cap on published keys")
        return {"ok": False, "action": action, "error": "published_key_limit", "message": str(error)}
    except Exception:
        metrics.add_metric(name="KeyRotationFailures", unit=MetricUnit.Count, value=1)
        logger.exception("key rotation failed")
        raise
    finally:
        report_skipped()
    result: dict[str, Any] = {"ok": True, "action": action, "transitions": [t.as_dict() for t in transitions]}
    if action != "reconcile" and not transitions:
        result["message"] = REPEAT_MESSAGES[action]
    return result
