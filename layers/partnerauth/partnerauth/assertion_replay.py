"""Single use of client assertions (RFC 7523 §3 item 7: the server MAY ensure a ``jti`` is not replayed).

One item per accepted assertion in ``ClientAssertionsTable`` (HASH ``assertion_id``, TTL ``expires_at``),
written with one conditional ``PutItem``: the first writer wins, across every concurrent instance of the
token function, and a second use of the same ``(client_id, jti)`` finds the item and is refused.

* ``assertion_id`` is SHA-256 over the client id and the ``jti``, length-prefixed: a ``jti`` is unique per
  client (its issuer), the key has a fixed size whatever the ``jti``, and nothing the client chose is a key.
* ``expires_at`` is the second after which the assertion is refused by its time rules anyway
  (:meth:`partnerauth.client_assertion.AssertionRules.check`): DynamoDB's TTL then deletes the item.  TTL
  deletion is late, never early; an item past ``expires_at`` that is still there counts as gone.
* The function's role may only ``PutItem`` on this table: no read, no delete.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .errors import PartnerAuthError


class AssertionReplayed(PartnerAuthError):
    def __init__(self) -> None:
        super().__init__("client assertion already used")


def assertion_id(client_id: str, jti: str) -> str:
    raw_id, raw_jti = client_id.encode("utf-8"), jti.encode("utf-8", "surrogatepass")
    material = len(raw_id).to_bytes(2, "big") + raw_id + raw_jti
    return hashlib.sha256(material).hexdigest()


class AssertionReplayGuard:
    def __init__(self, table_name: str, dynamodb_client: Any) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client

    def record(self, client_id: str, jti: str, expires_at: int, now: float) -> None:
        """Remember this use until ``expires_at``; :class:`AssertionReplayed` if it was used before."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "assertion_id": {"S": assertion_id(client_id, jti)},
                    "client_id": {"S": client_id},
                    "expires_at": {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(assertion_id) OR expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise AssertionReplayed() from None
