"""A full run through the deployed handler (its own grant, pepper from Secrets Manager) with successes,
every kind of failure and hostile requests: no secret, hash, pepper, credential header or token appears
in any log line or anything else the function prints."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry, ClientStatus
from partnerauth.key_store import KeyStore
from tests.support.log_capture import LogCapture

from .conftest import FORM, TOKEN_PATH, Endpoint, basic, form, fresh_import


@pytest.fixture
def chatty_module(
    token_env: dict[str, str], key_store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    # Even with event logging switched on by environment, the handler must not log the event (credentials)
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    return fresh_import("token_issuer.app")


@pytest.fixture
def capture(token_env: dict[str, str], chatty_module: ModuleType) -> Iterator[LogCapture]:
    service = logging.getLogger(token_env["POWERTOOLS_SERVICE_NAME"])
    formatter = next((h.formatter for h in service.handlers if h.formatter is not None), None)
    handler = LogCapture(formatter)
    root = logging.getLogger()
    previous = root.level
    service.addHandler(handler)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.setLevel(previous)
        root.removeHandler(handler)
        service.removeHandler(handler)


def forbidden_strings(secrets: list[str], digests: list[bytes], tokens: list[str], pepper: str) -> list[str]:
    found: list[str] = [pepper]
    for secret in secrets:
        found.append(secret)
        found.append(secret[len("pacs_") :])  # the random part alone
    for digest in digests:
        found += [
            digest.hex(),
            base64.b64encode(digest).decode(),
            base64.urlsafe_b64encode(digest).decode()[:40],
            repr(digest)[2:40],
        ]
    for token in tokens:
        _header, payload, signature = token.split(".")
        found += [token, payload, signature]
    return found


def test_a_full_run_logs_ids_but_never_secrets_hashes_or_tokens(
    chatty_module: ModuleType,
    capture: LogCapture,
    registry: ClientRegistry,
    lambda_context: Any,
    pepper: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = Endpoint(chatty_module, lambda_context)
    live = registry.create(
        client_name="Live", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=600
    )
    rolled = registry.roll_secret(live.client.client_id, overlap=3600)
    disabled = registry.create(
        client_name="Off", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=600
    )
    registry.set_status(disabled.client.client_id, ClientStatus.DISABLED)
    cid = live.client.client_id
    secrets = [live.secret, rolled.secret, disabled.secret]

    tokens = []
    for secret in (live.secret, rolled.secret):
        reply = endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, basic(cid, secret)))
        assert reply.status == 200
        tokens.append(reply.json()["access_token"])
    reply = endpoint.post(form(grant_type="client_credentials", client_id=cid, client_secret=live.secret))
    tokens.append(reply.json()["access_token"])

    hostile: list[dict[str, Any]] = [
        {
            "body": form(grant_type="client_credentials"),
            "headers": (*FORM, basic(disabled.client.client_id, disabled.secret)),
        },
        {"body": form(grant_type="client_credentials"), "headers": (*FORM, basic(cid, live.secret + "x"))},
        {"body": form(grant_type="client_credentials"), "headers": (*FORM, basic("pc_unknown", live.secret))},
        # a confused partner sends its secret as the id: unknown ids are logged as a fingerprint only
        {"body": form(grant_type="client_credentials", client_id=live.secret, client_secret=live.secret)},
        {
            "body": form(grant_type="client_credentials"),
            "query": f"client_id={cid}&client_secret={live.secret}",
        },
        {
            "body": f'{{"client_id":"{cid}","client_secret":"{live.secret}"}}',
            "headers": (("Content-Type", "application/json"),),
        },
        {
            "body": form(grant_type="client_credentials", client_secret=live.secret),
            "headers": (*FORM, basic(cid, live.secret)),
        },
        {"body": form(grant_type="password", client_id=cid, client_secret=live.secret)},
        {
            "body": form(grant_type="client_credentials", scope="admin"),
            "headers": (*FORM, basic(cid, live.secret)),
        },
        {"body": form(grant_type="client_credentials", client_id=cid, client_secret=live.secret) + "&x=%ZZ"},
    ]
    for kwargs in hostile:
        assert endpoint.post(**kwargs).status >= 400
    assert endpoint.get(TOKEN_PATH).status == 404

    stored = [s.digest for client in registry.list_clients() for s in client.secrets]
    assert len(stored) == 3
    printed = capsys.readouterr()
    output = "\n".join([*capture.lines, printed.out, printed.err])
    # The run did log: ids, key ids and token ids are there (so this test can fail)
    assert cid in output
    assert all(token.split(".")[0] not in output for token in tokens)  # not even the JOSE header
    assert "jti" in output
    assert "invalid_client" in output
    authorization_values = [basic(cid, s)[1].split(" ", 1)[1] for s in secrets]
    for needle in [*forbidden_strings(secrets, stored, tokens, pepper), *authorization_values]:
        assert needle not in output
