"""End to end, ``private_key_jwt`` (issue 13): `python -m local` (what `make dev` runs), used by a partner.

A partner makes a key pair; the operator registers its public key with the admin CLI; the partner gets a
token with authlib's unmodified ``PrivateKeyJWT`` client authentication (RFC 7523 §2.2), its audience our
issuer identifier as the metadata names it, and calls a protected route; the very same assertion sent again
is refused (single use, RFC 7523 §3 item 7).  The stack runs in its own process, started once for the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from authlib.integrations import requests_client as oauth2  # type: ignore[import-untyped]
from authlib.oauth2.rfc7523 import PrivateKeyJWT  # type: ignore[import-untyped]

from partnerauth.algorithms import KeySpec
from partnerauth.keys import generate_signing_key

from .running_stack import StackProcess, admin_json, stack_environment, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("local-stack-pkjwt"))
    yield running
    running.stop()


def admin(stack: StackProcess, *argv: str) -> dict[str, Any]:
    """``python -m tools.partnerauth_admin --json ...`` as an operator runs it against ``make dev`` (the
    banner's export lines: endpoint, tables, issuer, the usage plans a new partner joins)."""
    state = stack.stack
    env = stack_environment(stack.state_dir, 0) | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CLIENTS_TABLE": state["refs"]["ClientsTable"],
        "PARTNERAUTH_ISSUER": state["parameters"]["IssuerUrl"],
        "USAGE_PLANS": json.dumps(state["usage_plans"]),
        "USAGE_KEY_NAMESPACE": state["usage_key_namespace"],
    }
    document: dict[str, Any] = admin_json(
        env, "--endpoint-url", stack.demo["aws_endpoint_url"], "--region", "us-east-1", *argv
    )
    return document


def test_a_partner_registered_with_its_public_key_gets_a_token_and_its_assertion_is_single_use(
    stack: StackProcess, tmp_path: Path
) -> None:
    # Given a partner's key pair; only the public JWK is handed over and registered with the admin CLI
    partner_key = generate_signing_key(KeySpec.RS256)
    jwks_file = tmp_path / "partner-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [partner_key.public_jwk()]}))
    created = admin(
        stack, "create", "--name", "Keyed partner", "--scope", "orders:read",
        "--audience", stack.demo["audience"],
        "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file),
    )  # fmt: skip
    client_id = created["client"]["client_id"]
    assert "client_secret" not in created
    metadata = requests.get(
        f"{stack.demo['api_url']}/.well-known/oauth-authorization-server", timeout=10
    ).json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]  # RFC 8414 §2
    issuer = metadata["issuer"]

    # When the partner uses authlib's PrivateKeyJWT, unmodified, with our issuer as the audience
    session = oauth2.OAuth2Session(
        client_id,
        partner_key.private_pem().decode(),
        token_endpoint_auth_method=PrivateKeyJWT(issuer),
        scope="orders:read",
    )
    sent: list[str] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request.body))
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")

    # Then it has a token for its client, and the protected route lets it in
    assert token["token_type"].lower() == "bearer"
    orders = session.get(f"{stack.demo['api_url']}/orders", timeout=10)
    assert orders.status_code == 200
    assert orders.json()["caller"]["client_id"] == client_id

    # And the same assertion, sent again, is refused: invalid_client (RFC 7521 §4.2.1)
    (body,) = [b for b in sent if b and "client_assertion=" in (b if isinstance(b, str) else b.decode())]
    form = parse_qs(body if isinstance(body, str) else body.decode())
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    replay = requests.post(
        metadata["token_endpoint"],
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    # and nothing of the assertion reached the stack's output
    assert form["client_assertion"][0].split(".")[2] not in stack.output()
