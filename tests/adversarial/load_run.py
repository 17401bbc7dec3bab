"""A bounded load against the local stack while its signing key is rotated (issue 9, load).

Shared by tests/adversarial/test_load.py (small) and benchmarks/load_local_stack.py (bigger).  Each
worker thread is a partner: it asks the token endpoint for a token (``client_secret_basic``) and calls a
protected route of the sample API with it, ``iterations`` times.  A rotation runs while they do: it
starts once a third of all iterations are done, and no worker starts its last third before it ended, so
requests before, during and after the rotation are guaranteed by ordering, not by timing (no sleeps).

Every answer is classified.  Expected: 200 for tokens, and for protected calls what the sample API
answers an admitted caller (the demo client holds every scope; ``ROUTES`` uses the sample's fixed data,
functions/sample_api).  One documented exception: when a rotation makes a never-published key sign
(``rotate_now`` with no ``next`` key, or revoking the current key), an authorizer whose JWKS copy predates
that key refuses its tokens (401) until the copy is refreshed, at most once per ``JWKS_COOLDOWN``
(SECURITY.md "What is not guaranteed").  Anything else is unexpected: other statuses, 5xx, timeouts,
connection errors.  Afterwards every issued token must verify against the JWKS the stack publishes.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from partnerauth.compact import parse_compact
from partnerauth.errors import TokenRejected
from partnerauth.key_source import StaticKeySource
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

# (method, path, JSON body, what the sample API answers an admitted caller)
ROUTES: tuple[tuple[str, str, bytes | None, int], ...] = (
    ("GET", "/orders", None, 200),
    ("GET", "/orders/o-1001", None, 200),
    ("GET", "/inventory", None, 200),
    ("POST", "/orders", b'{"item": "pallet-euro", "quantity": 3}', 201),
)
REQUEST_TIMEOUT = 10.0  # seconds, per HTTP exchange: a hang fails the run instead of stalling it
PHASE_TIMEOUT = 120.0  # seconds a worker waits at most for the rotation to end


@dataclass(frozen=True)
class Target:
    """What ``.local/demo-client.json`` says (or ``RunningStack.demo_client_document()`` in process)."""

    token_url: str
    api_url: str
    jwks_url: str
    client_id: str
    client_secret: str = field(repr=False)
    audience: str

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Target:
        return cls(
            token_url=document["token_url"],
            api_url=document["api_url"].rstrip("/"),
            jwks_url=document["jwks_url"],
            client_id=document["client_id"],
            client_secret=document["client_secret"],
            audience=document["audience"],
        )

    def basic(self) -> str:
        raw = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Sample:
    kind: str  # "token" | "api"
    status: int  # 0: no HTTP answer (timeout, connection error)
    seconds: float
    phase: str  # "before" | "during" | "after" the rotation
    kid: str | None = None
    error: str | None = None
    expected_status: int = 200


def exchange(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, bytes]:
    """One HTTP exchange on a fresh connection to a loopback URL."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("the load run talks to loopback only")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def kid_of(token: str) -> str | None:
    try:
        kid = parse_compact(token).header.get("kid")
    except TokenRejected:
        return None
    return kid if isinstance(kid, str) else None


@dataclass
class Report:
    samples: list[Sample]
    tokens: list[str]
    rotation: dict[str, Any] | None
    fresh_kids: frozenset[str]
    seconds: float

    def by_kind(self, kind: str) -> list[Sample]:
        return [s for s in self.samples if s.kind == kind]

    def expected(self, sample: Sample) -> bool:
        if sample.status == sample.expected_status:
            return True
        # the documented window when a never-published key signs: unknown to a warm JWKS copy
        return sample.kind == "api" and sample.status == 401 and sample.kid in self.fresh_kids

    def unexpected(self) -> list[Sample]:
        return [s for s in self.samples if not self.expected(s)]

    def emergency_window(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 401 and self.expected(s)]

    def latency(self, kind: str, q: float) -> float:
        """Seconds at quantile ``q`` (nearest rank) of the answered requests of ``kind``."""
        values = sorted(s.seconds for s in self.by_kind(kind) if s.status)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]

    def phases(self) -> dict[str, int]:
        return {
            phase: sum(1 for s in self.samples if s.phase == phase) for phase in ("before", "during", "after")
        }

    def summary(self) -> str:
        lines = [f"requests {len(self.samples)} in {self.seconds:.1f} s, phases {self.phases()}"]
        for kind in ("token", "api"):
            samples = self.by_kind(kind)
            statuses: dict[int, int] = {}
            for sample in samples:
                statuses[sample.status] = statuses.get(sample.status, 0) + 1
            lines.append(
                f"  {kind:<5} {len(samples):5d} requests, statuses {dict(sorted(statuses.items()))}, "
                f"p50 {1000 * self.latency(kind, 0.5):.1f} ms, p99 {1000 * self.latency(kind, 0.99):.1f} ms"
            )
        lines.append(
            f"  unexpected errors: {len(self.unexpected())}; documented emergency-rotation 401s: "
            f"{len(self.emergency_window())}"
        )
        return "\n".join(lines)


