"""POST /oauth2/introspect (RFC 7662) through the deployed handler: the §2.2 members of an active token,
``{"active": false}`` and nothing more for every other state, only for callers allowed to ask."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.client_registry import ClientRegistry, ClientStatus, IssuedSecret
from partnerauth.keys import SigningKey, generate_signing_key
from partnerauth.revocations import RevocationStore
from tests.support.clock import FakeClock
from tests.token_issuer.conftest import (
    AUDIENCE,
    FORM,
    ISSUER,
    OTHER_AUDIENCE,
    Endpoint,
    aws_error,
    basic,
    form,
)
from tests.token_revocation.conftest import (
    INTROSPECT_PATH,
    LEEWAY,
    claims,
    credentials,
    forged,
    introspect,
    revoke,
    token_of,
)


def test_an_active_token_is_described_by_the_rfc_7662_members(
    endpoint: Endpoint, partner: IssuedSecret, resource_server: IssuedSecret
) -> None:
    token = token_of(endpoint, partner, scope="orders:read")
    reply = introspect(endpoint, token, resource_server)
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json;charset=UTF-8"
    assert reply.header("Cache-Control") == "no-store"  # the answer changes with time and revocations
    c = claims(token)
    # RFC 7662 §2.2: active, and what the token says of itself (RFC 9068 §2.2 claims)
    assert reply.json() == {
        "active": True,
        "scope": "orders:read",
        "client_id": partner.client.client_id,
        "token_type": "Bearer",
        "exp": c["exp"],
        "iat": c["iat"],
        "nbf": c["nbf"],
        "sub": partner.client.client_id,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "jti": c["jti"],
    }
    assert token not in reply.body.decode()  # never echoed


States = Callable[[], str]


@pytest.mark.parametrize(
    "state",
    [
        "expired",
        "not yet valid",
        "revoked by jti",
        "revoked with its client",
        "of a disabled client",
        "of a deleted client",
        "signed by a stranger",
        "not a jwt",
        "typ is not at+jwt",
        "of another issuer",
        "for another resource",
        "unknown kid",
        "lifetime too long",
    ],
)
def test_every_inactive_state_is_active_false_and_nothing_more(
    endpoint: Endpoint,
    partner: IssuedSecret,
    resource_server: IssuedSecret,
    registry: ClientRegistry,
    revocation_store: RevocationStore,
    session_keys: tuple[SigningKey, SigningKey],
    clock: FakeClock,
    state: str,
) -> None:
    current, _ = session_keys
    cid = partner.client.client_id

    def ours(now: float, **changes: Any) -> str:
        return forged(current, now, client_id=cid, sub=cid, **changes)

    def expired() -> str:
        token = token_of(endpoint, partner)
        clock.advance(900 + LEEWAY + 1)  # RFC 7519 §4.1.4, with the verifiers' leeway
        return token

    def revoked_by_jti() -> str:
        token = token_of(endpoint, partner)
        assert revoke(endpoint, token, partner).status == 200
        return token

    def revoked_with_client() -> str:
        token = token_of(endpoint, partner)
        revocation_store.revoke_client(cid)  # admin CLI revoke-tokens
        return token

    def disabled() -> str:
        token = token_of(endpoint, partner)
        registry.set_status(cid, ClientStatus.DISABLED)
        return token

    def deleted() -> str:
        token = token_of(endpoint, partner)
        registry.delete(cid)
        return token

    tokens: dict[str, States] = {
        "expired": expired,
        "not yet valid": lambda: ours(clock(), nbf=int(clock()) + LEEWAY + 120),  # RFC 7519 §4.1.5
        "revoked by jti": revoked_by_jti,
        "revoked with its client": revoked_with_client,
        "of a disabled client": disabled,
        "of a deleted client": deleted,
        "signed by a stranger": lambda: forged(generate_signing_key(KeySpec.ES256), clock(), client_id=cid),
        "not a jwt": lambda: "opaque-token-value",
        "typ is not at+jwt": lambda: forged(current, clock(), header={"typ": "JWT"}, client_id=cid),
        "of another issuer": lambda: ours(clock(), iss="https://other.example.test"),
        "for another resource": lambda: token_of(endpoint, partner, resource=OTHER_AUDIENCE),  # RFC 7662 §4
        "unknown kid": lambda: forged(current, clock(), header={"kid": "retired-long-ago"}, client_id=cid),
        "lifetime too long": lambda: ours(clock(), exp=int(clock()) + 3600 + 600),
    }
    token = tokens[state]()
    reply = introspect(endpoint, token, resource_server)
    # RFC 7662 §2.2: not an error, and no word on why (SHOULD NOT include additional information)
    assert reply.status == 200
    assert reply.json() == {"active": False}
    assert reply.header("Cache-Control") == "no-store"


def test_the_same_token_is_active_just_before_each_inactive_state(
    endpoint: Endpoint,
    partner: IssuedSecret,
    resource_server: IssuedSecret,
    session_keys: tuple[SigningKey, SigningKey],
    clock: FakeClock,
) -> None:
    # the inactive cases above are not inactive for some other reason: the forged token, unchanged, is active
    current, _ = session_keys
    cid = partner.client.client_id
    token = forged(current, clock(), client_id=cid, sub=cid)
    assert introspect(endpoint, token, resource_server).json()["active"] is True
    assert introspect(endpoint, token_of(endpoint, partner, audience=AUDIENCE), resource_server).json()[
        "active"
    ]


def test_a_revocation_is_seen_by_the_next_introspection(
    endpoint: Endpoint, partner: IssuedSecret, resource_server: IssuedSecret
) -> None:
    token = token_of(endpoint, partner)
    assert introspect(endpoint, token, resource_server).json()["active"] is True
    assert revoke(endpoint, token, partner).status == 200
    # RFC 7662 §4: revocation MUST be checked - exactly, with consistent reads, not through a cached copy
    assert introspect(endpoint, token, resource_server).json() == {"active": False}


def test_a_client_without_the_introspect_permission_is_refused_before_any_token_is_read(
    endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: Any,
    tables: dict[str, str],
) -> None:
    token = token_of(endpoint, partner)
    recording_dynamodb.calls.clear()
    reply = introspect(endpoint, token, partner)  # a partner asking about its own token: not allowed
    # RFC 7662 §4: callers are "specifically authorized"; RFC 6749 §5.2: unauthorized_client, 400
    assert reply.status == 400
    assert reply.json()["error"] == "unauthorized_client"
    assert reply.header("Cache-Control") == "no-store"
    assert recording_dynamodb.count("get_item", tables["SigningKeysTable"]) == 0
    assert recording_dynamodb.count("get_item", tables["RevocationsTable"]) == 0


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_without_valid_client_credentials_the_answer_is_invalid_client(
    endpoint: Endpoint, partner: IssuedSecret, resource_server: IssuedSecret, secret: str | None
) -> None:
    token = token_of(endpoint, partner)
    auth = () if secret is None else (basic(resource_server.client.client_id, secret),)
    reply = endpoint.request("POST", INTROSPECT_PATH, body=form(token=token), headers=(*FORM, *auth))
    # RFC 7662 §2.3 / RFC 6749 §5.2: 401 invalid_client and a challenge; nothing about the token
    assert reply.status == 401
    assert reply.json()["error"] == "invalid_client"
    assert (reply.header("WWW-Authenticate") or "").startswith("Basic ")
    assert "active" not in reply.json()


@pytest.mark.parametrize("request_kind", ["no token", "query string", "json body", "repeated token"])
def test_a_malformed_request_is_invalid_request(
    endpoint: Endpoint, partner: IssuedSecret, resource_server: IssuedSecret, request_kind: str
) -> None:
    token = token_of(endpoint, partner)
    auth = credentials(resource_server)
    body, query = form(token=token), ""
    headers: tuple[tuple[str, str], ...] = (*FORM, auth)
    if request_kind == "no token":
        body = form(token_type_hint="access_token")  # RFC 7662 §2.1: token is REQUIRED
    elif request_kind == "query string":
        body, query = "", "token=" + token  # §2.1: POST with a form body
    elif request_kind == "json body":
        body, headers = json.dumps({"token": token}), (("Content-Type", "application/json"), auth)
    elif request_kind == "repeated token":
        body = f"{body}&token=x"
    reply = endpoint.request("POST", INTROSPECT_PATH, body=body, headers=headers, query=query)
    assert reply.status == 400
    assert reply.json()["error"] == "invalid_request"


@pytest.mark.parametrize("table", ["SigningKeysTable", "RevocationsTable"])
def test_while_a_table_cannot_be_read_the_answer_is_503_not_inactive(
    endpoint: Endpoint,
    partner: IssuedSecret,
    resource_server: IssuedSecret,
    recording_dynamodb: Any,
    tables: dict[str, str],
    table: str,
) -> None:
    token = token_of(endpoint, partner)
    recording_dynamodb.fail("get_item", aws_error("InternalServerError", status=500), tables[table])
    reply = introspect(endpoint, token, resource_server)
    assert reply.status == 503  # a token that may well be active is not called inactive
    assert reply.json()["error"] == "temporarily_unavailable"
    assert reply.header("Retry-After")
