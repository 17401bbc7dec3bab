"""HttpJwksFetcher's rules that the loopback-HTTP tests cannot reach (partnerauth.jwks_fetch): TLS with
certificate checks (RFC 8725 §3.10), where a URI is fetched from, the timeout every connection carries, the
total deadline to the second, how far a body is read, when an ETag is forgotten (RFC 9110 §8.8.3).

An HTTPS server on 127.0.0.1 with a throwaway self-signed certificate (one per module), and fake
connections driven by an injected clock: no sleeps, nothing off the machine.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from partnerauth import jwks_fetch
from partnerauth.errors import JwksFetchError
from partnerauth.jwks_fetch import HttpJwksFetcher

DOCUMENT: dict[str, list[object]] = {"keys": []}
TIMEOUT = 2.0


# -- an HTTPS server with a certificate nobody trusts but the test ------------------------------------------
def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        body = json.dumps(DOCUMENT).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a refused handshake is the point of one test


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    cert_file, key_file = _self_signed(tmp_path_factory.mktemp("tls"))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/jwks.json", cert_file
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_an_https_uri_is_fetched_over_tls_with_the_context_given(https_server: tuple[str, Path]) -> None:
    uri, cert_file = https_server
    trusting = ssl.create_default_context(cafile=str(cert_file))
    assert HttpJwksFetcher(timeout=TIMEOUT, ssl_context=trusting).fetch(uri) == DOCUMENT


def test_by_default_a_certificate_nobody_vouches_for_is_refused(https_server: tuple[str, Path]) -> None:
    # RFC 8725 §3.10: certificate and host name verification are on
    uri, _ = https_server
    with pytest.raises(JwksFetchError) as caught:
        HttpJwksFetcher(timeout=TIMEOUT).fetch(uri)
    assert str(caught.value) == jwks_fetch.CONNECTION_FAILED


# -- where a URI is fetched from ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("uri", "https", "host", "port", "path"),
    [
        ("https://auth.example.test/jwks", True, "auth.example.test", 443, "/jwks"),
        ("https://auth.example.test", True, "auth.example.test", 443, "/"),
        ("https://auth.example.test?tenant=a", True, "auth.example.test", 443, "/?tenant=a"),
        ("https://auth.example.test:8443/j?x=1", True, "auth.example.test", 8443, "/j?x=1"),
        ("http://127.0.0.1/jwks", False, "127.0.0.1", 80, "/jwks"),
        ("http://[::1]/jwks", False, "::1", 80, "/jwks"),  # explicit: http.client would read "::1" as port 1
        ("http://localhost:3000", False, "localhost", 3000, "/"),
    ],
)
def test_a_uri_is_fetched_from_its_scheme_host_port_and_path(
    uri: str, https: bool, host: str, port: int, path: str
) -> None:
    target = jwks_fetch._target(uri)
    assert target is not None
    assert (target.https, target.host, target.port, target.path) == (https, host, port, path)
    assert target.https is https


@pytest.mark.parametrize(
    "uri", ["https://user@auth.example.test/jwks", "https://:secret@auth.example.test/jwks"]
)
def test_any_user_info_is_refused(uri: str) -> None:
    assert not jwks_fetch.is_fetchable_jwks_uri(uri)


@pytest.mark.parametrize("uri", ["https://auth.example.test/jwks", "http://127.0.0.1:3000/jwks"])
def test_every_connection_carries_the_timeout(uri: str) -> None:
    # name resolution, connect and the TLS handshake are bounded by it (the watchdog covers the rest)
    fetcher = HttpJwksFetcher(timeout=1.5)
    target = jwks_fetch._target(uri)
    assert target is not None
    connection = fetcher._connection(target)
    assert isinstance(connection, http.client.HTTPSConnection) is target.https
    assert connection.timeout == 1.5
    assert (connection.host, connection.port) == (target.host, target.port)


def test_the_smallest_cap_is_one_byte() -> None:
    assert HttpJwksFetcher(max_bytes=1)._max_bytes == 1


# -- fake connections on an injected clock ------------------------------------------------------------------
class FakeResponse:
    """What http.client's response offers the fetcher; serves at most ``per_read`` bytes per read1."""

    def __init__(self, body: bytes, status: int = 200, per_read: int = 4, **headers: str) -> None:
        self.status = status
        self.body = body
        self.per_read = per_read
        self.served = 0
        self.headers = {name.replace("_", "-").lower(): value for name, value in headers.items()}

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)  # case-insensitive, as http.client's

    def read1(self, size: int) -> bytes:
        chunk = self.body[self.served : self.served + min(size, self.per_read)]
        self.served += len(chunk)
        return chunk

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *_: object) -> None:
        pass


class FakeConnection:
    sock = None

    def __init__(self, answer: FakeResponse | BaseException, clock: Any = None, takes: float = 0.0) -> None:
        self.answer = answer
        self.clock = clock
        self.takes = takes
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, headers: dict[str, str]) -> None:
        self.headers = dict(headers)

    def getresponse(self) -> FakeResponse:
        if self.clock is not None:
            self.clock.now += self.takes
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    def close(self) -> None:
        pass


class FakeTime:
    def __init__(self) -> None:
        self.now = 5000.0

    def monotonic(self) -> float:
        return self.now


