"""Load against the local stack during a key rotation: requests, errors, p50/p99, every token verified.

Run with ``make bench`` (or ``python benchmarks/load_local_stack.py [threads] [iterations]``); never part of
``make test`` (tests/adversarial/test_load.py is the small, untimed version that is).

What it does, all on 127.0.0.1 and bounded by count:

1. starts ``python -m local`` (what ``make dev`` runs) in a child process on free ports, with its state
   files in a temporary directory, and reads its ``demo-client.json``;
2. runs ``threads`` partners x ``iterations`` (token request + protected call) against it, and in the
   middle sends ``rotate_now`` with ``python -m local.invoke KeyRotationFunction
   events/rotation-rotate-now.json`` - exactly what ``make invoke`` runs;
3. prints requests, statuses, unexpected errors (must be 0), the documented emergency-rotation 401s,
   p50/p99 latency per kind, and whether every issued token verifies against the published JWKS;
4. stops the child it started (SIGINT, as Ctrl-C would; then SIGTERM/SIGKILL if it does not stop);
5. exits 1 when anything was unexpected: an answer other than the one expected (a connection reset or a
   timeout is status 0, so it counts), a token that does not verify, or a rotation that did not succeed.

The client and the stack are separate processes, so latencies include neither one's GIL waiting for the
other; they do include the local stack's one-invocation-at-a-time per function (as one Lambda environment).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from offline_environment import FAKE_AWS, ROOT, use_project_paths

use_project_paths()

from tests.adversarial.load_run import (  # noqa: E402
    Target,
    kid_of,
    kids_made_current,
    published_jwks,
    run,
    verify_all,
)

DEFAULT_THREADS, DEFAULT_ITERATIONS = 16, 60
START_TIMEOUT = 90.0  # seconds for the stack to come up
STOP_TIMEOUT = 15.0


def child_environment(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    env.update(FAKE_AWS, PORT="0", AWS_PORT="0", ROTATION_INTERVAL="0", LOCAL_STATE_DIR=str(state_dir))
    return env


@contextmanager
def local_stack(state_dir: Path) -> Iterator[tuple[Target, dict[str, Any]]]:
    """``python -m local`` in a child process; its demo client and stack state once it is up."""
    log = (state_dir / "stack.log").open("w")
    child = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=child_environment(state_dir),
        stdout=subprocess.DEVNULL,  # one request-log line per request: thousands
        stderr=log,
    )
    try:
        demo, state = state_dir / "demo-client.json", state_dir / "stack.json"
        deadline = time.monotonic() + START_TIMEOUT
        while not (demo.exists() and state.exists()):
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the local stack did not start; see {state_dir / 'stack.log'}")
            time.sleep(0.1)  # a benchmark may wait; tests never do
        yield Target.from_document(json.loads(demo.read_text())), json.loads(state.read_text())
    finally:
        child.send_signal(signal.SIGINT)  # only the process started above, by its handle
        try:
            child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(STOP_TIMEOUT)
        log.close()


def make_invoke_rotate_now(state_dir: Path) -> dict[str, Any]:
    """``make invoke FUNCTION=KeyRotationFunction EVENT=events/rotation-rotate-now.json``, minus make."""
    done = subprocess.run(
        [sys.executable, "-m", "local.invoke", "KeyRotationFunction", "events/rotation-rotate-now.json"],
        cwd=ROOT,
        env=child_environment(state_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"make invoke failed ({done.returncode}): {done.stderr[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_THREADS
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_ITERATIONS
    with tempfile.TemporaryDirectory(prefix="partnerauth-load-") as folder:
        state_dir = Path(folder)
        with local_stack(state_dir) as (target, state):
            report = run(target, threads, iterations, lambda: make_invoke_rotate_now(state_dir))
            jwks = published_jwks(target)
            failures = verify_all(report.tokens, jwks, state["parameters"]["IssuerUrl"], target.audience)

    print(f"local stack load: {threads} partners x {iterations} iterations (token + protected call)")
    print(report.summary())
    rotation = report.rotation or {}
    promoted, fresh = sorted(kids_made_current(rotation, "next")), sorted(report.fresh_kids)
    print(f"  rotation (make invoke rotate_now): ok={rotation.get('ok')}")
    print(f"    published next key made current: {promoted}; never-published key made current: {fresh}")
    if report.emergency_window():
        print(
            "  (the 401s are tokens of a never-published key: an authorizer's JWKS copy predates it until"
            " its next refresh,\n   at most once per JWKS_COOLDOWN = 30 s; SECURITY.md)"
        )
    kids = sorted({kid for kid in map(kid_of, report.tokens) if kid})
    verified = len(report.tokens) - len(failures)
    print(
        f"  tokens issued {len(report.tokens)}, signed by {len(kids)} key(s); verified against the published"
    )
    print(f"  JWKS ({len(jwks.get('keys', []))} keys): {verified} ok, {len(failures)} failed")
    for failure in failures[:10]:
        print(f"    {failure}")
    unexpected = report.unexpected()
    for sample in unexpected[:10]:
        print(f"  unexpected: {sample.kind} {sample.status} {sample.error or ''} ({sample.phase})")
    verdicts = {
        "unexpected answers": len(unexpected),
        "tokens that do not verify": len(failures),
        "failed rotations": 0 if rotation.get("ok") else 1,
    }
    bad = {name: count for name, count in verdicts.items() if count}
    print(
        "load: " + ("FAILED " + ", ".join(f"{name} {count}" for name, count in bad.items()) if bad else "ok")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
