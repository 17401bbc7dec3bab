"""HttpJwksFetcher against a real HTTP server on 127.0.0.1: https-only policy, size cap,
total deadline, strict JSON, no redirects, and error messages that never carry the body."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from partnerauth import jwks_fetch
from partnerauth.errors import JwksFetchError
from partnerauth.jwks_cache import JwksCache
from partnerauth.jwks_fetch import HttpJwksFetcher, is_fetchable_jwks_uri
from partnerauth.keys import SigningKey

MAX_BYTES = 1024
SLOW_TIMEOUT = 0.2  # the deadline of the slow-server tests; the servers below stall far longer
SECRET_MARKER = "body-marker-that-must-never-appear-in-an-error"
ENDLESS_TOTAL = 64 * 1024 * 1024
STALL_LIMIT = 5.0  # every stalling handler gives up after this, or at teardown, whichever is first


class JwksServer:
    """What the handler serves and what it saw.  ``release`` ends every stall at teardown."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.request_headers: dict[str, dict[str, str]] = {}
        self.release = threading.Event()
        self.endless_sent = 0
        self.endless_done = threading.Event()
        self.trickle_completed: bool | None = None
        self.trickle_done = threading.Event()
        self.base = ""
        self.etag = '"v1"'


def _padded_json(size: int) -> bytes:
    """A valid JSON object of exactly ``size`` bytes."""
    skeleton = b'{"keys":[],"pad":""}'
    return skeleton[:-2] + b"x" * (size - len(skeleton)) + b'"}'


