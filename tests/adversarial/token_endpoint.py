"""The token endpoint as an attacker reaches it: raw API Gateway REST proxy events into the deployed handler.

:class:`TokenEndpoint` builds the event API Gateway would deliver for an HTTP request
(``local.proxy_event``: single- and multi-value headers, the query string, a body that is not
UTF-8 arriving base64-encoded) and parses the handler's answer as strictly as API Gateway does.
An attacker also controls things no well-formed request has, so :meth:`TokenEndpoint.event`
returns the event for further tampering before :meth:`TokenEndpoint.invoke`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local.proxy_event import ApiIdentity, HttpRequest, parse_proxy_response, rest_proxy_event

TOKEN_PATH = "/oauth2/token"
FORM_TYPE = "application/x-www-form-urlencoded"
API = ApiIdentity(
    api_id="authapi123",
    stage="dev",
    region="us-east-1",
    account_id="123456789012",
    domain_name="authapi123.execute-api.us-east-1.amazonaws.com",
)
REQUEST_TIME = 1_800_000_000.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class TokenEndpoint:
    """Invokes the token handler module the way API Gateway does."""

    module: ModuleType
    context: Any
    requests: int = field(default=0)

    def event(
        self,
        body: bytes | str = b"",
        headers: Sequence[tuple[str, str]] = (),
        query: str = "",
        method: str = "POST",
        path: str = TOKEN_PATH,
    ) -> dict[str, Any]:
        self.requests += 1
        raw = body.encode("utf-8") if isinstance(body, str) else body
        request = HttpRequest(method=method, path=path, query=query, headers=tuple(headers), body=raw)
        return rest_proxy_event(request, API, path, {}, f"adversarial-{self.requests}", REQUEST_TIME)

    def invoke(self, event: dict[str, Any]) -> Reply:
        response = parse_proxy_response(self.module.lambda_handler(event, self.context))
        headers: dict[str, str] = {}
        for name, value in response.headers:
            headers[name.lower()] = value
        return Reply(response.status, headers, response.body)

    def post(
        self, body: bytes | str = b"", headers: Sequence[tuple[str, str]] = (), query: str = ""
    ) -> Reply:
        return self.invoke(self.event(body, headers, query))


def table_contents(dynamodb: Any, table: str) -> list[str]:
    """Every item of ``table`` (full, consistent, paginated scan) as sorted canonical JSON."""
    items: list[str] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(json.dumps(item, sort_keys=True, default=repr) for item in page.get("Items", []))
    return sorted(items)
