"""Strict base64url (RFC 7515 §2): one spelling per value."""

from __future__ import annotations

import pytest

from partnerauth import base64url


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"\xff\xfe\xfd\x00"])
def test_round_trip(data: bytes) -> None:
    assert base64url.decode(base64url.encode(data)) == data


@pytest.mark.parametrize(
    "segment",
    [
        "Zg==",  # padding
        "Zm9v+A",  # standard alphabet
        "Zm9v/w",
        "Zm 9v",  # whitespace
        "Zm9v\n",
        "Zh",  # non-zero trailing bits: same bytes as "Zg"
        "Zm9",  # non-zero trailing bits: same bytes as "Zm8"
        "A",  # length 1 mod 4
        "Zm9v€",
    ],
)
def test_non_canonical_segments_are_refused(segment: str) -> None:
    with pytest.raises(ValueError, match="canonical"):
        base64url.decode(segment)
