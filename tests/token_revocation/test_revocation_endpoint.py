"""POST /oauth2/revoke: a partner revokes its own token (RFC 7009), through the deployed handler.

Revoked tokens reach an authorizer through the published revocation document (the JWKS function's route over
the same table, learned by a DocumentCache on the injected clock): within the JWKS max age (plus API Gateway's
authorizer cache TTL in production), never for the client's other tokens or for other clients.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_registry import IssuedSecret
from partnerauth.jwks_cache import DocumentCache
from partnerauth.keys import SigningKey
from partnerauth.revocations import (
    TOKEN_REVOCATION_QUOTA,
    Revocation,
    RevocationList,
    RevocationStore,
    parse_revocations,
    revocation_document,
)
from tests.support.clock import FakeClock
from tests.token_issuer.conftest import FORM, Endpoint, basic, form

from .conftest import REVOKE_PATH, NewClient, claims, credentials, forged, revoke, token_of

MAX_AGE = 600  # the template's JwksMaxAge default
URI = "https://auth.example.test/.well-known/revocations.json"


class Published:
    """JwksFunction's /.well-known/revocations.json over the table, as the authorizer's fetcher sees it."""

    def __init__(self, store: RevocationStore) -> None:
        self.store = store

    def fetch(self, uri: str) -> Any:
        return json.loads(json.dumps(revocation_document(self.store.published())))


@pytest.fixture
def authorizer_revocations(revocation_store: RevocationStore, clock: FakeClock) -> RevocationList:
    cache: DocumentCache[Revocation] = DocumentCache(
        Published(revocation_store), parse=parse_revocations, allow_empty=True, max_age=MAX_AGE, clock=clock
    )
    revocations = RevocationList(cache, URI, clock=clock)
    assert revocations.prefetch()  # the authorizer's cold start, before the revocation
    return revocations


def refused(revocations: RevocationList, token: str) -> bool:
    c = claims(token)
    return revocations.revokes(c["client_id"], c["jti"], c["iat"])


def live_items(revocation_store: RevocationStore) -> dict[str, Revocation]:
    return revocation_store.live()


def test_a_partner_revokes_its_own_token_and_an_authorizer_refuses_it_within_the_bound(
    endpoint: Endpoint,
    partner: IssuedSecret,
    new_client: NewClient,
    authorizer_revocations: RevocationList,
    clock: FakeClock,
) -> None:
    other_partner = new_client(client_name="Other")
    leaked, kept = token_of(endpoint, partner), token_of(endpoint, partner)
    other = token_of(endpoint, other_partner)
    # When the partner revokes one of its tokens
    t0 = clock()
    reply = revoke(endpoint, leaked, partner)
    # Then RFC 7009 §2.2: 200; the body is empty and no cache keeps the answer
    assert reply.status == 200
    assert reply.body == b""
    assert reply.header("Cache-Control") == "no-store"
    # and, every 10 s until the bound, the authorizer refuses it at the latest at max age; the partner's
    # other token and the other partner's token are never refused
    refused_at = None
    while clock() <= t0 + MAX_AGE:
        assert not refused(authorizer_revocations, kept)
        assert not refused(authorizer_revocations, other)
        if refused_at is None and refused(authorizer_revocations, leaked):
            refused_at = clock()
        if refused_at is not None:
            assert refused(authorizer_revocations, leaked)
        clock.advance(10)
    assert refused_at is not None
    assert refused_at - t0 <= MAX_AGE


def test_the_revocation_lasts_until_the_token_expires_plus_leeway_and_names_the_partner_as_actor(
    endpoint: Endpoint,
    partner: IssuedSecret,
    tables: dict[str, str],
    dynamodb_client: Any,
) -> None:
    token = token_of(endpoint, partner)
    assert revoke(endpoint, token, partner).status == 200
    c = claims(token)
    item = dynamodb_client.get_item(
        TableName=tables["RevocationsTable"], Key={"member": {"S": f"jti:{c['jti']}"}}, ConsistentRead=True
    )["Item"]
    # RFC 7009 §2: that token only, until it could no longer be accepted anyway
    assert item["client_id"]["S"] == partner.client.client_id
    assert int(item["expires_at"]["N"]) == c["exp"] + 60
    assert int(item["issued_at"]["N"]) == c["iat"]
    # the audit trail's hook: who asked
    assert item["changed_by"]["S"] == f"client:{partner.client.client_id}"
    assert "token" not in json.dumps(item).replace('"token"', "")  # never the token itself
    assert token not in json.dumps(item)


def test_another_clients_token_is_answered_200_and_not_revoked(
    endpoint: Endpoint,
    partner: IssuedSecret,
    new_client: NewClient,
    revocation_store: RevocationStore,
    table_snapshot: Callable[[], dict[str, Any]],
) -> None:
    victim = new_client(client_name="Victim")
    victims_token = token_of(endpoint, victim)
    before = table_snapshot()["RevocationsTable"]
    # RFC 7009 §2.1: the token was not issued to the caller; §2.2: answered like an invalid token
    reply = revoke(endpoint, victims_token, partner)
    assert reply.status == 200
    assert reply.body == b""
    assert table_snapshot()["RevocationsTable"] == before
    assert not revocation_store.is_revoked(victim.client.client_id, claims(victims_token)["jti"], 0)


@pytest.mark.parametrize(
    "what",
    [
        "not a jwt",
        "expired",
        "signed by a stranger",
        "typ is not at+jwt",
        "another issuer",
        "unknown kid",
        "too long",
        "no jti",
    ],
)
def test_a_token_that_is_not_a_live_one_of_ours_is_answered_200_and_nothing_is_written(
    endpoint: Endpoint,
    partner: IssuedSecret,
    session_keys: tuple[SigningKey, SigningKey],
    table_snapshot: Callable[[], dict[str, Any]],
    clock: FakeClock,
    what: str,
) -> None:
    from partnerauth.algorithms import KeySpec
    from partnerauth.keys import generate_signing_key

    current, _ = session_keys
    cid = partner.client.client_id
    tokens: dict[str, Callable[[], str]] = {
        "not a jwt": lambda: "not-a-token",
        "expired": lambda: forged(current, clock() - 2000, client_id=cid, sub=cid),
        "signed by a stranger": lambda: forged(
            generate_signing_key(KeySpec.ES256), clock(), client_id=cid, sub=cid
        ),
        "typ is not at+jwt": lambda: forged(
            current, clock(), header={"typ": "JWT"}, client_id=cid, sub=cid
        ),  # RFC 9068 §4
        "another issuer": lambda: forged(
            current, clock(), iss="https://evil.example.test", client_id=cid, sub=cid
        ),
        "unknown kid": lambda: forged(
            current, clock(), header={"kid": "no-such-kid"}, client_id=cid, sub=cid
        ),
        "too long": lambda: "e" * 3000,
        "no jti": lambda: forged(current, clock(), jti=None, client_id=cid, sub=cid),
    }
    before = table_snapshot()["RevocationsTable"]
    reply = revoke(endpoint, tokens[what](), partner)
    assert reply.status == 200  # RFC 7009 §2.2: "invalid tokens do not cause an error response"
    assert reply.body == b""
    assert table_snapshot()["RevocationsTable"] == before


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "no_such_type"])
def test_the_token_type_hint_is_ignored_whatever_it_says(
    endpoint: Endpoint, partner: IssuedSecret, revocation_store: RevocationStore, hint: str
) -> None:
    token = token_of(endpoint, partner)
    # RFC 7009 §2.1: a hint that does not locate the token extends the search; the server MAY ignore it
    assert revoke(endpoint, token, partner, token_type_hint=hint).status == 200
    c = claims(token)
    assert revocation_store.is_revoked(c["client_id"], c["jti"], c["iat"])


def test_revoking_twice_is_200_and_costs_no_quota(
    endpoint: Endpoint, partner: IssuedSecret, revocation_store: RevocationStore
) -> None:
    token = token_of(endpoint, partner)
    for _ in range(TOKEN_REVOCATION_QUOTA + 2):
        assert revoke(endpoint, token, partner).status == 200
    # a client retrying its revocation never cuts its own other tokens
    assert set(revocation_store.live()) == {f"jti:{claims(token)['jti']}"}


def test_past_its_quota_a_partner_cuts_its_own_tokens_and_no_other_partners(
    endpoint: Endpoint,
    partner: IssuedSecret,
    new_client: NewClient,
    revocation_store: RevocationStore,
    clock: FakeClock,
) -> None:
    other = new_client(client_name="Other")
    others_token = token_of(endpoint, other)
    revoked = []
    for _ in range(TOKEN_REVOCATION_QUOTA):
        token = token_of(endpoint, partner)
        assert revoke(endpoint, token, partner).status == 200
        revoked.append(token)
        clock.advance(1)
    kept = token_of(endpoint, partner)
    assert len(revocation_store.live()) == TOKEN_REVOCATION_QUOTA  # one jti revocation each
    # When it revokes one more token than its quota allows
    clock.advance(1)
    extra = token_of(endpoint, partner)
    assert revoke(endpoint, extra, partner).status == 200
    # Then no further jti item is written: its tokens issued up to that one are cut, in one client item
    live = revocation_store.live()
    assert len([m for m in live if m.startswith("jti:")]) == TOKEN_REVOCATION_QUOTA
    cut = live[f"client:{partner.client.client_id}"]
    assert cut.issued_before > claims(extra)["iat"]
    for token in (*revoked, kept, extra):
        c = claims(token)
        assert revocation_store.is_revoked(c["client_id"], c["jti"], c["iat"])
    # never another partner's
    c = claims(others_token)
    assert not revocation_store.is_revoked(c["client_id"], c["jti"], c["iat"])
    # and a token the partner gets afterwards works
    clock.advance(2)
    later = claims(token_of(endpoint, partner))
    assert not revocation_store.is_revoked(later["client_id"], later["jti"], later["iat"])


# -- rejections: RFC 6749 §5.2 answers, as at the token endpoint --------------------------------------
def test_a_missing_token_is_invalid_request(endpoint: Endpoint, partner: IssuedSecret) -> None:
    reply = endpoint.request("POST", REVOKE_PATH, body=form(), headers=(*FORM, credentials(partner)))
    assert reply.status == 400  # RFC 7009 §2.1: token is REQUIRED
    assert reply.json()["error"] == "invalid_request"
    assert reply.header("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    ("headers", "secret"),
    [
        ((), None),  # no client authentication
        (None, "wrong"),  # a wrong secret
    ],
)
def test_without_valid_client_credentials_the_answer_is_invalid_client(
    endpoint: Endpoint,
    partner: IssuedSecret,
    revocation_store: RevocationStore,
    headers: Any,
    secret: str | None,
) -> None:
    token = token_of(endpoint, partner)
    auth = () if headers == () else (basic(partner.client.client_id, str(secret)),)
    reply = endpoint.request("POST", REVOKE_PATH, body=form(token=token), headers=(*FORM, *auth))
    # RFC 7009 §2.1 / RFC 6749 §5.2: 401 invalid_client with a Basic challenge; nothing revoked
    assert reply.status == 401
    assert reply.json()["error"] == "invalid_client"
    assert (reply.header("WWW-Authenticate") or "").startswith("Basic ")
    assert revocation_store.live() == {}


@pytest.mark.parametrize(
    "request_kind",
    ["query string", "json body", "no content type", "repeated token", "two auth methods", "not base64"],
)
def test_a_malformed_request_is_invalid_request_and_revokes_nothing(
    endpoint: Endpoint, partner: IssuedSecret, revocation_store: RevocationStore, request_kind: str
) -> None:
    token = token_of(endpoint, partner)
    auth = credentials(partner)
    body, query = form(token=token), ""
    headers: tuple[tuple[str, str], ...] = (*FORM, auth)
    if request_kind == "query string":
        query = "token=" + token  # RFC 7009 §2.1: the parameters travel in the body
    elif request_kind == "json body":
        body, headers = json.dumps({"token": token}), (("Content-Type", "application/json"), auth)
    elif request_kind == "no content type":
        headers = (auth,)
    elif request_kind == "repeated token":
        body = f"{body}&token=x"  # RFC 6749 §3.2: no parameter twice
    elif request_kind == "two auth methods":
        body = form(token=token, client_id=partner.client.client_id, client_secret=partner.secret)
    if request_kind == "not base64":
        event = endpoint.event("POST", REVOKE_PATH, body=body, headers=headers)
        event["isBase64Encoded"] = True
        event["body"] = "%%%"
        reply = endpoint.invoke(event)
    else:
        reply = endpoint.request("POST", REVOKE_PATH, body=body, headers=headers, query=query)
    assert reply.status == 400
    assert reply.json()["error"] == "invalid_request"
    assert revocation_store.live() == {}


def test_while_our_keys_cannot_be_read_the_answer_is_503_and_nothing_is_written(
    endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: Any,
    tables: dict[str, str],
    revocation_store: RevocationStore,
) -> None:
    from tests.token_issuer.conftest import aws_error

    token = token_of(endpoint, partner)
    recording_dynamodb.fail(
        "get_item", aws_error("InternalServerError", status=500), tables["SigningKeysTable"]
    )
    reply = revoke(endpoint, token, partner)
    # RFC 7009 §2.2.1: 503 - the client must assume the token still exists, and may retry
    assert reply.status == 503
    assert reply.json()["error"] == "temporarily_unavailable"
    assert revocation_store.live() == {}
