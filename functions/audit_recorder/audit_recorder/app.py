"""AuditRecorderFunction handler: thin glue around :mod:`partnerauth.audit_trail`.

Invoked by the event source mappings of the streams of ClientsTable, SigningKeysTable, RevocationsTable and
ApisTable (``NEW_AND_OLD_IMAGES``; ``ReportBatchItemFailures``, bisect on error, an on-failure queue).  Each
record:

* is turned into an audit record and written once (a conditional PutItem keyed by the stream's sequence
  number): ``AuditRecordsWritten``, or ``AuditRecordsReplayed`` when a retried batch brings it again;
* if it cannot be read, is skipped, logged with a fixed reason and its sequence number (never its images) and
  counted: ``MalformedAuditStreamRecords`` (AuditTrailGapAlarm) - the rest of the batch is recorded;
* if AuditTable fails, is reported as a batch item failure (Powertools' BatchProcessor), so Lambda retries
  from it, bisects, and after the retries sends it to the on-failure queue (the alarm watches it too).

Logs carry the table, item key and sequence number, never an image.
"""

from __future__ import annotations

import os
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.audit_trail import AuditTrail, MalformedStreamRecord, record_from_stream

from .settings import RecorderSettings

settings = RecorderSettings.from_env(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
trail = AuditTrail(settings.audit_table, boto3.client("dynamodb"), settings.retention_days)


def record_one(record: DynamoDBRecord) -> None:
    """Record one stream record; raises (the record is retried) only when AuditTable fails."""
    raw = record.raw_event
    try:
        audit = record_from_stream(raw, settings.tables)
    except MalformedStreamRecord as problem:
        sequence = (raw.get("dynamodb") or {}).get("SequenceNumber") if isinstance(raw, dict) else None
        logger.warning(
            "stream record skipped",
            extra={"reason": problem.reason, "sequence_number": str(sequence)[:40]},
        )
        metrics.add_metric(name="MalformedAuditStreamRecords", unit=MetricUnit.Count, value=1)
        return
    written = trail.append(audit)
    logger.info(
        "audit record" if written else "audit record replayed",
        extra={
            "table": audit.table,
            "item": audit.item_key,
            "action": audit.action,
            "attribution": audit.attribution,
            "sequence_number": audit.sequence_number,
        },
    )
    name = "AuditRecordsWritten" if written else "AuditRecordsReplayed"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_one, processor=processor, context=context
    )
    return dict(response)
