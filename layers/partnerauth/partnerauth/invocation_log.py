"""The Lambda context keys of a handler's log lines, as Powertools' ``inject_lambda_context`` writes them.

The decorator costs more than the keys: it queries the correlation id with JMESPath and wraps every
invocation (benchmarks/bench_authorizer.py, bench_token_endpoint.py).  Handlers build the same keys here,
with Powertools' own ``build_lambda_context_model``, and put them on their lines themselves: the authorizer
on each line it writes (most decisions write none), the token function on its logger once per invocation
(each invocation writes at least one line).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.utilities.typing import LambdaContext


class ColdStart:
    """Whether this execution environment has begun an invocation before: the ``cold_start`` log key, true
    on the first invocation only (decided when the invocation begins, as ``inject_lambda_context`` does)."""

    __slots__ = ("_begun",)

    def __init__(self) -> None:
        self._begun = False

    def begin(self) -> bool:
        """``True`` for the environment's first invocation, ``False`` for every later one."""
        first = not self._begun
        self._begun = True
        return first


def context_fields(context: LambdaContext, *, cold_start: bool) -> dict[str, Any]:
    """``cold_start`` and the Lambda context keys (``function_name``, ``function_memory_size``,
    ``function_arn``, ``function_request_id``): the names and values ``inject_lambda_context`` writes."""
    return {"cold_start": cold_start, **build_lambda_context_model(context).__dict__}


def rest_request_id(event: Any) -> Any:
    """The correlation id of a REST proxy event, ``requestContext.requestId``: what
    ``correlation_paths.API_GATEWAY_REST`` selects, read without JMESPath (``None`` when absent)."""
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    return request_context.get("requestId") if isinstance(request_context, dict) else None
