"""Strict compact-JWS parsing (RFC 7515 §7.1, RFC 8725 §3.11): one reading per token, or none."""

from __future__ import annotations

import pytest

from partnerauth import base64url
from partnerauth.compact import parse_compact
from partnerauth.errors import MalformedToken

SIGNATURE = base64url.encode(b"\x01" * 64)


def compact(header: bytes, payload: bytes) -> str:
    return f"{base64url.encode(header)}.{base64url.encode(payload)}.{SIGNATURE}"


def test_signing_input_is_the_first_two_segments_as_sent() -> None:
    # RFC 7515 §5.2 step 8: ASCII(BASE64URL(header) || "." || BASE64URL(payload))
    token = compact(b'{"alg":"RS256"}', b'{"sub":"a"}')
    jws = parse_compact(token)
    assert jws.signing_input == token.rsplit(".", 1)[0].encode("ascii")
    assert jws.header == {"alg": "RS256"}
    assert jws.payload == {"sub": "a"}
    assert jws.signature == b"\x01" * 64


@pytest.mark.parametrize("text", [b' {"sub":"a"}', b'{"sub":"a"} ', b'\n{"sub":"a"}\t', b'{ "sub" : "a" }'])
def test_json_whitespace_is_json(text: bytes) -> None:
    # RFC 8259 §2: insignificant whitespace around and inside the object
    assert parse_compact(compact(b'{"alg":"RS256"}', text)).payload == {"sub": "a"}


@pytest.mark.parametrize(
    "text",
    [
        b'{"sub":"a"}x',  # data after the object
        b'{"sub":"a"}{}',
        b'{"sub":"a"} 1',
        b'["sub"]',  # not an object
        b'"sub"',
        b"",
        b" ",
        b'{"a":{"b":1,"b":2}}',  # RFC 7515 §5.2 step 4: duplicate members, nested too
        b'{"exp":12345678901234567890}',  # 20 digits: no date, no count we read is that long
        b'{"exp":-12345678901234567890}',
        b'{"exp":1e400}',  # overflows to infinity
        b'{"exp":NaN}',
        b"\xef\xbb\xbf{}",  # a UTF-8 BOM (RFC 8259 §8.1)
        '{"sub":"a"}'.encode("utf-16"),
    ],
)
def test_anything_but_one_strict_json_object_is_malformed(text: bytes) -> None:
    with pytest.raises(MalformedToken):
        parse_compact(compact(b'{"alg":"RS256"}', text))
    with pytest.raises(MalformedToken):
        parse_compact(compact(text, b'{"sub":"a"}'))


def test_nineteen_digits_still_parse() -> None:
    jws = parse_compact(compact(b'{"alg":"RS256"}', b'{"n":9223372036854775807,"m":-9223372036854775807}'))
    assert jws.payload == {"n": 9223372036854775807, "m": -9223372036854775807}
