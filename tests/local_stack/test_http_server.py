"""The HTTP side: loopback only, one log line per request, never a token or a credential in it."""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from local.config import PortInUseError
from local.gateway import ApiConfig, AuthorizerConfig, Gateway, Route
from local.http_server import LocalHttpServer, printable, request_log
from local.proxy_event import ApiIdentity

API = ApiConfig("Api", ApiIdentity("api1234567", "dev", "us-east-1", "123456789012", "127.0.0.1"))
AUTHORIZER = AuthorizerConfig("A", "Authorizer", "TOKEN", ttl=0)
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQtYSJ9.c2lnbmF0dXJl"


def functions(function_id: str, event: dict[str, Any]) -> Any:
    if function_id == "Authorizer":
        statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
        return {"principalId": "client-a", "policyDocument": {"Statement": [statement]}}
    return {
        "statusCode": 200,
        "headers": {"X-Echo": event["path"]},
        "body": json.dumps({"body": event["body"]}),
    }


@pytest.fixture
def logged() -> list[tuple[Any, ...]]:
    return []


@pytest.fixture
def server(logged: list[tuple[Any, ...]]) -> Iterator[LocalHttpServer]:
    routes = [
        Route(API, "POST", "/oauth2/token", "Token"),
        Route(API, "GET", "/orders", "Orders", AUTHORIZER),
    ]

    def log(*line: Any) -> None:
        logged.append(line)

    running = LocalHttpServer(0, Gateway(routes, functions), log)
    running.serve_in_background()
    yield running
    running.stop()


def request(
    server: LocalHttpServer, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, **kwargs)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_server_listens_on_loopback_only(server: LocalHttpServer) -> None:
    assert server.server_address[0] == "127.0.0.1"


def test_a_request_is_answered_and_logged_once_with_method_path_status_and_client(
    server: LocalHttpServer, logged: list[tuple[Any, ...]]
) -> None:
    status, headers, _ = request(server, "GET", "/orders", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert headers["X-Echo"] == "/orders"
    ((method, path, logged_status, millis, client_id, authorizer),) = logged
    assert (method, path, logged_status, client_id, authorizer) == (
        "GET",
        "/orders",
        200,
        "client-a",
        "called",
    )
    assert millis >= 0


def test_the_query_string_is_not_logged(server: LocalHttpServer, logged: list[tuple[Any, ...]]) -> None:
    # RFC 6750 §2.3: a client may send its token as access_token in the query
    request(server, "GET", f"/orders?access_token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert logged[0][1] == "/orders"
    assert TOKEN not in repr(logged)


def test_the_written_log_line_holds_no_credential(server: LocalHttpServer) -> None:
    stream = io.StringIO()
    server.log = request_log(stream)
    body = "grant_type=client_credentials&client_id=client-c&client_secret=pacs_very-secret"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {TOKEN}"}
    request(server, "POST", "/oauth2/token", body=body, headers=headers)
    request(server, "GET", f"/orders?access_token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("POST /oauth2/token 200 " + lines[0].split()[-2] + " client=client-c")
    assert lines[1].endswith(" client=client-a auth=called")
    assert "pacs_very-secret" not in stream.getvalue()
    assert TOKEN not in stream.getvalue()


def test_a_body_reaches_the_function(server: LocalHttpServer) -> None:
    _, _, body = request(server, "POST", "/oauth2/token", body=b"grant_type=client_credentials")
    assert json.loads(body) == {"body": "grant_type=client_credentials"}


def test_a_body_over_api_gateways_limit_is_413_unread(server: LocalHttpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n")
        assert raw.recv(64).startswith(b"HTTP/1.1 413")


def test_a_chunked_body_is_411(server: LocalHttpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert raw.recv(64).startswith(b"HTTP/1.1 411")


def test_a_malformed_request_is_refused_and_its_request_line_not_logged(
    server: LocalHttpServer, logged: list[tuple[Any, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(f"GET /x?access_token={TOKEN} HTTP/1.1 trailing-word\r\n\r\n".encode())
        assert b"400" in raw.recv(4096)
    assert logged == []
    assert TOKEN not in capsys.readouterr().err


def test_printable_escapes_control_characters_and_bounds_length() -> None:
    assert printable("/a\nb\x1b") == "/a\\nb\\x1b"
    assert len(printable("/" + "x" * 500)) == 203


def test_the_listen_queue_fits_sixteen_concurrent_clients() -> None:
    # benchmarks/load_local_stack.py opens 16 connections at once; socketserver's default queue is 5
    assert LocalHttpServer.request_queue_size >= 16


def test_a_port_in_use_names_the_port_and_the_variable_to_change(server: LocalHttpServer) -> None:
    with pytest.raises(PortInUseError) as caught:
        LocalHttpServer(server.port, None, lambda *_: None, setting="EXTRA_API_PORT")
    assert (caught.value.port, caught.value.variable) == (server.port, "EXTRA_API_PORT")
    assert f"port {server.port} is in use (EXTRA_API_PORT)" in str(caught.value)
