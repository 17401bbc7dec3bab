"""The audit trail's event source mappings, run locally: the audited tables' streams -> the recorder.

In AWS, Lambda polls the DynamoDB streams of ClientsTable, SigningKeysTable and RevocationsTable (the
template's ``AWS::Lambda::EventSourceMapping`` resources, from ``TRIM_HORIZON``) and invokes
AuditRecorderFunction with each batch.  Locally :class:`StreamPoller` does the same against the moto server:
each :meth:`StreamPoller.poll_once` reads every shard from where the last one stopped and delivers the new
records, shaped as Lambda delivers them, as one event per shard.  A batch the recorder reports failures for
is read again from its start at the next poll (a replay adds nothing: the recorder writes each record once),
as Lambda retries from the failed item.  ``make dev`` polls every second, so ``audit`` shows what the CLI did.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

RECORDER: Final = "AuditRecorderFunction"
MAPPING_TYPE: Final = "AWS::Lambda::EventSourceMapping"
BATCH_SIZE: Final = 100  # the template's BatchSize
MAX_SHARDS: Final = 1000  # bounds one poll (a local table has one shard)


def audited_tables(template: Mapping[str, Any], refs: Mapping[str, str]) -> list[str]:
    """The physical names of the tables whose streams the template maps to the recorder."""
    names = []
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != MAPPING_TYPE:
            continue
        properties = resource.get("Properties") or {}
        if properties.get("FunctionName") != {"Ref": RECORDER}:
            continue
        source = properties.get("EventSourceArn") or {}
        attribute = source.get("Fn::GetAtt") if isinstance(source, Mapping) else None
        if isinstance(attribute, list) and attribute[1:] == ["StreamArn"] and attribute[0] in refs:
            names.append(refs[attribute[0]])
    return sorted(names)


def _as_json(value: Any) -> Any:
    """What botocore parsed back into JSON's terms: a datetime as epoch seconds, binary as base64 (as Lambda's
    event carries ``B`` values)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    return value


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A ``GetRecords`` record as Lambda passes it to a function: JSON only, the stream's ARN added."""
    shaped: dict[str, Any] = _as_json(record)
    shaped["eventSourceARN"] = stream_arn
    return shaped


class StreamPoller:
    """``deliver(event)`` invokes the recorder and returns its answer (``{"batchItemFailures": [...]}``)."""

    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        tables: Iterable[str],
        deliver: Callable[[dict[str, Any]], Any],
    ) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self._tables = list(tables)
        self._deliver = deliver
        self._positions: dict[tuple[str, str], str] = {}  # (stream ARN, shard) -> iterator of the next batch

    def poll_once(self) -> int:
        """Deliver every record written since the last poll; the number delivered and recorded."""
        delivered = 0
        for table in self._tables:
            arn = self._dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if not arn:
                continue
            shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            for shard in shards[:MAX_SHARDS]:
                delivered += self._poll_shard(arn, shard["ShardId"])
        return delivered

    def _poll_shard(self, arn: str, shard_id: str) -> int:
        key = (arn, shard_id)
        iterator = (
            self._positions.get(key)
            or self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )
        page = self._streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
        records = [lambda_record(record, arn) for record in page.get("Records", [])]
        if records:
            answer = self._deliver({"Records": records})
            failures = answer.get("batchItemFailures") if isinstance(answer, Mapping) else None
            if failures:  # read the batch again next time (Lambda retries from the failed record)
                self._positions[key] = iterator
                return 0
        following = page.get("NextShardIterator")
        if following:
            self._positions[key] = following
        return len(records)
