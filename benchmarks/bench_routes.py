"""The authorizer in front of APIs of 4, 100 and 1,000 routes (issue 12).

For each map size and each event format (REST TOKEN, REST REQUEST, HTTP API payload 2.0), through the
deployed handler (``authorizer.app.lambda_handler``) and the JSON the Lambda runtime writes of its answer:

(a) **decisions per second**: CPU time per decision, interleaved rounds over 64 different routes of the map,
    median and spread; the ratio to the 4-route rate of the same format (target: the 1,000-route rate within
    10 % of it), and the raw RS256 signature check as the physical limit;
(b) **the largest answer** in bytes, as ``json.dumps`` writes it, over every route of the map, for a token
    holding every scope and for one holding none (target: <= 8,192 bytes, API Gateway's documented quota);
(c) **start-up parse** of the map (``RoutePolicy.from_json``), CPU time, median of 9;
(d) **cache hit rate** of API Gateway's authorizer cache for a simulated partner (Zipf-distributed calls over
    the map's routes and ids) under each cache key: per token (TOKEN, whole-API answers), per token + method +
    resource (REQUEST), per token + path (an exact one-request answer would need this) - the trade-off of
    docs/authorizer.md, "Answers and caching".

The maps are ``tests/support/route_maps.enterprise_map`` (nested resources, parameters under parameters,
greedy ``{proxy+}``, ``ANY``); the 4-route map is the sample API's.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from offline_environment import use_project_paths

use_project_paths("functions/authorizer")

from baselines import (  # noqa: E402
    AUDIENCE,
    ISSUER,
    BenchToken,
    bench_token,
    raw_signature_check,
    runtime_json,
)
from cpu_rounds import interleave, microseconds, python_contender, ratio_text, verdict  # noqa: E402

from partnerauth.algorithms import KeySpec  # noqa: E402
from partnerauth.key_source import StaticKeySource  # noqa: E402
from partnerauth.route_policy import RoutePolicy  # noqa: E402
from tests.support.route_maps import SCOPE_POOL, concrete_path, enterprise_map  # noqa: E402

SAMPLE = {
    "GET /orders": ["orders:read"],
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "GET /inventory": ["inventory:read"],
}
SIZES = (4, 100, 1000)
KINDS = ("TOKEN", "REQUEST", "HTTP API")
RATE_TARGET = 0.90  # the 1,000-route rate over the 4-route rate
ANSWER_LIMIT = 8192
ROUTES_PER_ROUND = 64
CALLS, ROUNDS = 640, 9
PREFIX = "arn:aws:execute-api:us-east-1:123456789012:benchapi1/prod"
HTTP_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:benchhttp1/prod"
JWKS_URI = "http://127.0.0.1:9/.well-known/jwks.json"  # never fetched: the keys are handed over
CONTEXT: Any = SimpleNamespace(
    function_name="AuthorizerFunction",
    function_version="$LATEST",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction",
    aws_request_id="bench-request",
)


def route_map(size: int) -> dict[str, list[str]]:
    return SAMPLE if size == 4 else enterprise_map(size)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
        yield


def handler_for(mapping: dict[str, list[str]], samples: list[BenchToken]) -> ModuleType:
    """``authorizer.app`` imported afresh with ``mapping`` as its default profile, over static keys."""
    os.environ.update(
        {
            "ISSUER": ISSUER,
            "AUDIENCE": AUDIENCE,
            "JWKS_URI": JWKS_URI,
            "ALLOWED_ALGORITHMS": "RS256",
            "ROUTE_SCOPES": json.dumps(mapping),
            "POWERTOOLS_SERVICE_NAME": "partnerauth",
            "POWERTOOLS_METRICS_NAMESPACE": "PartnerAuth",
            "POWERTOOLS_LOG_LEVEL": "ERROR",  # the measured path (allowed calls) logs nothing anyway
        }
    )
    sys.modules.pop("authorizer.app", None)
    module = importlib.import_module("authorizer.app")
    decision = importlib.import_module("authorizer.decision")
    jwks: dict[str, Any] = {"keys": [key for sample in samples for key in sample.jwks["keys"]]}
    keys = StaticKeySource({JWKS_URI: jwks})
    module.authorizer = decision.build_authorizer(module.settings, keys)  # type: ignore[attr-defined]
    return module


def events(kind: str, key: str, token: str) -> dict[str, Any]:
    method, template = key.split(" ")
    request_method = "GET" if method == "ANY" else method
    path = concrete_path(template)
    header = f"Bearer {token}"
    if kind == "TOKEN":
        return {
            "type": "TOKEN",
            "authorizationToken": header,
            "methodArn": f"{PREFIX}/{request_method}/{path}",
        }
    if kind == "REQUEST":
        return {
            "type": "REQUEST",
            "methodArn": f"{PREFIX}/{request_method}/{path}",
            "resource": template,
            "path": f"/{path}",
            "httpMethod": request_method,
            "headers": {"Authorization": header},
            "multiValueHeaders": {"Authorization": [header]},
            "stageVariables": None,
        }
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"{HTTP_PREFIX}/{request_method}/{path}",
        "identitySource": [header],
        "routeKey": key,
        "rawPath": f"/prod/{path}",
        "headers": {"authorization": header},
        "stageVariables": None,
    }


def decide(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> str:
    """One decision as Lambda makes it: the handler, then the runtime's JSON of its answer."""
    return runtime_json(handler(event, CONTEXT))


def cycling(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], batch: list[dict[str, Any]]
) -> Callable[[], str]:
    position = [0]

    def call() -> str:
        position[0] = (position[0] + 1) % len(batch)
        return decide(handler, batch[position[0]])

    return call


