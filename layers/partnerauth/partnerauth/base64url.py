"""Strict base64url without padding (RFC 7515 §2, RFC 4648 §5).

The decoder accepts only the canonical encoding: the URL-safe alphabet, no ``=``,
no whitespace, a length that is not 1 mod 4, and zero trailing bits.  Anything
else could give two spellings of one token (RFC 8725 §3.11 asks for no ambiguity).
"""

from __future__ import annotations

import base64
import binascii

# base64url -> base64 (RFC 4648 §5 -> §4), and the bytes base64url does not have ("+", "/", "=") to "!",
# which the strict decoder refuses like any other byte outside the alphabet (whitespace included).
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", b"", b"==", b"=")
# RFC 4648 §3.5: the bits a final partial group leaves unused must be zero.  With 2 characters left over
# (len % 4 == 2) the last one carries 4 unused bits, with 3 it carries 2: only these characters qualify.
_ZERO_LOW_4_BITS = frozenset(b"AQgw")
_ZERO_LOW_2_BITS = frozenset(b"AEIMQUYcgkosw048")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(segment: str | bytes) -> bytes:
    """Decode one canonical segment; ``ValueError`` for anything else.

    One translation and one strict decode, both in C: the alphabet, the length and the trailing bits
    are checked without a per-character loop and without encoding the result again."""
    try:
        raw = segment.encode("ascii", "strict") if isinstance(segment, str) else segment
    except UnicodeEncodeError:
        raise ValueError("not canonical base64url") from None
    remainder = len(raw) % 4
    if remainder == 1:  # 6 bits cannot make a byte
        raise ValueError("not canonical base64url")
    # Non-zero trailing bits decode to the same bytes as the canonical form: refuse them.
    if (remainder == 2 and raw[-1] not in _ZERO_LOW_4_BITS) or (
        remainder == 3 and raw[-1] not in _ZERO_LOW_2_BITS
    ):
        raise ValueError("not canonical base64url")
    try:
        return binascii.a2b_base64(raw.translate(_TO_STANDARD) + _PADDING[remainder], strict_mode=True)
    except binascii.Error:
        raise ValueError("not canonical base64url") from None


def decode_uint(segment: str) -> int:
    """A JWK integer member (RFC 7518 §2 Base64urlUInt)."""
    data = decode(segment)
    if not data:
        raise ValueError("empty integer")
    return int.from_bytes(data, "big")


def encode_uint(value: int) -> str:
    return encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))
