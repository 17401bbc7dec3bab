"""What API Gateway (REST API, Lambda proxy integration) sends to a function and expects back.

Request side: the ``1.0`` proxy event (API Gateway Developer Guide, "Input format of a Lambda
function for proxy integration") and the TOKEN / REQUEST authorizer events ("Input to an API
Gateway Lambda authorizer").  Response side: the proxy result, checked as strictly as API Gateway
checks it -- anything else is a ``502 Malformed Lambda proxy response`` there, so it is one here.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from .routing import arn_path

# API Gateway's requestTime is "09/Apr/2015:12:34:56 +0000": English month names whatever the locale.
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RESPONSE_KEYS: Final = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the local server received it (``path`` without the query string)."""

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), as API Gateway's ``headers`` holds."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class ApiIdentity:
    """Where a route lives: what the method ARN and ``requestContext`` name."""

    api_id: str
    stage: str
    region: str
    account_id: str
    domain_name: str


class MalformedProxyResponse(ValueError):
    """The function's result is not a proxy response API Gateway would accept."""


def method_arn(api: ApiIdentity, method: str, path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}``, path as spelled.

    Also an HTTP API's ``routeArn`` (``path`` without the stage prefix)."""
    resource = f"{api.api_id}/{api.stage}/{arn_path(method, path)}"
    return f"arn:aws:execute-api:{api.region}:{api.account_id}:{resource}"


def request_time(now: float) -> str:
    moment = time.gmtime(now)
    return (
        f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
    )


def _single_and_multi(
    pairs: Sequence[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # the last value wins, as in API Gateway's single-value map
        multi.setdefault(key, []).append(value)
    return single, multi


def request_context(
    request: HttpRequest, api: ApiIdentity, resource: str, request_id: str, now: float
) -> dict[str, Any]:
    return {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "domainName": api.domain_name,
        "domainPrefix": api.domain_name.split(".")[0].split(":")[0],
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("User-Agent"),
            "userArn": None,
        },
        "path": f"/{api.stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": request_time(now),
        "requestTimeEpoch": int(now * 1000),
        "resourceId": resource,
        "resourcePath": resource,
        "stage": api.stage,
    }


def rest_proxy_event(
    request: HttpRequest,
    api: ApiIdentity,
    resource: str,
    path_parameters: Mapping[str, str],
    request_id: str,
    now: float,
    stage_variables: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API proxy event (payload format 1.0) for ``request`` routed to ``resource``."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))
    body, encoded = _event_body(request.body)
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": request_context(request, api, resource, request_id, now),
        "body": body,
        "isBase64Encoded": encoded,
    }


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def token_authorizer_event(token: str, arn: str) -> dict[str, Any]:
    """TOKEN authorizer input: the identity source's value and the method ARN."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}


def request_authorizer_event(proxy_event: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """REQUEST authorizer input: the request as the proxy event describes it, without the body."""
    event = {key: value for key, value in proxy_event.items() if key not in ("body", "isBase64Encoded")}
    return {"type": "REQUEST", "methodArn": arn, **event}


def parse_proxy_response(result: Any) -> HttpResponse:
    """The response a proxy result stands for; :class:`MalformedProxyResponse` where API Gateway 502s."""
    if not isinstance(result, Mapping) or not set(result) <= _RESPONSE_KEYS:
        raise MalformedProxyResponse("the result must be an object with only the proxy response keys")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedProxyResponse("statusCode must be an HTTP status code")
    headers = _response_headers(result.get("headers"), result.get("multiValueHeaders"))
    return HttpResponse(
        status, headers, response_body(result.get("body"), result.get("isBase64Encoded", False))
    )


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponse("header values must be strings")


def _response_headers(single: Any, multi: Any) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if multi is not None:
        if not isinstance(multi, Mapping) or not all(isinstance(v, list) for v in multi.values()):
            raise MalformedProxyResponse("multiValueHeaders must map names to lists")
        pairs += [(str(name), _header_value(v)) for name, values in multi.items() for v in values]
    if single is not None:
        if not isinstance(single, Mapping):
            raise MalformedProxyResponse("headers must be an object")
        taken = {name.lower() for name, _ in pairs}
        pairs += [
            (str(name), _header_value(v)) for name, v in single.items() if str(name).lower() not in taken
        ]
    for name, value in pairs:
        if not name or any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
            raise MalformedProxyResponse("header names and values must not hold line breaks")
    return tuple(pairs)


def response_body(body: Any, encoded: Any) -> bytes:
    """The bytes of a proxy result's ``body`` (payload 1.0 and 2.0 alike); base64 when ``isBase64Encoded``."""
    if not isinstance(encoded, bool):
        raise MalformedProxyResponse("isBase64Encoded must be a boolean")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string")
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedProxyResponse("body is not valid base64") from None
