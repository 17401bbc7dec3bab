"""Hostile requests against the token endpoint, through the deployed handler (issue 9).

A generated matrix: every principal (valid, unknown, disabled, expired secret, wrong secret, a
client not registered for the grant) x every way of presenting credentials x every fault (broken
transport, form, encodings, separators, repeated parameters, foreign grant types, scope escalation,
foreign audiences, harmless variations that must still work).  The expected answer of each case
follows from the documented order of checks (``token_issuer.token_request`` then
``token_issuer.grant``), so a case with several faults checks which one wins:

1. the request itself (query string, content type, body, parameters, credential syntax):
   ``invalid_request`` (400), or ``invalid_client`` (401) for missing/malformed credentials;
2. ``grant_type`` other than ``client_credentials``: ``unsupported_grant_type`` (400), before any
   store work;
3. client authentication: ``invalid_client`` (401), the same for every reason;
4. the client's registration: ``unauthorized_client`` (400);
5. scope and audience: ``invalid_scope`` / ``invalid_target`` (400);
6. otherwise 200 with a token that verifies against the published JWKS.

Every answer: the exact status and ``error`` (RFC 6749 §5.2), JSON, ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 §5.1/§5.2), no stack trace, no secret echoed.  Over the whole matrix
the ClientsTable and SigningKeysTable are byte-for-byte unchanged (full scans); the
AuthAttemptsTable is the documented exception (failures are counted there).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerauth.errors import TokenRejected

from .conftest import OTHER_AUDIENCE, PARTNER_AUDIENCE, Principal, TokenWorld
from .token_endpoint import FORM_TYPE, Reply

SECTION_5_2_ERRORS = frozenset(
    {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type"}
    | {"invalid_scope", "invalid_target"}  # RFC 8707 §2 adds invalid_target
)
# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
GRANT = ("grant_type", "client_credentials")


class Stage(Enum):
    """Where the documented order of checks stops a request (module docstring)."""

    REQUEST = 1  # the error given, before anything is looked up
    GRANT_TYPE = 2  # unsupported_grant_type
    AFTER_AUTH = 5  # the error given, for an authenticated client allowed to use the grant
    NONE = 6  # nothing wrong with the request itself


@dataclass(frozen=True)
class Outcome:
    stage: Stage
    error: str | None = None


OK = Outcome(Stage.NONE)
BAD_GRANT = Outcome(Stage.GRANT_TYPE)


def refused(error: str) -> Outcome:
    return Outcome(Stage.REQUEST, error)


def after_auth(error: str) -> Outcome:
    return Outcome(Stage.AFTER_AUTH, error)


# -- requests and how to spoil them -----------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    params: tuple[tuple[str, str], ...] = (GRANT,)
    headers: tuple[tuple[str, str], ...] = (("Content-Type", FORM_TYPE),)
    query: str = ""
    raw_body: bytes | None = None
    tamper: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)

    def body(self) -> bytes:
        return self.raw_body if self.raw_body is not None else urlencode(self.params).encode("ascii")

    def add(self, *params: tuple[str, str]) -> Request:
        return replace(self, params=(*self.params, *params))

    def set(self, name: str, value: str) -> Request:
        return replace(self, params=tuple((n, value if n == name else v) for n, v in self.params))

    def drop(self, name: str) -> Request:
        return replace(self, params=tuple(p for p in self.params if p[0] != name))

    def with_headers(self, *headers: tuple[str, str]) -> Request:
        return replace(self, headers=(*self.headers, *headers))

    def content_type(self, *values: str) -> Request:
        kept = tuple(h for h in self.headers if h[0].lower() != "content-type")
        return replace(self, headers=(*kept, *(("Content-Type", v) for v in values)))

    def raw(self, edit: Callable[[bytes], bytes]) -> Request:
        return replace(self, raw_body=edit(self.body()))


def basic_header(client_id: str, secret: str, scheme: str = "Basic", separator: str = " ") -> tuple[str, str]:
    """RFC 6749 §2.3.1: each part form-urlencoded, joined with ':', base64."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return ("Authorization", f"{scheme}{separator}{base64.b64encode(raw).decode()}")


def basic_raw(raw: bytes) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(raw).decode())


