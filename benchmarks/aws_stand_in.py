"""In-memory stand-ins for the AWS calls of the token endpoint's success path: no moto, no botocore per call.

For benchmarks only.  Each stand-in counts every call by operation and answers from plain dictionaries, so
the CPU clock sees our code and not an emulator.  Latency is not slept (sleeping costs no CPU and would only
slow the run down): it is a fixed, stated figure per service (:data:`LATENCY_MS`) that the benchmark adds
to its modelled time per token from the counted calls.

* :class:`DynamoDBStandIn` holds items per table (copied from a set-up table; reads hand out the stored
  dictionaries themselves, so the stand-in's own CPU stays near zero) and implements exactly the
  operations and expressions the token path uses: ``GetItem``, ``BatchGetItem`` and the issuance limit's
  conditional ``UpdateItem`` (``ADD issued :one ...`` on ``issued < :limit``, evaluated as DynamoDB does).
  Anything else raises :class:`NotImplementedError`, so a path that changes shows up as a failed benchmark,
  not as a silently wrong answer.
* :class:`RecordedAnswers` answers KMS ``Decrypt`` and Secrets Manager ``GetSecretValue`` with answers
  recorded during set-up, for exactly the requests seen then.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from typing import Any

# Stated, not measured: typical in-Region latencies seen from Lambda (DynamoDB: "single-digit milliseconds"
# for a key-value read or write; KMS Decrypt of a small ciphertext; Secrets Manager GetSecretValue).
LATENCY_MS: Mapping[str, float] = {"dynamodb": 4.0, "kms": 8.0, "secretsmanager": 15.0}
_LIMIT_UPDATE = "ADD issued :one SET expires_at = :expires"
_LIMIT_CONDITION = "attribute_not_exists(issued) OR issued < :limit"


class DynamoDBStandIn:
    def __init__(
        self, tables: Mapping[str, list[dict[str, Any]]], key_names: Mapping[str, str], errors: Any
    ) -> None:
        """``tables``: name -> items; ``key_names``: name -> its HASH key attribute; ``errors``: a real
        client's ``exceptions`` (for ``ConditionalCheckFailedException``)."""
        self._items = {
            table: {item[key_names[table]]["S"]: copy.deepcopy(item) for item in items}
            for table, items in tables.items()
        }
        self._key_names = dict(key_names)
        self.exceptions = errors
        self.calls: Counter[str] = Counter()

    def _find(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._items[table].get(key[self._key_names[table]]["S"])

    def get_item(self, *, TableName: str, Key: Mapping[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        self.calls["dynamodb.get_item"] += 1
        item = self._find(TableName, Key)
        return {"Item": item} if item is not None else {}

    def batch_get_item(self, *, RequestItems: Mapping[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls["dynamodb.batch_get_item"] += 1
        responses: dict[str, list[dict[str, Any]]] = {}
        for table, request in RequestItems.items():
            found = (self._find(table, key) for key in request["Keys"])
            responses[table] = [item for item in found if item is not None]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def update_item(
        self,
        *,
        TableName: str,  # noqa: N803
        Key: Mapping[str, Any],  # noqa: N803
        UpdateExpression: str,  # noqa: N803
        ConditionExpression: str,  # noqa: N803
        ExpressionAttributeValues: Mapping[str, Any],  # noqa: N803
        **_: Any,
    ) -> dict[str, Any]:
        self.calls["dynamodb.update_item"] += 1
        if (UpdateExpression, ConditionExpression) != (_LIMIT_UPDATE, _LIMIT_CONDITION):
            raise NotImplementedError(f"the stand-in does not model {UpdateExpression!r}")
        values = ExpressionAttributeValues
        key_value = Key[self._key_names[TableName]]["S"]
        item = self._items[TableName].setdefault(key_value, {self._key_names[TableName]: {"S": key_value}})
        issued = int(item.get("issued", {}).get("N", "0"))
        if "issued" in item and not issued < int(values[":limit"]["N"]):
            raise self.exceptions.ConditionalCheckFailedException(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "stand-in"}}, "UpdateItem"
            )
        item["issued"] = {"N": str(issued + int(values[":one"]["N"]))}
        item["expires_at"] = values[":expires"]
        return {}


class RecordedAnswers:
    """Answers the requests recorded from a real client during set-up; counts every call."""

    def __init__(self, service: str, calls: Counter[str]) -> None:
        self._service = service
        self._answers: dict[tuple[str, str], Any] = {}
        self.calls = calls

    def record(self, operation: str, request: Mapping[str, Any], answer: Any) -> None:
        self._answers[(operation, repr(sorted(request.items())))] = answer

    def recorder(self, client: Any) -> Any:
        """A wrapper of ``client`` that records each answer it gives."""
        stand_in = self

        class Recording:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(client, name)
                if name.startswith("_") or name in ("exceptions", "meta") or not callable(attribute):
                    return attribute

                def call(**request: Any) -> Any:
                    answer = attribute(**request)
                    stand_in.record(name, request, answer)
                    return answer

                return call

        return Recording()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(**request: Any) -> Any:
            self.calls[f"{self._service}.{name}"] += 1
            answer = self._answers.get((name, repr(sorted(request.items()))))
            if answer is None:
                raise NotImplementedError(f"no recorded answer for {self._service}.{name}")
            return answer

        return call
