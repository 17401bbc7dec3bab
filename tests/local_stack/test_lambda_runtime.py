"""Functions run in-process: each imported under its own environment, invoked through JSON like Lambda."""

from __future__ import annotations

import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.lambda_runtime import (
    FunctionDefinition,
    FunctionError,
    FunctionLoadError,
    LambdaRuntime,
    shared_environment,
)

HANDLER = """
import os

IMPORT_TIME = {name: os.environ.get(name) for name in ("TABLE", "ONLY_A", "ONLY_B", "SHARED")}


def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("unserialisable"):
        return {"value": object()}
    return {
        "import_time": IMPORT_TIME,
        "event": event,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "call_time_shared": os.environ.get("SHARED"),
    }
"""


@pytest.fixture(autouse=True)
def restored_interpreter_state() -> Iterator[None]:
    path, modules, environ = list(sys.path), set(sys.modules), dict(os.environ)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    os.environ.clear()
    os.environ.update(environ)


def function(
    tmp_path: Path, logical_id: str, environment: dict[str, str], source: str = HANDLER
) -> FunctionDefinition:
    package = f"probe_{logical_id.lower()}_{uuid.uuid4().hex[:8]}"  # unique: sys.modules is per process
    code_dir = tmp_path / logical_id
    (code_dir / package).mkdir(parents=True)
    (code_dir / package / "__init__.py").write_text("")
    (code_dir / package / "app.py").write_text(textwrap.dedent(source))
    return FunctionDefinition(
        logical_id=logical_id,
        function_name=f"local-{logical_id}",
        code_dir=code_dir,
        handler=f"{package}.app.handler",
        layer_dirs=(),
        environment=environment,
        timeout=10,
    )


def runtime_of(*definitions: FunctionDefinition, reported: list[str] | None = None) -> LambdaRuntime:
    def report(function_id: str, error: BaseException) -> None:
        if reported is not None:
            reported.append(f"{function_id}: {type(error).__name__}")

    runtime = LambdaRuntime(definitions, region="us-east-1", account_id="123456789012", report_error=report)
    runtime.apply_shared_environment()
    runtime.load()
    return runtime


def test_each_function_imports_with_its_own_value_of_a_variable_they_disagree_on(tmp_path: Path) -> None:
    a = function(tmp_path, "A", {"TABLE": "table-a", "SHARED": "same"})
    b = function(tmp_path, "B", {"TABLE": "table-b", "SHARED": "same"})
    runtime = runtime_of(a, b)
    assert runtime.invoke("A", {})["import_time"]["TABLE"] == "table-a"
    assert runtime.invoke("B", {})["import_time"]["TABLE"] == "table-b"


def test_a_function_does_not_see_another_functions_variables_at_import(tmp_path: Path) -> None:
    a = function(tmp_path, "A", {"ONLY_A": "a"})
    b = function(tmp_path, "B", {"ONLY_B": "b"})
    runtime = runtime_of(a, b)
    assert runtime.invoke("A", {})["import_time"] == {
        "TABLE": None,
        "ONLY_A": "a",
        "ONLY_B": None,
        "SHARED": None,
    }
    assert runtime.invoke("B", {})["import_time"]["ONLY_A"] is None


def test_agreed_variables_are_in_the_process_environment_for_call_time_reads(tmp_path: Path) -> None:
    runtime = runtime_of(
        function(tmp_path, "A", {"SHARED": "same"}), function(tmp_path, "B", {"SHARED": "same"})
    )
    assert runtime.invoke("A", {})["call_time_shared"] == "same"


def test_disagreeing_variables_are_kept_out_of_the_process_environment() -> None:
    definitions = [
        FunctionDefinition("A", "a", Path(), "a.app.h", (), {"TABLE": "x", "SHARED": "s"}),
        FunctionDefinition("B", "b", Path(), "b.app.h", (), {"TABLE": "y", "SHARED": "s"}),
    ]
    shared, conflicts = shared_environment(definitions)
    assert shared == {"SHARED": "s"}
    assert conflicts == {"TABLE"}
    os.environ["TABLE"] = "left over"
    LambdaRuntime(definitions, region="us-east-1", account_id="1").apply_shared_environment()
    assert "TABLE" not in os.environ
    assert os.environ["SHARED"] == "s"


def test_the_import_leaves_the_process_environment_as_it_was(tmp_path: Path) -> None:
    os.environ["ONLY_B"] = "process value"
    runtime_of(function(tmp_path, "A", {"ONLY_A": "a"}))
    assert "ONLY_A" in os.environ  # agreed (only A declares it): shared for call-time reads
    assert os.environ["ONLY_B"] == "process value"


