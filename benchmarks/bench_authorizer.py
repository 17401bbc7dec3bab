"""The authorizer, warm and cold, against the limit (raw ``cryptography``) and the blueprint authorizer.

Run with ``make bench`` (or ``python benchmarks/bench_authorizer.py``).

(a) **Warm**, CPU per decision in interleaved rounds (``cpu_rounds``), end to end: ``lambda_handler`` on a
    REST TOKEN, a REST REQUEST and an HTTP API v2 event (``events/``, with a fresh RS256 token), plus the
    JSON of its answer as the Lambda runtime writes it (``runtime_json``: awslambdaric's encoder on the
    template's python3.13).  The authorizer is configured as the template deploys it: usage keys
    (``USAGE_KEY_NAMESPACE``) and the revocation list (``REVOCATIONS_URI``, served from 127.0.0.1 with one
    revoked client) included.  Beside them: our verifier alone, the raw signature check (the limit) and the
    blueprint authorizer (``blueprint_authorizer.py``: PyJWKClient + ``jwt.decode`` + Powertools).  Targets
    (issue 16 item 3): TOKEN >= 0.50 of the limit; REQUEST and HTTP API within 10 % of TOKEN.
(b) **Cold**: a new interpreter imports the handler and makes its first decision (the JWK Set served from
    127.0.0.1 and fetched at import), ours against the blueprint, medians of interleaved runs; CPU time
    (user + system) and peak RSS from ``wait4``.  Target (item 4): CPU <= 1.0x the blueprint's, peak RSS no
    higher.  Measured with bytecode (``__pycache__``, as the layer ships it) and without.
(c) **Import profile** (``python -X importtime``): the biggest imports of our cold start.
(d) **Instructions** of one TOKEN decision (callgrind), when valgrind is installed.

The Powertools Tracer is measured separately: it is not on the authorizer's import path because it
imports the X-Ray SDK and botocore (docs/authorizer.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import callgrind
import cryptography
from baselines import (
    AUDIENCE,
    ISSUER,
    BenchToken,
    bench_token,
    pyjwt_version,
    raw_signature_check,
    runtime_json,
)
from cpu_rounds import interleave, microseconds, python_contender, ratio_text, verdict
from offline_environment import ROOT, use_project_paths

from partnerauth.algorithms import KeySpec
from partnerauth.key_source import StaticKeySource
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

use_project_paths("functions/authorizer")
BENCHMARKS = ROOT / "benchmarks"
PATHS = [ROOT / "layers" / "partnerauth", ROOT / "functions" / "authorizer", BENCHMARKS]
ROUTES = {
    "GET /orders": ["orders:read"],
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "GET /inventory": ["inventory:read"],
}
CALLS, ROUNDS = 200, 15  # warm: 15 interleaved rounds x 200 calls per contender
COLD_RUNS = 11  # cold: 11 processes per side and condition
LIMIT_TARGET, PATH_TARGET, COLD_TARGET = 0.50, 0.90, 1.0
# Cold starts may be measured with another interpreter that has the layer's packages (e.g. a python3.13
# venv, Lambda's runtime): BENCH_COLD_PYTHON=/path/to/python.
COLD_PYTHON = os.environ.get("BENCH_COLD_PYTHON") or sys.executable
PLACEHOLDER = "PLACEHOLDER.ACCESS.TOKEN"
# One revoked client (not the bench token's): every decision looks its client and jti up, as deployed.
REVOCATIONS = {
    "revoked_clients": [{"client_id": "partner-9", "issued_before": 1_700_000_000, "until": 4_000_000_000}],
    "revoked_tokens": [],
}


class JwksServer:
    """Our JWK Set and revocation list on 127.0.0.1 (the cold-start processes fetch both at import)."""

    def __init__(self, document: dict[str, Any]) -> None:
        jwks = json.dumps(document).encode()
        revocations = json.dumps(REVOCATIONS).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = revocations if self.path.endswith("/revocations.json") else jwks
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

    @property
    def revocations_uri(self) -> str:
        return self.jwks_uri.replace("/jwks.json", "/revocations.json")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def environment(jwks_uri: str) -> dict[str, str]:
    return {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "JWKS_URI": jwks_uri,
        "REVOCATIONS_URI": jwks_uri.replace("/jwks.json", "/revocations.json"),
        "USAGE_KEY_NAMESPACE": "partnerauth-bench",
        "ALLOWED_ALGORITHMS": "RS256,ES256,EdDSA",
        "ROUTE_SCOPES": json.dumps(ROUTES),
        "POWERTOOLS_SERVICE_NAME": "partnerauth",
        "POWERTOOLS_METRICS_NAMESPACE": "PartnerAuth",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def sample_events(token: str) -> dict[str, dict[str, Any]]:
    """The three event formats, from the project's own ``events/`` samples, carrying ``token``."""
    files = {
        "TOKEN": "authorizer-token.json",
        "REQUEST": "authorizer-request.json",
        "HTTP API": "authorizer-http-api.json",
    }
    return {
        kind: json.loads((ROOT / "events" / name).read_text().replace(PLACEHOLDER, token))
        for kind, name in files.items()
    }


