"""Running the template's functions inside this process, the way Lambda runs them.

Each function's handler module is imported from its ``CodeUri`` with its layers' folders on
``sys.path`` (``PartnerAuthLayer``'s ``ContentUri`` holds the ``partnerauth`` package at its root,
as ``/opt/python`` does in Lambda).  The handler packages have distinct names (``token_issuer``,
``jwks_publisher``, ...), so they share one ``sys.path``.

Environment variables -- the one thing functions do not share in Lambda.  Handlers read their
configuration once, at import (DESIGN.md), so each module is imported while ``os.environ`` holds
exactly the process's shared variables plus that function's own; nothing else is visible to it.
For reads at call time, the process environment also keeps every function variable whose value
is the same in all functions that declare it (the local stack resolves ``ISSUER``, table names,
lifetimes and the like to one value everywhere).  A variable whose value differs between
functions is left out of the process environment, so a call-time read of it fails loudly instead
of seeing another function's value.  No environment is swapped per call: calls run concurrently
(the authorizer's JWKS fetch is served by another function meanwhile) and a swap under a lock
would deadlock.

Loggers -- the other thing functions do not share in Lambda.  Powertools' ``Logger()`` is the stdlib
logger named after ``POWERTOOLS_SERVICE_NAME``, and a second ``Logger()`` of the same service reuses the
first one's handler and formatter, appended keys included.  All our functions share one service name,
so in one process the rotation function's ``append_keys(action=...)`` would show up in the
authorizer's log lines.  Each handler module is therefore imported while the logging registry holds
no logger of its service (:func:`own_loggers`): it builds fresh ones, keeps them through its module
globals, and the registry gets its previous loggers back afterwards.

Each function runs one invocation at a time, like one Lambda execution environment: handler
state (Powertools' metric buffer, caches) never sees two concurrent invocations, as in Lambda.
Events and results go through JSON, as Lambda's do.  ``Timeout`` is reported by the context's
``get_remaining_time_in_millis`` but not enforced.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Invoke = Callable[[str, dict[str, Any]], Any]
ErrorReporter = Callable[[str, BaseException], None]

_ENVIRONMENT_LOCK = threading.Lock()


class FunctionError(Exception):
    """The handler raised (or returned what cannot be serialised): Lambda's function error."""

    def __init__(self, function_id: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function_id}: {error_type}")
        self.function_id = function_id
        self.error_type = error_type
        self.error_message = error_message


class FunctionLoadError(Exception):
    """A handler module could not be imported (missing code, or it refused its configuration)."""


