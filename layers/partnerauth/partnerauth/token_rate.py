"""The per-client token issuance limit (issue 15 item 2): tokens per minute, shared by every instance.

A partner that fetches a token per API call costs a DynamoDB read and a signature each time; this bounds it.

* **Counted once, in DynamoDB, by one conditional write.**  Each client has one counter item per fixed
  one-minute window in AuthAttemptsTable, keyed ``"issued <window> <client_id>"``; issuing a token is one
  ``UpdateItem`` ``ADD issued :one`` on the condition ``issued < :limit`` (no read first).  Every function
  instance writes the same item, so the limit holds for all of them together; the condition is evaluated by
  DynamoDB atomically with the write, so two instances cannot both take the last token of a window.
* **Only issued tokens count**: the grant calls :meth:`TokenRateLimiter.count` after the client is
  authenticated and the request is found valid, with the signing key already in hand, just before it signs
  (a local computation); a refused request, a throttled one or one whose key could not be loaded adds nothing.
* **Over the limit** raises :class:`TokenRateExceeded` with the seconds to the next window (``Retry-After``).
  The instance remembers that the window is full for that client and limit, so a client hammering one
  instance costs one refused write per window per instance, not one per request.  A higher limit (a plan
  change) is tried against DynamoDB again at once; a lower one applies to the next write.
* **A DynamoDB failure** propagates (botocore's error: the token endpoint's 503), so a token is never issued
  uncounted.
* The key cannot collide with the throttle's records: those are keyed by a presented client id, which never
  contains a space (RFC 6749 Appendix A.1 ids as :mod:`token_issuer.client_auth` and
  :mod:`partnerauth.client_assertion` accept them: ``%x21-7E``).  The item's TTL (``expires_at``) is one
  window after its own ends: DynamoDB deletes old windows, which are never read again anyway.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Final

from .errors import ConfigurationError, PartnerAuthError

Clock = Callable[[], float]

WINDOW_SECONDS: Final = 60
MAX_REMEMBERED: Final = 10_000  # clients per instance known to be full this window (bounded memory)


class TokenRateExceeded(PartnerAuthError):
    """The client was issued its limit of tokens in this window; ``retry_after`` is in whole seconds."""

    def __init__(self, client_id: str, retry_after: int, limit: int) -> None:
        self.client_id = client_id  # for the log: an authenticated client's id
        self.retry_after = max(1, retry_after)
        self.limit = limit
        super().__init__("token issuance limit reached")


def counter_key(client_id: str, window: int) -> str:
    """The AuthAttemptsTable key of ``client_id``'s counter for ``window`` (minutes since the epoch)."""
    return f"issued {window} {client_id}"


class TokenRateLimiter:
    """Counts issued tokens per client and window; one conditional ``UpdateItem`` per counted token."""

    def __init__(self, table_name: str, dynamodb_client: Any, clock: Clock = time.time) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._clock = clock
        self._full_window = -1
        self._full: dict[str, int] = {}  # client id -> the limit it was found full at, in _full_window

    def count(self, client_id: str, limit: int) -> None:
        """Count one token for ``client_id`` within ``limit`` tokens per window, else
        :class:`TokenRateExceeded` (nothing counted)."""
        if limit < 1:
            raise ConfigurationError("a token rate must be at least 1 per minute")
        now = self._clock()
        window = math.floor(now / WINDOW_SECONDS)
        retry_after = math.ceil((window + 1) * WINDOW_SECONDS - now)
        if window != self._full_window:
            self._full_window, self._full = window, {}
        if limit <= self._full.get(client_id, 0):
            raise TokenRateExceeded(client_id, retry_after, limit)
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"client_id": {"S": counter_key(client_id, window)}},
                UpdateExpression="ADD issued :one SET expires_at = :expires",
                # DynamoDB evaluates the condition and applies the update atomically: the limit holds
                # across every instance, whatever the interleaving.
                ConditionExpression="attribute_not_exists(issued) OR issued < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str((window + 2) * WINDOW_SECONDS)},
                },
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            if len(self._full) < MAX_REMEMBERED:
                self._full[client_id] = limit
            raise TokenRateExceeded(client_id, retry_after, limit) from None
