"""Fetching a JWK Set document (RFC 7517 §5) over HTTPS, standard library only.

Only the transport lives here; what the document means is :mod:`partnerauth.jwk`'s
business, and when to fetch is :mod:`partnerauth.jwks_cache`'s.

Rules (each one has a test in ``tests/layer/test_jwks_fetch.py``):

* ``https`` only (RFC 8414 §2 ``jwks_uri``; RFC 8725 §3.10 asks verifiers not to trust
  key material from unauthenticated sources).  Plain ``http`` is accepted only for a
  loopback host (``localhost``, ``127.0.0.0/8``, ``[::1]``), for tests and the local stack.
  A refused URI is refused before any name lookup or connection.  No user info, no fragment.
* Redirects are **not** followed: a JWKS URI is configuration, and a ``3xx`` answer is a
  failure like any other non-``200`` status.  (Following them would let whoever controls a
  redirect pick the keys we trust, and would need a second policy for the target.)
* ``http.client`` rather than ``urllib.request``: it is lighter to import (cold start), it
  never follows redirects or reads proxy variables behind our back, and it gives us the
  socket, so one deadline covers the whole exchange.  A watchdog shuts the socket down when
  the deadline passes, so a server that trickles headers or body a byte at a time cannot
  hold us past ``timeout``.  Name resolution and the TLS handshake are bounded per read by
  the same ``timeout`` only.
* At most ``max_bytes`` of body: a larger ``Content-Length`` is refused before reading and
  the read loop stops at ``max_bytes + 1`` bytes.  ``Accept-Encoding: identity``; a
  compressed answer is refused rather than inflated.
* Revalidation (RFC 9110 §13.1.2, RFC 9111 §5.2.1.4): every request carries ``Cache-Control:
  no-cache``, so a shared cache between us and the issuer answers from the origin, not with a
  copy up to its ``max-age`` old (our own :class:`~partnerauth.jwks_cache.JwksCache` decides when
  to fetch; a second layer of caching would stretch every window the rotation counts on).  The
  last ``ETag`` and document per URI are remembered: the next request sends ``If-None-Match`` and
  a ``304`` answer returns the remembered document, with no body downloaded.  A ``304`` we did
  not ask for is a bad status like any other.
* JSON is parsed strictly (RFC 8259): UTF-8 without a byte-order mark (§8.1), no ``NaN`` or
  ``Infinity`` (§6), no duplicate member names (§4), bounded nesting.  The ``Content-Type``
  is not checked: static hosting often serves JWKS as ``application/octet-stream``.
* Every failure is a :class:`~partnerauth.errors.JwksFetchError` with one of the fixed
  messages below; the response body never appears in a message, a log line or an
  exception chain.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

from .errors import JwksFetchError

# The fixed messages of JwksFetchError (constant strings: safe to log and to count).
URI_REFUSED = "jwks uri refused"
CONNECTION_FAILED = "jwks fetch failed"
TIMED_OUT = "jwks fetch timed out"
BAD_STATUS = "jwks response status is not 200"
TOO_LARGE = "jwks response too large"
ENCODED = "jwks response is content-encoded"
NOT_JSON = "jwks response is not strict JSON"

DEFAULT_TIMEOUT = 2.0
DEFAULT_MAX_BYTES = 128 * 1024
_CHUNK = 16 * 1024
_ACCEPT = "application/json, application/jwk-set+json;q=0.9"
_USER_AGENT = "partnerauth-jwks-fetcher"
_HEADERS = {
    "Accept": _ACCEPT,
    "Accept-Encoding": "identity",
    "User-Agent": _USER_AGENT,
    "Cache-Control": "no-cache",  # RFC 9111 §5.2.1.4: caches on the way must ask the origin
}
_MAX_ETAG = 256
_ETAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')  # RFC 9110 §8.8.3 entity-tag (visible ASCII, no quote)
_INVALID = object()
_PATH = re.compile(r"[!-~]+")  # printable ASCII, no spaces or controls: no request-line smuggling


class JwksFetcher(Protocol):
    """Anything that turns a JWKS URI into the parsed JSON document it serves."""

    def fetch(self, jwks_uri: str) -> Any:
        """The parsed JSON document; :class:`JwksFetchError` when it cannot be had."""
        ...


@dataclass(frozen=True, slots=True)
class _Target:
    https: bool
    host: str
    port: int
    path: str


def _is_loopback(host: str) -> bool:
    if host == "localhost":  # RFC 6761 §6.3: resolves to loopback
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _target(jwks_uri: str) -> _Target | None:
    try:
        parts = urlsplit(jwks_uri)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        return None
    if parts.scheme == "https":
        https = True
    elif parts.scheme == "http" and _is_loopback(host):
        https = False
    else:
        return None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    if _PATH.fullmatch(path) is None:
        return None
    # The port is always explicit: http.client would read "::1" as host ":" and port 1.
    return _Target(
        https=https, host=host, port=port if port is not None else (443 if https else 80), path=path
    )


def _entity_tag(value: str | None) -> str | None:
    """The response's ETag if it is a well-formed entity tag of a sane length, else ``None``
    (then the next request is unconditional)."""
    if value is None or len(value) > _MAX_ETAG:
        return None
    value = value.strip()
    return value if _ETAG.fullmatch(value) else None


def is_fetchable_jwks_uri(jwks_uri: str) -> bool:
    """Whether :class:`HttpJwksFetcher` would try ``jwks_uri`` (for checking settings at start)."""
    return _target(jwks_uri) is not None


def _refuse_constant(name: str) -> float:
    raise ValueError(name)  # RFC 8259 §6: NaN and Infinity are not JSON


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member name")  # RFC 8259 §4: names SHOULD be unique
    return result


def parse_json_strictly(body: bytes) -> Any:
    """RFC 8259 JSON from UTF-8 bytes; ``JwksFetchError(NOT_JSON)`` for anything looser."""
    document: Any = _INVALID
    if not body.startswith(b"\xef\xbb\xbf"):  # RFC 8259 §8.1: no byte order mark
        try:
            text = body.decode("utf-8")  # strict, and no UTF-16/32 guessing as json.loads(bytes) would do
            document = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicates)
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            pass  # raised below, outside the handler: the decode error holds the body as __context__
    if document is _INVALID:
        raise JwksFetchError(NOT_JSON)
    return document


class _Watchdog:
    """Shuts the connection's socket down at the deadline, unblocking any read in progress."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            # The plain socket's shutdown, also for an SSLSocket: it acts on the file
            # descriptor and leaves the TLS object alone for the reading thread.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class HttpJwksFetcher:
    """Fetch a JWKS document with a total deadline and a size cap.  One instance per process
    is enough: it keeps no connection open between fetches (they are minutes apart)."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not timeout > 0 or max_bytes <= 0:
            raise ValueError("timeout and max_bytes must be positive")
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._ssl_context = ssl_context
        # Per URI (configuration, so few): the last entity tag and the document it names.
        self._validated: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def fetch(self, jwks_uri: str) -> Any:
        target = _target(jwks_uri)
        if target is None:
            raise JwksFetchError(URI_REFUSED)
        with self._lock:
            known = self._validated.get(jwks_uri)
        status, body, etag = self._fetch_body(target, known[0] if known else None)
        if status == HTTPStatus.NOT_MODIFIED:
            assert known is not None  # noqa: S101 - a 304 is read as one only when we sent a tag
            return known[1]
        document = parse_json_strictly(body)
        with self._lock:
            if etag is not None:
                self._validated[jwks_uri] = (etag, document)
            else:
                self._validated.pop(jwks_uri, None)
        return document

    def _connection(self, target: _Target) -> http.client.HTTPConnection:
        if not target.https:
            return http.client.HTTPConnection(target.host, target.port, timeout=self._timeout)
        if self._ssl_context is None:
            # Certificate and host name verification on, TLS 1.2 or newer (RFC 8725 §3.10).
            self._ssl_context = ssl.create_default_context()
        return http.client.HTTPSConnection(
            target.host, target.port, timeout=self._timeout, context=self._ssl_context
        )

    def _fetch_body(self, target: _Target, etag: str | None) -> tuple[int, bytes, str | None]:
        deadline = time.monotonic() + self._timeout
        connection = self._connection(target)
        watchdog = _Watchdog(connection, self._timeout)
        body = b""
        status: int = HTTPStatus.OK
        new_etag: str | None = None
        failure: str | None = None
        headers = _HEADERS if etag is None else {**_HEADERS, "If-None-Match": etag}
        try:
            with watchdog:
                connection.request("GET", target.path, headers=headers)
                with connection.getresponse() as response:  # closing it releases the socket
                    status = response.status
                    if status == HTTPStatus.NOT_MODIFIED and etag is not None:
                        pass  # RFC 9110 §15.4.5: no content; the remembered document stands
                    else:
                        body = self._read_body(response)
                        new_etag = _entity_tag(response.getheader("ETag"))
        except JwksFetchError:
            raise
        except TimeoutError:
            failure = TIMED_OUT
        except (OSError, http.client.HTTPException, ValueError):
            # A watchdog shutdown shows up as a reset, an EOF or an incomplete read.
            failure = TIMED_OUT if watchdog.fired else CONNECTION_FAILED
        finally:
            connection.close()
        # Raised here, not in the handler: the caught error (IncompleteRead holds the partial
        # body) must not travel along as __context__.
        if failure is None and (watchdog.fired or time.monotonic() > deadline):
            failure = TIMED_OUT  # a read cut short by the watchdog can look like a clean EOF
        if failure is not None:
            raise JwksFetchError(failure)
        return status, body, new_etag

    def _read_body(self, response: http.client.HTTPResponse) -> bytes:
        if response.status != HTTPStatus.OK:  # 3xx included: redirects are not followed
            raise JwksFetchError(BAD_STATUS)
        if response.getheader("Content-Encoding", "identity").strip().lower() != "identity":
            raise JwksFetchError(ENCODED)
        declared = response.getheader("Content-Length")
        if declared is not None:
            declared = declared.strip()
            if not (declared.isascii() and declared.isdigit()):
                raise JwksFetchError(CONNECTION_FAILED)
            if int(declared) > self._max_bytes:
                raise JwksFetchError(TOO_LARGE)
        body = bytearray()
        limit = self._max_bytes + 1
        while len(body) < limit:  # bounded: every pass adds at least one byte or stops
            chunk = response.read1(min(_CHUNK, limit - len(body)))
            if not chunk:
                break
            body += chunk
        if len(body) > self._max_bytes:
            raise JwksFetchError(TOO_LARGE)
        return bytes(body)
