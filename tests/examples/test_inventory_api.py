"""End to end: another team's API (examples/inventory-api) behind our authorizer, as its README says.

`python -m local` serves the example stack next to the main one, its authorizer imported from the
main stack's export.  The operator registers the example's route map with the admin CLI (`apis put`)
and a partner client for its audience (`create`); a real OAuth 2.0 client library (authlib) gets a
token for that audience; the example API answers 200 on a covered route and 403 on the route that
needs another scope; a new map registered with `apis put` changes the answer without restarting
anything, once the authorizer's profile cache has aged out (`API_PROFILE_MAX_AGE`).

The stack runs in its own process (module-scoped).  Every wait is a poll with a deadline.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from authlib.integrations import requests_client as oauth2  # type: ignore[import-untyped]

from tests.local_stack.running_stack import REPO, StackProcess, start_stack, wait_until
from tests.support.template import load_template
from tools.partnerauth_admin.cli import main as admin

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "inventory-api"
AUDIENCE = "inventory-api"
POLL_MARGIN = 30.0  # seconds beyond the profile cache's max age before giving up


def profile_cache_setting() -> tuple[str | None, float]:
    """How long the authorizer keeps a registry profile, as template.yaml sets it: a literal, or a
    template parameter (then it is overridden to 1 s for this stack, and the parameter's name returned)."""
    variables = load_template()["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    value = variables["API_PROFILE_MAX_AGE"]
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"]), 1.0
    return None, float(value)


PROFILE_MAX_AGE_PARAMETER, PROFILE_MAX_AGE = profile_cache_setting()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    with pytest.MonkeyPatch.context() as patch:
        if PROFILE_MAX_AGE_PARAMETER:
            patch.setenv("PARAMETER_OVERRIDES", f"{PROFILE_MAX_AGE_PARAMETER}=1")
        running = start_stack(tmp_path_factory.mktemp("inventory-stack"))
    yield running
    running.stop()


@pytest.fixture
def operator(stack: StackProcess, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``operator("apis", "put", ...)``: the admin CLI's own code against the local stack; its JSON."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    refs = stack.stack["refs"]
    base = ["--endpoint-url", stack.demo["aws_endpoint_url"], "--region", "us-east-1", "--json"]

    def run(*argv: str) -> Any:
        out, err = io.StringIO(), io.StringIO()
        tables = ["--apis-table", refs["ApisTable"]] if argv[0] == "apis" else []
        clients = ["--table", refs["ClientsTable"], "--pepper-secret-arn", refs["ClientSecretPepper"]]
        code = admin([*base, *clients, *argv, *tables], stdout=out, stderr=err)
        assert code == 0, err.getvalue()
        return json.loads(out.getvalue())

    return run


def inventory_url(stack: StackProcess) -> str:
    return str(stack.stack["api_urls"]["inventory-api/InventoryApi"])


def token_for(stack: StackProcess, client: dict[str, Any], scope: str) -> str:
    """A fresh client-credentials token for the inventory API's audience (RFC 6749 §4.4, RFC 8707)."""
    session = oauth2.OAuth2Session(
        client["client"]["client_id"],
        client["client_secret"],
        scope=scope,
        token_endpoint_auth_method="client_secret_basic",
    )
    token = session.fetch_token(stack.demo["token_url"], grant_type="client_credentials", audience=AUDIENCE)
    return str(token["access_token"])


def call(stack: StackProcess, token: str, path: str) -> requests.Response:
    return requests.get(
        f"{inventory_url(stack)}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_a_registered_api_answers_per_route_and_follows_a_new_map(
    stack: StackProcess, operator: Any, tmp_path: Path
) -> None:
    # Given the example's map, registered as its README says, and a partner allowed its audience
    registered = operator(
        "apis", "put", "inventory", "--audience", AUDIENCE, "--routes", str(EXAMPLE / "routes.json")
    )
    assert registered["api"]["stage_variable"] == "partnerauthApi=inventory"
    client = operator(
        "create", "--name", "Inventory partner", "--scope", "inventory:read", "--scope", "inventory:write",
        "--audience", AUDIENCE, "--lifetime", "300",
    )  # fmt: skip

    # When the partner calls with an inventory:read token
    token = token_for(stack, client, "inventory:read")
    stock = call(stack, token, "/warehouses/wh-ams/stock")
    audit = call(stack, token, "/warehouses/wh-ams/audit")

    # Then the covered route answers, with the caller the authorizer admitted
    assert stock.status_code == 200
    assert stock.json()["caller"]["client_id"] == client["client"]["client_id"]
    # and the sibling route needing inventory:audit is refused (RFC 6750 §3.1)
    assert audit.status_code == 403
    assert audit.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'

    # A token for the sample API's audience does not open this API: 401 (RFC 9068 §4: aud is the API)
    demo = oauth2.OAuth2Session(stack.demo["client_id"], stack.demo["client_secret"], scope="orders:read")
    demo.fetch_token(stack.demo["token_url"], grant_type="client_credentials")
    foreign = call(stack, demo.token["access_token"], "/warehouses")
    assert foreign.status_code == 401
    assert foreign.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    # When the operator registers a map in which the audit needs only inventory:read
    routes = json.loads((EXAMPLE / "routes.json").read_text(encoding="utf-8"))
    routes["GET /warehouses/{id}/audit"] = ["inventory:read"]
    changed = tmp_path / "routes.json"
    changed.write_text(json.dumps(routes), encoding="utf-8")
    updated = operator("apis", "put", "inventory", "--audience", AUDIENCE, "--routes", str(changed))
    assert updated["api"]["version"] == 2

    # Then, nothing restarted, a new token is let in once the authorizer's profile cache has aged out.
    # (A new token each time: API Gateway keeps the earlier answers for each token until its own TTL.)
    def audit_allowed() -> bool:
        return (
            call(stack, token_for(stack, client, "inventory:read"), "/warehouses/wh-ams/audit").status_code
            == 200
        )

    wait_until(audit_allowed, PROFILE_MAX_AGE + POLL_MARGIN, "the new route map to take effect")
    assert stack.process.poll() is None  # the same stack process throughout
