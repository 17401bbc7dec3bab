"""One DynamoDB read per token request (issue 16 item 5): the client item and the presented id's failure
record come back from one consistent BatchGetItem; keys DynamoDB leaves unprocessed are asked for again, a
bounded number of times, then the request is a 503."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.auth_throttle import AuthThrottle
from partnerauth.client_and_attempts import (
    MAX_BATCH_CALLS,
    ClientAndAttemptsReader,
    ClientReadUnavailable,
)
from partnerauth.client_registry import ClientRegistry, IssuedSecret
from tests.support.clock import FakeClock
from token_issuer.oauth_errors import as_oauth_error

from .assertions import PartnerKey, assertion_form, sign_assertion
from .conftest import AUDIENCE, FORM, ISSUER, Endpoint, RecordingClient, basic, form


class UnprocessedBatches:
    """A DynamoDB client whose first ``unprocessed`` BatchGetItem calls return every key unprocessed (as
    DynamoDB does when it throttles part of a batch); later calls reach moto.  Calls and requests recorded."""

    def __init__(self, client: Any, unprocessed: int) -> None:
        self._client = client
        self.unprocessed = unprocessed
        self.requests: list[dict[str, Any]] = []

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs["RequestItems"])
        if self.unprocessed > 0:
            self.unprocessed -= 1
            return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}
        response: dict[str, Any] = self._client.batch_get_item(**kwargs)
        return response


def reader_over(
    dynamodb: Any, registry: ClientRegistry, throttle: AuthThrottle, pauses: list[float]
) -> ClientAndAttemptsReader:
    return ClientAndAttemptsReader(registry, throttle, dynamodb, pause=pauses.append)


def test_the_read_is_one_consistent_batch_of_both_items(
    registry: ClientRegistry, throttle: AuthThrottle, partner: IssuedSecret, dynamodb_client: Any
) -> None:
    batches, pauses = UnprocessedBatches(dynamodb_client, 0), list[float]()
    throttle.record_failure(partner.client.client_id)
    read = reader_over(batches, registry, throttle, pauses).read(partner.client.client_id)
    assert read.client_item is not None
    assert read.client_item["client_id"] == {"S": partner.client.client_id}
    assert read.attempts.failures == 1
    # One call; strongly consistent on both tables, like the two GetItems it replaces
    [request] = batches.requests
    assert {table: keys["ConsistentRead"] for table, keys in request.items()} == {
        registry.table_name: True,
        throttle.table_name: True,
    }
    assert pauses == []


def test_an_unknown_id_reads_the_same_way_and_finds_nothing(
    registry: ClientRegistry, throttle: AuthThrottle, dynamodb_client: Any
) -> None:
    batches = UnprocessedBatches(dynamodb_client, 0)
    read = reader_over(batches, registry, throttle, []).read("pc_nobody")
    assert read.client_item is None
    assert read.attempts.failures == 0
    assert len(batches.requests) == 1


def test_unprocessed_keys_are_asked_for_again_after_a_growing_pause(
    registry: ClientRegistry, throttle: AuthThrottle, partner: IssuedSecret, dynamodb_client: Any
) -> None:
    batches, pauses = UnprocessedBatches(dynamodb_client, MAX_BATCH_CALLS - 1), list[float]()
    read = reader_over(batches, registry, throttle, pauses).read(partner.client.client_id)
    assert read.client_item is not None
    assert len(batches.requests) == MAX_BATCH_CALLS
    assert pauses == sorted(pauses)
    assert len(pauses) == MAX_BATCH_CALLS - 1
    assert pauses[0] < pauses[-1]


def test_keys_still_unprocessed_after_the_last_call_are_a_dependency_failure(
    registry: ClientRegistry, throttle: AuthThrottle, partner: IssuedSecret, dynamodb_client: Any
) -> None:
    batches = UnprocessedBatches(dynamodb_client, MAX_BATCH_CALLS)
    with pytest.raises(ClientReadUnavailable):
        reader_over(batches, registry, throttle, []).read(partner.client.client_id)
    assert len(batches.requests) == MAX_BATCH_CALLS  # bounded: no call after the last allowed one
    # and the token endpoint answers it as every dependency failure: 503 with Retry-After
    refusal = as_oauth_error(ClientReadUnavailable())
    assert (refusal.status, refusal.error) == (503, "temporarily_unavailable")
    assert refusal.headers()["Retry-After"].isdigit()


def test_a_token_costs_one_read_round_trip_and_one_write(
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    recording_kms: RecordingClient,
    tables: dict[str, str],
) -> None:
    headers = (*FORM, basic(partner.client.client_id, partner.secret))
    assert token_endpoint.post(form(grant_type="client_credentials"), headers=headers).status == 200  # warm
    recording_dynamodb.calls.clear()
    recording_kms.calls.clear()
    # When a warm instance issues a token
    assert token_endpoint.post(form(grant_type="client_credentials"), headers=headers).status == 200
    # Then AWS saw one BatchGetItem (client + failure record) and the issuance count's UpdateItem; the
    # signing key and its decrypted private key come from the instance's cache (signing_key_cache)
    both = " ".join(sorted((tables["ClientsTable"], tables["AuthAttemptsTable"])))
    assert recording_dynamodb.calls == [
        ("batch_get_item", both),
        ("update_item", tables["AuthAttemptsTable"]),
    ]
    assert recording_kms.calls == []


def test_a_private_key_jwt_token_reads_the_same_one_batch(
    assertion_endpoint: Endpoint,
    registry: ClientRegistry,
    partner_ec: PartnerKey,
    recording_dynamodb: RecordingClient,
    clock: FakeClock,
    tables: dict[str, str],
) -> None:
    client = registry.create_with_keys(
        client_name="Keyed", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900,
        jwks={"keys": [partner_ec.jwk]},
    )  # fmt: skip
    signed = assertion_form(sign_assertion(partner_ec, client.client_id, ISSUER, clock()))
    recording_dynamodb.calls.clear()
    assert assertion_endpoint.post(form(**signed)).status == 200
    # One BatchGetItem (the client and its failure record), the single-use record, the issuance count
    both = " ".join(sorted((tables["ClientsTable"], tables["AuthAttemptsTable"])))
    calls = [call for call in recording_dynamodb.calls if call[1] != tables["SigningKeysTable"]]
    assert calls == [
        ("batch_get_item", both),
        ("put_item", tables["ClientAssertionsTable"]),
        ("update_item", tables["AuthAttemptsTable"]),
    ]


def test_an_assertion_for_a_client_whose_item_cannot_be_read_is_refused_and_counted(
    assertion_endpoint: Endpoint,
    registry: ClientRegistry,
    partner_ec: PartnerKey,
    dynamodb_client: Any,
    throttle: AuthThrottle,
    clock: FakeClock,
    tables: dict[str, str],
) -> None:
    client = registry.create_with_keys(
        client_name="Keyed", scopes=["orders:read"], audiences=[AUDIENCE], token_lifetime=900,
        jwks={"keys": [partner_ec.jwk]},
    )  # fmt: skip
    # Given its item was damaged by hand (a token lifetime that is not a number)
    dynamodb_client.update_item(
        TableName=tables["ClientsTable"],
        Key={"client_id": {"S": client.client_id}},
        UpdateExpression="SET token_lifetime = :junk",
        ExpressionAttributeValues={":junk": {"S": "soon"}},
    )
    signed = assertion_form(sign_assertion(partner_ec, client.client_id, ISSUER, clock()))
    reply = assertion_endpoint.post(form(**signed))
    # Then it authenticates nobody (issue 19: fail closed), as a 401 like any failure, counted by the throttle
    assert reply.status == 401
    assert reply.json()["error"] == "invalid_client"
    assert throttle.look(client.client_id).failures == 1
