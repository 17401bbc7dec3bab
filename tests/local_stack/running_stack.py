"""A local stack (`python -m local`, what `make dev` runs) in its own process, for tests that use it as
partners, operators and developers do: started on free loopback ports, stopped by its PID only.

Every wait is a poll with a deadline; nothing here touches the test process's environment or modules.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE = 90.0  # seconds for the stack to come up (moto, the functions, first key)
BANNER_END = "One line per request follows."  # the banner's last line (local/banner.py)
STOP_DEADLINE = 30.0


def wait_until(condition: Callable[[], Any], deadline_seconds: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``deadline_seconds``."""
    deadline = time.monotonic() + deadline_seconds
    pause = threading.Event()
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {deadline_seconds:.0f}s")
        pause.wait(0.1)


@dataclass
class StackProcess:
    process: subprocess.Popen[bytes]
    state_dir: Path
    log: Path
    demo: dict[str, Any]

    @property
    def stack(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "stack.json").read_text())

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE)
            raise


def stack_environment(state_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        PORT=str(port),
        AWS_PORT="0",
        ROTATION_INTERVAL="0",  # rotations happen when the test says so
        LOCAL_STATE_DIR=str(state_dir),
        FUNCTION_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_stack(state_dir: Path, port: int = 0, environment: Mapping[str, str] | None = None) -> StackProcess:
    """``environment``: settings beyond the defaults, e.g. ``PARAMETER_OVERRIDES``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / f"stack-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=REPO,
            env=stack_environment(state_dir, port) | dict(environment or {}),
            stdout=sink,
            stderr=sink,
        )
    demo_file = state_dir / "demo-client.json"
    try:
        # Ready once the banner is out: the stack writes demo-client.json before it prints the banner, and
        # tests read the banner's exports and URLs (CI read an empty one once, under load).
        wait_until(
            lambda: (
                (demo_file.exists() and BANNER_END in log.read_text(errors="replace"))
                or process.poll() is not None
            ),
            START_DEADLINE,
            "the local stack",
        )
    except BaseException:
        process.kill()
        process.wait(timeout=STOP_DEADLINE)
        raise
    if process.poll() is not None:
        pytest.fail(f"the local stack exited with {process.returncode}:\n{log.read_text(errors='replace')}")
    return StackProcess(process, state_dir, log, json.loads(demo_file.read_text()))


def admin_json(env: Mapping[str, str], *argv: str) -> Any:
    """``python -m tools.partnerauth_admin --json ARGV`` run as an operator would, with ``env`` as its whole
    environment; its JSON answer (a non-zero exit fails the test with the CLI's message)."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tools.partnerauth_admin", "--json", *argv],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    return json.loads(completed.stdout)


def invoke(stack: StackProcess, function: str, event: dict[str, Any]) -> tuple[int, str]:
    event_file = stack.state_dir / f"event-{time.monotonic_ns()}.json"
    event_file.write_text(json.dumps(event))
    env = stack_environment(stack.state_dir, 0)
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local.invoke", function, str(event_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return completed.returncode, completed.stdout.decode()


def invoke_file(stack: StackProcess, function: str, event_file: Path) -> tuple[int, str, str]:
    """`python -m local.invoke FUNCTION EVENT` (what `make invoke` runs): status, stdout, stderr."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local.invoke", function, str(event_file)],
        cwd=REPO,
        env=stack_environment(stack.state_dir, 0),
        capture_output=True,
        timeout=120,
        check=False,
    )
    return completed.returncode, completed.stdout.decode(), completed.stderr.decode()


def invocation_result(output: str) -> Any:
    """The printed result: the last top-level JSON document (the function's own log lines come first,
    one JSON object per line, as Lambda writes them)."""
    lines = output.splitlines()
    start = max(index for index, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))
