"""Where the CLI's resources are: options, then environment, then the CloudFormation stack's outputs.

Stack outputs used (template.yaml): ``ClientsTableName``, ``PepperSecretArn``, ``TokenUrl``,
``ApisTableName``, ``UsagePlans``, ``UsageKeyNamespace``; stack parameters: ``MaxTokenLifetime``,
``TokenLifetime``, ``DefaultAudience`` (without a stack, the lifetimes come from
``PARTNERAUTH_MAX_TOKEN_LIFETIME`` / ``PARTNERAUTH_TOKEN_LIFETIME``, which ``make dev`` prints).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]

DEFAULT_MAX_TOKEN_LIFETIME = 3600  # template.yaml MaxTokenLifetime default
DEFAULT_TOKEN_LIFETIME = 900  # template.yaml TokenLifetime default
DEFAULT_AUDIENCE = "partner-api"  # template.yaml DefaultAudience default


class ContextError(Exception):
    """A resource the command needs could not be found (message is for the operator)."""


@dataclass
class AwsContext:
    stack_name: str | None = None
    table: str | None = None
    pepper_secret_arn: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def client(self, service: str) -> Any:
        session = boto3.session.Session(region_name=self.region or None)
        return session.client(service, endpoint_url=self.endpoint_url or None)

    @cached_property
    def _stack(self) -> dict[str, Any]:
        if not self.stack_name:
            return {}
        stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        if not stacks:
            raise ContextError(f"stack {self.stack_name} not found")
        stack: dict[str, Any] = stacks[0]
        return stack

    def output(self, key: str) -> str | None:
        """A stack output by key (``None`` without a stack or without that output)."""
        return self._output(key)

    def _output(self, key: str) -> str | None:
        for output in self._stack.get("Outputs", []):
            if output.get("OutputKey") == key:
                return str(output["OutputValue"])
        return None

    def parameter(self, key: str) -> str | None:
        """A stack parameter's value (``None`` without a stack or without that parameter)."""
        return self._parameter(key)

    def _parameter(self, key: str) -> str | None:
        for parameter in self._stack.get("Parameters", []):
            if parameter.get("ParameterKey") == key:
                return str(parameter.get("ResolvedValue") or parameter.get("ParameterValue"))
        return None

    def clients_table(self) -> str:
        name = self.table or self.env.get("CLIENTS_TABLE") or self._output("ClientsTableName")
        if not name:
            raise ContextError("no clients table: pass --stack-name or --table (or set CLIENTS_TABLE)")
        return name

    def apis_table(self, name: str | None = None) -> str:
        """The API registry table: ``name`` (option ``--apis-table``), env APIS_TABLE, or the stack output."""
        found = name or self.env.get("APIS_TABLE") or self._output("ApisTableName")
        if not found:
            raise ContextError("no API registry table: pass --stack-name or --apis-table (or set APIS_TABLE)")
        return found

    def pepper(self) -> str:
        """The pepper's value, fetched only by commands that hash a new secret (create, roll-secret)."""
        arn = self.pepper_secret_arn or self.env.get("PEPPER_SECRET_ARN") or self._output("PepperSecretArn")
        if not arn:
            raise ContextError(
                "no pepper secret: pass --stack-name or --pepper-secret-arn (or set PEPPER_SECRET_ARN)"
            )
        value: str = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        return value

    def max_token_lifetime(self) -> int:
        found = self._parameter("MaxTokenLifetime") or self.env.get("PARTNERAUTH_MAX_TOKEN_LIFETIME")
        return int(found or DEFAULT_MAX_TOKEN_LIFETIME)

    def default_token_lifetime(self) -> int:
        found = self._parameter("TokenLifetime") or self.env.get("PARTNERAUTH_TOKEN_LIFETIME")
        return int(found or DEFAULT_TOKEN_LIFETIME)

    def default_audience(self) -> str:
        return self._parameter("DefaultAudience") or DEFAULT_AUDIENCE

    def token_url(self) -> str | None:
        return self._output("TokenUrl")

    @cached_property
    def caller_arn(self) -> str:
        """The caller's AWS identity (STS ``GetCallerIdentity``: it needs no permission), learned once per
        run and stamped as ``changed_by`` on every write (issue 14: the audit trail).  When it cannot be
        learned the write is refused (:class:`ContextError`): an anonymous write is never made silently."""
        try:
            arn = self.client("sts").get_caller_identity()["Arn"]
        except Exception as error:  # noqa: BLE001 - any failure: refuse the write, say why in one line
            from .aws_failures import one_line  # noqa: PLC0415 - only on this failure path

            raise ContextError(
                f"cannot learn your AWS identity (STS GetCallerIdentity: {one_line(error)}); every change is "
                "stamped with who made it, so nothing was changed"
            ) from None
        if not isinstance(arn, str) or not arn:
            raise ContextError("STS GetCallerIdentity gave no ARN; nothing was changed")
        return arn

    def issuer(self) -> str | None:
        """The stack output ``Issuer`` (whose metadata declares the scopes)."""
        return self._output("Issuer")
