"""Faults of everything the system depends on (issue 9): each has a defined, documented result and
loses nothing.

=====================================================  ============================================
fault                                                  result
=====================================================  ============================================
DynamoDB throttled / 5xx / unreachable, at any call    token endpoint: 503 ``temporarily_unavailable``
of a token request (reads and the throttle's writes)   + ``Retry-After``; every table as before; the
                                                       next request is served normally
KMS errors at the first decrypt of a signing key       the same 503; the next request is served
(disabled, pending deletion, outage, throttled, ...)
Secrets Manager (the pepper) unavailable               the same 503
issuer and authorizer clocks apart                     allowed within ``LEEWAY`` (60 s), 401 beyond
JWKS endpoint down / 503 / slow / garbage / huge       authorizer: cached keys keep working (fresh,
                                                       then stale for ``stale_if_error``); nothing
                                                       cached: 401 ``keys_unavailable``; never a 500
a key rotation that dies after any step                tokens are still issued, published and allowed
                                                       (also those signed before); the next run
                                                       finishes the job
=====================================================  ============================================

AWS faults are injected at botocore's ``before-call`` hook (:mod:`.aws_faults`, the hook ``Stubber``
uses) or with ``botocore.stub.Stubber`` itself, on the real moto-backed clients: every call that is not
faulted still runs.  Clocks are injected; the only real waits are the JWKS fetcher's own deadline
against a stalled loopback server (``FETCH_TIMEOUT``).

Already covered elsewhere and not repeated: a defect of ours is a bare 500 (tests/token_issuer/
test_dependency_failures.py), the JWKS publisher's 503 (tests/token_issuer/test_jwks_publisher.py), the
rotation function's own store failures and crash points (tests/key_rotation/), the fetcher's limits
byte by byte (tests/layer/test_jwks_fetch.py).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from authorizer.decision import build_authorizer
from partnerauth.jwks_cache import DEFAULT_STALE_IF_ERROR, JwksCache
from partnerauth.jwks_fetch import HttpJwksFetcher
from partnerauth.key_lifecycle import KeyRotator
from partnerauth.key_source import StaticKeySource
from partnerauth.key_store import HEAD_KID as HEAD
from partnerauth.key_store import KeyStore
from tests.key_rotation.conftest import Faults, InjectedCrash
from tests.support.clock import FakeClock

from .authorizer_harness import answer, token_event
from .aws_faults import AwsFaults
from .conftest import ISSUER, NOW, PARTNER_AUDIENCE, TokenWorld, fresh_import
from .hostile_tokens import CorpusContext, valid_token
from .jwks_server import JWKS_PATH, MisbehavingJwksServer
from .test_hostile_token_requests import basic_header
from .token_endpoint import FORM_TYPE, Reply, TokenEndpoint

UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "the service is temporarily unavailable; retry later",
}
FORM = ("Content-Type", FORM_TYPE)
GRANT = b"grant_type=client_credentials"


def token_request(world: TokenWorld, principal: str = "valid") -> Reply:
    who = world.principals[principal]
    return world.endpoint.post(GRANT, [FORM, basic_header(who.client_id, who.secret)])


def unavailable_problems(reply: Reply) -> list[str]:
    """What is wrong with ``reply`` as the documented 503 (RFC 6749 §5.2 shape, RFC 9110 §10.2.3)."""
    found = []
    if reply.status != 503:
        found.append(f"status {reply.status}")
    if reply.body and reply.json() != UNAVAILABLE:
        found.append(f"body {reply.body[:120]!r}")
    if not (reply.header("Retry-After") or "").isdigit():
        found.append("no Retry-After seconds")
    if reply.header("Cache-Control") != "no-store":
        found.append("cacheable")
    if b"injected" in reply.body or b"Traceback" in reply.body:
        found.append("AWS detail or a stack trace in the body")
    return found


# -- DynamoDB, at every call a token request makes ------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One DynamoDB call of a token request: how a request gets there, and its answer without faults."""

    operation: str
    table: str | None  # logical id; None for a batch (it names its tables in RequestItems)
    principal: str  # whose request reaches the call
    prepare: Callable[[TokenWorld], None]
    normal_status: int
    where: Callable[[dict[str, Any]], bool] | None = None  # only calls with these parameters


