"""Fixtures for the audit trail: the template's tables (their streams included) in moto, the handlers of the
recorder and the rotation function imported with their deployed environment, and moto's stream readers."""

from __future__ import annotations

import importlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.admin_cli.conftest import Run
from tests.support.clock import FakeClock
from tools.partnerauth_admin.cli import main

START = 1_800_000_000


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "AuditRecorderFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:AuditRecorderFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def load_handler(
    module: str,
    logical_id: str,
    template_env: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    **parameters: str,
) -> ModuleType:
    for name, value in template_env(logical_id, **parameters).items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(module, None)
    return importlib.import_module(module)


@pytest.fixture
def recorder(
    template_env: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """``audit_recorder.app`` with AuditRecorderFunction's deployed environment (moto tables)."""
    yield load_handler("audit_recorder.app", "AuditRecorderFunction", template_env, monkeypatch)
    sys.modules.pop("audit_recorder.app", None)


@pytest.fixture
def rotation(
    template_env: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """``key_rotation.app`` with KeyRotationFunction's deployed environment, EdDSA keys (fast)."""
    yield load_handler(
        "key_rotation.app", "KeyRotationFunction", template_env, monkeypatch, SigningAlgorithm="EdDSA"
    )
    sys.modules.pop("key_rotation.app", None)


@pytest.fixture
def streams_client(aws: None) -> Any:
    # botocore 1.44 sends stream calls to account-based endpoints (<account>.streams-ddb...), which moto 5.2
    # does not route: name the regional endpoint moto serves.
    return boto3.session.Session(region_name="us-east-1").client(
        "dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


STACK = "partnerauth-audit-test"


@pytest.fixture
def stack(tables: dict[str, str], pepper_secret_arn: str, aws: None) -> str:
    """A stack whose outputs name the template's tables (as the deployed stack's do)."""
    template = {
        "Parameters": {
            "MaxTokenLifetime": {"Type": "Number", "Default": "3600"},
            "TokenLifetime": {"Type": "Number", "Default": "900"},
        },
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ClientsTableName": {"Value": tables["ClientsTable"]},
            "SigningKeysTableName": {"Value": tables["SigningKeysTable"]},
            "RevocationsTableName": {"Value": tables["RevocationsTable"]},
            "AuditTableName": {"Value": tables["AuditTable"]},
            "ApisTableName": {"Value": tables["ApisTable"]},
            "PepperSecretArn": {"Value": pepper_secret_arn},
        },
    }
    boto3.session.Session(region_name="us-east-1").client("cloudformation").create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )
    return STACK


@pytest.fixture
def cli(stack: str) -> Callable[..., Run]:
    """``cli("create", "--name", ...)``: the admin CLI against the stack (``json_output=True`` for --json)."""

    def run(*argv: str, stdin: io.StringIO | None = None, json_output: bool = False) -> Run:
        out, err = io.StringIO(), io.StringIO()
        prefix = ["--stack-name", stack, *(["--json"] if json_output else [])]
        code = main(
            [*prefix, *argv], stdout=out, stderr=err, stdin=stdin or io.StringIO(), clock=FakeClock(START)
        )
        return Run(code, out.getvalue(), err.getvalue())

    return run
