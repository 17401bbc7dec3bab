"""The HTTP side of the local gateway: a threading stdlib server on 127.0.0.1 only.

One server per port; each serves one gateway (a REST API gateway, :class:`local.gateway.Gateway`, or
an HTTP API, :class:`local.http_api.HttpApiGateway`).  The listen queue holds 64 connections, so
bursts of 16 and more concurrent clients (``benchmarks/load_local_stack.py``) are not refused.

One log line per request: time, method, path (never the query string: RFC 6750 §2.3 puts tokens
there), status, latency in milliseconds, the client id when the gateway knows it, and whether an
authorizer was ``called`` or its cached answer used (``auth=called`` / ``auth=cached``).  Headers and
bodies are never logged (the ``Authorization`` header and token requests carry credentials), and
neither is the request line of a malformed request.
"""

from __future__ import annotations

import errno
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Protocol, TextIO
from urllib.parse import urlsplit

from .config import LOOPBACK, PortInUseError
from .gateway import Exchange, ResponseType, gateway_response
from .proxy_event import HttpRequest, HttpResponse

MAX_BODY_BYTES: Final = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LOGGED_PATH: Final = 200
LISTEN_QUEUE: Final = 64  # >= 16 concurrent clients with room to spare (socketserver's default is 5)
RequestLog = Callable[[str, str, int, float, str | None, str | None], None]


class ApiGateway(Protocol):
    """What a server serves: one request in, the response (and what the log may say) out."""

    def handle(self, request: HttpRequest) -> Exchange: ...


def request_log(stream: TextIO | None = None) -> RequestLog:
    """A :data:`RequestLog`: ``<utc time> <METHOD> <path> <status> <ms>ms [client=<id>] [auth=...]``."""

    def log(
        method: str, path: str, status: int, millis: float, client_id: str | None, authorizer: str | None
    ) -> None:
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        client = f" client={printable(client_id)}" if client_id else ""
        auth = f" auth={authorizer}" if authorizer else ""
        print(
            f"{moment} {printable(method)} {printable(path)} {status} {millis:.0f}ms{client}{auth}",
            file=stream or sys.stdout,
            flush=True,
        )

    return log


def printable(text: str) -> str:
    """``text`` safe for one log line: control characters escaped, length bounded."""
    escaped = "".join(c if c.isprintable() and c != "\\" else repr(c)[1:-1] for c in text)
    return escaped if len(escaped) <= MAX_LOGGED_PATH else escaped[:MAX_LOGGED_PATH] + "..."


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_QUEUE

    def __init__(
        self, port: int, gateway: ApiGateway | None, log: RequestLog, *, setting: str = "PORT"
    ) -> None:
        """Bind ``127.0.0.1:port``; a port in use is :class:`PortInUseError` naming ``setting``."""
        self.gateway = gateway  # None until the stack has loaded its functions (the socket is bound first)
        self.log = log
        self._thread: threading.Thread | None = None
        try:
            super().__init__((LOOPBACK, port), _Handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(port, setting) from error
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-response is no error of ours; anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def serve_in_background(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (if serving) and close the socket; requests in flight finish on their threads."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: LocalHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "partnerauth-local"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.perf_counter()
        path = urlsplit(self.path).path or "/"
        exchange = self._exchange(path)
        millis = (time.perf_counter() - started) * 1000
        # Logged before the response is written: whoever reads the response can rely on the line being there.
        self.server.log(
            self.command, path, exchange.response.status, millis, exchange.client_id, exchange.authorizer
        )
        self._send(exchange.response)

    def _exchange(self, path: str) -> Exchange:
        request_id = str(uuid.uuid4())
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            body = json.dumps({"message": "Length Required"}).encode()
            return Exchange(HttpResponse(411, (("Content-Type", "application/json"),), body))
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            self.close_connection = True
            return Exchange(gateway_response(ResponseType.REQUEST_TOO_LARGE, request_id))
        body = self.rfile.read(int(length)) if length else b""
        split = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=path,
            query=split.query,
            headers=tuple((k, v) for k, v in self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        gateway = self.server.gateway
        if gateway is None:
            return Exchange(gateway_response(ResponseType.DEFAULT_5XX, request_id))
        try:
            return gateway.handle(request)
        except Exception:  # noqa: BLE001 - a defect of the local gateway must not kill the connection
            traceback.print_exc(file=sys.stderr)
            return Exchange(gateway_response(ResponseType.DEFAULT_5XX, request_id))

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Silenced: the stdlib's access log holds the request line (query string included)."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 - the stdlib's signature
        print("local gateway: rejected a malformed HTTP request", file=sys.stderr, flush=True)