def presented(principal: Principal, method: str) -> Request:
    if method == "basic":
        return Request().with_headers(basic_header(principal.client_id, principal.secret))
    return Request().add(("client_id", principal.client_id), ("client_secret", principal.secret))


def _set_event(**values: Any) -> Callable[[dict[str, Any]], None]:
    def tamper(event: dict[str, Any]) -> None:
        event.update(values)

    return tamper


def _single_value_headers_only(event: dict[str, Any]) -> None:
    event["multiValueHeaders"] = None


def _body_sent_base64(event: dict[str, Any]) -> None:
    event["body"] = base64.b64encode((event["body"] or "").encode()).decode()
    event["isBase64Encoded"] = True


def _json_body(request: Request) -> Request:
    return replace(request, raw_body=json.dumps(dict(request.params)).encode())


Spoil = Callable[[Request, Principal], Request]
Fault = tuple[str, Spoil, Outcome | Callable[[str], Outcome]]


def add(*params: tuple[str, str]) -> Spoil:
    return lambda r, p: r.add(*params)


def set_param(name: str, value: str) -> Spoil:
    return lambda r, p: r.set(name, value)


def append_raw(suffix: bytes) -> Spoil:
    return lambda r, p: r.raw(lambda body: body + suffix)


def content_type(*values: str) -> Spoil:
    return lambda r, p: r.content_type(*values)


def tamper(edit: Callable[[dict[str, Any]], None]) -> Spoil:
    return lambda r, p: replace(r, tamper=edit)


def event_values(**values: Any) -> Spoil:
    return tamper(_set_event(**values))


