"""Throttling of failed client authentication, per presented ``client_id`` (AuthAttemptsTable).

Policy (documented in docs/token-endpoint.md):

* The first :attr:`ThrottlePolicy.free_failures` consecutive failures cost nothing.
* After that, each failure opens a delay: ``base_delay * 2**(failures - free_failures)``
  seconds, capped at ``max_delay``.  During the delay a *failed* attempt for that id is
  answered 429 (``Retry-After``) and **not written**: a flood costs one write per delay.
* **A valid credential is never refused by the throttle** (issue 14 item 6): the credential
  is checked during a delay too, and a good one gets its token.  The client id is public (it
  is in every token), so a throttle that refused the right secret let any stranger lock a
  partner out; and 256-bit secrets leave guessing nothing to slow down.
* A success clears the counter when no delay is open (while one is, clearing it would hand a
  flood five more free writes).  Without a success, the counter is forgotten ``reset_after``
  seconds after the last failure (the item's TTL ``expires_at``; items that DynamoDB has not
  yet deleted are treated as gone once expired).

The counter is keyed by the id *as presented*, whether or not such a client exists, so
throttling says nothing about which ids are registered.  Secrets are 256-bit random
values (see :mod:`partnerauth.client_secrets`); the throttle exists to bound the cost and
noise of guessing, not because guessing could succeed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError, PartnerAuthError

Clock = Callable[[], float]


class ClientThrottled(PartnerAuthError):
    """Too many recent failures for this client id; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__("too many failed authentication attempts")


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_failures: int = 5
    base_delay: int = 1
    max_delay: int = 900
    reset_after: int = 3600

    def __post_init__(self) -> None:
        if self.free_failures < 1 or self.base_delay < 1 or self.max_delay < self.base_delay:
            raise ConfigurationError("throttle policy: need free_failures >= 1, 1 <= base_delay <= max_delay")
        if self.reset_after < self.max_delay:
            raise ConfigurationError("throttle policy: reset_after must be at least max_delay")

    def delay_after(self, failures: int) -> int:
        """Seconds to wait after the last failure when ``failures`` have been counted."""
        if failures < self.free_failures:
            return 0
        exponent = min(failures - self.free_failures, 32)  # bounded: 2**32 already exceeds any cap
        return int(min(self.base_delay * 2**exponent, self.max_delay))


@dataclass(frozen=True, slots=True)
class AttemptState:
    """What the table says about recent failures for one id (zero when there is no live item)."""

    failures: int = 0
    last_failure_at: float = 0.0
    retry_after: int = 0  # whole seconds until the open delay ends; 0 when none is open


class AuthThrottle:
    """Reads and updates the failure counter of one presented client id.

    Every call does a fixed amount of work regardless of whether the client exists:
    :meth:`check` one consistent ``GetItem``; :meth:`record_failure` one ``UpdateItem``
    (plus a ``PutItem`` only when a stale item has to be replaced).
    """

    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any,
        policy: ThrottlePolicy | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self.policy = policy or ThrottlePolicy()
        self._clock = clock

    def check(self, client_id: str) -> AttemptState:
        """The live state for ``client_id``; :class:`ClientThrottled` while a delay is open."""
        state = self.look(client_id)
        if state.retry_after:
            raise ClientThrottled(state.retry_after)
        return state

    def look(self, client_id: str) -> AttemptState:
        """The live state for ``client_id`` (one consistent ``GetItem``), with the open delay if any."""
        now = self._clock()
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key={"client_id": {"S": client_id}},
            ConsistentRead=True,
            ProjectionExpression="failures, last_failure_at, expires_at",
        )
        item = response.get("Item")
        if not item or float(item.get("expires_at", {}).get("N", "0")) <= now:
            return AttemptState()
        failures = int(item.get("failures", {}).get("N", "0"))
        last_failure_at = float(item.get("last_failure_at", {}).get("N", "0"))
        delay = self.policy.delay_after(failures)
        retry_at = last_failure_at + delay
        open_for = math.ceil(retry_at - now) if delay and now < retry_at else 0  # a free failure never delays
        return AttemptState(failures, last_failure_at, max(1, open_for) if open_for else 0)

    def refuse(self, client_id: str, state: AttemptState) -> None:
        """After a failed attempt: :class:`ClientThrottled` (nothing written) while a delay is open,
        else count the failure (one write)."""
        if state.retry_after:
            raise ClientThrottled(state.retry_after)
        self.record_failure(client_id)

    def record_failure(self, client_id: str) -> int:
        """Count one failure; the new count."""
        now = self._clock()
        values = {
            ":one": {"N": "1"},
            ":now": {"N": _number(now)},
            ":exp": {"N": str(math.ceil(now + self.policy.reset_after))},
        }
        try:
            response = self._dynamodb.update_item(
                TableName=self._table,
                Key={"client_id": {"S": client_id}},
                UpdateExpression="ADD failures :one SET last_failure_at = :now, expires_at = :exp",
                ConditionExpression="attribute_not_exists(client_id) OR expires_at > :now",
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            # An expired item DynamoDB has not deleted yet: start a fresh count.
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "client_id": {"S": client_id},
                    "failures": {"N": "1"},
                    "last_failure_at": values[":now"],
                    "expires_at": values[":exp"],
                },
            )
            return 1
        return int(response["Attributes"]["failures"]["N"])

    def record_success(self, client_id: str, state: AttemptState) -> None:
        """Clear the counter after a successful authentication (no write when there was none, nor
        while a delay is open: a flood must not get its free failures back from the partner's success)."""
        if state.failures and not state.retry_after:
            self._dynamodb.delete_item(TableName=self._table, Key={"client_id": {"S": client_id}})


def _number(value: float) -> str:
    """Milliseconds, rounded down: a stored time is never later than the moment it records."""
    return f"{math.floor(value * 1000) / 1000:.3f}".rstrip("0").rstrip(".")
