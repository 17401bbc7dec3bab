"""End to end: `python -m local` (what `make dev` runs) on a free loopback port, used as a partner would.

A real, unmodified OAuth 2.0 client library (authlib's OAuth2Session) obtains tokens with both client
authentication methods of RFC 6749 §2.3.1; the sample API is called with and without the scope it
needs; the signing key is rotated with `python -m local.invoke` (what `make invoke` runs) and a token
issued before the rotation keeps working while new tokens are signed with the new key.

The stack runs in its own process (module-scoped: started once), so nothing here touches this
process's environment or modules.  Every wait is a poll with a deadline.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from authlib.integrations import requests_client as oauth2  # type: ignore[import-untyped]

from .running_stack import REPO, StackProcess, invoke, stack_environment, start_stack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield running
    running.stop()


def session(stack: StackProcess, scope: str, method: str = "client_secret_basic") -> Any:
    """An authlib OAuth2Session holding a fresh client-credentials token (RFC 6749 §4.4)."""
    client = oauth2.OAuth2Session(
        stack.demo["client_id"],
        stack.demo["client_secret"],
        scope=scope,
        token_endpoint_auth_method=method,
    )
    client.fetch_token(stack.demo["token_url"], grant_type="client_credentials")
    return client


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def published_kids(stack: StackProcess) -> set[str]:
    return {key["kid"] for key in requests.get(stack.demo["jwks_url"], timeout=10).json()["keys"]}


# -- the tests ----------------------------------------------------------------------------------------


def test_the_stack_serves_on_loopback_and_writes_the_demo_client(stack: StackProcess) -> None:
    assert stack.demo["token_url"].startswith("http://127.0.0.1:")
    assert stack.demo["api_url"].startswith("http://127.0.0.1:")
    assert stack.demo["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert stack.demo["client_secret"]
    # every scope of the REST sample API (ROUTE_SCOPES) and of the HTTP sample API (its API profile)
    assert set(stack.demo["scopes"]) == {
        "orders:read",
        "orders:write",
        "inventory:read",
        "shipments:read",
        "shipments:write",
    }


def test_discovery_names_the_local_issuer_and_its_endpoints(stack: StackProcess) -> None:
    metadata = requests.get(
        f"{stack.demo['api_url']}/.well-known/oauth-authorization-server", timeout=10
    ).json()
    assert metadata["issuer"] == stack.demo["api_url"]  # RFC 8414 §2
    assert metadata["token_endpoint"] == stack.demo["token_url"]
    assert metadata["jwks_uri"] == stack.demo["jwks_url"]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_an_unmodified_oauth_client_gets_a_token(stack: StackProcess, method: str) -> None:
    client = session(stack, "orders:read", method)
    assert client.token["token_type"].lower() == "bearer"  # RFC 6749 §5.1
    assert client.token["scope"] == "orders:read"
    assert kid_of(client.token["access_token"]) in published_kids(stack)


def test_a_wrong_secret_gets_no_token(stack: StackProcess) -> None:
    client = oauth2.OAuth2Session(
        stack.demo["client_id"], "pacs_wrong", token_endpoint_auth_method="client_secret_basic"
    )
    with pytest.raises(Exception, match="invalid_client"):  # RFC 6749 §5.2
        client.fetch_token(stack.demo["token_url"], grant_type="client_credentials")


def test_a_route_needs_its_scope(stack: StackProcess) -> None:
    client = session(stack, "orders:read")
    api = stack.demo["api_url"]
    listed = client.get(f"{api}/orders", timeout=10)
    assert listed.status_code == 200
    # the backend sees the caller the authorizer admitted (its context), never the token
    assert listed.json()["caller"]["client_id"] == stack.demo["client_id"]
    assert listed.json()["caller"]["scope"] == "orders:read"
    assert client.get(f"{api}/orders/o-1001", timeout=10).status_code == 200
    for method, path in (("POST", "/orders"), ("GET", "/inventory")):
        refused = client.request(method, f"{api}{path}", timeout=10)
        assert refused.status_code == 403
        assert refused.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'  # RFC 6750 §3.1


def test_a_token_with_the_scope_is_let_through(stack: StackProcess) -> None:
    client = session(stack, "orders:write inventory:read")
    api = stack.demo["api_url"]
    created = client.post(f"{api}/orders", json={"item": "crate-60x40", "quantity": 2}, timeout=10)
    assert created.status_code == 201
    assert client.get(f"{api}/inventory", timeout=10).status_code == 200


def test_no_token_or_a_forged_one_is_401(stack: StackProcess) -> None:
    api = stack.demo["api_url"]
    missing = requests.get(f"{api}/orders", timeout=10)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'  # RFC 6750 §3.1
    token = session(stack, "orders:read").token["access_token"]
    header, _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"someone-else"}').rstrip(b"=").decode()
    response = requests.get(
        f"{api}/orders", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}, timeout=10
    )
    assert response.status_code == 401


def test_after_a_rotation_old_tokens_still_work_and_new_ones_use_the_new_key(stack: StackProcess) -> None:
    api = stack.demo["api_url"]
    before = session(stack, "orders:read").token["access_token"]  # not used before the rotation

    status, output = invoke(stack, "KeyRotationFunction", {"action": "rotate_now"})
    assert status == 0, output
    result = json.loads(output)
    assert result["ok"] is True
    retired = {t["kid"] for t in result["transitions"] if t["to"] == "retired"}
    (new_kid,) = {t["kid"] for t in result["transitions"] if t["to"] == "current"}
    assert retired == {kid_of(before)}

    def signed_with_the_new_key() -> str | None:
        token = str(session(stack, "orders:read").token["access_token"])
        return token if kid_of(token) == new_kid else None

    # The issuer caches its current key for a few seconds: poll until it signs with the new one.
    after = wait_until(signed_with_the_new_key, 30, "a token signed with the new key")
    assert {kid_of(before), new_kid} <= published_kids(stack)  # the retired key stays published (grace)
    jwks = requests.get(stack.demo["jwks_url"], timeout=10).json()
    key = jwt.PyJWKSet.from_dict(jwks)[new_kid].key
    claims = jwt.decode(
        after, key, algorithms=["RS256", "ES256", "EdDSA"], audience="partner-api", issuer=api
    )
    assert claims["client_id"] == stack.demo["client_id"]

    def orders_with(token: str) -> int:
        return requests.get(
            f"{api}/orders", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code

    # The old token is verified now, for the first time, against the retired (still published) key.
    assert orders_with(before) == 200
    # The new signer was the published next key: the authorizer knows it already, no refetch needed.
    assert orders_with(after) == 200


def test_the_admin_cli_works_against_the_stack(stack: StackProcess) -> None:
    env = stack_environment(stack.state_dir, 0) | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "tools.partnerauth_admin", "--endpoint-url", stack.demo["aws_endpoint_url"],
            "--region", "us-east-1", "--table", stack.stack["refs"]["ClientsTable"], "--json", "list",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr.decode()
    assert stack.demo["client_id"] in completed.stdout.decode()


def test_each_request_is_logged_once_without_secrets_or_tokens(stack: StackProcess) -> None:
    path = f"/orders/log-{time.monotonic_ns()}"
    token = session(stack, "orders:read").token["access_token"]
    before = stack.output()
    # The line is written before the response: once the response is here, so is the line.
    requests.get(
        f"{stack.demo['api_url']}{path}?marker=1", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    output = stack.output()
    new_lines = output[len(before) :].splitlines()
    assert len(new_lines) == 1
    method, logged_path, status, latency, client, authorizer = new_lines[0].split()[1:]
    # an unknown order: the backend answers 404, and the line says so
    assert (method, logged_path, status, client) == ("GET", path, "404", f"client={stack.demo['client_id']}")
    assert authorizer in ("auth=called", "auth=cached")
    assert latency.endswith("ms")
    assert "POST /oauth2/token 200" in output
    assert "marker=1" not in output
    assert token not in output
    assert token.split(".")[2] not in output
    # The banner prints the demo client's secret on purpose (and in its curl lines); nothing after it does.
    banner, _, requests_and_schedule = output.partition("One line per request follows.")
    assert stack.demo["client_secret"] in banner
    assert stack.demo["client_secret"] not in requests_and_schedule


# -- the HTTP sample API (payload 2.0, simple responses, answers cached per route key) ----------------


def http_api(stack: StackProcess) -> str:
    return str(stack.stack["api_urls"]["SampleHttpApi"])


def authorizer_answers(stack: StackProcess, since: str) -> list[str]:
    """``called`` / ``cached`` for each request logged after ``since`` whose route has an authorizer."""
    lines = stack.output()[len(since) :].splitlines()
    return [line.rsplit("auth=", 1)[1] for line in lines if " auth=" in line]


def test_every_api_has_its_base_url_in_the_state_files(stack: StackProcess) -> None:
    urls = stack.stack["api_urls"]
    assert urls["SampleApi"] == urls["AuthApi"] == stack.demo["api_url"]  # where it always was
    assert urls["SampleHttpApi"].endswith("/dev")  # an HTTP API's URL holds its stage
    assert len({urls["SampleApi"], urls["SampleHttpApi"].removesuffix("/dev")}) == 2  # a port of its own
    assert stack.demo["api_urls"] == urls
    for url in urls.values():
        assert url in stack.output()  # the banner prints every API's base URL


def test_the_http_api_lets_a_token_with_the_scope_read(stack: StackProcess) -> None:
    client = session(stack, "shipments:read")
    listed = client.get(f"{http_api(stack)}/shipments", timeout=10)
    assert listed.status_code == 200
    # the backend sees the authorizer's context (requestContext.authorizer.lambda), never the token
    assert listed.json()["caller"]["client_id"] == stack.demo["client_id"]
    assert listed.json()["caller"]["scope"] == "shipments:read"


def test_the_http_api_refuses_a_route_without_its_scope_with_403(stack: StackProcess) -> None:
    client = session(stack, "shipments:read")
    refused = client.post(f"{http_api(stack)}/shipments/s-2001/cancel", timeout=10)
    assert refused.status_code == 403
    assert refused.json() == {"message": "Forbidden"}  # HTTP APIs answer isAuthorized: false so


def test_the_http_api_without_a_token_is_401_without_calling_the_authorizer(stack: StackProcess) -> None:
    before = stack.output()
    missing = requests.get(f"{http_api(stack)}/shipments", timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {"message": "Unauthorized"}
    assert authorizer_answers(stack, before) == []


def test_the_http_api_reuses_a_cached_answer_per_route_key(stack: StackProcess) -> None:
    # identity sources: the Authorization header and $context.routeKey -> one answer per (token, route key)
    client = session(stack, "shipments:read")
    api = http_api(stack)
    before = stack.output()
    for path in ("/shipments/s-2001", "/shipments/s-2002", "/shipments", "/shipments/s-9"):
        assert client.get(f"{api}{path}", timeout=10).status_code in (200, 404)
    # GET /shipments/{id} called, then cached; GET /shipments called; GET /shipments/{id} cached again
    assert authorizer_answers(stack, before) == ["called", "cached", "called", "cached"]


# -- an example stack attaching this stack's authorizer through its export -------------------------------


def test_the_example_stack_is_served_behind_the_imported_authorizer(stack: StackProcess) -> None:
    api = stack.stack["api_urls"]["inventory-api/InventoryApi"]
    assert api.removeprefix("http://127.0.0.1:") not in (stack.demo["api_url"], http_api(stack))  # own port
    assert requests.get(f"{api}/warehouses", timeout=10).status_code == 401  # no token: no call
    assert requests.get(f"{api}/nowhere", timeout=10).status_code == 403  # Missing Authentication Token
    # the API's profile (stage variable partnerauthApi: inventory) registered as an operator would
    env = stack_environment(stack.state_dir, 0) | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "tools.partnerauth_admin", "--endpoint-url", stack.demo["aws_endpoint_url"],
            "--region", "us-east-1", "apis", "put", "inventory",
            "--apis-table", stack.stack["refs"]["ApisTable"], "--audience", stack.demo["audience"],
            "--routes", str(REPO / "examples/inventory-api/routes.json"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr.decode()
    client = session(stack, "inventory:read")
    listed = client.get(f"{api}/warehouses", timeout=10)
    assert listed.status_code == 200, listed.text
    assert (
        client.put(f"{api}/warehouses/w-1/stock/sku-1", json={"quantity": 1}, timeout=10).status_code == 403
    )


def test_timings_the_rotation_function_refuses_stop_the_start_with_its_reason(tmp_path: Path) -> None:
    env = stack_environment(tmp_path, 0) | {"PARAMETER_OVERRIDES": "Grace=100"}
    completed = subprocess.run(
        [sys.executable, "-m", "local"], cwd=REPO, env=env, capture_output=True, timeout=120, check=False
    )
    assert completed.returncode == 1
    assert "grace (100s) must be >=" in completed.stderr.decode()
    assert not (tmp_path / "demo-client.json").exists()


def test_ctrl_c_stops_everything_and_a_second_run_starts(tmp_path: Path) -> None:
    first = start_stack(tmp_path)
    port = int(first.demo["api_url"].rsplit(":", 1)[1])
    assert first.stop(signal.SIGINT) == 0
    assert "local stack: stopped" in first.output()
    assert not (tmp_path / "demo-client.json").exists()
    assert not (tmp_path / "stack.json").exists()

    # The same port is free again.  The first run's other APIs listened on any free ports (PORT was 0), so
    # the second asks for any free ones too: PORT's defaults (PORT + 2, + 3) may be held by anything else
    # on the machine (CI failed once on PORT + 3).
    second = start_stack(tmp_path, port=port, environment={"EXTRA_API_PORT": "0"})
    try:
        assert second.demo["api_url"] == first.demo["api_url"]
        assert session(second, "orders:read").token["access_token"]
        # A fresh AWS endpoint: the first run's client secret means nothing to the second run.
        assert second.demo["client_secret"] != first.demo["client_secret"]
    finally:
        assert second.stop(signal.SIGTERM) == 0
