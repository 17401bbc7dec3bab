"""``python -m local.invoke FUNCTION EVENT`` (``make invoke``): one function, once, against the running stack.

A Docker-free ``sam local invoke``: the function (a logical id of template.yaml) is imported in this
process with the environment the running ``make dev`` stack gives it -- same template, parameter
values and physical ids, read from ``.local/stack.json`` -- and called once with the event file.
Its result is printed as JSON on stdout; a function error is printed as Lambda reports it
(``errorType``, ``errorMessage``) and the exit status is 1.  Exit status 2: a usage error, or no
stack running.

The sample events' placeholders (a token, the example client, a kid; :mod:`local.event_placeholders`,
``events/README.md``) are filled from the running stack first, and what was filled is said on stderr
(never a token or a secret).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .assembly import function_definitions
from .config import ACCOUNT_ID, REGION, ConfigError, LocalConfig
from .event_placeholders import LiveValues, fill_placeholders, holds_placeholders
from .lambda_runtime import FunctionError, FunctionLoadError, LambdaRuntime, print_error
from .live_values import LiveValueError, live_values
from .offline_aws import use_local_endpoint
from .stack_state import DEMO_CLIENT_FILE, STACK_FILE, StackState, read_demo_client
from .template_model import TemplateError, TemplateModel

USAGE = (
    "usage: python -m local.invoke FUNCTION EVENT  (e.g. KeyRotationFunction events/rotation-rotate-now.json)"
)
PROBE_TIMEOUT = 2.0


class InvokeError(Exception):
    """Why the invocation could not be attempted (printed as is; exit status 2)."""


def _running_state(state_dir: Path) -> StackState:
    try:
        state = StackState.read(state_dir)
    except FileNotFoundError:
        raise InvokeError(
            f"no local stack is running ({state_dir / STACK_FILE} is missing): start one with `make dev`"
        ) from None
    except (ValueError, KeyError) as error:
        raise InvokeError(f"{state_dir / STACK_FILE} is unreadable ({error}); restart `make dev`") from None
    try:  # any HTTP answer means the endpoint is up; only a refused or silent socket means it is not
        with urllib.request.urlopen(state.aws_endpoint_url, timeout=PROBE_TIMEOUT):  # noqa: S310 - loopback URL we wrote
            pass
    except urllib.error.HTTPError:
        pass
    except OSError:
        raise InvokeError(
            f"the local stack in {state_dir / STACK_FILE} is not answering: is `make dev` still running?"
        ) from None
    return state


def _event(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InvokeError(f"cannot read the event file {path}: {error.strerror}") from None
    except ValueError:
        raise InvokeError(f"the event file {path} is not JSON") from None


def _live_values(state_dir: Path, state: StackState) -> LiveValues:
    try:
        demo = read_demo_client(state_dir)
    except (OSError, ValueError):
        raise InvokeError(
            f"{state_dir / DEMO_CLIENT_FILE} is missing or unreadable: the event's placeholders need the "
            "demo client of a running `make dev`; restart it"
        ) from None
    return live_values(demo, state.refs.get("SigningKeysTable", ""), state.aws_endpoint_url)


def invoke(function_id: str, event_path: str, config: LocalConfig, *, report: TextIO = sys.stderr) -> Any:
    """The function's result: :class:`FunctionError` if it failed, :class:`InvokeError` if it cannot run."""
    event = _event(event_path)
    state = _running_state(config.state_dir)
    model = TemplateModel.load(state.template)
    if function_id not in model.functions:
        raise InvokeError(
            f"{function_id} is not a function of template.yaml; one of: {', '.join(model.functions)}"
        )
    use_local_endpoint(state.aws_endpoint_url)
    definitions = [
        d
        for d in function_definitions(model, state.refs, state.parameters, state.function_log_level)
        if d.logical_id == function_id
    ]
    runtime = LambdaRuntime(definitions, region=REGION, account_id=ACCOUNT_ID, report_error=print_error)
    runtime.apply_shared_environment()
    runtime.load()
    if holds_placeholders(event):
        try:
            event, filled = fill_placeholders(event, _live_values(config.state_dir, state))
        except LiveValueError as error:
            raise InvokeError(str(error)) from None
        print(f"invoke: placeholders filled from the running stack: {'; '.join(filled)}", file=report)
    return runtime.invoke(function_id, event)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        result = invoke(args[0], args[1], LocalConfig.from_environ())
    except (InvokeError, ConfigError, TemplateError) as error:
        print(f"invoke: {error}", file=sys.stderr)
        return 2
    except FunctionLoadError as error:
        print(f"invoke: {error}", file=sys.stderr)
        return 1
    except FunctionError as error:
        print(json.dumps({"errorType": error.error_type, "errorMessage": error.error_message}, indent=2))
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
