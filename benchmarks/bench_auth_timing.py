"""Does response time tell an attacker why client authentication failed?  (issue 9, timing)

Run with ``make bench`` (or ``python benchmarks/bench_auth_timing.py [rounds]``).  Never part of
``make test``: it measures time and asserts nothing.  The deterministic half of the rule - every
failure path does the same hash and store work - is a test (tests/token_issuer/test_authentication_work.py).

Four failure paths (unknown client, disabled client, expired secret, wrong secret) are timed over many
interleaved rounds: each round runs the four in a fresh random order, so drift (CPU frequency, caches,
other processes) lands on all of them alike.  Two layers are measured:

1. the deployed handler (``token_issuer.app.lambda_handler``) against moto's in-process DynamoDB: the
   whole request as a partner sends it (moto's own cost is large and noisy);
2. ``ClientRegistry.authenticate`` alone over an in-memory table: the code path difference without I/O.

For each: the median per path (p10-p90 alongside), the largest difference between two paths' medians in
microseconds and as a percentage of the overall median, and a noise floor - the same difference between
two halves (even/odd rounds) of one path - so the figure can be read against what chance alone gives.
The success path is shown for reference (it signs a token, so it is expected to be slower).
"""

from __future__ import annotations

import base64
import contextlib
import gc
import importlib
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from offline_environment import use_fake_aws, use_project_paths

use_project_paths("functions/token_issuer")
use_fake_aws()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from local.proxy_event import ApiIdentity, HttpRequest, parse_proxy_response, rest_proxy_event  # noqa: E402
from partnerauth.algorithms import KeySpec  # noqa: E402
from partnerauth.auth_throttle import ThrottlePolicy  # noqa: E402
from partnerauth.client_registry import ClientAuthenticationFailed, ClientRegistry, ClientStatus  # noqa: E402
from partnerauth.client_secrets import SecretHasher  # noqa: E402
from partnerauth.key_store import KeyStore  # noqa: E402
from partnerauth.keys import generate_signing_key  # noqa: E402
from tests.support.template import (  # noqa: E402
    create_all_tables,
    create_kms_key_from_template,
    create_secret_from_template,
    function_environment,
)

ISSUER = "https://auth.bench"
DEFAULT_ROUNDS = 1000  # x 5 paths through the handler (~40 s), then 10x as many through the registry
WARMUP_ROUNDS = 50
FAILURES = ("unknown client", "disabled client", "expired secret", "wrong secret")
WRONG_SECRET = "pacs_" + "W" * 43  # the shape of a real secret


class FakeClock:
    def __init__(self) -> None:
        # Whole seconds (a sub-millisecond fraction once made the throttle refuse the attempt right after
        # a free failure: tests/adversarial/test_campaign_findings.py, fixed).
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


class InMemoryTable:
    """Just enough of a DynamoDB client for ``ClientRegistry.authenticate``: GetItem from a dict."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self._items = items

    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        item = self._items.get(Key["client_id"]["S"])
        return {"Item": item} if item is not None else {}


def interleaved(
    paths: dict[str, Callable[[], Any]], rounds: int, between: Callable[[], None]
) -> dict[str, list[int]]:
    """Nanoseconds per call, per path: ``rounds`` rounds, each running every path once in a random order."""
    samples: dict[str, list[int]] = {name: [] for name in paths}
    order = list(paths)
    shuffle = random.Random(9).shuffle  # an ordering, not a secret
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            shuffle(order)
            for name in order:
                between()
                started = time.perf_counter_ns()
                paths[name]()
                samples[name].append(time.perf_counter_ns() - started)
    finally:
        gc.enable()
    return samples


def quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def report(title: str, samples: dict[str, list[int]], reference: str | None = None) -> None:
    medians = {name: statistics.median(values) / 1000 for name, values in samples.items()}
    print(f"\n{title}")
    print(f"  {'path':<18} {'median us':>10} {'p10 us':>9} {'p90 us':>9} {'samples':>8}")
    for name, values in samples.items():
        mark = "  (reference)" if name == reference else ""
        print(
            f"  {name:<18} {medians[name]:10.1f} {quantile(values, 0.1):9.1f} "
            f"{quantile(values, 0.9):9.1f} {len(values):8d}{mark}"
        )
    failures = {name: medians[name] for name in FAILURES if name in medians}
    spread = max(failures.values()) - min(failures.values())
    overall = statistics.median(v for name in failures for v in samples[name]) / 1000
    slowest, fastest = max(failures, key=failures.__getitem__), min(failures, key=failures.__getitem__)
    noise = max(
        abs(statistics.median(samples[name][0::2]) - statistics.median(samples[name][1::2])) / 1000
        for name in failures
    )
    print(
        f"  max difference between failure paths: {spread:.1f} us = {100 * spread / overall:.2f} % of "
        f"{overall:.1f} us ({slowest} vs {fastest})"
    )
    share = 100 * noise / overall
    print(f"  noise floor (even vs odd rounds of one path, worst): {noise:.1f} us = {share:.2f} %")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Handler logs go to /dev/null: still formatted and written, as in Lambda."""
    with Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
        yield


@dataclass
class Setup:
    """Everything both measurements need: the handler's paths and the credentials of each path."""

    credentials: dict[str, tuple[str, str]]
    handler_paths: dict[str, Callable[[], Any]]
    clock: FakeClock
    client_items: dict[str, dict[str, Any]]
    hasher: SecretHasher
    reads: dict[str, Callable[[], Any]]


