"""When DynamoDB, KMS or Secrets Manager fail, the token endpoint answers 503 temporarily_unavailable with
Retry-After and an RFC-style JSON body: never a stack trace, never a 500, never a token."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from partnerauth.client_registry import IssuedSecret

from .conftest import FORM, CountingHasher, Endpoint, RecordingClient, Reply, aws_error, basic, form


def request(endpoint: Endpoint, partner: IssuedSecret) -> Reply:
    return endpoint.post(
        form(grant_type="client_credentials"),
        headers=(*FORM, basic(partner.client.client_id, partner.secret)),
    )


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503
    assert reply.json() == {
        "error": "temporarily_unavailable",
        "error_description": "the service is temporarily unavailable; retry later",
    }
    retry_after = reply.header("Retry-After")
    assert retry_after is not None
    assert retry_after.isdigit()
    assert reply.header("Cache-Control") == "no-store"
    assert b"Traceback" not in reply.body


BOTH = ("ClientsTable", "AuthAttemptsTable")  # the one BatchGetItem reads a client and its failure record


@pytest.mark.parametrize(
    ("operation", "table", "error"),
    [
        ("batch_get_item", BOTH, aws_error("ProvisionedThroughputExceededException", "BatchGetItem")),
        ("batch_get_item", BOTH, aws_error("ThrottlingException", "BatchGetItem")),
        ("batch_get_item", BOTH, aws_error("InternalServerError", "BatchGetItem", status=500)),
        ("batch_get_item", BOTH, aws_error("ServiceUnavailable", "BatchGetItem", status=503)),
        ("batch_get_item", BOTH, aws_error("RequestLimitExceeded", "BatchGetItem")),
        (
            "batch_get_item",
            BOTH,
            EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ),
        (
            "batch_get_item",
            BOTH,
            ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ),
        ("get_item", ("SigningKeysTable",), aws_error("ProvisionedThroughputExceededException")),
    ],
)
def test_dynamodb_failures_are_503(
    operation: str,
    table: tuple[str, ...],
    error: Exception,
    token_endpoint: Endpoint,
    recording_dynamodb: RecordingClient,
    partner: IssuedSecret,
    tables: dict[str, str],
) -> None:
    recording_dynamodb.fail(operation, error, " ".join(sorted(tables[name] for name in table)))
    assert_unavailable(request(token_endpoint, partner))


def test_attempts_table_write_failure_is_503(
    token_endpoint: Endpoint,
    recording_dynamodb: RecordingClient,
    partner: IssuedSecret,
    tables: dict[str, str],
) -> None:
    recording_dynamodb.fail(
        "update_item", aws_error("ProvisionedThroughputExceededException"), tables["AuthAttemptsTable"]
    )
    reply = token_endpoint.post(
        form(grant_type="client_credentials"), headers=(*FORM, basic(partner.client.client_id, "pacs_wrong"))
    )
    assert_unavailable(reply)


@pytest.mark.parametrize(
    "error",
    [
        aws_error("KMSInternalException", "Decrypt", 500),
        aws_error("DependencyTimeoutException", "Decrypt", 503),
        aws_error("ThrottlingException", "Decrypt"),
        EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com"),
    ],
)
def test_kms_unavailable_is_503(
    error: Exception, token_endpoint: Endpoint, recording_kms: RecordingClient, partner: IssuedSecret
) -> None:
    recording_kms.fail("decrypt", error)
    assert_unavailable(request(token_endpoint, partner))


def test_kms_recovers_on_the_next_request(
    token_endpoint: Endpoint, recording_kms: RecordingClient, partner: IssuedSecret
) -> None:
    recording_kms.fail("decrypt", aws_error("KMSInternalException", "Decrypt", 500))
    assert_unavailable(request(token_endpoint, partner))
    recording_kms.faults.clear()
    assert request(token_endpoint, partner).status == 200


def test_signing_key_is_cached_briefly_so_kms_is_not_called_per_token(
    token_endpoint: Endpoint, recording_kms: RecordingClient, partner: IssuedSecret
) -> None:
    for _ in range(5):
        assert request(token_endpoint, partner).status == 200
    assert recording_kms.calls.count(("decrypt", "")) == 1


def test_pepper_unavailable_is_503(
    token_module: ModuleType,
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    recording_kms: RecordingClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from token_issuer.grant import build_grant

    def no_pepper() -> str:
        raise GetParameterError("injected")

    grant = build_grant(
        token_module.settings, dynamodb=recording_dynamodb, kms=recording_kms, fetch_pepper=no_pepper
    )
    monkeypatch.setattr(token_module, "grant", grant)
    assert_unavailable(request(token_endpoint, partner))


def test_missing_signing_key_is_503(
    token_endpoint: Endpoint, partner: IssuedSecret, dynamodb_client: Any, tables: dict[str, str]
) -> None:
    dynamodb_client.delete_item(TableName=tables["SigningKeysTable"], Key={"kid": {"S": "#current"}})
    assert_unavailable(request(token_endpoint, partner))


def test_a_defect_is_a_500_with_no_detail(
    token_endpoint: Endpoint, partner: IssuedSecret, hasher: CountingHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(secret: str) -> bytes:
        raise RuntimeError("a bug of ours, with internal detail")

    monkeypatch.setattr(hasher, "digest", broken)
    reply = request(token_endpoint, partner)
    assert reply.status == 500
    assert reply.json() == {"error": "server_error"}
    assert reply.header("Cache-Control") == "no-store"
    assert b"detail" not in reply.body