INVALID = refused("invalid_request")
CLIENT = refused("invalid_client")
SCOPE = after_auth("invalid_scope")
TARGET = after_auth("invalid_target")
FAULTS: list[Fault] = [
    # secrets and parameters in the query string (RFC 6749 §2.3.1, §3.2)
    ("query-client-secret", lambda r, p: replace(r, query=urlencode({"client_secret": p.secret})), INVALID),
    ("query-grant-type", lambda r, p: replace(r, query="grant_type=client_credentials"), INVALID),
    ("query-empty-parameter", lambda r, p: replace(r, query="x="), INVALID),
    # content types (RFC 6749 §4.4.2, Appendix B)
    ("content-type-missing", content_type(), INVALID),
    ("content-type-json", content_type("application/json"), INVALID),
    ("json-body", lambda r, p: _json_body(r.content_type("application/json")), INVALID),
    ("json-body-as-form", lambda r, p: _json_body(r), INVALID),
    ("content-type-text", content_type("text/plain"), INVALID),
    ("content-type-multipart", content_type("multipart/form-data; boundary=x"), INVALID),
    ("content-type-suffixed", content_type(FORM_TYPE + "x"), INVALID),
    ("content-type-twice", content_type(FORM_TYPE, FORM_TYPE), INVALID),
    ("content-type-comma-list", content_type(f"{FORM_TYPE}, application/json"), INVALID),
    ("content-type-nul", content_type(FORM_TYPE + "\x00"), INVALID),
    # sizes and counts
    ("body-over-4-kib", add(("pad", "a" * 4096)), INVALID),
    ("body-over-event-limit", append_raw(b"&pad=" + b"a" * 9000), INVALID),
    ("33-parameters", add(*((f"x{i}", "1") for i in range(33))), INVALID),
    # repeated parameters (RFC 6749 §3.2: MUST NOT be included more than once)
    ("grant-type-twice", add(GRANT), INVALID),
    ("scope-twice", add(("scope", "orders:read"), ("scope", "inventory:read")), INVALID),
    ("empty-then-full-scope", add(("scope", ""), ("scope", "orders:read")), INVALID),
    ("client-id-twice", lambda r, p: r.add(("client_id", p.client_id), ("client_id", p.client_id)), INVALID),
    ("authorization-twice", lambda r, p: r.with_headers(*[basic_header(p.client_id, p.secret)] * 2), INVALID),
    ("resource-and-audience", add(("resource", OTHER_AUDIENCE), ("audience", OTHER_AUDIENCE)), INVALID),
    # form syntax and encodings
    ("nameless-parameter", append_raw(b"&=orphan"), INVALID),
    ("percent-non-hex", append_raw(b"&scope=%zzorders"), INVALID),
    ("percent-truncated", append_raw(b"&scope=orders%3"), INVALID),
    ("percent-at-end", append_raw(b"&scope=%"), INVALID),
    ("percent-in-name", append_raw(b"&sc%ope=x"), INVALID),
    ("percent-not-utf8", append_raw(b"&scope=%FF%FE"), INVALID),
    ("percent-overlong-utf8", append_raw(b"&scope=%C0%AF"), INVALID),
    ("percent-surrogate", append_raw(b"&scope=%ED%A0%80"), INVALID),
    ("raw-utf8-text", append_raw("&scope=órders".encode()), INVALID),
    ("raw-latin1-bytes", append_raw(b"&scope=\xe9"), INVALID),
    ("raw-crlf", append_raw(b"\r\n"), INVALID),
    ("raw-tab", append_raw(b"&scope=\torders:read"), INVALID),
    ("raw-nul", append_raw(b"&x=\x00"), INVALID),
    ("raw-space", append_raw(b"&scope=orders:read inventory:read"), INVALID),
    ("invalid-base64-event-body", event_values(body="***", isBase64Encoded=True), INVALID),
    ("body-not-a-string", event_values(body={"grant_type": "client_credentials"}), INVALID),
    ("grant-type-missing", lambda r, p: r.drop("grant_type"), INVALID),
    ("grant-type-empty", set_param("grant_type", ""), INVALID),
    # ';' is data, not a separator (WHATWG URL): the grant type swallows everything after it
    (
        "semicolon-separators",
        lambda r, p: r.add(("scope", "orders:read")).raw(lambda b: b.replace(b"&", b";")),
        lambda method: BAD_GRANT if method == "basic" else CLIENT,
    ),
    # other grant types (RFC 6749 §5.2 unsupported_grant_type), before any store work
    ("grant-password", set_param("grant_type", "password"), BAD_GRANT),
    ("grant-authorization-code", set_param("grant_type", "authorization_code"), BAD_GRANT),
    ("grant-refresh-token", set_param("grant_type", "refresh_token"), BAD_GRANT),
    ("grant-jwt-bearer", set_param("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), BAD_GRANT),
    ("grant-upper-case", set_param("grant_type", "CLIENT_CREDENTIALS"), BAD_GRANT),
    ("grant-trailing-space", set_param("grant_type", "client_credentials "), BAD_GRANT),
    ("grant-trailing-nul", set_param("grant_type", "client_credentials\x00"), BAD_GRANT),
    ("grant-comma-list", set_param("grant_type", "client_credentials,password"), BAD_GRANT),
    # scope escalation and malformed scope (RFC 6749 §3.3, §5.2 invalid_scope)
    ("scope-not-granted", add(("scope", "orders:write")), SCOPE),
    ("scope-one-too-many", add(("scope", "orders:read orders:write")), SCOPE),
    ("scope-admin", add(("scope", "admin")), SCOPE),
    ("scope-wildcard", add(("scope", "*")), SCOPE),
    ("scope-prefix-wildcard", add(("scope", "orders:*")), SCOPE),
    ("scope-other-case", add(("scope", "ORDERS:READ")), SCOPE),
    ("scope-double-space", add(("scope", "orders:read  inventory:read")), SCOPE),
    ("scope-leading-space", add(("scope", " orders:read")), SCOPE),
    ("scope-quote", add(("scope", 'orders:read"')), SCOPE),
    ("scope-backslash", add(("scope", "orders:read\\")), SCOPE),
    ("scope-non-ascii", add(("scope", "órders:read")), SCOPE),
    ("scope-over-1-kib", add(("scope", " ".join(["orders:read"] * 100))), SCOPE),
    # audiences (RFC 8707 §2 invalid_target)
    ("resource-foreign", add(("resource", "https://attacker.test")), TARGET),
    ("resource-not-absolute", add(("resource", PARTNER_AUDIENCE)), TARGET),
    ("resource-with-fragment", add(("resource", OTHER_AUDIENCE + "#x")), TARGET),
    # malformed URIs (issue 14: "http://[" was a 500); every kind: tests/adversarial/test_malformed_uris.py
    ("resource-ipv6-unclosed", add(("resource", "http://[")), TARGET),
    ("resource-ipv6-garbage", add(("resource", "http://[::1]x")), TARGET),
    ("resource-port-not-a-number", add(("resource", "http://a:b")), TARGET),
    ("resource-nfkc-netloc", add(("resource", "http://\uff03x")), TARGET),
    ("audience-foreign", add(("audience", "https://attacker.test")), TARGET),
    # harmless variations: must still work
    ("nothing-wrong", lambda r, p: r, OK),
    ("unknown-parameters", add(("foo", "bar"), ("x", "1")), OK),
    ("empty-scope-is-omitted", add(("scope", "")), OK),
    ("empty-audience-is-omitted", add(("audience", "")), OK),
    ("scope-subset", add(("scope", "orders:read")), OK),
    ("scope-token-repeated", add(("scope", "orders:read orders:read")), OK),
    ("resource-allowed", add(("resource", OTHER_AUDIENCE)), OK),
    ("audience-allowed", add(("audience", PARTNER_AUDIENCE)), OK),
    ("grant-type-last", lambda r, p: replace(r, params=(*r.params[1:], r.params[0])), OK),
    ("grant-type-percent-encoded", lambda r, p: r.raw(_percent_encoded_grant_type), OK),
    ("empty-segments", lambda r, p: r.raw(lambda b: b"&&" + b.replace(b"&", b"&&") + b"&"), OK),
    ("content-type-charset", content_type(FORM_TYPE + "; charset=UTF-8"), OK),
    ("content-type-upper-case", content_type("Application/X-WWW-Form-Urlencoded"), OK),
    ("header-names-lower-case", lambda r, p: _lower_case_header_names(r), OK),
    ("single-value-headers-only", tamper(_single_value_headers_only), OK),
    ("body-sent-base64", tamper(_body_sent_base64), OK),
    # another method on the token path: 404 from the router, still no-store JSON
    ("method-get", event_values(httpMethod="GET"), refused("not_found")),
    ("method-put", event_values(httpMethod="PUT"), refused("not_found")),
]


def _percent_encoded_grant_type(body: bytes) -> bytes:
    return body.replace(b"client_credentials", b"client%5Fcredentials", 1)


def _lower_case_header_names(request: Request) -> Request:
    return replace(request, headers=tuple((name.lower(), value) for name, value in request.headers))


@dataclass(frozen=True)
class Shape:
    """How credentials are presented (beyond the plain basic/post of the main grid)."""

    name: str
    build: Callable[[Principal, TokenWorld], Request]
    outcome: Outcome
    breaks_auth: bool = False  # well-formed, but not the principal's own secret


def authorization(value: str) -> Callable[[Principal, TokenWorld], Request]:
    return lambda p, w: Request().with_headers(("Authorization", value))


def basic_of(raw: Callable[[Principal], bytes]) -> Callable[[Principal, TokenWorld], Request]:
    """Basic credentials whose decoded form is ``raw(principal)``."""
    return lambda p, w: Request().with_headers(
        ("Authorization", "Basic " + base64.b64encode(raw(p)).decode())
    )


def basic_as(
    secret: Callable[[Principal, TokenWorld], str] = lambda p, w: p.secret,
    scheme: str = "Basic",
    separator: str = " ",
) -> Callable[[Principal, TokenWorld], Request]:
    return lambda p, w: Request().with_headers(basic_header(p.client_id, secret(p, w), scheme, separator))


def post_as(
    client_id: Callable[[Principal], str] = lambda p: p.client_id,
    secret: Callable[[Principal], str] = lambda p: p.secret,
) -> Callable[[Principal, TokenWorld], Request]:
    return lambda p, w: Request().add(("client_id", client_id(p)), ("client_secret", secret(p)))


def basic_plus(*body: Callable[[Principal], tuple[str, str]]) -> Callable[[Principal, TokenWorld], Request]:
    return lambda p, w: presented(p, "basic").add(*(param(p) for param in body))


def _bad_length_basic(principal: Principal, world: TokenWorld) -> Request:
    """The Basic credentials without their padding, or one character short: not base64 any more."""
    name, value = basic_header(principal.client_id, principal.secret)
    return Request().with_headers((name, value.rstrip("=") if value.endswith("=") else value[:-1]))


def _other_secret(principal: Principal, world: TokenWorld) -> str:
    return next(
        p.secret
        for p in world.principals.values()
        if p.client_id != principal.client_id and p.secret != principal.secret and p.authenticates
    )


SHAPES: list[Shape] = [
    # RFC 6749 §2.3: the client MUST NOT use more than one authentication method
    Shape(
        "basic-and-post",
        basic_plus(lambda p: ("client_id", p.client_id), lambda p: ("client_secret", p.secret)),
        INVALID,
    ),
    Shape("basic-and-body-secret", basic_plus(lambda p: ("client_secret", p.secret)), INVALID),
    Shape("basic-and-other-body-client-id", basic_plus(lambda p: ("client_id", "someone-else")), INVALID),
    Shape("basic-and-same-body-client-id", basic_plus(lambda p: ("client_id", p.client_id)), OK),
    Shape("post-secret-without-id", lambda p, w: Request().add(("client_secret", p.secret)), INVALID),
    Shape("post-id-without-secret", lambda p, w: Request().add(("client_id", p.client_id)), CLIENT),
    Shape("no-credentials", lambda p, w: Request(), CLIENT),
    Shape("post-id-with-space", post_as(client_id=lambda p: p.client_id + " x"), CLIENT),
    Shape("post-id-over-128", post_as(client_id=lambda p: "c" * 129), CLIENT),
    Shape("post-id-control-char", post_as(client_id=lambda p: p.client_id + "\x01"), CLIENT),
    # Basic header syntax (RFC 7617 §2, RFC 6749 §2.3.1): malformed is invalid_client (401)
    Shape("basic-scheme-only", authorization("Basic"), CLIENT),
    Shape("basic-empty-credentials", authorization("Basic "), CLIENT),
    Shape("basic-not-base64", authorization("Basic !!!"), CLIENT),
    Shape("basic-bad-base64-length", _bad_length_basic, CLIENT),
    Shape("basic-no-colon", basic_of(lambda p: p.client_id.encode()), CLIENT),
    Shape("basic-empty-secret", basic_of(lambda p: p.client_id.encode() + b":"), CLIENT),
    Shape("basic-empty-id", basic_of(lambda p: b":" + p.secret.encode()), CLIENT),
    Shape("basic-bad-percent", basic_of(lambda p: p.client_id.encode() + b":%zz"), CLIENT),
    Shape("basic-not-utf8", basic_of(lambda p: p.client_id.encode() + b":\xff\xfe"), CLIENT),
    Shape("basic-over-2-kib", basic_as(secret=lambda p, w: p.secret + "x" * 2048), CLIENT),
    Shape("basic-tab-separator", basic_as(separator="\t"), CLIENT),
    Shape("bearer-instead-of-basic", authorization("Bearer abc.def.ghi"), CLIENT),
    Shape("digest-scheme", authorization('Digest username="x"'), CLIENT),
    # RFC 9110 §11.1: the scheme is case-insensitive; extra spaces before the credentials are tolerated
    Shape("basic-lower-case", basic_as(scheme="basic"), OK),
    Shape("basic-upper-case", basic_as(scheme="BASIC"), OK),
    Shape("basic-two-spaces", basic_as(separator="  "), OK),
    Shape("basic-lower-case-header-name", lambda p, w: _lower_case_header_names(presented(p, "basic")), OK),
    # well-formed, but not this principal's secret: authentication fails like any other failure
    Shape("secret-with-nul", post_as(secret=lambda p: p.secret + "\x00"), OK, breaks_auth=True),
    Shape("secret-trailing-space", post_as(secret=lambda p: p.secret + " "), OK, breaks_auth=True),
    Shape("secret-truncated", post_as(secret=lambda p: p.secret[:-1]), OK, breaks_auth=True),
    Shape("secret-upper-cased", basic_as(secret=lambda p, w: p.secret.upper()), OK, breaks_auth=True),
    Shape("secret-of-another-client", basic_as(secret=_other_secret), OK, breaks_auth=True),
    Shape("secret-3-kib", post_as(secret=lambda p: p.secret * 60), OK, breaks_auth=True),
]

# What follows a credential shape in the second grid: which stage wins must not depend on the shape.
TRAILERS: list[tuple[str, Callable[[Request], Request], Outcome]] = [
    ("plain", lambda r: r, OK),
    ("grant-password", lambda r: r.set("grant_type", "password"), BAD_GRANT),
    ("scope-escalation", lambda r: r.add(("scope", "orders:write")), after_auth("invalid_scope")),
]


def expected(outcome: Outcome, principal: Principal, *, breaks_auth: bool = False) -> tuple[int, str | None]:
    """The documented order of checks (module docstring) applied to one request."""
    if outcome.stage is Stage.REQUEST:
        assert outcome.error is not None
        status = {"invalid_client": 401, "not_found": 404}.get(outcome.error, 400)
        return status, outcome.error
    if outcome.stage is Stage.GRANT_TYPE:
        return 400, "unsupported_grant_type"
    if breaks_auth or not principal.authenticates:
        return 401, "invalid_client"
    if not principal.may_use_grant:
        return 400, "unauthorized_client"
    if outcome.stage is Stage.AFTER_AUTH:
        return 400, outcome.error
    return 200, None


@dataclass(frozen=True)
class Case:
    name: str
    request: Request
    status: int
    error: str | None


def generated_cases(world: TokenWorld) -> Iterator[Case]:
    for principal in world.principals.values():
        for method in ("basic", "post"):
            for name, spoil, outcome in FAULTS:
                request = spoil(presented(principal, method), principal)
                resolved = outcome(method) if callable(outcome) else outcome
                yield Case(f"{principal.name}/{method}/{name}", request, *expected(resolved, principal))
        for shape in SHAPES:
            for trailer, spoil_more, trailing in TRAILERS:
                request = spoil_more(shape.build(principal, world))
                outcome = shape.outcome if shape.outcome.stage is Stage.REQUEST else trailing
                status, error = expected(outcome, principal, breaks_auth=shape.breaks_auth)
                yield Case(f"{principal.name}/{shape.name}/{trailer}", request, status, error)


def send(world: TokenWorld, request: Request) -> Reply:
    event = world.endpoint.event(request.body(), request.headers, request.query)
    if request.tamper is not None:
        request.tamper(event)
    return world.endpoint.invoke(event)


def problems_with(reply: Reply, status: int, error: str | None, secrets: list[str]) -> list[str]:
    """Everything wrong with one answer (empty when it is exactly as documented)."""
    found: list[str] = []
    if reply.status != status:
        found.append(f"status {reply.status} != {status}")
    # RFC 6749 §5.1/§5.2: JSON, never cached
    if reply.header("Cache-Control") != "no-store" or reply.header("Pragma") != "no-cache":
        found.append("not no-store/no-cache")
    if reply.header("Content-Type") != "application/json;charset=UTF-8":
        found.append(f"content type {reply.header('Content-Type')}")
    if b"Traceback" in reply.body or b'File "' in reply.body:
        found.append("stack trace in the body")
    everything = reply.body.decode("utf-8", "replace") + json.dumps(dict(reply.headers))
    if any(secret in everything for secret in secrets):
        found.append("a client secret is echoed")
    try:
        body = reply.json()
    except ValueError:
        return [*found, "body is not JSON"]
    if error is None:
        if not isinstance(body.get("access_token"), str) or body.get("token_type") != "Bearer":
            found.append("no bearer token in a 200")
        return found
    return found + error_body_problems(reply, body, error)


def error_body_problems(reply: Reply, body: dict[str, Any], error: str) -> list[str]:
    """RFC 6749 §5.2: "error", an optional ASCII "error_description" (nothing from the request), and a
    challenge on a 401 (RFC 9110 §11.6.1)."""
    found: list[str] = []
    if body.get("error") != error:
        found.append(f"error {body.get('error')!r} != {error!r}")
    if not set(body) <= {"error", "error_description"}:
        found.append(f"extra members {sorted(set(body) - {'error', 'error_description'})}")
    if not DESCRIPTION.fullmatch(str(body.get("error_description", ""))):
        found.append("error_description outside RFC 6749 §5.2's character set")
    if reply.status == 401 and not (reply.header("WWW-Authenticate") or "").startswith("Basic "):
        found.append("401 without a Basic challenge")
    return found


def test_the_matrix_is_generated_not_hand_picked(token_world: TokenWorld) -> None:
    cases = list(generated_cases(token_world))
    outcomes = {(c.status, c.error) for c in cases}
    assert len(cases) >= 1000
    assert len({c.name for c in cases}) == len(cases)
    # every §5.2 code the endpoint can give appears, and so does success (the positive control)
    assert {e for _, e in outcomes} >= {
        None, "invalid_request", "invalid_client", "unsupported_grant_type", "unauthorized_client",
        "invalid_scope", "invalid_target",
    }  # fmt: skip


def test_every_hostile_request_gets_its_exact_error_and_changes_nothing_stored(
    token_world: TokenWorld,
) -> None:
    world = token_world
    before = world.snapshot("ClientsTable", "SigningKeysTable")
    secrets = world.secrets()
    wrong: list[str] = []
    issued: list[str] = []
    cases = list(generated_cases(world))
    verifier = world.verifier()
    for case in cases:
        world.forget_failures()  # the throttle (429) has its own tests: tests/token_issuer/test_throttle.py
        reply = send(world, case.request)
        wrong += [
            f"{case.name}: {problem}" for problem in problems_with(reply, case.status, case.error, secrets)
        ]
        if reply.status == 200:
            token = reply.json()["access_token"]
            issued.append(token)
            # every token the matrix got verifies against the published JWKS (the positive control)
            assert verifier.verify(token).client_id == world.principals["valid"].client_id, case.name
    assert wrong == []
    # Then no registered client and no signing key changed (AuthAttemptsTable: counted failures, by design)
    assert world.snapshot("ClientsTable", "SigningKeysTable") == before
    assert len(issued) == sum(1 for case in cases if case.status == 200)
    # And no secret reached a log line
    logged = "\n".join(world.logs.lines)
    assert [p.name for p in world.principals.values() if p.secret in logged] == []
    assert not [t for t in issued if t.split(".")[2] in logged]


# -- generated by hypothesis ---------------------------------------------------------------------------
HEADER_NAMES = st.sampled_from(
    ["Content-Type", "content-type", "Authorization", "AUTHORIZATION", "X-Forwarded-For"]
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [FORM_TYPE, FORM_TYPE + ";charset=UTF-8", "application/json", "text/plain", "", "multipart/form-data"]
    ),
    st.text(max_size=40),
)
PARAM_NAMES = st.one_of(
    st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "resource", "audience", ""]),
    st.text(max_size=12),
)
HostileRequest = tuple[bytes, list[tuple[str, str]], str, bool]
# Parameter edits are listed twice: they reach the later checks (grant, authentication, scope) more often.
MUTATIONS = st.sampled_from(
    ["add", "drop", "change", "add", "drop", "change", "repeat", "type", "header", "query", "bytes"]
)