def clients_and_credentials(
    dynamodb: Any, table: str, hasher: SecretHasher, clock: FakeClock
) -> dict[str, tuple[str, str]]:
    """One client per failure path; the same id length and secret length on every path."""
    registry = ClientRegistry(table, dynamodb, hasher, clock)

    def client(**options: Any) -> Any:
        return registry.create(
            client_name="Bench",
            scopes=["orders:read"],
            audiences=["partner-api"],
            token_lifetime=900,
            **options,
        )

    live, disabled = client(), client()
    registry.set_status(disabled.client.client_id, ClientStatus.DISABLED)
    expired = client(secret_expires_at=int(clock()) + 1)
    clock.now += 2
    return {
        "unknown client": ("pc_" + "0" * len(live.client.client_id[3:]), live.secret),
        "disabled client": (disabled.client.client_id, disabled.secret),
        "expired secret": (expired.client.client_id, expired.secret),
        "wrong secret": (live.client.client_id, WRONG_SECRET),
        "success": (live.client.client_id, live.secret),
    }


def deployed_handler(dynamodb: Any, kms: Any, secrets: Any, clock: FakeClock) -> Setup:
    tables = create_all_tables(dynamodb)
    kms_key_id = create_kms_key_from_template(kms)
    pepper_arn = create_secret_from_template(secrets)
    store = KeyStore(tables["SigningKeysTable"], dynamodb, kms, kms_key_id)
    store.bootstrap(
        generate_signing_key(KeySpec.RS256), generate_signing_key(KeySpec.RS256), "RS256", clock()
    )
    pepper = secrets.get_secret_value(SecretId=pepper_arn)["SecretString"]
    hasher = SecretHasher(pepper)
    credentials = clients_and_credentials(dynamodb, tables["ClientsTable"], hasher, clock)

    refs = {**tables, "SigningKeyEncryptionKey": kms_key_id, "ClientSecretPepper": pepper_arn, "AuthApi": "b"}
    os.environ.update(function_environment("TokenFunction", refs, {"IssuerUrl": ISSUER}))
    app: Any = importlib.import_module("token_issuer.app")
    from token_issuer.grant import build_grant

    # The handler's own factory, with an injected clock moved past the throttle's memory before every
    # call: the throttle (429 after repeated failures) would otherwise end the failure paths early.
    app.grant = build_grant(
        app.settings, dynamodb=dynamodb, kms=kms, fetch_pepper=lambda: pepper, clock=clock
    )
    api = ApiIdentity("b", "dev", "us-east-1", "123456789012", "b.execute-api.us-east-1.amazonaws.com")
    context = SimpleNamespace(
        function_name="TokenFunction",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        aws_request_id="bench-timing",
    )

    def request(client_id: str, secret: str) -> Callable[[], Any]:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        http = HttpRequest(
            "POST",
            "/oauth2/token",
            headers=(
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", "Basic " + basic),
            ),
            body=b"grant_type=client_credentials",
        )
        event = rest_proxy_event(http, api, "/oauth2/token", {}, "bench", clock())
        return lambda: app.lambda_handler(event, context)

    paths = {name: request(*pair) for name, pair in credentials.items()}
    for name, call in paths.items():
        status = parse_proxy_response(call()).status
        if status != (200 if name == "success" else 401):
            raise SystemExit(f"{name}: the handler answered {status}")
    items = {
        item["client_id"]["S"]: item
        for item in dynamodb.scan(TableName=tables["ClientsTable"], ConsistentRead=True)["Items"]
    }

    def read(client_id: str) -> Callable[[], Any]:
        key = {"client_id": {"S": client_id}}
        return lambda: dynamodb.get_item(TableName=tables["ClientsTable"], Key=key, ConsistentRead=True)

    reads = {name: read(credentials[name][0]) for name in ("unknown client", "wrong secret")}
    return Setup(credentials, paths, clock, items, hasher, reads)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ROUNDS
    clock = FakeClock()

    def forget_failures() -> None:
        clock.now += ThrottlePolicy().reset_after + 1

    with mock_aws(), quiet():
        setup = deployed_handler(
            boto3.client("dynamodb"), boto3.client("kms"), boto3.client("secretsmanager"), clock
        )
        interleaved(setup.handler_paths, WARMUP_ROUNDS, forget_failures)
        handler = interleaved(setup.handler_paths, rounds, forget_failures)
        reads = interleaved(setup.reads, rounds, lambda: None)

    memory_registry = ClientRegistry("ClientsTable", InMemoryTable(setup.client_items), setup.hasher, clock)

    def authenticate(client_id: str, secret: str) -> Callable[[], None]:
        def call() -> None:
            with contextlib.suppress(ClientAuthenticationFailed):
                memory_registry.authenticate(client_id, secret)

        return call

    registry_paths = {name: authenticate(*setup.credentials[name]) for name in FAILURES}
    interleaved(registry_paths, WARMUP_ROUNDS * 10, lambda: None)
    layer = interleaved(registry_paths, rounds * 10, lambda: None)

    print(
        f"client authentication failure paths, {rounds} interleaved rounds (python {sys.version.split()[0]})"
    )
    report("1. through the deployed handler (moto DynamoDB in-process):", handler, reference="success")
    report(f"2. ClientRegistry.authenticate over an in-memory table ({rounds * 10} rounds):", layer)
    report("3. the ClientsTable GetItem alone (moto), a registered id vs an unknown one:", reads)
    print(
        "\nReading: a difference at or below the noise floor is no signal.  The counted work is equal by"
        "\ntest (tests/token_issuer/test_authentication_work.py: one HMAC, two constant-time comparisons,"
        "\none read of each table on every path) and so is the code run (the same functions,"
        "\ntests/adversarial/test_campaign_findings.py); what remains is the size of the GetItem answer."
    )


if __name__ == "__main__":
    main()
