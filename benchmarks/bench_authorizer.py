"""The authorizer: warm decisions per second, and cold start, each against bare PyJWT.

Run with ``make bench`` (or ``python benchmarks/bench_authorizer.py``).

(a) **Warm** (target >= 0.8x): decisions per second through ``authorizer.app.lambda_handler`` (event
    parsing, the bearer header, the full verifier with its JWKS cache lookup, the route policy, the
    Powertools response, log and metric output) vs ``jwt.decode`` of the same RS256 token with the
    public key in hand.  Same process, same token, interleaved rounds; the ratio is what counts.
(b) **Cold start** (target <= 1.5x): wall time of a new Python process that imports the handler and
    makes its first decision (our JWKS served from 127.0.0.1, fetched at import) vs a new process
    that only runs ``import jwt``.  Median of N runs each, interleaved.  Measured twice: with
    compiled bytecode available (``__pycache__``), and with none (every module compiled from source,
    as happens when a layer is shipped without ``__pycache__``), each against the same condition
    for ``import jwt``.

The Powertools Tracer is measured separately: it is not on the authorizer's import path because it
imports the X-Ray SDK and botocore (docs/authorizer.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PATHS = [ROOT / "layers" / "partnerauth", ROOT / "functions" / "authorizer", ROOT]
for folder in reversed(PATHS):
    sys.path.insert(0, str(folder))

import jwt  # noqa: E402

from partnerauth.access_token import AccessTokenRequest, sign_access_token  # noqa: E402
from partnerauth.algorithms import KeySpec  # noqa: E402
from partnerauth.jwk import build_jwks  # noqa: E402
from partnerauth.keys import generate_signing_key  # noqa: E402

ISSUER, AUDIENCE = "https://auth.bench.test", "partner-api"
ROUTES = {
    "GET /orders": ["orders:read"],
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "GET /inventory": ["inventory:read"],
}
NUMBER, REPEAT = 2000, 7  # warm: bounded, 2 x 7 x 2000 calls
COLD_RUNS = 11  # cold: 11 processes per side and condition
WARM_TARGET, COLD_TARGET = 0.8, 1.5
# Cold starts may be measured with another interpreter that has the layer's packages (e.g. a python3.13
# venv, Lambda's runtime): BENCH_COLD_PYTHON=/path/to/python.
COLD_PYTHON = os.environ.get("BENCH_COLD_PYTHON") or sys.executable


class JwksServer:
    """Our JWK Set on 127.0.0.1 (the cold-start processes fetch it at import)."""

    def __init__(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def jwks_uri(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/.well-known/jwks.json"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def environment(jwks_uri: str) -> dict[str, str]:
    return {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "JWKS_URI": jwks_uri,
        "ALLOWED_ALGORITHMS": "RS256,ES256,EdDSA",
        "ROUTE_SCOPES": json.dumps(ROUTES),
        "POWERTOOLS_SERVICE_NAME": "partnerauth",
        "POWERTOOLS_METRICS_NAMESPACE": "PartnerAuth",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def token_event(token: str) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev/GET/orders/42",
    }


CONTEXT: Any = SimpleNamespace(
    function_name="AuthorizerFunction",
    function_version="$LATEST",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction",
    aws_request_id="bench-request",
)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Output (log lines, metrics) goes to /dev/null: off the terminal, not out of the timing."""
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
        yield


def best_rate(func: Callable[[], object]) -> float:
    rounds = timeit.repeat(func, number=NUMBER, repeat=REPEAT)
    return NUMBER / min(rounds)


