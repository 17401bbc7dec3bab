"""Nothing stored can take the client side down (issue 19): a malformed client item authenticates nobody,
is answered like a wrong secret (same work, 401 invalid_client, never a 500), is listed as malformed
without hiding the other clients, and can still be disabled and deleted.  What is tolerated (string sets,
unknown attributes, no version) works and survives a rewrite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_assertion import JWT_BEARER
from partnerauth.client_items import MalformedClientItem, decode_client, encode_client
from partnerauth.client_registry import (
    MAX_SECRETS,
    AuthFailure,
    ClientAuthenticationFailed,
    ClientRegistry,
    ClientStatus,
    IssuedSecret,
)

from .assertions import PartnerKey, sign_assertion
from .conftest import AUDIENCE, ISSUER, MAX_TOKEN_LIFETIME, CountingHasher, Endpoint, basic, form
from .malformed_items import SHAPES, STORABLE, Shape, shape_id


@pytest.fixture
def counted_registry(
    tables: dict[str, str], dynamodb_client: Any, hasher: CountingHasher, clock: Any
) -> ClientRegistry:
    return ClientRegistry(
        tables["ClientsTable"], dynamodb_client, hasher, clock, max_token_lifetime=MAX_TOKEN_LIFETIME
    )


def stored_item(dynamodb_client: Any, tables: dict[str, str], client_id: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb_client.get_item(
        TableName=tables["ClientsTable"], Key={"client_id": {"S": client_id}}, ConsistentRead=True
    )["Item"]
    return item


def store(dynamodb_client: Any, tables: dict[str, str], item: dict[str, Any]) -> None:
    dynamodb_client.put_item(TableName=tables["ClientsTable"], Item=item)


def with_keys_and_plan(item: dict[str, Any]) -> dict[str, Any]:
    """Every optional attribute present (so that each can be broken)."""
    return {
        **item,
        "jwks": {"S": '{"keys":[]}'},
        "plan": {"S": "silver"},
        "permissions": {"L": [{"S": "introspect"}]},
        "changed_at": {"N": "1"},
    }


# --------------------------------------------------------------------------- authentication


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_a_malformed_item_authenticates_nobody_with_the_work_of_a_wrong_secret(
    shape: Shape,
    counted_registry: ClientRegistry,
    partner: IssuedSecret,
    hasher: CountingHasher,
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    # Given the partner's item broken in one way, and the partner's right secret
    item = shape.applied(with_keys_and_plan(stored_item(dynamodb_client, tables, partner.client.client_id)))
    presented = counted_registry.presented_digest(partner.secret)
    hasher.reset()
    # When it is authenticated, then it fails closed, for the logs as malformed_client
    with pytest.raises(ClientAuthenticationFailed) as failed:
        counted_registry.authenticate_item(item, presented)
    assert failed.value.reason is AuthFailure.MALFORMED_CLIENT
    # and with the work of a wrong secret: MAX_SECRETS constant-time comparisons, no early exit
    assert hasher.comparisons == MAX_SECRETS


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_the_codec_names_the_attribute_and_never_the_content(shape: Shape, partner: IssuedSecret) -> None:
    item = shape.applied(with_keys_and_plan(_encoded(partner)))
    with pytest.raises(MalformedClientItem) as malformed:
        decode_client(item)
    assert malformed.value.reason == shape.reason
    for value in ("orders:read", "900", "suspended", "yesterday", "not json", partner.secret):
        assert value not in str(malformed.value)


@pytest.mark.parametrize("shape", STORABLE, ids=shape_id)
def test_a_malformed_item_in_the_table_fails_closed_through_authenticate(
    shape: Shape,
    registry: ClientRegistry,
    partner: IssuedSecret,
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    store(dynamodb_client, tables, shape.applied(with_keys_and_plan(_encoded(partner))))
    with pytest.raises(ClientAuthenticationFailed) as failed:
        registry.authenticate(partner.client.client_id, partner.secret)
    assert failed.value.reason is AuthFailure.MALFORMED_CLIENT


def test_unknown_client_and_malformed_item_do_the_same_work(
    counted_registry: ClientRegistry, hasher: CountingHasher, partner: IssuedSecret
) -> None:
    presented = counted_registry.presented_digest("pacs_wrong")
    broken = SHAPES[1].applied(_encoded(partner))
    counts = []
    for item in (None, broken):
        hasher.reset()
        with pytest.raises(ClientAuthenticationFailed):
            counted_registry.authenticate_item(item, presented)
        counts.append((hasher.digests, hasher.comparisons))
    assert counts[0] == counts[1] == (0, MAX_SECRETS)


# --------------------------------------------------------------------------- what is tolerated


@pytest.mark.parametrize("attribute", ["scopes", "audiences", "grant_types", "permissions"])
def test_string_sets_are_read_as_the_lists_they_hold(
    attribute: str,
    registry: ClientRegistry,
    partner: IssuedSecret,
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    # Given a list attribute written as a DynamoDB string set by another tool
    values = {
        "scopes": ["orders:write", "orders:read"],
        "audiences": [AUDIENCE, "https://inventory.example.test"],
        "grant_types": ["client_credentials"],
        "permissions": ["introspect"],
    }[attribute]
    item = {**_encoded(partner), attribute: {"SS": values}}
    store(dynamodb_client, tables, item)
    # Then it is read with every member (sorted: a set has no order), not silently emptied
    client = registry.authenticate(partner.client.client_id, partner.secret)
    assert getattr(client, attribute) == tuple(sorted(values))


def test_unknown_attributes_are_tolerated_and_kept_by_every_rewrite(
    registry: ClientRegistry, partner: IssuedSecret, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    # Given an attribute a newer version wrote (forward compatibility, docs/DESIGN.md)
    future = {"mfa_policy": {"M": {"level": {"S": "strict"}}}, "tier_v2": {"N": "3"}}
    store(dynamodb_client, tables, {**_encoded(partner), **future})
    client_id = partner.client.client_id
    # Then this version authenticates the client and keeps the attribute through its own writes
    assert registry.authenticate(client_id, partner.secret).client_id == client_id
    registry.update(client_id, client_name="Renamed")
    registry.roll_secret(client_id, overlap=60)
    registry.set_status(client_id, ClientStatus.DISABLED)
    stored = stored_item(dynamodb_client, tables, client_id)
    assert {name: stored[name] for name in future} == future


def test_an_item_without_version_authenticates_and_can_be_updated_and_disabled(
    registry: ClientRegistry, partner: IssuedSecret, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    # Given a hand-written item without version (read as version 0)
    item = _encoded(partner)
    item.pop("version")
    store(dynamodb_client, tables, item)
    client_id = partner.client.client_id
    assert registry.get(client_id).version == 0
    # When it is updated, then the write's condition accepts "no version yet"
    assert registry.update(client_id, client_name="Renamed").version == 1
    # and a hand-written item without version can be disabled (the documented cut-off)
    item.pop("version", None)
    store(dynamodb_client, tables, item)
    assert registry.set_status(client_id, ClientStatus.DISABLED).status is ClientStatus.DISABLED
    with pytest.raises(ClientAuthenticationFailed) as failed:
        registry.authenticate(client_id, partner.secret)
    assert failed.value.reason is AuthFailure.DISABLED_CLIENT


# --------------------------------------------------------------------------- the operator's reads and writes


def test_list_names_each_malformed_item_and_hides_no_other_client(
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    good = new_client(client_id="good")
    bad = new_client(client_id="bad")
    store(dynamodb_client, tables, SHAPES[4].applied(_encoded(bad)))
    entries = registry.list_entries()
    assert [getattr(entry, "client_id", None) for entry in entries] == ["bad", "good"]
    malformed = entries[0]
    assert isinstance(malformed, MalformedClientItem)
    assert malformed.reason == "scopes"
    assert [client.client_id for client in registry.list_clients()] == [good.client.client_id]


@pytest.mark.parametrize("shape", STORABLE, ids=shape_id)
def test_disable_works_on_every_malformed_item(
    shape: Shape,
    registry: ClientRegistry,
    partner: IssuedSecret,
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    client_id = partner.client.client_id
    store(dynamodb_client, tables, shape.applied(with_keys_and_plan(_encoded(partner))))
    registry.disable(client_id)
    stored = stored_item(dynamodb_client, tables, client_id)
    assert stored["status"] == {"S": "disabled"}  # the incident-response action needs nothing decoded


def test_get_of_a_malformed_item_says_why_and_delete_removes_it(
    registry: ClientRegistry, partner: IssuedSecret, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    client_id = partner.client.client_id
    store(dynamodb_client, tables, SHAPES[13].applied(_encoded(partner)))
    with pytest.raises(MalformedClientItem, match=r"malformed \(token_lifetime\)"):
        registry.get(client_id)
    registry.delete(client_id)
    assert registry.find(client_id) is None


# --------------------------------------------------------------------------- the token endpoint


@pytest.mark.parametrize("shape", STORABLE, ids=shape_id)
def test_the_token_endpoint_answers_a_malformed_item_with_401_invalid_client(
    shape: Shape,
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    store(dynamodb_client, tables, shape.applied(with_keys_and_plan(_encoded(partner))))
    reply = token_endpoint.post(
        form(grant_type="client_credentials"),
        headers=[*_FORM, basic(partner.client.client_id, partner.secret)],
    )
    # RFC 6749 §5.2: client authentication failed -> 401 invalid_client, never a 500
    assert reply.status == 401
    assert reply.json()["error"] == "invalid_client"
    # and the failure is counted for the client id like a wrong secret (the throttle's record exists)
    attempts = dynamodb_client.get_item(
        TableName=tables["AuthAttemptsTable"], Key={"client_id": {"S": partner.client.client_id}}
    ).get("Item")
    assert attempts is not None


def test_find_treats_a_malformed_item_as_nobody_and_lookup_says_why(
    registry: ClientRegistry, partner: IssuedSecret, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    client_id = partner.client.client_id
    store(dynamodb_client, tables, SHAPES[4].applied(_encoded(partner)))
    assert registry.find(client_id) is None  # callers that refuse unknown clients refuse it too
    found = registry.lookup(client_id)
    assert isinstance(found, MalformedClientItem)
    assert found.reason == "scopes"
    assert registry.lookup("nobody") is None


@pytest.mark.parametrize("shape", STORABLE[:8], ids=shape_id)
def test_a_private_key_jwt_client_with_a_malformed_item_is_401_not_500(
    shape: Shape,
    assertion_endpoint: Endpoint,
    registry: ClientRegistry,
    partner_rsa: PartnerKey,
    clock: Any,
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    keyed = registry.create_with_keys(
        client_name="Keyed",
        scopes=["orders:read"],
        audiences=[AUDIENCE],
        token_lifetime=900,
        jwks=partner_rsa.jwks(),
    )
    store(dynamodb_client, tables, shape.applied(encode_client(keyed)))
    assertion = sign_assertion(partner_rsa, keyed.client_id, ISSUER, clock())
    reply = token_endpoint_post(
        assertion_endpoint, {"grant_type": "client_credentials", **assertion_params(assertion)}
    )
    # RFC 7521 §4.2.1 / RFC 6749 §5.2: invalid_client, never a 500
    assert reply.status == 401
    assert reply.json()["error"] == "invalid_client"


def token_endpoint_post(endpoint: Endpoint, params: dict[str, str]) -> Any:
    from urllib.parse import urlencode

    return endpoint.post(urlencode(params), headers=_FORM)


def assertion_params(assertion: str) -> dict[str, str]:
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}


_FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


def _encoded(issued: IssuedSecret) -> dict[str, Any]:
    from partnerauth.client_items import encode_client

    return encode_client(issued.client)
