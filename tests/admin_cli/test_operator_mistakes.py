"""The admin CLI catches an operator's mistakes before anything is written (issue 17 item 2).

The stack's declared scopes come from its RFC 8414 metadata, served here on 127.0.0.1 by a stdlib server
(``PARTNERAUTH_ISSUER`` names it, as `make dev` prints).  Every refusal is one line with what to do.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry
from tools.partnerauth_admin.aws_failures import one_line
from tools.partnerauth_admin.cli import main
from tools.partnerauth_admin.stack_declarations import check_client_id, fetch_metadata

from .conftest import Run

DECLARED = ["orders:read", "orders:write", "inventory:read"]


class _Metadata(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {"issuer": self.server.issuer, "token_endpoint": f"{self.server.issuer}/oauth2/token",  # type: ignore[attr-defined]
             "scopes_supported": DECLARED}
        ).encode()  # fmt: skip
        status = 200 if self.path == "/.well-known/oauth-authorization-server" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture
def issuer() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Metadata)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.issuer = url  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def local_cli(
    tables: dict[str, str], pepper_secret_arn: str, aws: None, issuer: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Run]:
    """The CLI as `make dev`'s export lines set it up: no stack, names and facts from the environment."""
    monkeypatch.setenv("CLIENTS_TABLE", tables["ClientsTable"])
    monkeypatch.setenv("PEPPER_SECRET_ARN", pepper_secret_arn)
    monkeypatch.setenv("PARTNERAUTH_ISSUER", issuer)
    monkeypatch.setenv("PARTNERAUTH_TOKEN_LIFETIME", "300")
    monkeypatch.setenv("PARTNERAUTH_MAX_TOKEN_LIFETIME", "300")

    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO())
        return Run(code, out.getvalue(), err.getvalue())

    return run


def test_a_scope_the_stack_does_not_declare_is_refused_with_the_valid_ones(
    local_cli: Callable[..., Run], registry: ClientRegistry
) -> None:
    run = local_cli("create", "--name", "Acme", "--scope", "order:read")  # a typo of orders:read
    assert run.code == 1
    assert run.err.count("\n") == 1  # one line, no traceback
    assert "unknown scope order:read" in run.err
    assert "orders:read orders:write inventory:read" in run.err
    assert "--allow-unknown-scope" in run.err
    assert registry.list_clients() == []  # nothing written


def test_allow_unknown_scope_grants_it_with_a_warning(local_cli: Callable[..., Run]) -> None:
    run = local_cli("--json", "create", "--name", "Acme", "--scope", "beta:read", "--allow-unknown-scope")
    assert run.code == 0, run.err
    assert run.json()["client"]["scopes"] == ["beta:read"]
    assert "warning: granting scopes the stack does not declare: beta:read" in run.err


@pytest.mark.parametrize("client_id", ["acme:1", "acme+1", "acme%41", "acme 1", "acmé", "a/b", "a" * 129])
def test_a_client_id_basic_authentication_would_mangle_is_refused(
    local_cli: Callable[..., Run], registry: ClientRegistry, client_id: str
) -> None:
    run = local_cli("create", "--name", "Acme", "--scope", "orders:read", "--client-id", client_id)
    assert run.code == 1
    assert "letters, digits and - . _ ~ only" in run.err
    assert run.err.count("\n") == 1
    assert registry.list_clients() == []


@pytest.mark.parametrize("client_id", ["acme-1", "Acme.Prod_2~x", "pc_0123456789abcdef"])
def test_client_ids_of_unreserved_characters_are_accepted(client_id: str) -> None:
    check_client_id(client_id)  # RFC 3986 §2.3: form-urlencoding leaves them as they are


def test_create_prints_what_a_partner_needs_with_the_stacks_lifetime(
    local_cli: Callable[..., Run], issuer: str
) -> None:
    run = local_cli("create", "--name", "Acme", "--scope", "orders:read inventory:read")
    assert run.code == 0, run.err
    assert "client_id:" in run.out
    assert "scopes:      orders:read inventory:read" in run.out
    assert "lifetime:    300 s" in run.out  # the local stack's TokenLifetime, not the template's 900
    assert f"token URL:   {issuer}/oauth2/token" in run.out
    assert "shown once" in run.out
    assert run.out.count("pacs_") == 1  # the secret, once


def test_create_json_holds_the_same(local_cli: Callable[..., Run], issuer: str) -> None:
    document = local_cli("--json", "create", "--name", "Acme", "--scope", "orders:read").json()
    assert document["client_secret"].startswith("pacs_")
    assert document["token_endpoint"] == f"{issuer}/oauth2/token"
    assert document["client"]["token_lifetime"] == 300
    assert document["client"]["scopes"] == ["orders:read"]
    assert document["client"]["client_id"]


def test_scopes_that_cannot_be_checked_are_said_to_be_unchecked(
    local_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERAUTH_ISSUER", "http://127.0.0.1:1")  # nothing listens there
    run = local_cli("create", "--name", "Acme", "--scope", "orders:read")
    assert run.code == 0
    assert "warning: scopes not checked against the stack" in run.err


def test_the_metadata_is_fetched_over_https_or_loopback_http_only() -> None:
    with pytest.raises(ValueError, match="https"):
        fetch_metadata("http://auth.example.test/.well-known/oauth-authorization-server")


class NoRegionError(Exception):
    """Stands for botocore's (recognised by name)."""


class ClientError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": "Requested resource not found"}}


def test_aws_failures_become_one_line_with_what_to_do() -> None:
    assert one_line(NoRegionError("You must specify a region.")) == (
        "no AWS region: pass --region or set AWS_REGION (AWS_DEFAULT_REGION)"
    )
    message = one_line(ClientError("ResourceNotFoundException"))
    assert message.startswith(
        "AWS call failed: ResourceNotFoundException Requested resource not found: check"
    )
    assert "\n" not in one_line(RuntimeError("two\nlines"))


def test_a_missing_region_is_one_line_not_a_traceback(
    tables: dict[str, str], aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the docs' example without a region configured (issue 17: NoRegionError)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = main(["--table", tables["ClientsTable"], "list"], stdout=out, stderr=err)
    assert code == 1
    assert err.getvalue() == "error: no AWS region: pass --region or set AWS_REGION (AWS_DEFAULT_REGION)\n"
