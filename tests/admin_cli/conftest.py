"""Fixtures for the admin CLI: the template's tables and pepper in moto, and a CloudFormation stack whose
outputs name them (as the deployed stack's do)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from partnerauth.client_registry import ClientRegistry
from partnerauth.client_secrets import SecretHasher
from tools.partnerauth_admin.cli import main

STACK = "partnerauth-test"
TOKEN_URL = "https://auth.example.test/oauth2/token"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stack(tables: dict[str, str], pepper_secret_arn: str, aws: None) -> str:
    """A stack with the outputs and parameters the CLI reads (the real template's names)."""
    template = {
        "Parameters": {
            "MaxTokenLifetime": {"Type": "Number", "Default": "3600"},
            "TokenLifetime": {"Type": "Number", "Default": "900"},
        },
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ClientsTableName": {"Value": tables["ClientsTable"]},
            "PepperSecretArn": {"Value": pepper_secret_arn},
            "TokenUrl": {"Value": TOKEN_URL},
        },
    }
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    return STACK


@pytest.fixture
def cli(stack: str) -> Callable[..., Run]:
    """``cli("create", "--name", ...)`` runs the CLI against the stack; ``stdin=`` for confirmations."""

    def run(*argv: str, stdin: io.StringIO | None = None, json_output: bool = False) -> Run:
        out, err = io.StringIO(), io.StringIO()
        prefix = ["--stack-name", stack, *(["--json"] if json_output else [])]
        code = main([*prefix, *argv], stdout=out, stderr=err, stdin=stdin or io.StringIO())
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def registry(
    tables: dict[str, str], dynamodb_client: Any, secretsmanager_client: Any, pepper_secret_arn: str
) -> ClientRegistry:
    pepper = secretsmanager_client.get_secret_value(SecretId=pepper_secret_arn)["SecretString"]
    return ClientRegistry(tables["ClientsTable"], dynamodb_client, SecretHasher(pepper))