URI = "https://auth.example.test/jwks"


def fetcher_over(
    monkeypatch: pytest.MonkeyPatch, *connections: FakeConnection, **options: Any
) -> HttpJwksFetcher:
    fetcher = HttpJwksFetcher(timeout=TIMEOUT, **options)
    queue = list(connections)
    monkeypatch.setattr(fetcher, "_connection", lambda target: queue.pop(0))
    return fetcher


def failure(fetcher: HttpJwksFetcher) -> str:
    with pytest.raises(JwksFetchError) as caught:
        fetcher.fetch(URI)
    return str(caught.value)


def test_a_socket_timeout_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    fetcher = fetcher_over(monkeypatch, FakeConnection(TimeoutError("timed out")))
    assert failure(fetcher) == jwks_fetch.TIMED_OUT


def test_an_answer_complete_exactly_at_the_deadline_is_taken_and_one_later_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeTime()
    monkeypatch.setattr(jwks_fetch, "time", SimpleNamespace(monotonic=clock.monotonic))
    body = json.dumps(DOCUMENT).encode()
    on_time = FakeConnection(FakeResponse(body), clock, takes=TIMEOUT)
    late = FakeConnection(FakeResponse(body), clock, takes=TIMEOUT + 0.001)
    fetcher = fetcher_over(monkeypatch, on_time, late)
    assert fetcher.fetch(URI) == DOCUMENT
    assert failure(fetcher) == jwks_fetch.TIMED_OUT


def test_the_body_is_read_no_further_than_one_byte_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    endless = FakeResponse(b"[" * 1000, per_read=4)
    fetcher = fetcher_over(monkeypatch, FakeConnection(endless), max_bytes=10)
    assert failure(fetcher) == jwks_fetch.TOO_LARGE
    assert endless.served == 11


def test_a_body_of_exactly_the_cap_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"keys":[]}'
    fetcher = fetcher_over(monkeypatch, FakeConnection(FakeResponse(body, per_read=3)), max_bytes=len(body))
    assert fetcher.fetch(URI) == DOCUMENT


def test_an_answer_without_an_etag_forgets_the_last_one(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps(DOCUMENT).encode()
    tagged = FakeConnection(FakeResponse(body, ETag='"v1"'))
    untagged = FakeConnection(FakeResponse(body))
    after = FakeConnection(FakeResponse(body))
    fetcher = fetcher_over(monkeypatch, tagged, untagged, after)
    for _ in range(3):
        fetcher.fetch(URI)
    assert untagged.headers.get("If-None-Match") == '"v1"'
    assert "If-None-Match" not in after.headers  # RFC 9110 §13.1.2: nothing to revalidate against


@pytest.mark.parametrize(("length", "kept"), [(256, True), (257, False)])
def test_an_etag_of_up_to_256_characters_is_kept(length: int, kept: bool) -> None:
    tag = '"' + "a" * (length - 2) + '"'
    assert (jwks_fetch._entity_tag(tag) == tag) is kept


def test_the_watchdog_firing_on_a_socket_already_closed_raises_nothing() -> None:
    closed = socket.socket()
    closed.close()
    watchdog = jwks_fetch._Watchdog(SimpleNamespace(sock=closed), 60)  # type: ignore[arg-type]
    watchdog._fire()
    assert watchdog.fired is True


@pytest.mark.parametrize("declared", ["+11", "1_1", "11a", "0x0b"])
def test_a_content_length_of_anything_but_ascii_digits_is_refused(
    monkeypatch: pytest.MonkeyPatch, declared: str
) -> None:
    # RFC 9110 §8.6: Content-Length = 1*DIGIT; int() alone would read "+11" and "1_1" as 11
    body = b'{"keys":[]}'
    fetcher = fetcher_over(monkeypatch, FakeConnection(FakeResponse(body, Content_Length=declared)))
    assert failure(fetcher) == jwks_fetch.CONNECTION_FAILED


@pytest.mark.parametrize(
    ("cut_by_the_watchdog", "expected"),
    [(True, jwks_fetch.TIMED_OUT), (False, jwks_fetch.CONNECTION_FAILED)],
    ids=["watchdog fired", "peer reset"],
)
def test_a_reset_caused_by_the_deadline_watchdog_is_a_timeout_and_any_other_reset_a_connection_failure(
    monkeypatch: pytest.MonkeyPatch, cut_by_the_watchdog: bool, expected: str
) -> None:
    # Deterministic: no timer thread races the socket's own timeout (a loopback test under load once took
    # the TimeoutError path instead, and make mutate let "fired -> connection failure" through).
    watchdogs: list[jwks_fetch._Watchdog] = []

    class FiredByTheTest(jwks_fetch._Watchdog):
        def __enter__(self) -> FiredByTheTest:
            watchdogs.append(self)
            return self

    class CutConnection(FakeConnection):
        def getresponse(self) -> FakeResponse:
            if cut_by_the_watchdog:
                watchdogs[-1]._fire()
            raise ConnectionResetError("reset")

    monkeypatch.setattr(jwks_fetch, "_Watchdog", FiredByTheTest)
    fetcher = fetcher_over(monkeypatch, CutConnection(FakeResponse(b"")))
    assert failure(fetcher) == expected
