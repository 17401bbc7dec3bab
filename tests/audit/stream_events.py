"""Lambda DynamoDB-stream event records, as Lambda delivers them (AWS Lambda Developer Guide, "Using AWS
Lambda with Amazon DynamoDB", example event), read from moto's streams of the template's tables or built by
hand for the shapes moto cannot produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


def stream_arn(table: str, label: str = "2026-12-05T00:00:00.000") -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/{label}"


def lambda_record(
    table: str,
    event_name: str,
    keys: dict[str, Any],
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    sequence_number: str = "100000000000000000001",
    at: float = 1_800_000_000,
    user_identity: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One record of a Lambda event from a NEW_AND_OLD_IMAGES stream."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": at,
        "Keys": keys,
        "SequenceNumber": sequence_number,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        dynamodb["OldImage"] = old
    if new is not None:
        dynamodb["NewImage"] = new
    record: dict[str, Any] = {
        "eventID": f"event-{sequence_number}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn(table),
    }
    if user_identity is not None:
        record["userIdentity"] = user_identity
    return record


def records_from_moto(dynamodb_client: Any, streams_client: Any, table: str) -> list[dict[str, Any]]:
    """Every record of ``table``'s stream so far, in order, shaped as Lambda delivers them."""
    arn = dynamodb_client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shards = streams_client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    found: list[dict[str, Any]] = []
    for shard in shards:
        iterator = streams_client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for _ in range(100):  # bounded: moto returns everything in the first pages
            page = streams_client.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                shaped = dict(record)
                stream = dict(shaped["dynamodb"])
                created = stream.get("ApproximateCreationDateTime")
                if isinstance(created, datetime):  # botocore parses it into a datetime
                    stream["ApproximateCreationDateTime"] = created.timestamp()
                shaped["dynamodb"] = stream
                shaped["eventSourceARN"] = arn
                found.append(shaped)
            if not page["Records"] or "NextShardIterator" not in page:
                break
            iterator = page["NextShardIterator"]
    return found
