"""PartnerAuthAdminPolicy is what the admin CLI needs (issue 14 item 4): every AWS call the CLI makes over
the admin actions, recorded from botocore, is allowed by the policy's Allow statements for that table (or
secret, or stack) and by none of its Deny statements."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.admin_cli.conftest import Run
from tests.support.template import Template
from tools.partnerauth_admin.aws_context import AwsContext

# TransactWriteItems / TransactGetItems are authorised per item by the underlying action (DynamoDB developer
# guide, "Using IAM with DynamoDB transactions").
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
FREE = {("sts", "GetCallerIdentity")}  # needs no permission (AWS STS API reference)


def iam_calls(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:  # noqa: PLR0911
    """(IAM action, resource name) pairs one API call needs."""
    if service == "dynamodb" and operation == "TransactWriteItems":
        return [
            (f"dynamodb:{_TRANSACT[kind]}", body["TableName"])
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if service == "dynamodb" and operation == "TransactGetItems":
        return [("dynamodb:GetItem", item["Get"]["TableName"]) for item in params["TransactItems"]]
    if service == "dynamodb" and operation == "BatchGetItem":
        return [("dynamodb:BatchGetItem", table) for table in params["RequestItems"]]
    if service == "dynamodb":
        return [(f"dynamodb:{operation}", params["TableName"])]
    if service == "secretsmanager":
        return [(f"secretsmanager:{operation}", "ClientSecretPepper")]
    if service == "cloudformation":
        return [(f"cloudformation:{operation}", "AWS::StackId")]
    return [(f"{service}:{operation}", "*")]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    calls: set[tuple[str, str]] = set()
    original = AwsContext.client

    def client(self: AwsContext, service: str) -> Any:
        made = original(self, service)

        def note(model: Any, params: dict[str, Any], **_: Any) -> None:
            if (service, model.name) not in FREE:
                calls.update(iam_calls(service, model.name, params))

        made.meta.events.register("before-parameter-build.*.*", note)
        return made

    monkeypatch.setattr(AwsContext, "client", client)
    return calls


def allows(statement: dict[str, Any], action: str, resource: str, names: dict[str, str]) -> bool:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    listed = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if action not in actions:
        return False
    text = json.dumps(listed)
    logical = names.get(resource, resource)
    return (
        f'"{logical}"' in text
        or f"${{{logical}." in text
        or (logical == "AWS::StackId" and "AWS::StackId" in text)
    )


def test_every_call_the_cli_makes_is_allowed_by_the_admin_policy(
    cli: Callable[..., Run],
    recorded: set[tuple[str, str]],
    cfn_template: Template,
    tables: dict[str, str],
    tmp_path: Any,
) -> None:
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(public).rstrip(b"=").decode()}
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"keys": [key]}), encoding="utf-8")
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps({"GET /items": ["inventory:read"]}), encoding="utf-8")
    for argv in (
        ("create", "--name", "Acme", "--scope", "orders:read", "--client-id", "acme"),
        ("list",),
        ("show", "acme"),
        ("update", "acme", "--name", "Acme Corp"),
        ("roll-secret", "acme"),
        ("disable", "acme"),
        ("enable", "acme"),
        ("revoke-tokens", "acme"),
        ("use-keys", "acme", "--jwks-file", str(key_file)),
        ("audit",),
        ("audit", "--client", "acme"),
        ("keys", "list"),
        ("apis", "put", "inventory", "--audience", "inventory-api", "--routes", str(routes)),
        ("apis", "list"),
        ("apis", "remove", "inventory", "--yes"),
        ("delete", "acme", "--yes"),
    ):
        run = cli(*argv)
        assert run.code == 0, (argv, run.err)
    names = {physical: logical for logical, physical in tables.items()}
    statements = cfn_template["Resources"]["PartnerAuthAdminPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert recorded  # the recording works
    for action, resource in sorted(recorded):
        allowed = [s for s in statements if s["Effect"] == "Allow" and allows(s, action, resource, names)]
        denied = [s for s in statements if s["Effect"] == "Deny" and allows(s, action, resource, names)]
        assert allowed, f"{action} on {names.get(resource, resource)} is not allowed to operators"
        assert not denied, f"{action} on {names.get(resource, resource)} is denied to operators"
