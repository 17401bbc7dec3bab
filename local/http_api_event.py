"""What an HTTP API (payload format 2.0) sends to a Lambda authorizer and a backend, and expects back.

Request side: the 2.0 authorizer event ("Working with AWS Lambda authorizers for HTTP APIs":
``version``, ``type: REQUEST``, ``routeArn``, ``identitySource``, ``routeKey``, ``rawPath``, ...) and
the 2.0 proxy event ("Working with AWS Lambda proxy integrations for HTTP APIs").  As API Gateway
builds them: header names lower-cased and repeated headers comma-joined, ``Cookie`` headers moved to
``cookies``, repeated query parameters comma-joined, empty maps left out, ``rawPath`` the path as
the caller spelled it (with the stage prefix when the stage is not ``$default``, which is what
Powertools strips again), ``routeArn`` the method and path as spelled, without the stage prefix.

Response side: a 2.0 result is either an object with ``statusCode`` (``headers``, ``cookies``,
``body``, ``isBase64Encoded``) or any other JSON value, which API Gateway sends as a ``200``
``application/json`` body.  Anything else is a ``500`` there, so it is one here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from .proxy_event import (
    ApiIdentity,
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    method_arn,
    request_time,
    response_body,
)
from .routing import RouteMatch

VERSION: Final = "2.0"


@dataclass(frozen=True, slots=True)
class HttpApiRequest:
    """One request to an HTTP API, routed: what both 2.0 events are built from."""

    request: HttpRequest
    api: ApiIdentity
    raw_path: str  # as the caller spelled it, stage prefix included
    route_path: str  # without the stage prefix: what was routed and what the route ARN holds
    match: RouteMatch
    stage_variables: Mapping[str, str]
    request_id: str
    now: float

    @property
    def route_arn(self) -> str:
        return method_arn(self.api, self.request.method, self.route_path)

    def headers(self) -> dict[str, str]:
        """Lower-cased names, repeated headers comma-joined; ``Cookie`` is not among them."""
        joined: dict[str, str] = {}
        for name, value in self.request.headers:
            key = name.lower()
            if key == "cookie":
                continue
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        return joined

    def header(self, name: str) -> str | None:
        return self.headers().get(name.lower())

    def cookies(self) -> list[str]:
        found = [value for name, value in self.request.headers if name.lower() == "cookie"]
        return [c.strip() for value in found for c in value.split(";") if c.strip()]

    def query(self) -> dict[str, str]:
        """Repeated parameters comma-joined, as ``queryStringParameters`` holds them."""
        joined: dict[str, str] = {}
        for name, value in parse_qsl(self.request.query, keep_blank_values=True):
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        return joined

    def context_variables(self) -> dict[str, Any]:
        """``$context`` variables an identity source may name."""
        return {
            "accountId": self.api.account_id,
            "apiId": self.api.api_id,
            "domainName": self.api.domain_name,
            "domainPrefix": self.api.domain_name.split(".")[0].split(":")[0],
            "httpMethod": self.request.method,
            "identity": {"sourceIp": self.request.source_ip, "userAgent": self.request.header("User-Agent")},
            "path": self.raw_path,
            "protocol": "HTTP/1.1",
            "requestId": self.request_id,
            "requestTime": request_time(self.now),
            "requestTimeEpoch": int(self.now * 1000),
            "routeKey": self.match.route_key,
            "stage": self.api.stage,
        }

    def request_context(self) -> dict[str, Any]:
        return {
            "accountId": self.api.account_id,
            "apiId": self.api.api_id,
            "domainName": self.api.domain_name,
            "domainPrefix": self.api.domain_name.split(".")[0].split(":")[0],
            "http": {
                "method": self.request.method,
                "path": self.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": self.request.source_ip,
                "userAgent": self.request.header("User-Agent") or "",
            },
            "requestId": self.request_id,
            "routeKey": self.match.route_key,
            "stage": self.api.stage,
            "time": request_time(self.now),
            "timeEpoch": int(self.now * 1000),
        }

    def common_fields(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "version": VERSION,
            "routeKey": self.match.route_key,
            "rawPath": self.raw_path,
            "rawQueryString": self.request.query,
        }
        if cookies := self.cookies():
            event["cookies"] = cookies
        event["headers"] = self.headers()
        if query := self.query():
            event["queryStringParameters"] = query
        return event


def authorizer_event(routed: HttpApiRequest, identity_values: tuple[str, ...]) -> dict[str, Any]:
    """The 2.0 REQUEST authorizer event."""
    event: dict[str, Any] = {
        "version": VERSION,
        "type": "REQUEST",
        "routeArn": routed.route_arn,
        "identitySource": list(identity_values),
        **{k: v for k, v in routed.common_fields().items() if k != "version"},
        "requestContext": routed.request_context(),
    }
    if routed.match.path_parameters:
        event["pathParameters"] = dict(routed.match.path_parameters)
    if routed.stage_variables:
        event["stageVariables"] = dict(routed.stage_variables)
    return event


def proxy_event(routed: HttpApiRequest, authorizer_context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The 2.0 proxy event; ``authorizer_context`` reaches the backend as ``authorizer.lambda``."""
    event = routed.common_fields()
    context = routed.request_context()
    if authorizer_context is not None:
        context["authorizer"] = {"lambda": dict(authorizer_context)}
    event["requestContext"] = context
    body = routed.request.body
    if body:
        try:
            event["body"], event["isBase64Encoded"] = body.decode("utf-8"), False
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    else:
        event["isBase64Encoded"] = False
    if routed.match.path_parameters:
        event["pathParameters"] = dict(routed.match.path_parameters)
    if routed.stage_variables:
        event["stageVariables"] = dict(routed.stage_variables)
    return event


def parse_response(result: Any) -> HttpResponse:
    """The HTTP response a 2.0 result stands for; :class:`MalformedProxyResponse` where API Gateway 500s."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        # Valid JSON without statusCode: 200, application/json, the value itself as the body.
        return HttpResponse(200, (("Content-Type", "application/json"),), json.dumps(result).encode("utf-8"))
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedProxyResponse("statusCode must be an HTTP status code")
    headers = _headers(result.get("headers"))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedProxyResponse("cookies must be a list of strings")
    headers += [("Set-Cookie", cookie) for cookie in cookies]
    for name, value in headers:
        if not name or any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
            raise MalformedProxyResponse("header names and values must not hold line breaks")
    return HttpResponse(
        status, tuple(headers), response_body(result.get("body"), result.get("isBase64Encoded", False))
    )


def _headers(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if not isinstance(headers, Mapping):
        raise MalformedProxyResponse("headers must be an object")
    pairs = []
    for name, value in headers.items():
        if isinstance(value, bool):
            value = "true" if value else "false"  # noqa: PLW2901 - normalised in place
        if not isinstance(value, str | int | float):
            raise MalformedProxyResponse("header values must be strings")
        pairs.append((str(name), str(value)))
    return pairs
