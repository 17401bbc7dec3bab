"""A client item that cannot be read authenticates nobody (issue 19) and is counted: ``MalformedClientItems``
in the token function's metrics, whichever method the caller used (secret or private_key_jwt)."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry, IssuedSecret
from tests.support.clock import FakeClock
from tests.support.metrics import emitted

from .assertions import PartnerKey, assertion_form, sign_assertion
from .conftest import AUDIENCE, FORM, ISSUER, Endpoint, basic, form


def damage(dynamodb: Any, table: str, client_id: str) -> None:
    """A hand-edited item: a token lifetime that is not a number."""
    dynamodb.update_item(
        TableName=table,
        Key={"client_id": {"S": client_id}},
        UpdateExpression="SET token_lifetime = :junk",
        ExpressionAttributeValues={":junk": {"S": "soon"}},
    )


def test_a_secret_for_a_malformed_item_is_401_and_counted(
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    dynamodb_client: Any,
    tables: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    damage(dynamodb_client, tables["ClientsTable"], partner.client.client_id)
    capsys.readouterr()
    reply = token_endpoint.post(
        form(grant_type="client_credentials"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )
    assert reply.status == 401
    assert emitted(capsys.readouterr().out).get("MalformedClientItems") == 1


def test_an_assertion_for_a_malformed_item_is_401_and_counted(
    assertion_endpoint: Endpoint,
    registry: ClientRegistry,
    partner_ec: PartnerKey,
    dynamodb_client: Any,
    tables: dict[str, str],
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = registry.create_with_keys(
        client_name="Keyed", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900,
        jwks={"keys": [partner_ec.jwk]},
    )  # fmt: skip
    damage(dynamodb_client, tables["ClientsTable"], client.client_id)
    capsys.readouterr()
    reply = assertion_endpoint.post(
        form(**assertion_form(sign_assertion(partner_ec, client.client_id, ISSUER, clock())))
    )
    assert reply.status == 401
    assert emitted(capsys.readouterr().out).get("MalformedClientItems") == 1


def test_a_wrong_secret_for_a_readable_item_is_not_counted_as_malformed(
    token_endpoint: Endpoint, partner: IssuedSecret, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    reply = token_endpoint.post(
        form(grant_type="client_credentials"), headers=(*FORM, basic(partner.client.client_id, "pacs_wrong"))
    )
    assert reply.status == 401
    assert "MalformedClientItems" not in emitted(capsys.readouterr().out)
