"""Issue 14's "Must show" on `make dev`: cutting one partner off takes effect within the bound the admin CLI
prints, while another partner's token stays 200 throughout; a partner revoking its own token (RFC 7009)
through an unmodified OAuth client library (authlib) is cut within the same bound, and a resource server
sees it at once through RFC 7662 introspection.

`python -m local` runs with ``AuthorizerCacheTtl=5`` (``PARAMETER_OVERRIDES``, as an operator may deploy
it; the local stack already uses the template's smallest ``JwksMaxAge``, 60 s), so the bound is 65 s.  The
admin CLI runs as an operator runs it against ``make dev``: with the ``export`` lines the stack prints.
Every wait is a poll with a deadline (the bound plus a margin); loopback only.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from authlib.integrations import requests_client as oauth2  # type: ignore[import-untyped]

from .running_stack import StackProcess, admin_json, stack_environment, start_stack, wait_until

pytestmark = pytest.mark.e2e

AUTHORIZER_CACHE_TTL = 5
POLL_INTERVAL = 0.5  # seconds between two rounds of calls
MARGIN = 15.0  # seconds past the bound before the test gives up


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(
        tmp_path_factory.mktemp("revoke-tokens"),
        environment={"PARAMETER_OVERRIDES": f"AuthorizerCacheTtl={AUTHORIZER_CACHE_TTL}"},
    )
    yield running
    running.stop()


def banner_exports(stack: StackProcess) -> dict[str, str]:
    """The ``export NAME=value ...`` lines `make dev` prints for the admin CLI."""
    exports: dict[str, str] = {}
    for line in stack.output().splitlines():
        if line.strip().startswith("export "):
            for pair in shlex.split(line.strip().removeprefix("export ")):
                name, _, value = pair.partition("=")
                exports[name] = value
    return exports


def admin(stack: StackProcess, *arguments: str) -> Any:
    """``python -m tools.partnerauth_admin --json ...`` in a shell where the banner's exports were pasted."""
    return admin_json(stack_environment(stack.state_dir, 0) | banner_exports(stack), *arguments)


def partner_session(stack: StackProcess, client_id: str, *extra: str) -> Any:
    """A partner created with the CLI, holding a token from an authlib OAuth2Session (RFC 6749 §4.4)."""
    created = admin(
        stack, "create", "--name", client_id, "--client-id", client_id, "--scope", "orders:read", *extra
    )
    session = oauth2.OAuth2Session(
        client_id,
        created["client_secret"],
        scope="orders:read",
        token_endpoint_auth_method="client_secret_basic",
    )
    session.fetch_token(stack.demo["token_url"], grant_type="client_credentials")
    return session


def status(stack: StackProcess, session: Any) -> int:
    return int(session.get(f"{stack.demo['api_url']}/orders", timeout=10).status_code)


def test_revoke_tokens_cuts_one_partner_within_the_printed_bound_and_no_other(stack: StackProcess) -> None:
    api_url = stack.demo["api_url"]
    metadata = requests.get(f"{api_url}/.well-known/oauth-authorization-server", timeout=10).json()
    # RFC 8414 §2: both endpoints are listed, with the token endpoint's client authentication
    revoke_url, introspect_url = metadata["revocation_endpoint"], metadata["introspection_endpoint"]
    assert revoke_url == f"{api_url}/oauth2/revoke"
    assert introspect_url == f"{api_url}/oauth2/introspect"
    leaked = partner_session(stack, "leaked-partner")
    careful = partner_session(stack, "careful-partner")
    bystander = partner_session(stack, "bystander-partner")
    resource_server = partner_session(
        stack, "orders-api", "--permission", "introspect"
    )  # its audience: the sample API's (the template's DefaultAudience)
    # Given three partners whose tokens are admitted (and cached by the local API Gateway)
    assert [status(stack, s) for s in (leaked, careful, bystander)] == [200, 200, 200]
    careful_token = careful.token["access_token"]
    active = resource_server.introspect_token(introspect_url, token=careful_token)
    assert active.status_code == 200
    assert active.json()["active"] is True
    assert active.json()["client_id"] == "careful-partner"

    # When the operator cuts one partner off, and another partner revokes its own token (RFC 7009)
    started = time.monotonic()
    cut = admin(stack, "revoke-tokens", "leaked-partner")
    revoked = careful.revoke_token(revoke_url, token=careful_token, token_type_hint="access_token")
    assert revoked.status_code == 200  # RFC 7009 §2.2
    # Then the command states its bound from the stack's own figures
    assert cut["jwks_max_age"] == 60
    assert cut["authorizer_cache_ttl"] == AUTHORIZER_CACHE_TTL
    bound = cut["bound"]
    assert bound == cut["jwks_max_age"] + cut["authorizer_cache_ttl"]
    # and introspection says so at once (RFC 7662 §4: exact, not cached)
    assert resource_server.introspect_token(introspect_url, token=careful_token).json() == {"active": False}

    # and both tokens turn 401 within the bound, while the bystander's stays 200 throughout
    refused_at: dict[str, float] = {}
    pause = threading.Event()
    deadline = started + bound + MARGIN
    while len(refused_at) < 2 and time.monotonic() < deadline:
        assert status(stack, bystander) == 200
        for name, session in (("leaked", leaked), ("careful", careful)):
            answer = status(stack, session)
            if name in refused_at:
                assert answer == 401  # once refused, refused for good
            elif answer == 401:
                refused_at[name] = time.monotonic() - started
            else:
                assert answer == 200
        pause.wait(POLL_INTERVAL)
    assert set(refused_at) == {"leaked", "careful"}, f"not refused within {bound + MARGIN:.0f} s"
    assert max(refused_at.values()) <= bound + POLL_INTERVAL + 1, refused_at  # + the last poll's round trip
    assert status(stack, bystander) == 200

    # and a token the leaked partner gets after the cut is admitted (only tokens issued before it are cut)
    # (the cut covers every token issued up to its whole second: the first of the next second is admitted)
    def admitted_with_a_new_token() -> bool:
        leaked.fetch_token(stack.demo["token_url"], grant_type="client_credentials")
        return status(stack, leaked) == 200

    wait_until(admitted_with_a_new_token, 10, "a token issued after the cut to be admitted")
