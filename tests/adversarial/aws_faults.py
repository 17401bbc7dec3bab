"""Make chosen AWS calls of a real (moto-backed) boto3 client fail the way AWS fails them.

:class:`AwsFaults` hooks the client's ``before-call`` event - the hook botocore's own ``Stubber``
answers from - and, for a matching call, answers with an error response (``status`` and ``Code``) that
botocore turns into its modelled exception (``client.exceptions.ProvisionedThroughputExceededException``
and so on), exactly as for a real AWS answer; or raises a transport error (``EndpointConnectionError``,
``ReadTimeoutError``) as the network would.  Every other call still reaches moto, so the rest of the
request runs for real.  A call matches by operation name, optionally the ``TableName`` parameter, and
optionally a predicate on the call's parameters (``where``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse

_PARAMS = "adversarial_api_params"
Params = dict[str, Any]


@dataclass(frozen=True)
class Fault:
    operation: str  # botocore's operation name: "GetItem", "Decrypt", ...
    table: str | None  # DynamoDB table name, or None for any
    code: str | None  # AWS error code; None when `raises` is set
    status: int = 400
    raises: Exception | None = None  # a transport error to raise instead of an AWS answer
    where: Callable[[Params], bool] | None = None

    def matches(self, operation: str, params: Params) -> bool:
        return (
            self.operation == operation
            and self.table in (None, params.get("TableName"))
            and (self.where is None or self.where(params))
        )


class AwsFaults:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._faults: list[Fault] = []
        self.injected = 0
        client.meta.events.register("before-parameter-build", self._remember_params)
        client.meta.events.register("before-call", self._answer)

    def fail(
        self,
        operation: str,
        code: str | None = None,
        *,
        table: str | None = None,
        status: int = 400,
        raises: Exception | None = None,
        where: Callable[[Params], bool] | None = None,
    ) -> None:
        self._faults.append(Fault(operation, table, code, status, raises, where))

    def clear(self) -> None:
        self._faults.clear()

    def close(self) -> None:
        self._client.meta.events.unregister("before-parameter-build", self._remember_params)
        self._client.meta.events.unregister("before-call", self._answer)

    @staticmethod
    def _remember_params(params: Params, context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, Params] | None:
        for fault in self._faults:
            if fault.matches(model.name, context.get(_PARAMS, {})):
                self.injected += 1
                if fault.raises is not None:
                    raise fault.raises
                parsed = {
                    "Error": {"Code": fault.code, "Message": "injected fault: do not echo"},
                    "ResponseMetadata": {"HTTPStatusCode": fault.status, "RequestId": "injected"},
                }
                return AWSResponse(None, fault.status, {}, None), parsed
        return None
