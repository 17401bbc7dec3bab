"""Discovery that standard clients find (issue 18), end to end against the local stack.

``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4) is served next to the RFC 8414
document, at the issuer's own path, with the same members: issuer, jwks_uri, token_endpoint, grant
types, authentication methods and their signing algorithms - and none of the members an OpenID
Provider would add for what we do not do (ID tokens, end users, an authorization endpoint).

openid-client (the reference Node client, pinned in ``node/package-lock.json``) then runs with its
defaults: ``discovery()``, ``clientCredentialsGrant()``, and a protected call with the token.  npm
installs it into a temporary folder (``npm ci``, the registry only); without node/npm, or when npm
cannot install, the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import requests

from tests.local_stack.running_stack import StackProcess, stack_environment, start_stack

pytestmark = pytest.mark.e2e

NODE_PROJECT: Final = Path(__file__).parent / "node"
RUN_TIMEOUT: Final = 120
# Members OpenID Connect Discovery 1.0 §3 has an OpenID Provider publish for what we do not do.
PROVIDER_ONLY: Final = {
    "authorization_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
    "registration_endpoint",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "id_token_encryption_alg_values_supported",
    "claims_supported",
    "response_modes_supported",
    "acr_values_supported",
    "request_parameter_supported",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("discovery-stack"))
    yield running
    running.stop()


def issuer_of(stack: StackProcess) -> str:
    return str(stack.demo["token_url"]).removesuffix("/oauth2/token")


def get_json(url: str) -> Any:
    reply = requests.get(url, timeout=10)
    assert reply.status_code == 200, (url, reply.status_code, reply.text)
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.json()


def test_the_openid_configuration_is_the_rfc8414_metadata_at_the_issuers_path(stack: StackProcess) -> None:
    issuer = issuer_of(stack)
    # OpenID Connect Discovery 1.0 §4: issuer + "/.well-known/openid-configuration"
    discovered = get_json(f"{issuer}/.well-known/openid-configuration")
    assert discovered == get_json(f"{issuer}/.well-known/oauth-authorization-server")
    assert discovered["issuer"] == issuer  # §4.3: identical to the issuer it was fetched for
    assert discovered["token_endpoint"] == stack.demo["token_url"]
    assert discovered["jwks_uri"] == stack.demo["jwks_url"]
    assert discovered["grant_types_supported"] == ["client_credentials"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        discovered["token_endpoint_auth_methods_supported"]
    )
    assert "none" not in discovered["token_endpoint_auth_signing_alg_values_supported"]  # RFC 8725 §3.1
    assert not PROVIDER_ONLY & discovered.keys()  # nothing claimed that we do not do
    assert "openid" not in discovered["scopes_supported"]
    assert discovered["response_types_supported"] == []
    # RFC 8414 §2: revocation (RFC 7009) and introspection (RFC 7662), with the token endpoint's client auth
    for endpoint, path in (("revocation", "/oauth2/revoke"), ("introspection", "/oauth2/introspect")):
        assert discovered[f"{endpoint}_endpoint"] == issuer + path
        assert (
            discovered[f"{endpoint}_endpoint_auth_methods_supported"]
            == discovered["token_endpoint_auth_methods_supported"]
        )
        assert (
            discovered[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
            == discovered["token_endpoint_auth_signing_alg_values_supported"]
        )


def npm_install(folder: Path) -> None:
    """``npm ci`` of the pinned lock file into ``folder``; skips (saying why) when npm cannot."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the openid-client test and are not installed")
    for name in ("package.json", "package-lock.json", "discover.mjs"):
        shutil.copy(NODE_PROJECT / name, folder / name)
    try:
        installed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],  # noqa: S607 - npm from PATH
            cwd=folder,
            env={**os.environ, "npm_config_update_notifier": "false"},
            capture_output=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm ci did not finish within {RUN_TIMEOUT} s: openid-client could not be installed")
    if installed.returncode != 0:
        errors = [line for line in installed.stderr.decode().splitlines() if "ERR" in line]
        pytest.skip(f"npm ci failed, openid-client could not be installed: {(errors or ['?'])[0]}")


def test_openid_client_discovers_our_issuer_gets_a_token_and_calls_the_api(
    stack: StackProcess, tmp_path: Path
) -> None:
    npm_install(tmp_path)
    before = stack.output()
    env = stack_environment(stack.state_dir, 0) | {
        "ISSUER": issuer_of(stack),
        "API_URL": stack.demo["api_url"],
        "CLIENT_ID": stack.demo["client_id"],
        "CLIENT_SECRET": stack.demo["client_secret"],
    }
    completed = subprocess.run(
        ["node", "discover.mjs"],  # noqa: S607 - node from PATH, our own script
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    result = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    assert result["issuer"] == issuer_of(stack)
    assert (result["token_endpoint"], result["jwks_uri"]) == (stack.demo["token_url"], stack.demo["jwks_url"])
    assert result["token_type"].lower() == "bearer"  # RFC 6749 §5.1
    assert result["scope"] == "orders:read"
    # the token opens the route its scope covers, and only that (RFC 6750 §3.1: 403 elsewhere)
    assert (result["covered"], result["uncovered"]) == (200, 403)
    # RFC 8414 §2: the RFC 7009 and RFC 7662 endpoints are discovered and spoken to by the library's own calls
    issuer = issuer_of(stack)
    assert (result["revocation_endpoint"], result["introspection_endpoint"]) == (
        f"{issuer}/oauth2/revoke",
        f"{issuer}/oauth2/introspect",
    )
    assert result["introspection"] == {
        "error": "unauthorized_client"
    }  # no introspect permission (RFC 7662 §4)
    assert result["revoked"] is True
    requests_made = stack.output()[len(before) :]
    assert "GET /.well-known/openid-configuration 200" in requests_made  # its default: OIDC discovery
    assert "POST /oauth2/revoke 200" in requests_made
    assert "oauth-authorization-server" not in requests_made