@st.composite
def hostile_requests(draw: st.DrawFn, principals: list[Principal]) -> HostileRequest:
    """A request of some principal (either method), then up to four random mutations of its parameters,
    headers, content type, query string or raw body bytes: valid pieces and junk, mixed by hypothesis."""
    principal = draw(st.sampled_from(principals))
    values = st.one_of(
        st.sampled_from(
            ["client_credentials", principal.client_id, principal.secret, "orders:read", PARTNER_AUDIENCE, ""]
        ),
        st.text(max_size=30),
    )
    request = presented(principal, draw(st.sampled_from(["basic", "post"])))
    params, headers = list(request.params), list(request.headers)
    query, body_edits = "", []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(MUTATIONS)
        if kind == "add":
            params.append((draw(PARAM_NAMES), draw(values)))
        elif kind in {"drop", "change", "repeat"} and params:
            index = draw(st.integers(0, len(params) - 1))
            if kind == "drop":
                del params[index]
            elif kind == "change":
                params[index] = (params[index][0], draw(values))
            else:
                params.append(params[index])
        elif kind == "type":
            headers = [h for h in headers if h[0].lower() != "content-type"]
            headers += [("Content-Type", value) for value in draw(st.lists(CONTENT_TYPES, max_size=2))]
        elif kind == "header":
            name = draw(HEADER_NAMES)
            value = draw(
                st.one_of(
                    st.just(basic_header(principal.client_id, principal.secret)[1]),
                    st.builds(lambda s: "Basic " + s, st.text(max_size=40)),
                    st.text(max_size=40),
                )
            )
            headers.append((name, value))
        elif kind == "query":
            query = draw(st.sampled_from(["client_secret=" + principal.secret, "a=1", "grant_type="]))
        elif kind == "bytes":
            body_edits.append((draw(st.integers(0, 400)), draw(st.binary(min_size=0, max_size=4))))
    body = urlencode(params).encode()
    for position, insert in body_edits:
        body = body[:position] + insert + body[position + 1 :]
    return body, headers, query, draw(st.booleans())


