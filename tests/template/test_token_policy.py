"""The token function may do exactly what its code does with each table (issue 15, least privilege).

The handler runs under moto through every path that touches a table (a token, a wrong secret, a right one
after it, a stale failure counter), every AWS call it makes is recorded, and the DynamoDB actions per table
are compared with what SAM's translated policy of `TokenFunctionRole` allows on that table: nothing missing
(AccessDenied in production), nothing more (Scan, Query, batch writes...).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import botocore.client
import pytest

from partnerauth.algorithms import KeySpec
from partnerauth.client_registry import ClientRegistry, IssuedSecret
from partnerauth.client_secrets import SecretHasher
from partnerauth.key_store import KeyStore
from partnerauth.keys import generate_signing_key
from tests.support.template import Resolver, Template
from tests.token_issuer.assertions import PartnerKey, assertion_form, sign_assertion
from tests.token_issuer.conftest import FORM, Endpoint, basic, form, fresh_import

Call = tuple[str, str, dict[str, Any]]  # (service, operation, parameters)


class AwsCallRecorder:
    """Every AWS API call any boto3 client makes after :meth:`start` (moto answers them)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.recording = False

    def start(self) -> None:
        self.recording = True


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> AwsCallRecorder:
    recorder = AwsCallRecorder()
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if recorder.recording:
            recorder.calls.append((client.meta.service_model.service_name, operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorder


@pytest.fixture
def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="TokenFunction",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        aws_request_id="00000000-0000-0000-0000-000000000000",
    )


@pytest.fixture
def token_function(
    template_env: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    tables: dict[str, str],
    dynamodb_client: Any,
    kms_client: Any,
    kms_key_id: str,
) -> Iterator[ModuleType]:
    store = KeyStore(tables["SigningKeysTable"], dynamodb_client, kms_client, kms_key_id)
    store.bootstrap(
        generate_signing_key(KeySpec.RS256), generate_signing_key(KeySpec.RS256), "RS256", time.time()
    )
    for name, value in template_env("TokenFunction", IssuerUrl="https://auth.example.test").items():
        monkeypatch.setenv(name, value)
    yield fresh_import("token_issuer.app")
    sys.modules.pop("token_issuer.app", None)  # the next importer reads its own environment


@pytest.fixture
def partner(
    tables: dict[str, str], dynamodb_client: Any, pepper_secret_arn: str, secretsmanager_client: Any
) -> IssuedSecret:
    pepper = secretsmanager_client.get_secret_value(SecretId=pepper_secret_arn)["SecretString"]
    registry = ClientRegistry(
        tables["ClientsTable"], dynamodb_client, SecretHasher(pepper), time.time, max_token_lifetime=3600
    )
    # with the introspect permission, so that the scenario reaches introspection's reads (RFC 7662)
    return registry.create(
        client_name="Acme", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=900,
        permissions=["introspect"],
    )  # fmt: skip


def _tables_of(params: dict[str, Any]) -> list[str]:
    if "TableName" in params:
        return [params["TableName"]]
    items = params.get("TransactItems", [])
    named = [next(iter(item.values()))["TableName"] for item in items]
    return named + list(params.get("RequestItems", {}))


def dynamodb_actions(calls: list[Call], table_ids: dict[str, str]) -> dict[str, set[str]]:
    """Table logical id -> `dynamodb:<Operation>` for every recorded DynamoDB call."""
    by_name = {name: logical_id for logical_id, name in table_ids.items()}
    actions: dict[str, set[str]] = {}
    for service, operation, params in calls:
        if service == "dynamodb":
            for table in _tables_of(params):
                actions.setdefault(by_name[table], set()).add(f"dynamodb:{operation}")
    return actions


def granted_dynamodb_actions(translated: Template, role: str) -> dict[str, set[str]]:
    """Table logical id -> the dynamodb actions the role's translated policies allow on the table's ARN."""
    tables = [lid for lid, res in translated["Resources"].items() if res["Type"] == "AWS::DynamoDB::Table"]
    refs = {f"{lid}.Arn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{lid}" for lid in tables}
    resolver = Resolver(translated, {**refs, **{lid: lid for lid in translated["Resources"]}})
    granted: dict[str, set[str]] = {}
    for policy in translated["Resources"][role]["Properties"].get("Policies", []):
        document = resolver.resolve(policy["PolicyDocument"])
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            assert statement["Effect"] == "Allow"
            for action in (a for a in actions if a.startswith("dynamodb:")):
                assert "*" not in action, f"{role}: wildcard action {action}"
                for arn in resources:
                    # A table's ARN exactly: an index ARN (.../index/*) would be a right the code never uses.
                    table = next(lid for lid in tables if arn == refs[f"{lid}.Arn"])
                    granted.setdefault(table, set()).add(action)
    return granted


def keyed_partner(tables: dict[str, str], dynamodb_client: Any) -> str:
    """A private_key_jwt client (issue 13) and an assertion it signed for the test's issuer."""
    key = generate_signing_key(KeySpec.ES256)
    registry = ClientRegistry(tables["ClientsTable"], dynamodb_client, SecretHasher("unused" * 4), time.time)
    client = registry.create_with_keys(
        client_name="Keyed", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=900,
        jwks={"keys": [key.public_jwk()]},
    )  # fmt: skip
    return sign_assertion(PartnerKey(key), client.client_id, "https://auth.example.test", time.time())


def test_token_role_allows_exactly_the_dynamodb_calls_the_token_function_makes(
    translated_template: Template,
    token_function: ModuleType,
    partner: IssuedSecret,
    aws_calls: AwsCallRecorder,
    tables: dict[str, str],
    dynamodb_client: Any,
    lambda_context: Any,
) -> None:
    # Given a failure counter that has expired but that DynamoDB's TTL has not deleted yet
    dynamodb_client.put_item(
        TableName=tables["AuthAttemptsTable"],
        Item={"client_id": {"S": partner.client.client_id}, "failures": {"N": "9"}, "expires_at": {"N": "1"}},
    )
    endpoint = Endpoint(token_function, lambda_context)
    grant = form(grant_type="client_credentials")
    right = basic(partner.client.client_id, partner.secret)
    wrong = basic(partner.client.client_id, partner.secret + "x")
    signed = assertion_form(keyed_partner(tables, dynamodb_client))
    aws_calls.start()
    # When the function runs every path that touches a table: a failure over the stale counter (one
    # conditional UpdateItem replaces it), a success clearing the count (DeleteItem), a token with nothing to
    # clear, a second failure (UpdateItem), an unknown client; each reads its client and failure record in
    # one BatchGetItem, and each token is counted (the issuance limit's UpdateItem)
    assert endpoint.post(grant, headers=(*FORM, wrong)).status == 401
    assert endpoint.post(grant, headers=(*FORM, right)).status == 200
    assert endpoint.post(grant, headers=(*FORM, right)).status == 200
    assert endpoint.post(grant, headers=(*FORM, wrong)).status == 401
    assert endpoint.post(grant, headers=(*FORM, basic("no-such-client", "pacs_x"))).status == 401
    # and a private_key_jwt client's assertion, used once (its replay record: a conditional PutItem), replayed
    assert endpoint.post(form(**signed)).status == 200
    assert endpoint.post(form(**signed)).status == 401
    # and the partner introspects and then revokes its own token (RFC 7662, RFC 7009: is it revoked already?
    # GetItem; the quota counter, UpdateItem; the jti revocation, PutItem), then introspects it again
    token = endpoint.post(grant, headers=(*FORM, right)).json()["access_token"]
    assert (
        endpoint.request("POST", "/oauth2/introspect", body=form(token=token), headers=(*FORM, right)).status
        == 200
    )
    assert (
        endpoint.request("POST", "/oauth2/revoke", body=form(token=token), headers=(*FORM, right)).status
        == 200
    )
    revoked = endpoint.request("POST", "/oauth2/introspect", body=form(token=token), headers=(*FORM, right))
    assert revoked.json() == {"active": False}
    # Then the role allows on each table exactly the actions called on it
    called = dynamodb_actions(aws_calls.calls, tables)
    assert called["AuthAttemptsTable"] == {
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }  # fmt: skip - the scenario did reach every path of the failure counter and the issuance limit
    assert called == granted_dynamodb_actions(translated_template, "TokenFunctionRole")
