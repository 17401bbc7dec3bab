"""The token endpoint's one read (issue 16 item 5): a client's item and its failure record, together.

Authentication needs two items: the presented id's client (ClientsTable) and its failure counter
(AuthAttemptsTable, :mod:`.auth_throttle`).  One ``BatchGetItem`` reads both, each with ``ConsistentRead``
(the same guarantees as two consistent ``GetItem`` calls: a revoked secret or a counted failure is seen by
the next request).  The read is the same for a known and an unknown id: the caller then runs the same code
on either (:meth:`~.client_registry.ClientRegistry.authenticate_item`'s absent-client stand-in).

DynamoDB may return part of a batch as ``UnprocessedKeys`` (throttling, not an error); those keys are asked
for again, at most :data:`MAX_BATCH_CALLS` calls in all with a short exponential pause between them (AWS's
advice for batch operations), then :class:`ClientReadUnavailable` (the token endpoint's 503).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .auth_throttle import PROJECTION, AttemptState, AuthThrottle
from .client_registry import ClientRegistry
from .errors import PartnerAuthError

MAX_BATCH_CALLS: Final = 3
FIRST_PAUSE: Final = 0.025  # seconds before the second call; doubled before the third


class ClientReadUnavailable(PartnerAuthError):
    """DynamoDB left keys unprocessed after every allowed call (a dependency failure: 503)."""

    def __init__(self) -> None:
        super().__init__("the client and its failure record could not be read")


@dataclass(frozen=True, slots=True)
class ClientAndAttempts:
    client_item: dict[str, Any] | None  # None: no client has the presented id
    attempts: AttemptState


class ClientAndAttemptsReader:
    """Reads a presented id's client item and failure record in one consistent ``BatchGetItem``."""

    def __init__(
        self,
        registry: ClientRegistry,
        throttle: AuthThrottle,
        dynamodb_client: Any,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._registry = registry
        self._throttle = throttle
        self._dynamodb = dynamodb_client
        self._pause = pause

    def read(self, client_id: str) -> ClientAndAttempts:
        clients, attempts = self._registry.table_name, self._throttle.table_name
        pending: dict[str, Any] = {
            clients: {"Keys": [self._registry.item_key(client_id)], "ConsistentRead": True},
            attempts: {
                "Keys": [self._throttle.item_key(client_id)],
                "ConsistentRead": True,
                "ProjectionExpression": PROJECTION,
            },
        }
        found: dict[str, list[dict[str, Any]]] = {}
        for call in range(MAX_BATCH_CALLS):
            if call:
                self._pause(FIRST_PAUSE * 2 ** (call - 1))
            response = self._dynamodb.batch_get_item(RequestItems=pending)
            for table, items in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
        else:
            raise ClientReadUnavailable()
        client_item = next(iter(found.get(clients, [])), None)
        record = next(iter(found.get(attempts, [])), None)
        return ClientAndAttempts(client_item, self._throttle.state_of(record))
