"""pytest fixtures: an in-memory AWS account (moto) holding the template's tables, KMS key and pepper secret.

Registered for every test by tests/conftest.py (`pytest_plugins`). Request only what a test needs:

    def test_reconcile_publishes_a_key(tables, kms_key_id, kms_client): ...

The account is per test (`aws` is function-scoped): each test starts with a fresh, empty one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.template import (
    PSEUDO_PARAMETERS,
    Template,
    create_all_tables,
    create_kms_key_from_template,
    create_secret_from_template,
    function_environment,
    load_template,
)

REGION = PSEUDO_PARAMETERS["AWS::Region"]
# What `!Ref AuthApi` / `!Ref SampleApi` give in template_env (REST API ids).
FAKE_API_IDS = {"AuthApi": "authapi123", "SampleApi": "sampleapi1"}


@pytest.fixture(scope="session")
def cfn_template() -> Template:
    """template.yaml as plain dicts (shared: do not mutate; use load_template() for a private copy)."""
    return load_template()


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """One boto3 session for the whole run: clients made from it cost milliseconds, not the ~0.2 s of
    `boto3.client()` (moto resets boto3's default session, so every test would reload the service models)."""
    return boto3.session.Session(region_name=REGION)


@pytest.fixture
def aws() -> Iterator[None]:
    """Everything boto3 does during the test goes to moto's in-memory AWS, never to a real account."""
    with mock_aws():
        yield


@pytest.fixture
def dynamodb_client(aws: None, boto_session: boto3.session.Session) -> Any:
    return boto_session.client("dynamodb")


@pytest.fixture
def kms_client(aws: None, boto_session: boto3.session.Session) -> Any:
    return boto_session.client("kms")


@pytest.fixture
def secretsmanager_client(aws: None, boto_session: boto3.session.Session) -> Any:
    return boto_session.client("secretsmanager")


@pytest.fixture
def tables(dynamodb_client: Any, cfn_template: Template) -> dict[str, str]:
    """Every DynamoDB table of the template, created as defined there: logical id -> table name."""
    return create_all_tables(dynamodb_client, template=cfn_template)


@pytest.fixture
def kms_key_id(kms_client: Any, cfn_template: Template) -> str:
    """The SigningKeyEncryptionKey of the template (symmetric, rotation enabled): its key id."""
    return create_kms_key_from_template(kms_client, template=cfn_template)


@pytest.fixture
def pepper_secret_arn(secretsmanager_client: Any, cfn_template: Template) -> str:
    """The ClientSecretPepper of the template, its value generated as the template says: its ARN."""
    return create_secret_from_template(secretsmanager_client, template=cfn_template)


@pytest.fixture
def template_env(
    tables: dict[str, str], kms_key_id: str, pepper_secret_arn: str, cfn_template: Template
) -> Callable[..., dict[str, str]]:
    """`template_env("TokenFunction", IssuerUrl="https://...")`: the function's deployed environment
    variables, pointing at this test's moto resources; keyword arguments override template parameters."""
    refs = {
        **tables,
        **FAKE_API_IDS,
        "SigningKeyEncryptionKey": kms_key_id,
        "ClientSecretPepper": pepper_secret_arn,
    }

    def environment(logical_id: str, **parameters: str) -> dict[str, str]:
        return function_environment(logical_id, refs, parameters, cfn_template)

    return environment
