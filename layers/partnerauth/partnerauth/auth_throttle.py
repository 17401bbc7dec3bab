"""Throttling of failed client authentication, per presented ``client_id`` (AuthAttemptsTable).

Policy (documented in docs/token-endpoint.md):

* The first :attr:`ThrottlePolicy.free_failures` consecutive failures cost nothing.
* After that, each failure opens a delay: ``base_delay * 2**(failures - free_failures)``
  seconds, capped at ``max_delay``.  During the delay a *failed* attempt for that id is
  answered 429 (``Retry-After``) and **not written**: a flood costs one counted write per delay.
* **A valid credential is never refused by the throttle** (issue 14 item 6): the credential
  is checked during a delay too, and a good one gets its token.  The client id is public (it
  is in every token), so a throttle that refused the right secret let any stranger lock a
  partner out; and 256-bit secrets leave guessing nothing to slow down.
* **One try per delay, under concurrency too** (issue 19 item 5).  A failure is counted by one
  conditional ``UpdateItem`` that compares and sets: it writes ``failures = n + 1`` only if the stored
  count is still the ``n`` this attempt read (or there is no live item).  Of concurrent failures that read
  the same state, exactly one is counted; DynamoDB hands the others the item as it now is
  (``ReturnValuesOnConditionCheckFailure``), and while the winner's delay is open they are answered 429
  without another write.  Before the delay opens (the free failures) a loser simply counts on top.
* A success clears the counter when no delay is open (while one is, clearing it would hand a flood
  five more free writes), and only if the count is still the one it read.  Without a success, the counter
  is forgotten ``reset_after`` seconds after the last failure (the item's TTL ``expires_at``; items that
  DynamoDB has not yet deleted are treated as gone once expired, and the next count replaces them in the
  same conditional write).

The counter is keyed by the id *as presented*, whether or not such a client exists, so
throttling says nothing about which ids are registered.  Secrets are 256-bit random
values (see :mod:`partnerauth.client_secrets`); the throttle exists to bound the cost and
noise of guessing, not because guessing could succeed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .errors import ConfigurationError, PartnerAuthError

Clock = Callable[[], float]

PROJECTION: Final = "failures, last_failure_at, expires_at"  # what a reader of the record needs
MAX_CONTENDED_WRITES: Final = 16  # record_failure's bound on lost compare-and-set writes


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

    Every call does a fixed amount of work regardless of whether the client exists: :meth:`look` one
    consistent ``GetItem`` (the token endpoint reads the record in its one ``BatchGetItem`` instead, with
    :attr:`table_name`, :meth:`item_key`, :data:`PROJECTION` and :meth:`state_of`); :meth:`refuse` at most
    one conditional ``UpdateItem`` per counted failure and none while a delay is open.
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

    @property
    def table_name(self) -> str:
        return self._table

    @staticmethod
    def item_key(client_id: str) -> dict[str, Any]:
        return {"client_id": {"S": client_id}}

    def check(self, client_id: str) -> AttemptState:
        """The live state for ``client_id``; :class:`ClientThrottled` while a delay is open."""
        state = self.look(client_id)
        if state.retry_after:
            raise ClientThrottled(state.retry_after)
        return state

    def look(self, client_id: str) -> AttemptState:
        """The live state for ``client_id`` (one consistent ``GetItem``), with the open delay if any."""
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key=self.item_key(client_id),
            ConsistentRead=True,
            ProjectionExpression=PROJECTION,
        )
        return self.state_of(response.get("Item"))

    def state_of(self, item: Mapping[str, Any] | None) -> AttemptState:
        """The state a stored record (or its absence) means now, with the open delay if any."""
        now = self._clock()
        if not item or float(item.get("expires_at", {}).get("N", "0")) <= now:
            return AttemptState()
        failures = int(item.get("failures", {}).get("N", "0"))
        last_failure_at = float(item.get("last_failure_at", {}).get("N", "0"))
        delay = self.policy.delay_after(failures)
        retry_at = last_failure_at + delay
        open_for = math.ceil(retry_at - now) if delay and now < retry_at else 0  # a free failure never delays
        return AttemptState(failures, last_failure_at, max(1, open_for) if open_for else 0)

    def refuse(self, client_id: str, state: AttemptState) -> None:
        """After a failed attempt that read ``state``: :class:`ClientThrottled` (nothing written) while a
        delay is open, else claim the try by counting the failure (one conditional write).  An attempt that
        loses the claim to a concurrent one is answered by the state that one stored: 429 once its delay is
        open; during the free failures it counts on top (bounded: each loss is another attempt's count)."""
        for _ in range(self.policy.free_failures + 1):
            if state.retry_after:
                raise ClientThrottled(state.retry_after)
            stored = self._count(client_id, state)
            if stored is None:
                return
            state = stored
        # Still contended after every free failure was taken by others: refuse, write nothing more.
        raise ClientThrottled(state.retry_after or self.policy.base_delay)

    def record_failure(self, client_id: str) -> int:
        """Count one failure whatever the delay (tests and tools build a history with it); the new count."""
        state = self.look(client_id)
        for _ in range(MAX_CONTENDED_WRITES):
            stored = self._count(client_id, state)
            if stored is None:
                return state.failures + 1
            state = stored
        raise ClientThrottled(state.retry_after or self.policy.base_delay)

    def record_success(self, client_id: str, state: AttemptState) -> None:
        """Clear the counter after a successful authentication (no write when there was none, nor
        while a delay is open: a flood must not get its free failures back from the partner's success),
        and only if it still holds the count read (else a concurrent failure counted: leave it)."""
        if state.failures and not state.retry_after:
            try:
                self._dynamodb.delete_item(
                    TableName=self._table,
                    Key=self.item_key(client_id),
                    ConditionExpression="failures = :seen",
                    ExpressionAttributeValues={":seen": {"N": str(state.failures)}},
                )
            except self._dynamodb.exceptions.ConditionalCheckFailedException:
                return

    def _count(self, client_id: str, seen: AttemptState) -> AttemptState | None:
        """Compare and set: store ``seen.failures + 1`` if the stored count is still ``seen.failures``
        (no live item when that is 0).  ``None`` when counted, else the state now stored."""
        now = self._clock()
        values = {
            ":seen": {"N": str(seen.failures)},
            ":next": {"N": str(seen.failures + 1)},
            ":now": {"N": _number(now)},
            ":exp": {"N": str(math.ceil(now + self.policy.reset_after))},
        }
        if seen.failures:
            condition = "failures = :seen AND expires_at > :now"
        else:  # nothing live was read: absent, expired (not yet swept by TTL), or a count of zero
            condition = "attribute_not_exists(failures) OR expires_at <= :now OR failures = :seen"
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self.item_key(client_id),
                UpdateExpression="SET failures = :next, last_failure_at = :now, expires_at = :exp",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException as lost:
            return self.state_of(lost.response.get("Item"))
        return None


def _number(value: float) -> str:
    """Milliseconds, rounded down: a stored time is never later than the moment it records."""
    return f"{math.floor(value * 1000) / 1000:.3f}".rstrip("0").rstrip(".")
