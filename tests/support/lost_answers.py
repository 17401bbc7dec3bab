"""A DynamoDB write whose answer is lost after it committed (issue 19 item 2: idempotent admin writes).

:class:`CommitThenFail` wraps a real (moto) boto3 client: the next call of one operation commits for real and
then fails once, either with a 500 that reaches the caller (``LOST_ANSWER``) or by being sent again as
botocore's retry handler would (``BOTOCORE_RETRY``: the retry's version condition then fails).  No sleeps:
botocore's own backoff is not involved.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

LOST_ANSWER = "lost answer"  # the 5xx reaches the registry
BOTOCORE_RETRY = "botocore retry"  # the same call is sent again; its condition fails


def server_error(operation: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "InternalServerError", "Message": "injected after the commit"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        },
        operation,
    )


class CommitThenFail:
    """A DynamoDB client whose next ``operation`` call commits (for real) and then fails once, either by
    raising a 500 (``LOST_ANSWER``) or by being sent again as botocore's retry would (``BOTOCORE_RETRY``).
    ``reads_fail`` makes every ``get_item`` after the fault fail too (the outcome cannot be learned)."""

    def __init__(self, client: Any, operation: str, mode: str, *, reads_fail: bool = False) -> None:
        self._client = client
        self._operation = operation
        self._mode = mode
        self._reads_fail = reads_fail
        self.armed = True
        self.fired = False

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == "get_item" and self._reads_fail and self.fired:

            def failing_read(**_: Any) -> Any:
                raise server_error("GetItem")

            return failing_read
        if name != self._operation or not self.armed:
            return attribute

        def commit_then_fail(**kwargs: Any) -> Any:
            self.armed, self.fired = False, True
            attribute(**kwargs)  # DynamoDB commits the write ...
            if self._mode == BOTOCORE_RETRY:
                return attribute(**kwargs)  # ... its answer is lost; botocore sends the same call again
            raise server_error(name)  # ... and the answer that reaches us is a 500

        return commit_then_fail
