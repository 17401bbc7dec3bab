"""Request parsing on its own (no AWS): whatever arrives, the outcome is a TokenRequest or a §5.2 error."""

from __future__ import annotations

import base64
import contextlib
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from token_issuer.client_auth import AuthMethod, parse_basic
from token_issuer.form_body import FormError, parse_form
from token_issuer.oauth_errors import InvalidClient, InvalidRequest, OAuthError
from token_issuer.token_request import parse_token_request

VSCHAR_NO_SPACE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128)


def event(body: Any, headers: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    multi = {"Content-Type": ["application/x-www-form-urlencoded"]} if headers is None else headers
    return {
        "body": body,
        "multiValueHeaders": multi,
        "headers": {k: v[-1] for k, v in multi.items() if v},
        **extra,
    }


@given(client_id=VSCHAR_NO_SPACE, secret=st.text(min_size=1, max_size=200).filter(lambda s: "\x00" not in s))
def test_basic_credentials_round_trip(client_id: str, secret: str) -> None:
    # RFC 6749 §2.3.1: form-urlencode each part, join with ':', base64; decoding gives both back exactly
    try:
        secret.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates cannot be sent at all
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    parsed = parse_basic("Basic " + base64.b64encode(raw).decode())
    assert (parsed.client_id, parsed.secret, parsed.method) == (
        client_id,
        secret,
        AuthMethod.CLIENT_SECRET_BASIC,
    )


@settings(max_examples=300)
@given(body=st.binary(max_size=600))
def test_any_body_bytes_parse_or_fail_cleanly(body: bytes) -> None:
    with contextlib.suppress(FormError):
        parse_form(body)


@settings(max_examples=300)
@given(
    body=st.one_of(
        st.none(), st.text(max_size=300), st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
    ),
    encoded=st.booleans(),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "", "text/plain;x"]
    ),
    authorization=st.lists(st.text(max_size=80), max_size=2),
    query=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)),
)
def test_any_request_is_a_token_request_or_a_section_5_2_error(
    body: Any, encoded: bool, content_type: str, authorization: list[str], query: Any
) -> None:
    headers = {"Content-Type": [content_type]}
    if authorization:
        headers["Authorization"] = authorization
    outcome: OAuthError | None = None
    try:
        parse_token_request(event(body, headers, isBase64Encoded=encoded, queryStringParameters=query))
    except OAuthError as error:
        outcome = error
    if outcome is not None:
        assert outcome.error in {"invalid_request", "invalid_client"}
        assert outcome.status in {400, 401}


def test_header_names_are_case_insensitive_and_repeats_count_across_spellings() -> None:
    headers = {
        "content-type": ["application/x-www-form-urlencoded"],
        "AUTHORIZATION": ["Basic eDp5"],
        "authorization": ["Basic eDp5"],
    }
    with pytest.raises(InvalidRequest):
        parse_token_request(event("grant_type=client_credentials", headers))


def test_single_value_headers_are_used_when_multi_value_ones_are_absent() -> None:
    request = parse_token_request(
        {
            "body": "grant_type=client_credentials&client_id=a&client_secret=b",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        }
    )
    assert (request.credentials.client_id, request.credentials.method) == ("a", AuthMethod.CLIENT_SECRET_POST)


def test_no_credentials_is_invalid_client() -> None:
    with pytest.raises(InvalidClient):
        parse_token_request(event("grant_type=client_credentials"))


def test_semicolon_is_data_not_a_separator() -> None:
    assert parse_form(b"a=1;b=2") == {"a": "1;b=2"}


def test_plus_is_a_space_and_percent_2b_is_a_plus() -> None:
    assert parse_form(b"a=x+y&b=x%2By") == {"a": "x y", "b": "x+y"}