def spread_keys(mapping: dict[str, list[str]], count: int) -> list[str]:
    keys = list(mapping)
    return [keys[i * len(keys) // count] for i in range(min(count, len(keys)))]


def largest_answer(handler: ModuleType, mapping: dict[str, list[str]], kind: str, tokens: list[str]) -> int:
    largest = 0
    with quiet():
        for key in mapping:
            for token in tokens:
                try:
                    largest = max(largest, len(decide(handler.lambda_handler, events(kind, key, token))))
                except Exception:  # noqa: BLE001, S112 - a 401 raises; it has no answer to measure
                    continue
    return largest


def parse_time(mapping: dict[str, list[str]]) -> float:
    text = json.dumps(mapping)
    samples = []
    for _ in range(9):
        started = time.process_time()
        RoutePolicy.from_json(text)
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def hit_rates(mapping: dict[str, list[str]], calls: int = 20_000, seed: int = 7) -> dict[str, float]:
    """API Gateway cache hits per cache key for one partner's calls within one TTL (Zipf over routes, ids)."""
    rnd = random.Random(seed)
    keys = list(mapping)
    weights = [1 / (rank + 1) for rank in range(len(keys))]
    seen: dict[str, set[tuple[str, ...]]] = {"per token": set(), "per route": set(), "per path": set()}
    hits = dict.fromkeys(seen, 0)
    for key in rnd.choices(keys, weights, k=calls):
        method, template = key.split(" ")
        path = template.replace("{", "").replace("}", "") + f"#{min(int(rnd.paretovariate(1.2)), 10_000)}"
        for name, cache_key in (
            ("per token", ()),
            ("per route", (method, template)),
            ("per path", (method, path)),
        ):
            if cache_key in seen[name]:
                hits[name] += 1
            seen[name].add(cache_key)
    return {name: count / calls for name, count in hits.items()}


def main() -> int:
    sample = bench_token(
        KeySpec.RS256, scopes=tuple(sorted({*SCOPE_POOL, *(s for v in SAMPLE.values() for s in v)}))
    )
    nobody = bench_token(KeySpec.RS256, scopes=("unrelated",))
    handlers: dict[int, ModuleType] = {}
    contenders = {}
    for size in SIZES:
        mapping = route_map(size)
        handler = handlers[size] = handler_for(mapping, [sample, nobody])
        for kind in KINDS:
            batch = [events(kind, key, sample.token) for key in spread_keys(mapping, ROUTES_PER_ROUND)]
            contenders[f"{kind} {size}"] = python_contender(cycling(handler.lambda_handler, batch))
    contenders["raw"] = python_contender(raw_signature_check(sample))
    with quiet():
        rounds = interleave(contenders, calls=CALLS, rounds=ROUNDS)

    print(
        f"== route maps: CPU per decision through the handler + the runtime's JSON, RS256 "
        f"({ROUNDS} x {CALLS} calls)"
    )
    print(
        f"{'format':9} {'routes':>6} {'per decision':>18} {'decisions/s':>12} "
        f"{'vs 4 routes':>22} {'of raw limit':>22}"
    )
    missed = []
    for kind in KINDS:
        for size in SIZES:
            name = f"{kind} {size}"
            spread = rounds.time(name)
            versus = rounds.ratio(f"{kind} 4", name)
            target = ""
            if size == SIZES[-1]:
                target = verdict(versus.median, RATE_TARGET)
                if versus.median < RATE_TARGET:
                    missed.append(f"{kind}: 1,000-route rate {versus.median:.2f}x of the 4-route rate")
            print(
                f"{kind:9} {size:>6} {microseconds(spread)} {1 / spread.median:12,.0f} "
                f"{ratio_text(versus):>22} {ratio_text(rounds.ratio('raw', name)):>22}  {target}"
            )
    print(f"raw RS256 signature check (the limit): {microseconds(rounds.time('raw'))}")

    print(
        "\n== largest answer in bytes (json.dumps), every route, a token with every scope and one with none"
    )
    print(f"{'routes':>6} " + " ".join(f"{kind:>10}" for kind in KINDS) + f"   target <= {ANSWER_LIMIT}")
    for size in SIZES:
        mapping = route_map(size)
        handler = handlers[size]
        sizes = [largest_answer(handler, mapping, kind, [sample.token, nobody.token]) for kind in KINDS]
        over = [
            f"{kind} {size} routes: {b} bytes"
            for kind, b in zip(KINDS, sizes, strict=True)
            if b > ANSWER_LIMIT
        ]
        missed += over
        print(f"{size:>6} " + " ".join(f"{b:>10,}" for b in sizes) + f"   {'MISSES' if over else 'meets'}")

    print("\n== start-up parse of the map (RoutePolicy.from_json), CPU, median of 9; whole-API TOKEN answers")
    for size in SIZES:
        mapping = route_map(size)
        problem = RoutePolicy.from_json(json.dumps(mapping)).whole_api_problem
        mode = "whole-API policy" if problem is None else f"one-request answers ({problem})"
        print(f"{size:>6} routes {parse_time(mapping) * 1000:8.2f} ms   TOKEN: {mode}")

    print("\n== API Gateway cache hit rate for one partner within one TTL (20,000 Zipf calls), by cache key")
    for size in SIZES:
        rates = hit_rates(route_map(size))
        print(f"{size:>6} routes " + "   ".join(f"{name}: {rate:6.1%}" for name, rate in rates.items()))

    if missed:
        print("\nMISSED: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
