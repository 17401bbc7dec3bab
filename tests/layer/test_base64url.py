"""Strict base64url (RFC 7515 §2): one spelling per value."""

from __future__ import annotations

import base64
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- the decoder against its definition --------------------------------------------------------

_CANONICAL_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")


def _by_definition(segment: str) -> bytes | None:
    """RFC 7515 §2 read literally: the URL-safe alphabet, no padding, and the one spelling that
    encoding the decoded bytes gives back.  ``None`` when ``segment`` is not that spelling."""
    try:
        raw = segment.encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(raw) % 4 == 1 or _CANONICAL_ALPHABET.fullmatch(raw) is None:
        return None
    data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    return data if base64.urlsafe_b64encode(data).rstrip(b"=") == raw else None


@settings(max_examples=3000)
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_+/= \n.!\u00e9\x00", max_size=12))
def test_decoder_accepts_exactly_the_canonical_spellings(segment: str) -> None:
    expected = _by_definition(segment)
    if expected is None:
        with pytest.raises(ValueError, match="canonical"):
            base64url.decode(segment)
    else:
        assert base64url.decode(segment) == expected
        assert base64url.decode(segment.encode("ascii")) == expected


@pytest.mark.parametrize("length", [2, 3])
def test_every_final_character_is_judged_by_its_unused_bits(length: int) -> None:
    # RFC 4648 §3.5: 2 leftover characters leave 4 unused bits, 3 leave 2; they must be zero.
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    for value, last in enumerate(alphabet):
        segment = "A" * (length - 1) + last
        unused_bits_zero = value % (16 if length == 2 else 4) == 0
        if unused_bits_zero:
            assert base64url.encode(base64url.decode(segment)) == segment
        else:
            with pytest.raises(ValueError, match="canonical"):
                base64url.decode(segment)
