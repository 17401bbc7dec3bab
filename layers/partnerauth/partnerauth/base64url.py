"""Strict base64url without padding (RFC 7515 §2, RFC 4648 §5).

The decoder accepts only the canonical encoding: the URL-safe alphabet, no ``=``,
no whitespace, a length that is not 1 mod 4, and zero trailing bits.  Anything
else could give two spellings of one token (RFC 8725 §3.11 asks for no ambiguity).
"""

from __future__ import annotations

import base64
import binascii
import re

_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(segment: str | bytes) -> bytes:
    """Decode one canonical segment; ``ValueError`` for anything else."""
    try:
        raw = segment.encode("ascii", "strict") if isinstance(segment, str) else segment
    except UnicodeEncodeError:
        raise ValueError("not canonical base64url") from None
    if len(raw) % 4 == 1 or _ALPHABET.fullmatch(raw) is None:
        raise ValueError("not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except binascii.Error:
        raise ValueError("not canonical base64url") from None
    # Non-zero trailing bits decode to the same bytes as the canonical form: refuse them.
    if base64.urlsafe_b64encode(data).rstrip(b"=") != raw:
        raise ValueError("not canonical base64url")
    return data


def decode_uint(segment: str) -> int:
    """A JWK integer member (RFC 7518 §2 Base64urlUInt)."""
    data = decode(segment)
    if not data:
        raise ValueError("empty integer")
    return int.from_bytes(data, "big")


def encode_uint(value: int) -> str:
    return encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))
