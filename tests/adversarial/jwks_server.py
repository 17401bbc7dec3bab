"""A JWKS endpoint on 127.0.0.1 that misbehaves on demand: down, slow, garbage, huge.

``mode`` decides every answer from the next request on:

* ``serve``: the JWK Set in ``document`` (200, ``application/json``);
* ``error``: 503 with an HTML body;
* ``garbage``: 200 with ``garbage`` as the body (not JSON, JSON that is no JWK Set, ...);
* ``huge``: 200 with a syntactically valid JWK Set of ``huge_bytes`` bytes, ``Content-Length`` declared
  (``huge-chunked``: the same, chunked, no length);
* ``stall``: accepts, reads the request, then answers nothing until :meth:`release` (or ``STALL_LIMIT``
  seconds): the fetcher's own deadline must end the exchange.

Threads are daemons and every wait is bounded, so a test that forgets to release cannot hang the run.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STALL_LIMIT = 10.0  # seconds a stalled answer waits at most for release()
JWKS_PATH = "/.well-known/jwks.json"


class MisbehavingJwksServer:
    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.mode = "serve"
        self.garbage = b"<html>not json</html>"
        self.huge_bytes = 1024 * 1024
        self.hits = 0
        self._released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.hits += 1
                mode = server.mode
                if mode == "stall":
                    server._released.wait(STALL_LIMIT)
                    self.close_connection = True
                    return
                if mode == "error":
                    self._answer(503, b"<html>Service Unavailable</html>", "text/html")
                elif mode == "garbage":
                    self._answer(200, server.garbage, "application/json")
                elif mode.startswith("huge"):
                    self._huge(chunked=mode == "huge-chunked")
                else:
                    self._answer(200, json.dumps(server.document).encode(), "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _huge(self, *, chunked: bool) -> None:
                # A valid JWK Set padded with one long member: only the size is wrong.
                head = b'{"keys":[],"padding":"'
                tail = b'"}'
                body = head + b"x" * max(0, server.huge_bytes - len(head) - len(tail)) + tail
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if not chunked:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                step = 64 * 1024
                try:
                    for start in range(0, len(body), step):
                        chunk = body[start : start + step]
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client hung up once it had seen enough: that is the point

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="jwks-server", daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def jwks_uri(self) -> str:
        return self.base + JWKS_PATH

    def start(self) -> MisbehavingJwksServer:
        self._thread.start()
        return self

    def reset(self, document: dict[str, Any]) -> None:
        self.document = document
        self.mode = "serve"
        self.hits = 0
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
