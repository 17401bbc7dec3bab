"""The REST API proxy event (payload 1.0), the authorizer events, and the proxy response rules."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from local.proxy_event import (
    ApiIdentity,
    HttpRequest,
    MalformedProxyResponse,
    method_arn,
    parse_proxy_response,
    request_authorizer_event,
    request_time,
    rest_proxy_event,
    token_authorizer_event,
)

API = ApiIdentity("abc1234567", "dev", "us-east-1", "123456789012", "127.0.0.1:3000")
NOW = 1_800_000_000.5


def event_for(request: HttpRequest, resource: str = "/orders/{id}", **parameters: str) -> dict[str, Any]:
    return rest_proxy_event(request, API, resource, parameters, "req-1", NOW)


def test_the_event_names_the_resource_the_path_and_the_method() -> None:
    event = event_for(HttpRequest("GET", "/orders/42"), id="42")
    assert event["resource"] == "/orders/{id}"
    assert event["path"] == "/orders/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] is None


def test_headers_come_single_and_multi_valued_the_last_value_winning() -> None:
    request = HttpRequest("GET", "/orders", headers=(("Accept", "a/b"), ("X-Dup", "1"), ("X-Dup", "2")))
    event = event_for(request, "/orders")
    assert event["headers"] == {"Accept": "a/b", "X-Dup": "2"}
    assert event["multiValueHeaders"] == {"Accept": ["a/b"], "X-Dup": ["1", "2"]}


def test_no_headers_no_query_no_path_parameters_are_null() -> None:
    event = event_for(HttpRequest("GET", "/orders"), "/orders")
    assert event["headers"] is None
    assert event["multiValueHeaders"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_query_strings_are_decoded_single_and_multi_valued() -> None:
    event = event_for(HttpRequest("GET", "/orders", query="status=open&tag=a&tag=b%20c&empty="), "/orders")
    assert event["queryStringParameters"] == {"status": "open", "tag": "b c", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {
        "status": ["open"],
        "tag": ["a", "b c"],
        "empty": [""],
    }


def test_a_text_body_is_passed_as_text() -> None:
    event = event_for(HttpRequest("POST", "/orders", body=b'{"sku": "x"}'), "/orders")
    assert event["body"] == '{"sku": "x"}'
    assert event["isBase64Encoded"] is False


def test_a_binary_body_is_passed_base64_encoded() -> None:
    event = event_for(HttpRequest("POST", "/orders", body=b"\xff\x00\xfe"), "/orders")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00\xfe"


def test_the_request_context_names_api_stage_and_caller() -> None:
    request = HttpRequest("GET", "/orders/42", headers=(("User-Agent", "curl/8"),), source_ip="127.0.0.1")
    context = event_for(request, id="42")["requestContext"]
    assert context["apiId"] == "abc1234567"
    assert context["stage"] == "dev"
    assert context["accountId"] == "123456789012"
    assert context["resourcePath"] == "/orders/{id}"
    assert context["path"] == "/dev/orders/42"
    assert context["httpMethod"] == "GET"
    assert context["requestId"] == "req-1"
    assert context["requestTimeEpoch"] == 1_800_000_000_500
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8"
    assert context["domainName"] == "127.0.0.1:3000"


def test_request_time_is_api_gateways_format_in_english() -> None:
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"
    assert request_time(NOW) == "15/Jan/2027:08:00:00 +0000"


def test_the_method_arn_names_api_stage_method_and_path() -> None:
    assert (
        method_arn(API, "GET", "/orders/42")
        == "arn:aws:execute-api:us-east-1:123456789012:abc1234567/dev/GET/orders/42"
    )
    assert method_arn(API, "GET", "/") == "arn:aws:execute-api:us-east-1:123456789012:abc1234567/dev/GET/"


def test_the_token_authorizer_event_holds_the_header_value_and_the_method_arn() -> None:
    event = token_authorizer_event("Bearer abc", "arn:x")
    assert event == {"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": "arn:x"}


def test_the_request_authorizer_event_is_the_request_without_its_body() -> None:
    proxy = event_for(HttpRequest("POST", "/orders", body=b"secret"), "/orders")
    event = request_authorizer_event(proxy, "arn:x")
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:x"
    assert "body" not in event
    assert event["path"] == "/orders"


# -- responses --------------------------------------------------------------------------------------


def test_a_proxy_response_becomes_status_headers_and_body() -> None:
    response = parse_proxy_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Count": 3},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
            "isBase64Encoded": False,
        }
    )
    assert response.status == 201
    assert response.body == b'{"ok": true}'
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("Set-Cookie", "b=2") in response.headers
    assert response.header("x-count") == "3"


def test_a_base64_body_is_decoded() -> None:
    encoded = base64.b64encode(b"\x00\x01").decode()
    response = parse_proxy_response({"statusCode": 200, "body": encoded, "isBase64Encoded": True})
    assert response.body == b"\x00\x01"


def test_status_and_nothing_else_is_a_valid_response() -> None:
    response = parse_proxy_response({"statusCode": 204})
    assert (response.status, response.body) == (204, b"")


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        [],
        {},
        {"statusCode": "abc"},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 600},
        {"statusCode": 200, "extra": 1},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["a"]},
        {"statusCode": 200, "headers": {"a": {"b": 1}}},
        {"statusCode": 200, "headers": {"a": "x\r\nInjected: yes"}},
        {"statusCode": 200, "multiValueHeaders": {"a": "not-a-list"}},
        {"statusCode": 200, "body": "!!!", "isBase64Encoded": True},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_what_api_gateway_would_reject_is_malformed(result: Any) -> None:
    # API Gateway answers 502 "Malformed Lambda proxy response" to these.
    with pytest.raises(MalformedProxyResponse):
        parse_proxy_response(result)
