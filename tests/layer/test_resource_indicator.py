"""RFC 8707 §2 resource indicators: absolute URIs (RFC 3986 §4.3) with an authority and no fragment.
The check is total: any string gets an answer, never an exception (issue 14 item 7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerauth.resource_indicator import is_resource_indicator
from tests.adversarial.malformed_uris import MALFORMED_URIS

ACCEPTED = [
    "https://api.example.test",
    "https://api.example.test/",
    "https://api.example.test/v1/orders?x=1&y=%20",
    "https://api.example.test:8443/v1",
    "https://api.example.test:/v1",  # RFC 3986 §3.2.3: port = *DIGIT (empty allowed)
    "http://127.0.0.1:3000",
    "https://[::1]:443/x",
    "https://[2001:db8::7]",
    "https://[v1.fe80::a+en1]",  # IPvFuture
    "https://user@api.example.test",
    "urn-like+scheme.x-1://host",
    "HTTPS://API.EXAMPLE.TEST",
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_an_absolute_uri_with_an_authority_is_a_resource_indicator(value: str) -> None:
    assert is_resource_indicator(value)  # RFC 8707 §2, RFC 3986 §4.3


@pytest.mark.parametrize("value", MALFORMED_URIS)
def test_a_malformed_or_relative_uri_is_not_a_resource_indicator(value: str) -> None:
    assert not is_resource_indicator(value)  # RFC 8707 §2: invalid_target


@given(st.text(max_size=80))
def test_any_text_gets_an_answer_never_an_exception(value: str) -> None:
    assert is_resource_indicator(value) in (True, False)


@given(st.from_regex(r"https?://[\[\]a-z0-9:%.@/?#-]{0,40}", fullmatch=True))
def test_uri_shaped_text_gets_an_answer_never_an_exception(value: str) -> None:
    assert is_resource_indicator(value) in (True, False)
