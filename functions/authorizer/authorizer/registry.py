"""Reading the API registry (a DynamoDB table of API profiles) from the authorizer.

boto3 is imported on the first read, not at import: an authorizer whose APIs all use profiles from its
environment never pays for it, and the others pay once per execution environment (the profile cache,
:class:`partnerauth.api_profiles.ApiProfileCache`, then reads each profile at most once per max age).
Short timeouts and one retry: a slow registry must not hold API requests (a failed read keeps serving
the last good copy of the profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DynamoDbProfileReader:
    """``reader(name)``: the registry item of profile ``name`` (low-level DynamoDB JSON) or ``None``."""

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name
        self._client: Any = None

    def __call__(self, name: str) -> Mapping[str, Any] | None:
        if self._client is None:
            import boto3  # noqa: PLC0415 - deferred on purpose (module docstring)
            from botocore.config import Config  # noqa: PLC0415

            config = Config(
                connect_timeout=1, read_timeout=1, retries={"max_attempts": 2, "mode": "standard"}
            )
            self._client = boto3.client("dynamodb", config=config)
        response = self._client.get_item(TableName=self._table_name, Key={"name": {"S": name}})
        item: Mapping[str, Any] | None = response.get("Item")
        return item
