"""The token function's log lines carry what Powertools' ``inject_lambda_context`` wrote, without it: the
Lambda context keys, ``cold_start`` on the first invocation only, the REST request id as ``correlation_id``;
and the Tracer wraps the handler only when tracing is on."""

from __future__ import annotations

import json
from types import ModuleType, SimpleNamespace
from typing import Any

from partnerauth.client_registry import IssuedSecret
from tests.support.log_capture import LogCapture

from .conftest import FORM, Endpoint, basic, form

CONTEXT_KEYS = ("function_name", "function_memory_size", "function_arn", "function_request_id")


def _line(capture: LogCapture, message: str) -> dict[str, Any]:
    """The one line with ``message`` (the capture sits on the service logger and the root: a record may
    arrive twice, formatted the same)."""
    records = [json.loads(line) for line in capture.lines if line.startswith("{")]
    found = [record for record in records if record.get("message") == message]
    assert found, message
    assert all(record == found[0] for record in found)
    return found[0]


def test_every_line_names_its_invocation_and_cold_start_is_true_only_first(
    token_endpoint: Endpoint, partner: IssuedSecret, captured_logs: LogCapture, lambda_context: Any
) -> None:
    # Given a fresh environment whose first request is refused and whose second, another invocation, succeeds
    refused = token_endpoint.post(form(grant_type="client_credentials"), headers=FORM)
    token_endpoint.context = SimpleNamespace(
        **{**vars(lambda_context), "aws_request_id": "second-invocation"}
    )
    issued = token_endpoint.post(
        form(grant_type="client_credentials"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert (refused.status, issued.status) == (401, 200)
    first = _line(captured_logs, "token request refused")
    second = _line(captured_logs, "access token issued")
    # then each line has the Lambda context keys of its own invocation,
    assert [first[key] for key in CONTEXT_KEYS] == [
        "TokenFunction",
        256,
        lambda_context.invoked_function_arn,
        lambda_context.aws_request_id,
    ]
    assert second["function_request_id"] == "second-invocation"
    # cold_start only on the first, and API Gateway's request id as correlation_id (API_GATEWAY_REST path).
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert (first["correlation_id"], second["correlation_id"]) == ("request-1", "request-2")


class _FakeTracer:
    def __init__(self, *, disabled: bool) -> None:
        self.disabled = disabled
        self.captured: list[Any] = []

    def capture_lambda_handler(self, **options: bool) -> Any:
        def wrap(handler: Any) -> Any:
            self.captured.append((handler, options))
            return lambda event, context: ("traced", handler(event, context))

        return wrap


def test_with_tracing_on_the_handler_runs_in_its_subsegment_without_response_or_error(
    token_module: ModuleType,
) -> None:
    tracer = _FakeTracer(disabled=False)
    handler = token_module.traced(tracer, lambda event, context: {"statusCode": 200})
    # The response holds the token and an error may name a client: neither goes to X-Ray.
    assert tracer.captured == [(tracer.captured[0][0], {"capture_response": False, "capture_error": False})]
    assert handler({}, None) == ("traced", {"statusCode": 200})


def test_with_tracing_off_the_handler_is_not_wrapped(token_module: ModuleType) -> None:
    tracer = _FakeTracer(disabled=True)

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"statusCode": 200}

    assert token_module.traced(tracer, handler) is handler
    assert tracer.captured == []
