"""The embedded AWS endpoint: moto in server mode on 127.0.0.1, in a daemon thread.

This is what ``moto.server.ThreadedMotoServer`` does, with one difference that matters to a
command developers run by hand: the socket is bound in the caller's thread, so a port already in
use fails :meth:`AwsEndpoint.start` at once (``ThreadedMotoServer.start`` would wait forever for a
server thread that died binding it).  Every run starts with empty state: moto keeps it in memory.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from .config import LOOPBACK

READS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_SCOPE_SERVICE: Final = re.compile(r"Credential=[^/,]+/[0-9]{8}/[^/,]+/([a-z0-9-]+)/aws4_request")


class WriteCounter:
    """A WSGI middleware counting, per service, the requests that may change state (not GET/HEAD/OPTIONS),
    once the application has handled them."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        result = self._app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET") not in READS:
            found = _SCOPE_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
            if found is not None:
                with self._lock:
                    self._counts[found.group(1)] += 1
        return result

    def writes(self, service: str) -> int:
        with self._lock:
            return self._counts[service]


class AwsEndpoint:
    def __init__(self, port: int = 0, host: str = LOOPBACK) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._counter: WriteCounter | None = None

    def writes(self, service: str) -> int:
        """How many requests that may change state the endpoint has served for ``service`` (e.g.
        ``apigateway``) since it started."""
        return self._counter.writes(service) if self._counter is not None else 0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the AWS endpoint is not running")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        """Bind, serve in the background, and return the endpoint URL (``OSError`` if the port is taken)."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
        self._counter = WriteCounter(DomainDispatcherApplication(create_backend_app))
        app: Any = self._counter
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-endpoint", daemon=True)
        self._thread.start()
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None