class Handler(BaseHTTPRequestHandler):
    """Serves ``state.documents`` and the misbehaving routes in ``ROUTES``."""

    protocol_version = "HTTP/1.1"
    state: JwksServer  # set on a subclass per test

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        self.state.hits[self.path] += 1
        self.state.request_headers[self.path] = dict(self.headers.items())
        route = ROUTES.get(self.path)
        if route is not None:
            route(self)
        elif self.path in self.state.documents:
            self.send_body(self.state.documents[self.path])
        else:
            self.send_body(b"{}", status=404)

    def send_body(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def stall(self) -> None:
        self.state.release.wait(STALL_LIMIT)

    def trickle(self, data: bytes) -> None:
        """One byte every 10 ms: each read is quick, the whole is far past the deadline."""
        self.state.trickle_completed = False
        try:
            for byte in data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                self.state.release.wait(0.01)
            self.state.trickle_completed = True
        except OSError:
            pass  # the client hung up
        finally:
            self.state.trickle_done.set()


def exact(h: Handler) -> None:
    h.send_body(_padded_json(MAX_BYTES))


def over_by_one(h: Handler) -> None:
    h.send_body(_padded_json(MAX_BYTES + 1))


def over_by_one_chunked(h: Handler) -> None:
    body = _padded_json(MAX_BYTES + 1)
    h.send_response(200)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    for part in (body[:500], body[500:]):
        h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    h.wfile.write(b"0\r\n\r\n")


def endless(h: Handler) -> None:
    """Chunked, no Content-Length, until the client hangs up (or 64 MiB)."""
    h.send_response(200)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"[" * 16384
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    try:
        while h.state.endless_sent < ENDLESS_TOTAL:
            h.wfile.write(frame)
            h.state.endless_sent += len(chunk)
    except OSError:
        pass  # the client hung up
    finally:
        h.state.endless_done.set()


def declared_huge(h: Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(10**9))
    h.end_headers()
    h.wfile.flush()
    h.stall()


def malformed_length(h: Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "12abc")
    h.end_headers()
    h.wfile.write(b'{"keys": []}')


def trickle_headers(h: Handler) -> None:
    body = b'{"keys": []}'
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"p" * 300 + b"\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    h.close_connection = True
    h.trickle(head + body)


def trickle_body(h: Handler) -> None:
    body = b'{"keys": [], "pad": "' + b"p" * 300 + b'"}'
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.flush()
    h.trickle(body)


def error_500(h: Handler) -> None:
    h.send_body(json.dumps({"error": SECRET_MARKER}).encode(), status=500)


def redirect(h: Handler) -> None:
    h.send_body(b"", status=302, Location=f"{h.state.base}/jwks.json")


def gzipped(h: Handler) -> None:
    h.send_body(gzip.compress(b'{"keys": []}'), Content_Encoding="gzip")


def garbage(h: Handler) -> None:
    h.send_body(f"<html>{SECRET_MARKER}</html>".encode())


def revalidated(h: Handler) -> None:
    """Like an issuer's JWKS endpoint: an ETag, and 304 with no body when If-None-Match names it."""
    body, tag = h.state.documents["/jwks.json"], h.state.etag
    if h.headers.get("If-None-Match") == tag:
        h.send_response(304)
        h.send_header("ETag", tag)
        h.end_headers()
        return
    h.send_body(body, ETag=tag)


def unasked_304(h: Handler) -> None:
    h.send_response(304)
    h.end_headers()


ROUTES: dict[str, Callable[[Handler], None]] = {
    "/revalidated": revalidated,
    "/unasked-304": unasked_304,
    "/exact": exact,
    "/over-by-one": over_by_one,
    "/over-by-one-chunked": over_by_one_chunked,
    "/endless": endless,
    "/declared-huge": declared_huge,
    "/malformed-length": malformed_length,
    "/stall": Handler.stall,
    "/trickle-headers": trickle_headers,
    "/trickle-body": trickle_body,
    "/500": error_500,
    "/redirect": redirect,
    "/gzip": gzipped,
    "/garbage": garbage,
}


@pytest.fixture
def server(jwks: dict[str, Any]) -> Iterator[JwksServer]:
    state = JwksServer()
    state.documents["/jwks.json"] = json.dumps(jwks).encode()
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(STALL_LIMIT)


@pytest.fixture
def fetcher() -> HttpJwksFetcher:
    return HttpJwksFetcher(timeout=2.0, max_bytes=MAX_BYTES * 64)


def fetch_error(fetcher: HttpJwksFetcher, uri: str) -> JwksFetchError:
    with pytest.raises(JwksFetchError) as caught:
        fetcher.fetch(uri)
    error = caught.value
    # Fixed messages only; nothing of the response, not even through the exception chain.
    assert SECRET_MARKER not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None
    return error


# --- the happy path -------------------------------------------------------------------


def test_fetches_and_parses_a_jwks_over_loopback_http(
    server: JwksServer, fetcher: HttpJwksFetcher, jwks: dict[str, Any]
) -> None:
    assert fetcher.fetch(f"{server.base}/jwks.json") == jwks


def test_asks_for_json_and_no_compression(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    fetcher.fetch(f"{server.base}/jwks.json")
    headers = {name.lower(): value for name, value in server.request_headers["/jwks.json"].items()}
    # RFC 7517 §8.5: a JWK Set is JSON; we also accept its own media type
    assert headers["accept"].startswith("application/json")
    assert headers["accept-encoding"] == "identity"


def test_every_request_asks_caches_on_the_way_to_revalidate(
    server: JwksServer, fetcher: HttpJwksFetcher
) -> None:
    fetcher.fetch(f"{server.base}/jwks.json")
    headers = {name.lower(): value for name, value in server.request_headers["/jwks.json"].items()}
    # RFC 9111 §5.2.1.4: a shared cache must not answer with its stored copy without the origin's say
    assert headers["cache-control"] == "no-cache"
    assert "if-none-match" not in headers  # nothing remembered yet (the server sent no ETag)


def test_an_unchanged_set_is_revalidated_with_if_none_match_and_not_downloaded_again(
    server: JwksServer, fetcher: HttpJwksFetcher, jwks: dict[str, Any]
) -> None:
    uri = f"{server.base}/revalidated"
    first = fetcher.fetch(uri)
    assert first == jwks
    # RFC 9110 §13.1.2: the next request names the tag; the server's 304 returns the same document
    assert fetcher.fetch(uri) is first
    assert server.request_headers["/revalidated"]["If-None-Match"] == '"v1"'
    # When the set changes (a new tag): the full document is read again and remembered under its tag
    server.documents["/jwks.json"] = json.dumps({"keys": []}).encode()
    server.etag = '"v2"'
    assert fetcher.fetch(uri) == {"keys": []}
    assert fetcher.fetch(uri) == {"keys": []}
    assert server.request_headers["/revalidated"]["If-None-Match"] == '"v2"'
    assert server.hits["/revalidated"] == 4


def test_a_304_that_was_not_asked_for_is_a_bad_status(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/unasked-304")) == jwks_fetch.BAD_STATUS


def test_a_malformed_etag_is_not_sent_back(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    uri = f"{server.base}/revalidated"
    server.etag = "v1-unquoted\u0001"
    fetcher.fetch(uri)
    fetcher.fetch(uri)
    assert "If-None-Match" not in server.request_headers["/revalidated"]


def test_localhost_by_name_is_loopback_too(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    port = server.base.rsplit(":", 1)[1]
    assert "keys" in fetcher.fetch(f"http://localhost:{port}/jwks.json")


def test_a_body_of_exactly_max_bytes_is_accepted(server: JwksServer) -> None:
    document = HttpJwksFetcher(timeout=2.0, max_bytes=MAX_BYTES).fetch(f"{server.base}/exact")
    assert document["keys"] == []


def test_a_cache_over_the_real_fetcher_keeps_its_keys_when_the_server_turns_to_garbage(
    server: JwksServer, fetcher: HttpJwksFetcher, rsa_key: SigningKey
) -> None:
    # Given a cache that fetched the set once
    now = [0.0]
    cache = JwksCache(fetcher, max_age=60, cooldown=10, clock=lambda: now[0])
    uri = f"{server.base}/jwks.json"
    assert cache.key_for(uri, rsa_key.kid).kid == rsa_key.kid
    # When the set expires and the endpoint now serves garbage
    server.documents["/jwks.json"] = b"<html>maintenance</html>"
    now[0] = 61.0
    # Then the refresh is tried, fails, and the last good key is still served
    assert cache.key_for(uri, rsa_key.kid).kid == rsa_key.kid
    assert server.hits["/jwks.json"] == 2


# --- which URIs we fetch at all ---------------------------------------------------------

ACCEPTED = [
    "https://auth.example.test/.well-known/jwks.json",
    "https://auth.example.test:8443/jwks?tenant=a",
    "http://127.0.0.1:3000/.well-known/jwks.json",
    "http://127.8.9.10/jwks",
    "http://localhost:3000/jwks",
    "http://[::1]:3000/jwks",
]
REFUSED = [
    "http://auth.example.test/.well-known/jwks.json",  # plain http off loopback
    "http://10.0.0.1/jwks",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/jwks",
    "http://127.0.0.1.example.test/jwks",
    "http://localhost.example.test/jwks",
    "ftp://127.0.0.1/jwks",
    "file:///etc/passwd",
    "https://user:password@auth.example.test/jwks",  # no credentials in a configured URI
    "https://auth.example.test/jwks#fragment",
    "https:///jwks",
    "https://auth.example.test:99999/jwks",
    "https://auth.example.test/a b",
    "https://auth.example.test/caf\u00e9",
    "",
    "not a uri",
]


@pytest.mark.parametrize("uri", ACCEPTED)
def test_https_and_loopback_http_uris_are_fetchable(uri: str) -> None:
    assert is_fetchable_jwks_uri(uri)


@pytest.mark.parametrize("uri", REFUSED)
def test_other_uris_are_refused_without_any_lookup_or_connection(
    uri: str, fetcher: HttpJwksFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    # RFC 8725 §3.10 / RFC 8414 §2: keys only from an https jwks_uri (loopback excepted, for tests)
    assert not is_fetchable_jwks_uri(uri)
    assert str(fetch_error(fetcher, uri)) == jwks_fetch.URI_REFUSED
    assert attempts == []


# --- responses we refuse ------------------------------------------------------------------


def test_a_declared_content_length_over_the_cap_is_refused_before_reading(server: JwksServer) -> None:
    fetcher = HttpJwksFetcher(timeout=2.0, max_bytes=MAX_BYTES)
    assert str(fetch_error(fetcher, f"{server.base}/over-by-one")) == jwks_fetch.TOO_LARGE
    # The huge one sends no body at all: only the header can have refused it (not a timeout).
    assert str(fetch_error(fetcher, f"{server.base}/declared-huge")) == jwks_fetch.TOO_LARGE


def test_a_chunked_body_one_byte_over_the_cap_is_refused(server: JwksServer) -> None:
    fetcher = HttpJwksFetcher(timeout=2.0, max_bytes=MAX_BYTES)
    assert str(fetch_error(fetcher, f"{server.base}/over-by-one-chunked")) == jwks_fetch.TOO_LARGE


def test_an_endless_body_is_cut_off_at_the_cap(server: JwksServer) -> None:
    fetcher = HttpJwksFetcher(timeout=2.0, max_bytes=MAX_BYTES)
    assert str(fetch_error(fetcher, f"{server.base}/endless")) == jwks_fetch.TOO_LARGE
    # The server stops when we hang up: we did not read the 64 MiB it had to send.
    assert server.endless_done.wait(STALL_LIMIT)
    assert server.endless_sent < ENDLESS_TOTAL


def test_a_malformed_content_length_is_refused(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/malformed-length")) == jwks_fetch.CONNECTION_FAILED


def test_a_server_that_never_answers_runs_into_the_timeout(server: JwksServer) -> None:
    fetcher = HttpJwksFetcher(timeout=SLOW_TIMEOUT, max_bytes=MAX_BYTES)
    assert str(fetch_error(fetcher, f"{server.base}/stall")) == jwks_fetch.TIMED_OUT


@pytest.mark.parametrize("path", ["/trickle-headers", "/trickle-body"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(server: JwksServer, path: str) -> None:
    # Given a server that answers every single read well within the timeout, one byte every
    # 10 ms, and would take about 3 s for the whole response
    fetcher = HttpJwksFetcher(timeout=SLOW_TIMEOUT, max_bytes=MAX_BYTES)
    # Then the fetch fails as timed out
    assert str(fetch_error(fetcher, f"{server.base}{path}")) == jwks_fetch.TIMED_OUT
    # And it hung up mid-response: a per-read timeout alone would have read it to the end
    assert server.trickle_done.wait(STALL_LIMIT)
    assert server.trickle_completed is False


def test_an_error_status_is_refused_and_its_body_not_repeated(
    server: JwksServer, fetcher: HttpJwksFetcher
) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/500")) == jwks_fetch.BAD_STATUS


def test_a_missing_document_is_refused(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/no-such-document")) == jwks_fetch.BAD_STATUS


def test_redirects_are_not_followed(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/redirect")) == jwks_fetch.BAD_STATUS
    assert server.hits["/jwks.json"] == 0


def test_a_compressed_body_is_refused(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/gzip")) == jwks_fetch.ENCODED


def test_a_closed_port_is_a_fetch_failure(fetcher: HttpJwksFetcher) -> None:
    with socket.socket() as probe:  # bound, never listening: connections are refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        assert str(fetch_error(fetcher, f"http://127.0.0.1:{port}/jwks.json")) == jwks_fetch.CONNECTION_FAILED


# --- strict JSON (RFC 8259) ----------------------------------------------------------------

NOT_STRICT_JSON = {
    "garbage": f"<html>{SECRET_MARKER}</html>".encode(),
    "nan": b'{"keys": [], "x": NaN}',  # RFC 8259 §6
    "infinity": b'{"keys": [], "x": -Infinity}',  # RFC 8259 §6
    "byte order mark": b'\xef\xbb\xbf{"keys": []}',  # RFC 8259 §8.1
    "latin-1": b'{"keys": [], "x": "caf\xe9"}',  # RFC 8259 §8.1: UTF-8
    "utf-16": '{"keys": []}'.encode("utf-16"),
    "duplicate member": b'{"keys": [], "keys": [{"kty": "RSA"}]}',  # RFC 8259 §4
    "deep nesting": b"[" * 30_000 + b"]" * 30_000,
    "huge integer": b'{"keys": [], "x": ' + b"9" * 5000 + b"}",
    "trailing data": b'{"keys": []} {}',
    "empty": b"",
}


@pytest.mark.parametrize("body", NOT_STRICT_JSON.values(), ids=NOT_STRICT_JSON.keys())
def test_documents_that_are_not_strict_json_are_refused(
    body: bytes, server: JwksServer, fetcher: HttpJwksFetcher
) -> None:
    server.documents["/doc"] = body
    assert str(fetch_error(fetcher, f"{server.base}/doc")) == jwks_fetch.NOT_JSON


def test_garbage_is_refused_over_the_wire_too(server: JwksServer, fetcher: HttpJwksFetcher) -> None:
    assert str(fetch_error(fetcher, f"{server.base}/garbage")) == jwks_fetch.NOT_JSON


@pytest.mark.parametrize(("timeout", "max_bytes"), [(0, 1024), (-1, 1024), (float("nan"), 1024), (1.0, 0)])
def test_a_fetcher_needs_a_positive_timeout_and_cap(timeout: float, max_bytes: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        HttpJwksFetcher(timeout=timeout, max_bytes=max_bytes)