def test_the_event_and_the_context_reach_the_handler(tmp_path: Path) -> None:
    runtime = runtime_of(function(tmp_path, "A", {}))
    result = runtime.invoke("A", {"action": "reconcile"})
    assert result["event"] == {"action": "reconcile"}
    assert result["function_name"] == "local-A"
    assert result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:local-A"
    assert 0 < result["remaining"] <= 10_000


def test_a_handler_error_is_a_function_error_and_is_reported(tmp_path: Path) -> None:
    reported: list[str] = []
    runtime = runtime_of(function(tmp_path, "A", {}), reported=reported)
    with pytest.raises(FunctionError) as raised:
        runtime.invoke("A", {"fail": True})
    assert (raised.value.error_type, raised.value.error_message) == ("ValueError", "asked to fail")
    assert reported == ["A: ValueError"]


def test_a_result_lambda_could_not_serialise_is_a_marshal_error(tmp_path: Path) -> None:
    runtime = runtime_of(function(tmp_path, "A", {}))
    with pytest.raises(FunctionError) as raised:
        runtime.invoke("A", {"unserialisable": True})
    assert raised.value.error_type == "Runtime.MarshalError"


def test_an_event_lambda_could_not_deliver_is_refused(tmp_path: Path) -> None:
    runtime = runtime_of(function(tmp_path, "A", {}))
    with pytest.raises(TypeError):
        runtime.invoke("A", {"value": object()})


def test_a_missing_handler_module_fails_the_load_naming_the_function(tmp_path: Path) -> None:
    definition = FunctionDefinition("Missing", "m", tmp_path, "no_such_package.app.handler", (), {})
    with pytest.raises(FunctionLoadError, match=r"Missing: cannot import no_such_package\.app"):
        runtime_of(definition)


def test_a_module_refusing_its_configuration_fails_the_load(tmp_path: Path) -> None:
    source = "import os\nif not os.environ.get('REQUIRED'):\n    raise RuntimeError('REQUIRED is not set')\n"
    with pytest.raises(FunctionLoadError, match="REQUIRED is not set"):
        runtime_of(function(tmp_path, "A", {}, source=source))


def test_an_unloaded_function_is_a_function_error() -> None:
    runtime = LambdaRuntime([], region="us-east-1", account_id="1")
    with pytest.raises(FunctionError):
        runtime.invoke("Nope", {})


def test_a_handler_module_already_imported_elsewhere_is_imported_afresh_and_put_back(tmp_path: Path) -> None:
    # Given the handler module already imported in this process under other settings (by a test, say)
    a = function(tmp_path, "A", {"TABLE": "table-a"})
    sys.path.insert(0, str(a.code_dir))
    os.environ["TABLE"] = "someone-elses-table"
    module_name = a.handler.rsplit(".", 1)[0]
    __import__(module_name)
    stale = sys.modules[module_name]
    del os.environ["TABLE"]
    # When a runtime loads the function
    runtime = runtime_of(a)
    # Then its handler read its own settings, as a new execution environment would...
    assert runtime.invoke("A", {})["import_time"]["TABLE"] == "table-a"
    # ...and the other user's module is back where it was
    assert sys.modules[module_name] is stale


LOGGING_HANDLER = """
import io

from aws_lambda_powertools import Logger

STREAM = io.StringIO()
logger = Logger(stream=STREAM)


def handler(event, context):
    if event.get("action"):
        logger.append_keys(action=event["action"])
    logger.info("called")
    return STREAM.getvalue()
"""


def test_each_function_keeps_its_own_powertools_logger_keys(tmp_path: Path) -> None:
    # Given two functions of one service (as the template's Globals make every function)
    environment = {"POWERTOOLS_SERVICE_NAME": "probe-service", "POWERTOOLS_LOG_LEVEL": "INFO"}
    runtime = runtime_of(
        function(tmp_path, "RotationFunction", environment, LOGGING_HANDLER),
        function(tmp_path, "AuthorizerFunction", environment, LOGGING_HANDLER),
    )
    # When one of them appends a key to its logger
    runtime.invoke("RotationFunction", {"action": "reconcile"})
    authorizer_log = runtime.invoke("AuthorizerFunction", {})
    # Then the other one's log lines do not carry it, and each function writes to its own stream
    assert '"called"' in authorizer_log
    assert "action" not in authorizer_log
    assert '"action":"reconcile"' in runtime.invoke("RotationFunction", {}).replace(" ", "")


def test_the_logging_registry_gets_its_loggers_back_after_an_import(tmp_path: Path) -> None:
    import logging

    before = logging.getLogger("probe-service-2")
    runtime_of(function(tmp_path, "F", {"POWERTOOLS_SERVICE_NAME": "probe-service-2"}, LOGGING_HANDLER))
    assert logging.getLogger("probe-service-2") is before