def warm(token: str, public_key: Any, jwks_uri: str) -> float:
    os.environ.update(environment(jwks_uri))
    from authorizer import app

    event = token_event(token)
    with quiet():
        first = app.lambda_handler(event, CONTEXT)
    assert first["policyDocument"]["Statement"][0]["Effect"] == "Allow", "the bench token must be allowed"

    def ours() -> object:
        return app.lambda_handler(event, CONTEXT)

    def bare() -> object:
        return jwt.decode(token, public_key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)

    with quiet():
        rates: dict[str, list[float]] = {"handler": [], "jwt.decode": []}
        for _ in range(3):  # interleaved: drift in the machine's speed hits both sides
            rates["handler"].append(best_rate(ours))
            rates["jwt.decode"].append(best_rate(bare))
    handler, decode = max(rates["handler"]), max(rates["jwt.decode"])
    ratio = handler / decode
    verdict = "meets" if ratio >= WARM_TARGET else "MISSES"
    print(
        f"warm  handler {handler:9.0f}/s   jwt.decode {decode:9.0f}/s   ratio {ratio:.2f}x  "
        f"(target >= {WARM_TARGET}x: {verdict})"
    )
    return ratio


COLD_HANDLER = """
import json, os
from types import SimpleNamespace
import authorizer.app as app
context = SimpleNamespace(
    function_name="AuthorizerFunction", function_version="$LATEST", memory_limit_in_mb=512,
    aws_request_id="cold",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction",
)
answer = app.lambda_handler(json.loads(os.environ["BENCH_EVENT"]), context)
assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
"""


def run(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one new interpreter running ``code``.

    CPU time is what a cold start spends on this machine's cores whatever else runs on them; wall
    time also counts waiting (the JWKS fetch, and other processes when the machine is busy)."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [COLD_PYTHON, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read() if process.stderr else b""
    if process.stderr:
        process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"cold-start process failed: {stderr.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def cold(token: str, jwks_uri: str, *, bytecode: bool) -> tuple[float, float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    base["PYTHONPATH"] = os.pathsep.join(str(p) for p in PATHS)
    handler_env = {**base, **environment(jwks_uri), "BENCH_EVENT": json.dumps(token_event(token))}
    with tempfile.TemporaryDirectory() as empty:
        if not bytecode:
            for env in (base, handler_env):  # compile every module from source, write nothing back
                env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=empty)
        else:  # one untimed run of each writes the bytecode
            run("import jwt", base)
            run(COLD_HANDLER, handler_env)
        ours, baseline = [], []
        for _ in range(COLD_RUNS):  # interleaved: load on the machine hits both sides
            baseline.append(run("import jwt", base))
            ours.append(run(COLD_HANDLER, handler_env))
    label = "with bytecode   " if bytecode else "without bytecode"
    ratios = []
    for index, kind in enumerate(("wall", "cpu ")):
        handler = statistics.median(sample[index] for sample in ours)
        jwt_only = statistics.median(sample[index] for sample in baseline)
        ratios.append(handler / jwt_only)
        verdict = "meets" if handler / jwt_only <= COLD_TARGET else "MISSES"
        print(
            f"cold  {label} {kind}  import+first decision {handler * 1000:6.1f} ms   import jwt "
            f"{jwt_only * 1000:6.1f} ms   ratio {handler / jwt_only:.2f}x  "
            f"(target <= {COLD_TARGET}x: {verdict})"
        )
    return ratios[0], ratios[1]


def tracer_cost() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    code = "from aws_lambda_powertools import Tracer; Tracer(service='bench')"
    plain = statistics.median(run("import aws_lambda_powertools", base)[1] for _ in range(5))
    traced = statistics.median(run(code, base)[1] for _ in range(5))
    print(
        f"info  a Powertools Tracer adds {1000 * (traced - plain):.0f} ms of CPU to a cold start (X-Ray SDK, "
        "botocore): not used by the authorizer"
    )


def main() -> None:
    key = generate_signing_key(KeySpec.RS256)
    request = AccessTokenRequest(ISSUER, "partner-1", AUDIENCE, ("orders:read",), 3600)
    token = sign_access_token(key, request, time.time()).token  # lives for this run only, never stored
    server = JwksServer(build_jwks([key.public_jwk()]))
    try:
        warm(token, key.private_key.public_key(), server.jwks_uri)
        cold(token, server.jwks_uri, bytecode=True)
        cold(token, server.jwks_uri, bytecode=False)
        tracer_cost()
    finally:
        server.close()


if __name__ == "__main__":
    with (
        contextlib.redirect_stderr(io.StringIO())
        if os.environ.get("BENCH_QUIET")
        else contextlib.nullcontext()
    ):
        main()