def verify_all(tokens: list[str], jwks: dict[str, Any], issuer: str, audience: str) -> list[str]:
    """Every token against the JWKS the stack publishes now (RFC 9068 checks, real clock): the failures."""
    policy = IssuerPolicy(
        issuer=issuer,
        jwks_uri="published",
        audiences=frozenset({audience}),
        algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
    )
    verifier = AccessTokenVerifier([policy], StaticKeySource({"published": jwks}))
    failures = []
    for token in tokens:
        try:
            verifier.verify(token)
        except TokenRejected as rejected:
            failures.append(f"kid {kid_of(token)}: {rejected.reason}")
    return failures


def kids_made_current(rotation: dict[str, Any] | None, source: str) -> frozenset[str]:
    """Kids the rotation made current from ``source``: ``"new"`` (never published before they signed)
    or ``"next"`` (published at least since the previous rotation)."""
    if not rotation:
        return frozenset()
    return frozenset(
        str(t.get("kid"))
        for t in rotation.get("transitions", [])
        if t.get("from") == source and t.get("to") == "current"
    )


class _Run:
    """The shared state of one run: samples, tokens, the rotation's result, and its ordering events."""

    def __init__(self, target: Target, threads: int, iterations: int, rotate: Callable[[], dict[str, Any]]):
        self.target, self.threads, self.iterations, self.rotate = target, threads, iterations, rotate
        self.samples: list[Sample] = []
        self.tokens: list[str] = []
        self.rotation: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self.done = 0
        self.trigger, self.rotated = threading.Event(), threading.Event()

    def phase(self) -> str:
        return "after" if self.rotated.is_set() else "during" if self.trigger.is_set() else "before"

    def record(self, sample: Sample, token: str | None = None) -> None:
        with self.lock:
            self.samples.append(sample)
            if token is not None:
                self.tokens.append(token)

    def worker(self, index: int) -> None:
        for iteration in range(self.iterations):
            if iteration >= (2 * self.iterations) // 3 and not self.rotated.wait(PHASE_TIMEOUT):
                self.problems.append(f"worker {index}: the rotation did not end in time")
                return
            token = request_token(self.target, self.phase, self.record)
            if token is not None:
                call_api(
                    self.target, ROUTES[(index + iteration) % len(ROUTES)], token, self.phase, self.record
                )
            with self.lock:
                self.done += 1
                if self.done >= (self.threads * self.iterations) // 3:
                    self.trigger.set()

    def rotator(self) -> None:
        try:
            if not self.trigger.wait(PHASE_TIMEOUT):
                self.problems.append("the load never reached the rotation point")
                return
            self.rotation.append(self.rotate())
        except Exception as error:  # noqa: BLE001 - reported as a problem of the run
            self.problems.append(f"rotation failed: {type(error).__name__}: {error}")
        finally:
            self.rotated.set()


def run(target: Target, threads: int, iterations: int, rotate: Callable[[], dict[str, Any]]) -> Report:
    """``threads`` partners x ``iterations`` (token + protected call) while ``rotate`` runs once."""
    state = _Run(target, threads, iterations, rotate)
    started = time.perf_counter()
    pool = [
        threading.Thread(target=state.worker, args=(i,), name=f"partner-{i}", daemon=True)
        for i in range(threads)
    ]
    pool.append(threading.Thread(target=state.rotator, name="rotation", daemon=True))
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(PHASE_TIMEOUT + 2 * REQUEST_TIMEOUT)
        if thread.is_alive():
            state.problems.append(f"{thread.name} did not finish")
    if state.problems:
        raise RuntimeError("; ".join(state.problems))
    result = state.rotation[0] if state.rotation else None
    fresh = kids_made_current(result, "new")
    return Report(state.samples, state.tokens, result, fresh, time.perf_counter() - started)


def request_token(target: Target, phase: Callable[[], str], record: Callable[..., None]) -> str | None:
    when = phase()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": target.basic()}
    started = time.perf_counter()
    try:
        status, body = exchange("POST", target.token_url, headers, b"grant_type=client_credentials")
    except (OSError, http.client.HTTPException) as error:
        record(Sample("token", 0, time.perf_counter() - started, when, error=type(error).__name__))
        return None
    elapsed = time.perf_counter() - started
    token = json.loads(body).get("access_token") if status == 200 else None
    record(Sample("token", status, elapsed, when, kid_of(token) if token else None), token)
    return token if isinstance(token, str) else None


def call_api(
    target: Target,
    route: tuple[str, str, bytes | None, int],
    token: str,
    phase: Callable[[], str],
    record: Callable[..., None],
) -> None:
    method, path, body, expected = route
    when, kid = phase(), kid_of(token)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    try:
        status, _ = exchange(method, target.api_url + path, headers, body)
    except (OSError, http.client.HTTPException) as error:
        elapsed = time.perf_counter() - started
        record(Sample("api", 0, elapsed, when, kid, type(error).__name__, expected_status=expected))
        return
    record(Sample("api", status, time.perf_counter() - started, when, kid, expected_status=expected))


def published_jwks(target: Target) -> dict[str, Any]:
    status, body = exchange("GET", target.jwks_url, {"Accept": "application/json"})
    if status != 200:
        raise RuntimeError(f"the JWKS endpoint answered {status}")
    document: dict[str, Any] = json.loads(body)
    return document