def carries_valid_credentials(world: TokenWorld, body: bytes, headers: list[tuple[str, str]]) -> bool:
    valid = world.principals["valid"]
    secrets = [valid.secret, quote(valid.secret, safe=""), basic_header(valid.client_id, valid.secret)[1]]
    text = body.decode("latin-1") + "".join(v for _, v in headers)
    return any(s in text for s in secrets)


def test_any_request_is_a_section_5_2_error_or_a_token_for_the_valid_shape(token_world: TokenWorld) -> None:
    world = token_world
    before = world.snapshot("ClientsTable", "SigningKeysTable")
    verifier = world.verifier()
    valid = world.principals["valid"]

    @settings(max_examples=300, deadline=None)
    @given(request=hostile_requests(list(world.principals.values())))
    def any_request(request: HostileRequest) -> None:
        body, headers, query, single_valued = request
        world.forget_failures()
        event = world.endpoint.event(body, headers, query)
        if single_valued:
            event["multiValueHeaders"] = None
        reply = world.endpoint.invoke(event)
        # Never a 500, never anything but JSON that is not cached
        assert reply.status in {200, 400, 401}
        assert reply.header("Cache-Control") == "no-store"
        document = reply.json()
        if reply.status == 200:
            # only the one valid shape gets a token: the real secret of the client that may use the grant
            assert carries_valid_credentials(world, body, headers)
            assert verifier.verify(document["access_token"]).client_id == valid.client_id
        else:
            assert document["error"] in SECTION_5_2_ERRORS
            assert set(document) <= {"error", "error_description"}
            assert not any(secret in reply.body.decode() for secret in world.secrets())

    any_request()
    # Then, after every generated request, no client and no key changed
    assert world.snapshot("ClientsTable", "SigningKeysTable") == before