def allowed(answer: dict[str, Any]) -> bool:
    if "isAuthorized" in answer:
        return answer["isAuthorized"] is True
    return bool(answer["policyDocument"]["Statement"][0]["Effect"] == "Allow")


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


def decide(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> str:
    """One decision as Lambda makes it: the handler, then the runtime's JSON of its answer."""
    return runtime_json(handler(event, CONTEXT))


def warm(sample: BenchToken, jwks_uri: str) -> list[str]:
    os.environ.update(environment(jwks_uri))
    import blueprint_authorizer as blueprint

    from authorizer import app

    events = sample_events(sample.token)
    policy = IssuerPolicy(ISSUER, jwks_uri, frozenset({AUDIENCE}), frozenset({"RS256"}))
    verifier = AccessTokenVerifier([policy], StaticKeySource({jwks_uri: sample.jwks}))
    with quiet():
        for kind, event in events.items():
            assert allowed(app.lambda_handler(event, CONTEXT)), f"the bench token must be allowed ({kind})"
        assert allowed(blueprint.lambda_handler(events["TOKEN"], CONTEXT)), "the blueprint must allow it"
        contenders = {
            kind: python_contender(partial(decide, app.lambda_handler, event))
            for kind, event in events.items()
        }
        contenders["blueprint"] = python_contender(partial(decide, blueprint.lambda_handler, events["TOKEN"]))
        contenders["verifier"] = python_contender(lambda: verifier.verify(sample.token))
        # the TOKEN decision's parts (informative): the decision alone, the handler, the JSON of the answer
        token_event, answer = events["TOKEN"], app.lambda_handler(events["TOKEN"], CONTEXT)
        contenders["decide"] = python_contender(lambda: app.authorizer.decide(token_event))
        contenders["handler"] = python_contender(lambda: app.lambda_handler(token_event, CONTEXT))
        contenders["json"] = python_contender(lambda: runtime_json(answer))
        contenders["raw"] = python_contender(raw_signature_check(sample))
        rounds = interleave(contenders, calls=CALLS, rounds=ROUNDS)
    print(
        f"== authorizer warm: CPU per decision, RS256, with the runtime's JSON of the answer "
        f"({ROUNDS} x {CALLS}); limit: raw cryptography {cryptography.__version__} RSA-2048 verify; "
        f"blueprint: {pyjwt_version()}; "
        f"Python {platform.python_version()}"
    )
    print(f"{'contender':10} {'time':>16} {'of limit (raw/x)':>20} {'target':>28}")
    missed = []
    for name in ("TOKEN", "REQUEST", "HTTP API", "blueprint", "verifier", "raw"):
        limit = rounds.ratio("raw", name)
        target = ""
        if name == "TOKEN":
            target = verdict(limit.median, LIMIT_TARGET)
            if limit.median < LIMIT_TARGET:
                missed.append(f"TOKEN {limit.median:.2f} of the limit")
        elif name in ("REQUEST", "HTTP API"):
            versus = rounds.ratio("TOKEN", name)
            target = f"TOKEN/this {versus.median:.2f}x, {verdict(versus.median, PATH_TARGET)}"
            if versus.median < PATH_TARGET:
                missed.append(f"{name} {versus.median:.2f}x of TOKEN")
        print(f"{name:10} {microseconds(rounds.time(name))} {ratio_text(limit):>20} {target:>28}")
    versus = rounds.ratio("blueprint", "TOKEN")
    print(f"blueprint/TOKEN {ratio_text(versus)} (informative: > 1 means ours is faster)")
    parts = {
        name: rounds.time(name).median * 1e6 for name in ("raw", "verifier", "decide", "handler", "json")
    }
    print(
        f"TOKEN breakdown (informative, medians in us): signature check {parts['raw']:.1f}; rest of the "
        f"verifier {parts['verifier'] - parts['raw']:.1f}; rest of the decision "
        f"{parts['decide'] - parts['verifier']:.1f} (event, ARN, route, revocation, policy, context); "
        f"handler {parts['handler'] - parts['decide']:.1f}; the runtime's JSON of the "
        f"{len(runtime_json(answer))}-byte answer {parts['json']:.1f}"
    )
    return missed


COLD_OURS = """
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
COLD_BLUEPRINT = COLD_OURS.replace("import authorizer.app as app", "import blueprint_authorizer as app")


def run(code: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall time, CPU time (user + system) and peak RSS (MiB) of one new interpreter running ``code``."""
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
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def cold_environment(token: str, jwks_uri: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    base["PYTHONPATH"] = os.pathsep.join(str(p) for p in PATHS)
    return {**base, **environment(jwks_uri), "BENCH_EVENT": json.dumps(sample_events(token)["TOKEN"])}


def cold(token: str, jwks_uri: str, *, bytecode: bool) -> list[str]:
    env = cold_environment(token, jwks_uri)
    with tempfile.TemporaryDirectory() as empty:
        if not bytecode:  # compile every module from source, write nothing back
            env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=empty)
        else:  # one untimed run of each writes the bytecode
            run(COLD_BLUEPRINT, env)
            run(COLD_OURS, env)
        ours, blueprint = [], []
        for _ in range(COLD_RUNS):  # interleaved: load on the machine hits both sides
            blueprint.append(run(COLD_BLUEPRINT, env))
            ours.append(run(COLD_OURS, env))
    label = "with bytecode   " if bytecode else "without bytecode"
    missed = []
    for index, kind in enumerate(("wall", "cpu ", "rss ")):
        mine = statistics.median(sample[index] for sample in ours)
        theirs = statistics.median(sample[index] for sample in blueprint)
        unit, scale = ("MiB", 1.0) if kind == "rss " else ("ms ", 1000.0)
        line = (
            f"cold  {label} {kind} import+first decision {mine * scale:6.1f} {unit}   blueprint "
            f"{theirs * scale:6.1f} {unit}   ratio {mine / theirs:.2f}x"
        )
        if kind != "wall":
            line += f"  ({verdict(mine / theirs, COLD_TARGET, at_least=False)})"
            if mine / theirs > COLD_TARGET:
                missed.append(f"cold {label.strip()} {kind.strip()} {mine / theirs:.2f}x")
        else:
            line += "  (informative: wall time counts waiting)"
        print(line)
    return missed


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(token: str, jwks_uri: str) -> None:
    """Where the import time of a cold start goes, by top-level package (``-X importtime`` self times,
    median of 5 runs per package; wall clock, so it includes waiting on a busy machine)."""
    env = cold_environment(token, jwks_uri)
    for name, code in (("ours", COLD_OURS), ("blueprint", COLD_BLUEPRINT)):
        runs: list[Counter[str]] = []
        for _ in range(5):
            result = subprocess.run(  # noqa: S603 - our own interpreter and code
                [COLD_PYTHON, "-X", "importtime", "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            by_package: Counter[str] = Counter()
            for match in _IMPORT_LINE.finditer(result.stderr):
                by_package[match[4].split(".")[0]] += int(match[1])
            runs.append(by_package)
        packages = {package for run_ in runs for package in run_}
        medians = {package: statistics.median(run_[package] for run_ in runs) for package in packages}
        top = sorted(medians.items(), key=lambda item: -item[1])
        listing = ", ".join(f"{package} {us / 1000:.1f}" for package, us in top[:8])
        print(f"imports {name:9} {sum(medians.values()) / 1000:6.1f} ms in all; by package (ms): {listing}")


# The parts of one TOKEN decision under callgrind, after the cold-start code (the handler's own authorizer and
# event): the raw signature check and our verifier alone (as in the warm rounds), the decision, the handler,
# and the runtime's JSON of the answer.
CALLGRIND_SETUP = """
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from partnerauth import base64url
from partnerauth.key_source import StaticKeySource
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy
RUNTIME_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=True)
event = json.loads(os.environ["BENCH_EVENT"])
token = event["authorizationToken"][len("Bearer "):]
jwks, jwks_uri = json.loads(os.environ["BENCH_JWKS"]), os.environ["JWKS_URI"]
keys = StaticKeySource({jwks_uri: jwks})
audiences = frozenset({os.environ["AUDIENCE"]})
policy = IssuerPolicy(os.environ["ISSUER"], jwks_uri, audiences, frozenset({"RS256"}))
verifier = AccessTokenVerifier([policy], keys)
verified = verifier.verify(token)
public = keys.key_for(jwks_uri, verified.kid).key
head, payload, signature_segment = token.split(".")
message, signature = f"{head}.{payload}".encode("ascii"), base64url.decode(signature_segment)
pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
answer = app.lambda_handler(event, context)
"""
CALLGRIND_PARTS = {
    "decision": "    RUNTIME_ENCODER.encode(app.lambda_handler(event, context))",
    "raw": "    public.verify(signature, message, pkcs1, sha256)",
    "verifier": "    verifier.verify(token)",
    "decide": "    app.authorizer.decide(event)",
    "handler": "    app.lambda_handler(event, context)",
    "json": "    RUNTIME_ENCODER.encode(answer)",
}


def decision_instructions(sample: BenchToken, jwks_uri: str) -> None:
    if not callgrind.available():
        print(callgrind.skip_line())
        return
    if os.environ.get("BENCH_SKIP_CALLGRIND"):
        print("skip  instruction counts: BENCH_SKIP_CALLGRIND is set")
        return
    setup = COLD_OURS.partition("answer = ")[0]  # the import and the context, no decision yet
    env = {**cold_environment(sample.token, jwks_uri), "BENCH_JWKS": json.dumps(sample.jwks)}
    count = callgrind.instructions_per_part(setup + CALLGRIND_SETUP, CALLGRIND_PARTS, env)
    ours = count["decision"] - count["raw"]
    print(
        f"== authorizer: instructions per TOKEN decision (callgrind, with the runtime's JSON): "
        f"{count['decision']:,.0f}; ours (all but the signature check) {ours:,.0f} = "
        f"{ours / count['raw']:.2f}x the signature check's"
    )
    print(
        f"TOKEN breakdown (instructions): signature check {count['raw']:,.0f}; rest of the verifier "
        f"{count['verifier'] - count['raw']:,.0f}; rest of the decision "
        f"{count['decide'] - count['verifier']:,.0f}; "
        f"handler {count['handler'] - count['decide']:,.0f}; the runtime's JSON {count['json']:,.0f}"
    )


def tracer_cost() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    code = "from aws_lambda_powertools import Tracer; Tracer(service='bench')"
    plain = statistics.median(run("import aws_lambda_powertools", base)[1] for _ in range(5))
    traced = statistics.median(run(code, base)[1] for _ in range(5))
    print(
        f"info  a Powertools Tracer adds {1000 * (traced - plain):.0f} ms of CPU to a cold start (X-Ray SDK, "
        "botocore): not used by the authorizer"
    )


def main() -> int:
    sample = bench_token(KeySpec.RS256, scopes=("orders:read", "orders:write", "inventory:read"))
    server = JwksServer(sample.jwks)
    missed: list[str] = []
    try:
        missed += warm(sample, server.jwks_uri)
        print(f"== authorizer cold start: medians of {COLD_RUNS} interleaved runs per side ({COLD_PYTHON})")
        missed += cold(sample.token, server.jwks_uri, bytecode=True)
        missed += cold(sample.token, server.jwks_uri, bytecode=False)
        import_profile(sample.token, server.jwks_uri)
        decision_instructions(sample, server.jwks_uri)
        tracer_cost()
    finally:
        server.close()
    print("authorizer targets: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