def _kid(params: dict[str, Any]) -> str:
    return str(params.get("Key", {}).get("kid", {}).get("S"))


def _nothing(world: TokenWorld) -> None:
    return None


def _one_failure(world: TokenWorld) -> None:
    assert token_request(world, "wrong").status == 401


def _stale_attempts_item(world: TokenWorld) -> None:
    _one_failure(world)
    world.forget_failures()  # the item outlives its expiry until DynamoDB's TTL sweeps it


def _cold_key_cache(world: TokenWorld) -> None:
    world.fresh_grant()


def _key(params: dict[str, Any]) -> str:
    return str(params.get("Key", {}).get("client_id", {}).get("S"))


STEPS = {
    "client and failure record read": Step("BatchGetItem", None, "valid", _nothing, 200),
    "key head read": Step(
        "GetItem", "SigningKeysTable", "valid", _nothing, 200, where=lambda p: _kid(p) == HEAD
    ),
    "key item read": Step(
        "GetItem", "SigningKeysTable", "valid", _cold_key_cache, 200, lambda p: _kid(p) != HEAD
    ),
    "failure count": Step("UpdateItem", "AuthAttemptsTable", "wrong", _nothing, 401),
    "stale count replaced": Step("UpdateItem", "AuthAttemptsTable", "wrong", _stale_attempts_item, 401),
    "issued token count": Step(
        "UpdateItem", "AuthAttemptsTable", "valid", _nothing, 200, lambda p: _key(p).startswith("issued ")
    ),
    "count cleared on success": Step("DeleteItem", "AuthAttemptsTable", "valid", _one_failure, 200),
}
DYNAMODB_ERRORS: dict[str, dict[str, Any]] = {
    "ProvisionedThroughputExceeded": {"code": "ProvisionedThroughputExceededException"},
    "ThrottlingException": {"code": "ThrottlingException"},
    "RequestLimitExceeded": {"code": "RequestLimitExceeded"},
    "InternalServerError": {"code": "InternalServerError", "status": 500},
    "ServiceUnavailable": {"code": "ServiceUnavailable", "status": 503},
    "connection refused": {"raises": EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")},
    "connect timeout": {"raises": ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")},
    "read timeout": {"raises": ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")},
}  # fmt: skip


@pytest.fixture
def dynamodb_faults(token_world: TokenWorld) -> Iterator[AwsFaults]:
    faults = AwsFaults(token_world.dynamodb)
    yield faults
    faults.close()


def test_a_dynamodb_fault_at_any_call_of_a_token_request_is_503_and_loses_nothing(
    token_world: TokenWorld, dynamodb_faults: AwsFaults
) -> None:
    world, wrong = token_world, []
    for (step_name, step), (error_name, error) in (
        (s, e) for s in STEPS.items() for e in DYNAMODB_ERRORS.items()
    ):
        case = f"{error_name} at {step_name}"
        world.forget_failures()
        step.prepare(world)
        before = world.snapshot()
        injected = dynamodb_faults.injected
        table = world.tables[step.table] if step.table else None
        dynamodb_faults.fail(step.operation, table=table, where=step.where, **error)
        reply = token_request(world, step.principal)
        dynamodb_faults.clear()
        wrong += [f"{case}: {problem}" for problem in unavailable_problems(reply)]
        if dynamodb_faults.injected == injected:
            wrong.append(f"{case}: the fault was never reached")
        # Nothing stored changed: no half-counted failure, no lost counter, no client or key touched
        if world.snapshot() != before:
            wrong.append(f"{case}: a table changed")
        # And once the dependency is back, the very same request gets its normal answer
        if (status := token_request(world, step.principal).status) != step.normal_status:
            wrong.append(f"{case}: {status} after recovery")
    assert wrong == []


# -- KMS ------------------------------------------------------------------------------------------------
# What KMS answers Decrypt with for a key pending deletion, a disabled key, an outage, a throttle, a tampered
# ciphertext or context, another key, a key policy without our role.  (moto does not refuse Decrypt with a
# disabled key, so these answers are injected with botocore's Stubber.)
KMS_ERRORS = [
    ("KMSInvalidStateException", 400),
    ("DisabledException", 400),
    ("KeyUnavailableException", 500),
    ("KMSInternalException", 500),
    ("DependencyTimeoutException", 503),
    ("ThrottlingException", 400),
    ("InvalidCiphertextException", 400),
    ("IncorrectKeyException", 400),
    ("AccessDeniedException", 400),  # a broken key policy is still no reason for a 500, nor for a token
]


def test_a_kms_fault_at_the_first_decrypt_is_503_and_the_next_request_is_served(
    token_world: TokenWorld,
) -> None:
    world, wrong = token_world, []
    for code, status in KMS_ERRORS:
        world.forget_failures()
        world.fresh_grant()  # a cold environment: the signing key is not decrypted yet
        before = world.snapshot()
        with Stubber(world.kms) as stubber:
            stubber.add_client_error("decrypt", code, "injected fault: do not echo", status)
            reply = token_request(world)
            stubber.assert_no_pending_responses()
        wrong += [f"{code}: {problem}" for problem in unavailable_problems(reply)]
        if world.snapshot() != before:
            wrong.append(f"{code}: a table changed")
        if (after := token_request(world).status) != 200:
            wrong.append(f"{code}: {after} after recovery")
    assert wrong == []


@pytest.mark.parametrize(
    "error",
    [
        {"code": "InternalServiceError", "status": 500},
        {"code": "ThrottlingException"},
        {"raises": EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")},
    ],
    ids=["internal-error", "throttled", "unreachable"],
)
def test_the_pepper_unavailable_is_503_and_fetched_again_next_time(
    token_world: TokenWorld, error: dict[str, Any]
) -> None:
    world = token_world
    # The module's own Secrets Manager client (Powertools SecretsProvider), as built at import
    faults = AwsFaults(world.module._secrets.client)
    try:
        world.fresh_grant()  # no pepper fetched yet
        before = world.snapshot()
        faults.fail("GetSecretValue", **error)
        assert unavailable_problems(token_request(world)) == []
        assert world.snapshot() == before
        faults.clear()
        assert token_request(world).status == 200
    finally:
        faults.close()


# -- clocks ---------------------------------------------------------------------------------------------
# (authorizer clock - issuer clock, expected): RFC 7519 §4.1.4/§4.1.5 with LEEWAY = 60 s; tokens live 900 s.
SKEWS = [
    (-3600, "401"),
    (-61, "401"),  # the authorizer is behind: iat/nbf lie in its future by more than the leeway
    (-60, "allow"),
    (-1, "allow"),
    (0, "allow"),
    (899, "allow"),
    (959, "allow"),  # expired 59 s ago: within the leeway
    (960, "401"),  # exp + leeway reached
    (86_400, "401"),
]


def fixed(moment: float) -> Callable[[], float]:
    return lambda: moment


def test_clock_skew_between_issuer_and_authorizer_is_tolerated_up_to_the_leeway(
    token_world: TokenWorld,
    load_authorizer: Callable[..., ModuleType],
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = token_world
    issued_at = world.clock()
    reply = token_request(world)
    assert reply.json()["expires_in"] == 900
    header = "Bearer " + reply.json()["access_token"]
    app = load_authorizer(world.key_store.published_jwks(), ISSUER=ISSUER)  # the token issuer's iss
    outcomes = {}
    for skew, _ in SKEWS:
        authorizer = build_authorizer(app.settings, app.jwks_cache, clock=fixed(issued_at + skew))
        monkeypatch.setattr(app, "authorizer", authorizer)
        outcomes[skew] = answer(app, token_event(header), authorizer_context).outcome
    assert outcomes == dict(SKEWS)


# -- the JWKS endpoint ----------------------------------------------------------------------------------
FETCH_TIMEOUT = 0.3  # the deployed fetcher's deadline is JWKS_FETCH_TIMEOUT (3 s): shorter here, same code


def monotonic() -> FakeClock:
    """The JWKS cache's injected monotonic clock."""
    return FakeClock(1_000.0)


class Reroutable:
    """The real fetcher; ``down`` sends it to a loopback port where nothing listens (connection refused)."""

    def __init__(self) -> None:
        self.inner = HttpJwksFetcher(timeout=FETCH_TIMEOUT)
        self.down = False
        with socket.socket() as probe:  # a port that was free a moment ago and that nobody listens on
            probe.bind(("127.0.0.1", 0))
            self.dead = f"http://127.0.0.1:{probe.getsockname()[1]}{JWKS_PATH}"

    def fetch(self, jwks_uri: str) -> Any:
        return self.inner.fetch(self.dead if self.down else jwks_uri)


def _garbage(body: bytes) -> Callable[[MisbehavingJwksServer, Reroutable], None]:
    def apply(server: MisbehavingJwksServer, fetcher: Reroutable) -> None:
        server.mode, server.garbage = "garbage", body

    return apply


def _mode(mode: str) -> Callable[[MisbehavingJwksServer, Reroutable], None]:
    def apply(server: MisbehavingJwksServer, fetcher: Reroutable) -> None:
        server.mode = mode

    return apply


def _down(server: MisbehavingJwksServer, fetcher: Reroutable) -> None:
    fetcher.down = True


JWKS_FAULTS: dict[str, Callable[[MisbehavingJwksServer, Reroutable], None]] = {
    "down": _down,
    "503": _mode("error"),
    "stalled": _mode("stall"),
    "huge-declared": _mode("huge"),
    "huge-chunked": _mode("huge-chunked"),
    "html": _garbage(b"<html><body>maintenance</body></html>"),
    "empty-body": _garbage(b""),
    "json-array": _garbage(b"[]"),
    "keys-not-a-list": _garbage(b'{"keys": "none"}'),
    "no-usable-key": _garbage(b'{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "x", "alg": "HS256"}]}'),
    "truncated-json": _garbage(b'{"keys": [{"kty": "RSA", "n": "'),
    "nan": _garbage(b'{"keys": NaN}'),
    "deep-nesting": _garbage(b'{"keys": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
}


@dataclass
class JwksWorld:
    app: ModuleType
    server: MisbehavingJwksServer
    fetcher: Reroutable
    clock: FakeClock
    context: Any
    valid: str
    unknown_kid: str

    def outcome(self, header: str) -> str:
        return answer(self.app, token_event("Bearer " + header), self.context).outcome


@pytest.fixture
def jwks_world(
    authorizer_app: ModuleType,
    authorizer_corpus: CorpusContext,
    jwks_server: MisbehavingJwksServer,
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[JwksWorld]:
    """The deployed authorizer's settings and factory over a JwksCache of the deployed kind (max age,
    cooldown, default stale-if-error) whose fetcher is the real one and whose clock is injected."""
    app, clock, fetcher = authorizer_app, monotonic(), Reroutable()
    cache = JwksCache(
        fetcher, max_age=app.settings.jwks_max_age, cooldown=app.settings.jwks_cooldown, clock=clock
    )
    monkeypatch.setattr(app, "authorizer", build_authorizer(app.settings, cache, clock=lambda: NOW))
    world = JwksWorld(
        app,
        jwks_server,
        fetcher,
        clock,
        authorizer_context,
        valid_token(authorizer_corpus),
        valid_token(authorizer_corpus, authorizer_corpus.attacker),  # a kid nobody publishes
    )
    yield world
    jwks_server.release()


@pytest.mark.parametrize("fault", list(JWKS_FAULTS))
def test_a_failing_jwks_endpoint_leaves_cached_keys_working_for_a_bounded_time(
    fault: str, jwks_world: JwksWorld
) -> None:
    world, max_age = jwks_world, jwks_world.app.settings.jwks_max_age
    start = world.clock.now
    # Given the keys were fetched while the endpoint worked
    assert world.outcome(world.valid) == "allow"
    JWKS_FAULTS[fault](world.server, world.fetcher)
    # When the endpoint fails: cached keys keep working while fresh, unknown kids are 401
    world.clock.now = start + max_age - 1
    assert world.outcome(world.valid) == "allow"
    assert world.outcome(world.unknown_kid) == "401"  # tries the endpoint (once per cooldown), fails alone
    # ...and while stale, for at most stale_if_error (a failed refresh never replaces the last good set)
    world.clock.now = start + max_age + 1
    assert world.outcome(world.valid) == "allow"
    world.clock.now = start + max_age + DEFAULT_STALE_IF_ERROR - 1
    assert world.outcome(world.valid) == "allow"
    # Then no longer: fail closed, 401, never a 500
    world.clock.now = start + max_age + DEFAULT_STALE_IF_ERROR + 1
    assert world.outcome(world.valid) == "401"
    # And once the endpoint is back, the next refresh (after the cooldown) serves again
    world.server.release()
    world.server.mode, world.fetcher.down = "serve", False
    world.clock.now += world.app.settings.jwks_cooldown
    assert world.outcome(world.valid) == "allow"


@pytest.mark.parametrize("fault", list(JWKS_FAULTS))
def test_a_failing_jwks_endpoint_with_nothing_cached_is_401_never_500(
    fault: str, jwks_world: JwksWorld
) -> None:
    world = jwks_world
    JWKS_FAULTS[fault](world.server, world.fetcher)
    hits = world.server.hits
    for _ in range(5):  # RFC 6750 §3.1: invalid_token; and the dead endpoint is not hammered
        assert world.outcome(world.valid) == "401"
    assert world.server.hits - hits <= 1
    world.server.release()
    world.server.mode, world.fetcher.down = "serve", False
    world.clock.now += world.app.settings.jwks_cooldown
    assert world.outcome(world.valid) == "allow"


# -- a rotation that dies midway ------------------------------------------------------------------------
@dataclass
class Handlers:
    """The token, JWKS and rotation handlers over one moto account, and the authorizer's decision."""

    world: TokenWorld
    jwks: TokenEndpoint
    rotation: ModuleType
    authorizer: ModuleType
    authorizer_context: Any
    patch: pytest.MonkeyPatch

    def published(self) -> dict[str, Any]:
        reply = self.jwks.invoke(self.jwks.event(method="GET", path=JWKS_PATH))
        assert reply.status == 200
        document: dict[str, Any] = reply.json()
        return document

    def allowed(self, token: str, jwks: dict[str, Any]) -> bool:
        """What the authorizer handler answers for ``token`` given the JWKS as published now."""
        keys = StaticKeySource({self.authorizer.settings.own_issuer.jwks_uri: jwks})
        self.patch.setattr(
            self.authorizer,
            "authorizer",
            build_authorizer(self.authorizer.settings, keys, clock=self.world.clock),
        )
        return (
            answer(self.authorizer, token_event("Bearer " + token), self.authorizer_context).outcome
            == "allow"
        )

    def issue(self) -> str:
        self.world.clock.advance(10)  # past the issuer's 5 s signing-key cache: it reads the key set again
        reply = token_request(self.world)
        assert reply.status == 200, reply.body
        token: str = reply.json()["access_token"]
        return token

    def rotate(self, action: str, **fields: str) -> Any:
        return self.rotation.lambda_handler({"action": action, **fields}, self.world.endpoint.context)

    def current_kid(self) -> str:
        head = self.world.key_store.read_key_set().head
        assert head is not None
        return head.current_kid


@pytest.fixture
def handlers(
    token_world: TokenWorld,
    template_env: Callable[..., dict[str, str]],
    load_authorizer: Callable[..., ModuleType],
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Handlers]:
    for name, value in template_env("KeyRotationFunction", SigningAlgorithm="ES256").items():
        monkeypatch.setenv(name, value)
    rotation = fresh_import("key_rotation.app")
    for name, value in template_env("JwksFunction", IssuerUrl=ISSUER).items():
        monkeypatch.setenv(name, value)
    jwks = TokenEndpoint(fresh_import("jwks_publisher.app"), token_world.endpoint.context)
    authorizer = load_authorizer(
        token_world.key_store.published_jwks(), ISSUER=ISSUER, AUDIENCE=PARTNER_AUDIENCE
    )
    yield Handlers(token_world, jwks, rotation, authorizer, authorizer_context, monkeypatch)
    for name in ("key_rotation.app", "jwks_publisher.app"):
        sys.modules.pop(name, None)


def crashing_rotator(handlers: Handlers, faults: Faults) -> KeyRotator:
    """The rotation module's own settings and observer, its AWS calls, key generations and reports
    counted by ``faults`` (tests/key_rotation's crash injector), which dies right after step k."""
    module, world = handlers.rotation, handlers.world
    store = KeyStore(
        module.settings.table_name,
        faults.client(world.dynamodb, "dynamodb"),
        faults.client(world.kms, "kms"),
        module.settings.kms_key_id,
    )

    def observe(transition: Any) -> None:
        module.record_transition(transition)
        faults.observer(transition)

    return KeyRotator(
        store,
        module.settings.schedule,
        module.settings.key_spec,
        world.clock,
        observer=observe,
        generate=faults.generator(),
    )


@pytest.mark.parametrize("action", ["rotate_now", "reconcile"])
def test_a_rotation_dying_after_any_step_leaves_tokens_issued_published_and_allowed(
    action: str, handlers: Handlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rotate_now`` (emergency) and a due scheduled ``reconcile``, each killed right after each of its
    steps in turn, through the rotation handler; then the token endpoint, the JWKS endpoint and the
    authorizer handler as partners meet them."""
    world = handlers.world
    period = handlers.rotation.settings.schedule.period
    # Given the number of steps of a clean run
    counting = Faults()
    monkeypatch.setattr(handlers.rotation, "rotator", crashing_rotator(handlers, counting))
    if action == "reconcile":
        world.clock.advance(period)  # the current key's period is over
    assert handlers.rotate(action)["ok"] is True
    steps = list(counting.steps)
    assert len(steps) >= 4
    for crash_after in range(1, len(steps) + 1):
        if action == "reconcile":
            world.clock.advance(period)
        else:  # past the window in which a rotate_now without kid is taken for a repeat of the last one
            world.clock.advance(handlers.rotation.settings.schedule.min_publish_lead)
        before = handlers.issue()
        monkeypatch.setattr(handlers.rotation, "rotator", crashing_rotator(handlers, Faults(crash_after)))
        # When the run dies right after that step (the handler counts the failure and re-raises)
        with pytest.raises(InjectedCrash):
            handlers.rotate(action)
        # Then tokens are still issued, and they and the earlier ones are allowed by what is published
        after = handlers.issue()
        jwks = handlers.published()
        where = f"{action}: crash after step {crash_after} ({steps[crash_after - 1]})"
        assert handlers.allowed(after, jwks), where
        assert handlers.allowed(before, jwks), where
        # And the next scheduled run (a clean rotator) finishes; everything still holds
        monkeypatch.setattr(handlers.rotation, "rotator", crashing_rotator(handlers, Faults()))
        assert handlers.rotate("reconcile")["ok"] is True, where
        jwks = handlers.published()
        assert all(handlers.allowed(token, jwks) for token in (before, after, handlers.issue())), where


class PublishedByHandler:
    """A JWKS fetcher that asks the JWKS handler itself (what the authorizer's HTTPS fetch reaches)."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers
        self.fetches = 0

    def fetch(self, jwks_uri: str) -> Any:
        self.fetches += 1
        return self.handlers.published()


def test_rotate_now_signs_with_a_published_key_but_a_second_one_right_after_waits_for_the_cooldown(
    handlers: Handlers,
) -> None:
    """``rotate_now`` makes the published ``next`` key sign: nothing is refused.  Repeated at once without a
    ``kid`` (a retry after a lost answer) it changes nothing.  A second one that names the current ``kid``
    promotes the ``next`` key the first one just made, which verifiers' copies do not hold yet: its tokens
    are 401 (never 500) until the authorizer may refetch, once ``JWKS_COOLDOWN`` has passed."""
    app, world = handlers.authorizer, handlers.world
    fetcher, jwks_clock = PublishedByHandler(handlers), monotonic()
    cache = JwksCache(
        fetcher, max_age=app.settings.jwks_max_age, cooldown=app.settings.jwks_cooldown, clock=jwks_clock
    )
    handlers.patch.setattr(app, "authorizer", build_authorizer(app.settings, cache, clock=world.clock))

    def outcome(token: str) -> str:
        return answer(app, token_event("Bearer " + token), handlers.authorizer_context).outcome

    assert outcome(handlers.issue()) == "allow"  # the authorizer holds the JWKS from here on
    # When an emergency rotation promotes the published next key: its tokens are allowed at once
    assert handlers.rotate("rotate_now")["ok"] is True
    assert outcome(handlers.issue()) == "allow"
    assert fetcher.fetches == 1
    # When it is repeated at once, as a retry would: nothing changes, nothing is refused
    promoted = handlers.current_kid()
    assert handlers.rotate("rotate_now") == {
        "ok": True,
        "action": "rotate_now",
        "transitions": [],
        "message": handlers.rotation.REPEAT_MESSAGES["rotate_now"],
    }
    assert handlers.current_kid() == promoted
    assert outcome(handlers.issue()) == "allow"
    # When a second one names the current kid: the key it promotes was published a moment ago
    assert handlers.rotate("rotate_now", kid=promoted)["ok"] is True
    fresh = handlers.issue()
    assert outcome(fresh) == "401"  # RFC 6750 §3.1 invalid_token (unknown kid), not a 500
    jwks_clock.now += app.settings.jwks_cooldown - 1
    assert outcome(fresh) == "401"
    # Then once the cooldown has passed, the next unknown kid refetches and the key is known
    jwks_clock.now += 1
    assert outcome(fresh) == "allow"
    assert fetcher.fetches == 2


# -- issue 19: the windows hold for any verifier that follows our HTTP caching headers -------------------
def on_world_clock(handlers: Handlers) -> None:
    """The rotation handler's own settings and observer over the world's injected clock."""
    handlers.patch.setattr(handlers.rotation, "rotator", crashing_rotator(handlers, Faults()))


class HttpCachingVerifier:
    """A verifier that does nothing but follow our JWKS response's headers (RFC 9111): it keeps a copy for
    its ``max-age``, then revalidates with ``If-None-Match``; it never refetches on an unknown kid."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers
        self.document: dict[str, Any] = {}
        self.etag = ""
        self.fresh_until = float("-inf")
        self.full_downloads = 0
        self.revalidations = 0

    def keys(self) -> dict[str, Any]:
        now = self.handlers.world.clock()
        if now >= self.fresh_until:
            headers = (("If-None-Match", self.etag),) if self.etag else ()
            jwks = self.handlers.jwks
            reply = jwks.invoke(jwks.event(method="GET", path=JWKS_PATH, headers=headers))
            if reply.status == 304:
                self.revalidations += 1
            else:
                assert reply.status == 200
                self.document, self.full_downloads = reply.json(), self.full_downloads + 1
            self.etag = str(reply.header("ETag"))
            directives = dict(
                part.strip().partition("=")[::2] for part in str(reply.header("Cache-Control")).split(",")
            )
            self.fresh_until = now + int(directives["max-age"])
        return self.document

    def allows(self, token: str) -> bool:
        return self.handlers.allowed(token, self.keys())


def test_rotations_and_revocations_refuse_nothing_for_a_verifier_that_only_follows_our_headers(
    handlers: Handlers,
) -> None:
    """Scheduled rotation, ``rotate_now`` and revoking the current key each make a key sign that was
    published at least ``PUBLISH_LEAD`` (scheduled) or ``JwksMaxAge`` (the others, here) before: a verifier
    holding a copy up to ``max-age`` old has it.  Window: 0 s."""
    on_world_clock(handlers)
    world, verifier = handlers.world, HttpCachingVerifier(handlers)
    schedule = handlers.rotation.settings.schedule
    assert verifier.allows(handlers.issue())
    # an emergency rotation a moment after the verifier's fetch
    assert handlers.rotate("rotate_now")["ok"] is True
    assert verifier.allows(handlers.issue())
    # revoking the current key once its successor has been published for max-age
    world.clock.advance(schedule.jwks_max_age)
    assert verifier.allows(handlers.issue())  # the verifier's copy is refreshed here, with the new next key
    assert handlers.rotate("revoke", kid=handlers.current_kid())["ok"] is True
    assert verifier.allows(handlers.issue())
    # a scheduled rotation
    world.clock.advance(schedule.period)
    verifier.keys()
    assert handlers.rotate("reconcile")["ok"] is True
    assert verifier.allows(handlers.issue())
    # and an unchanged set costs the verifier a 304, not a download
    world.clock.advance(schedule.jwks_max_age)
    downloads, revalidations = verifier.full_downloads, verifier.revalidations
    verifier.keys()  # the set changed with the rotation: downloaded
    world.clock.advance(schedule.jwks_max_age)
    verifier.keys()  # unchanged since: 304
    assert (verifier.full_downloads - downloads, verifier.revalidations - revalidations) == (1, 1)


def test_a_named_second_rotate_now_is_refused_by_a_caching_verifier_for_at_most_max_age_minus_the_gap(
    handlers: Handlers,
) -> None:
    """The one window left for a verifier that only follows ``max-age``: a key made ``next`` at ``t1`` and
    made to sign at ``t2`` (a second ``rotate_now`` naming the current kid) is refused until that verifier's
    copy, fetched before ``t1``, expires: at most ``max(0, JwksMaxAge - (t2 - t1))`` seconds."""
    on_world_clock(handlers)
    world, verifier = handlers.world, HttpCachingVerifier(handlers)
    max_age = handlers.rotation.settings.schedule.jwks_max_age
    assert verifier.allows(handlers.issue())  # copy fetched at t0
    fetched_at = world.clock()
    assert handlers.rotate("rotate_now")["ok"] is True  # t1: a new next key is published
    t1 = world.clock()
    world.clock.advance(100)
    assert handlers.rotate("rotate_now", kid=handlers.current_kid())["ok"] is True  # t2: it signs
    t2 = world.clock()
    fresh = handlers.issue()
    refused_until = fetched_at + max_age
    assert refused_until - t2 <= max(0, max_age - (t2 - t1))  # the formula bounds what is measured below
    while world.clock() < refused_until:
        assert not verifier.allows(fresh)  # 401, unknown kid
        world.clock.advance(10)
    assert verifier.allows(fresh)


def test_a_cold_start_whose_first_fetch_failed_serves_one_second_after_the_endpoint_is_back(
    jwks_world: JwksWorld,
) -> None:
    world = jwks_world
    JWKS_FAULTS["down"](world.server, world.fetcher)
    assert world.outcome(world.valid) == "401"
    world.fetcher.down = False
    # not the whole 30 s cooldown: the first retry of a URI with no keys comes after 1 s
    world.clock.now += 1
    assert world.outcome(world.valid) == "allow"