@st.composite
def harmless_variations(draw: st.DrawFn, principal: Principal) -> tuple[bytes, list[tuple[str, str]]]:
    """The valid request, reordered, re-cased, with unknown and empty parameters: meaning unchanged."""
    params = [GRANT, ("scope", draw(st.sampled_from(["", "orders:read", "inventory:read orders:read"])))]
    params += draw(
        st.lists(
            st.tuples(
                st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(
                    lambda n: (
                        n not in {"grant_type", "client_id", "client_secret", "scope", "resource", "audience"}
                    )
                ),
                st.text(alphabet="abcdefghij0123456789-._~", max_size=10),
            ),
            max_size=4,
            unique_by=lambda p: p[0],
        )
    )
    use_basic = draw(st.booleans())
    if not use_basic:
        params += [("client_id", principal.client_id), ("client_secret", principal.secret)]
    params = draw(st.permutations(params))
    body = urlencode(params).encode()
    if draw(st.booleans()):  # unreserved characters may be percent-encoded all the same
        body = body.replace(b"_", b"%5F").replace(b"-", b"%2D")
    content_type = draw(st.sampled_from([FORM_TYPE, FORM_TYPE.upper(), FORM_TYPE + "; charset=UTF-8"]))
    headers = [(draw(st.sampled_from(["Content-Type", "content-type", "CONTENT-TYPE"])), content_type)]
    if use_basic:
        scheme = draw(st.sampled_from(["Basic", "basic", "BASIC"]))
        name = draw(st.sampled_from(["Authorization", "authorization"]))
        headers.append((name, basic_header(principal.client_id, principal.secret, scheme)[1]))
    return body, draw(st.permutations(headers))


def test_the_valid_request_in_any_harmless_variation_gets_a_token(token_world: TokenWorld) -> None:
    world = token_world
    valid = world.principals["valid"]
    verifier = world.verifier()

    @settings(max_examples=60, deadline=None)
    @given(request=harmless_variations(valid))
    def harmless(request: tuple[bytes, list[tuple[str, str]]]) -> None:
        reply = world.endpoint.post(*request)
        assert reply.status == 200, reply.body
        try:
            verified = verifier.verify(reply.json()["access_token"])
        except TokenRejected as rejected:  # pragma: no cover - reported with its reason
            pytest.fail(f"issued token rejected: {rejected.reason}")
        assert verified.client_id == valid.client_id

    harmless()