@dataclass(frozen=True, slots=True)
class FunctionDefinition:
    """One function, resolved: where its code is and what its environment holds."""

    logical_id: str
    function_name: str
    code_dir: Path
    handler: str  # "token_issuer.app.lambda_handler"
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    timeout: int = 3
    memory: int = 128

    @property
    def module_name(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def shared_environment(definitions: Sequence[FunctionDefinition]) -> tuple[dict[str, str], frozenset[str]]:
    """The function variables every declaring function agrees on, and the names they disagree on."""
    values: dict[str, str] = {}
    conflicts: set[str] = set()
    for definition in definitions:
        for name, value in definition.environment.items():
            if values.setdefault(name, value) != value:
                conflicts.add(name)
    return {k: v for k, v in values.items() if k not in conflicts}, frozenset(conflicts)


@contextlib.contextmanager
def exact_environment(values: Mapping[str, str], hide: frozenset[str]) -> Iterator[None]:
    """``os.environ`` without the ``hide`` names and with ``values``, restored afterwards."""
    with _ENVIRONMENT_LOCK:
        touched = hide | set(values)
        saved = {name: os.environ.get(name) for name in touched}
        try:
            for name in hide - set(values):
                os.environ.pop(name, None)
            os.environ.update(values)
            yield
        finally:
            # Only the touched names change, one by one: other threads never see an empty environment.
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


DEFAULT_SERVICE = "service_undefined"  # Powertools' service name when POWERTOOLS_SERVICE_NAME is unset


@contextlib.contextmanager
def own_loggers(service: str) -> Iterator[None]:
    """Inside: no stdlib logger named ``service`` or ``service.*`` is registered, so Powertools builds fresh
    ones; afterwards the registry holds the previous ones again (the new ones live on in their module)."""
    registry = logging.Logger.manager.loggerDict
    ours = [name for name in registry if name == service or name.startswith(f"{service}.")]
    saved = {name: registry.pop(name) for name in ours}
    try:
        yield
    finally:
        for name in [n for n in registry if n == service or n.startswith(f"{service}.")]:
            del registry[name]
        registry.update(saved)
        logging.Logger.manager._clear_cache()  # type: ignore[attr-defined]  # levels are cached per logger


def print_error(function_id: str, error: BaseException) -> None:
    """Like Lambda's error log: the function, the error type and message, the stack trace."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    print(f"[{function_id}] {type(error).__name__}\n{''.join(lines).rstrip()}", file=sys.stderr, flush=True)


@dataclass
class _Loaded:
    definition: FunctionDefinition
    handler: Callable[[Any, Any], Any]
    lock: threading.Lock


class LambdaRuntime:
    """Imports the handlers once and invokes them by logical id (this object is an :data:`Invoke`)."""

    def __init__(
        self,
        definitions: Sequence[FunctionDefinition],
        *,
        region: str,
        account_id: str,
        report_error: ErrorReporter = print_error,
    ) -> None:
        self._definitions = {d.logical_id: d for d in definitions}
        self._region = region
        self._account_id = account_id
        self._report_error = report_error
        self._loaded: dict[str, _Loaded] = {}
        self.shared, self.conflicts = shared_environment(definitions)
        self._all_names = frozenset(name for d in definitions for name in d.environment)

    @property
    def definitions(self) -> Mapping[str, FunctionDefinition]:
        return self._definitions

    def apply_shared_environment(self) -> None:
        """Put the agreed function variables into the process environment (for call-time reads)."""
        for name in self.conflicts:
            os.environ.pop(name, None)
        os.environ.update(self.shared)

    def load(self, function_ids: Sequence[str] | None = None) -> None:
        """Import the handlers (all by default), each under its own environment."""
        for function_id in function_ids or list(self._definitions):
            self._load(self._definitions[function_id])

    def _load(self, definition: FunctionDefinition) -> None:
        for folder in (definition.code_dir, *definition.layer_dirs):
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        hidden = self._all_names - set(definition.environment)
        # A handler module reads its settings at import, so it is imported afresh, as a new execution
        # environment would: a copy already imported in this process (by another stack, or a test)
        # under other settings is set aside meanwhile and put back, so its other users keep theirs.
        previous = sys.modules.pop(definition.module_name, None)
        try:
            service = definition.environment.get("POWERTOOLS_SERVICE_NAME", DEFAULT_SERVICE)
            with exact_environment(definition.environment, hidden), own_loggers(service):
                module = importlib.import_module(definition.module_name)
        except ModuleNotFoundError as error:
            raise FunctionLoadError(
                f"{definition.logical_id}: cannot import {definition.module_name} from "
                f"{definition.code_dir} ({error.name} not found)"
            ) from error
        except Exception as error:
            raise FunctionLoadError(
                f"{definition.logical_id}: importing {definition.module_name} failed: "
                f"{type(error).__name__}: {error}"
            ) from error
        finally:
            if previous is not None:
                sys.modules[definition.module_name] = previous
        handler = getattr(module, definition.attribute, None)
        if not callable(handler):
            raise FunctionLoadError(f"{definition.logical_id}: {definition.handler} is not a callable")
        self._loaded[definition.logical_id] = _Loaded(definition, handler, threading.Lock())

    def context_for(self, definition: FunctionDefinition) -> LambdaContext:
        name = definition.function_name
        return LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}",
            memory_limit_in_mb=definition.memory,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name=time.strftime("%Y/%m/%d/[$LATEST]local", time.gmtime()),
            deadline=time.time() + definition.timeout,
        )

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        loaded = self._loaded.get(function_id)
        if loaded is None:
            raise FunctionError(function_id, "ResourceNotFoundException", "function not loaded")
        payload = json.loads(json.dumps(event))
        with loaded.lock:
            try:
                result = loaded.handler(payload, self.context_for(loaded.definition))
            except Exception as error:  # Lambda turns any handler error into a function error
                self._report_error(function_id, error)
                raise FunctionError(function_id, type(error).__name__, str(error)) from error
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            self._report_error(function_id, error)
            raise FunctionError(function_id, "Runtime.MarshalError", "Unable to marshal response") from error

    __call__ = invoke
