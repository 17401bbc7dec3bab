"""Strict parsing of compact JWS (RFC 7515 §7.1) before any cryptography runs.

RFC 8725 §3.11 asks verifiers to refuse anything ambiguous, and the cheapest place
to do that is here: a size cap, exactly three canonical base64url segments, and a
header and payload that are JSON objects in UTF-8 with no duplicate members, no
NaN/Infinity and no numbers out of range.  JWE (five segments) and the JSON
serialisations are not compact JWS and are refused as malformed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from . import base64url
from .errors import MalformedToken

MAX_TOKEN_BYTES = 8192
_MAX_INT_DIGITS = 19  # larger integers are not timestamps or anything else we read


class CompactJws(NamedTuple):
    """The parts of a compact JWS; nothing in it has been verified yet.  A named tuple: one is built
    per token, and a frozen dataclass's ``__init__`` costs twice as much (benchmarks/bench_verify.py)."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes
    header_segment: bytes = b""  # the header as sent (base64url), e.g. to remember its parse


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # RFC 7515 §5.2 step 4 / RFC 8725 §3.11: no duplicate members
        raise ValueError("duplicate member")
    return result


def _refuse_constant(_: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS and len(text.lstrip("-")) > _MAX_INT_DIGITS:  # short ones need no lstrip
        raise ValueError("integer out of range")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_constant=_refuse_constant,
    parse_int=_bounded_int,
    parse_float=_finite_float,
)


# The C scanner behind ``_DECODER.decode``, with the same hooks (``JSONDecoder.__init__`` builds it).
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json_object(data: bytes) -> dict[str, Any]:
    # strict UTF-8: a BOM or UTF-16 text is not a JWS member (RFC 7515 §5.2 step 3-4, RFC 8259 §8.1)
    text = data.decode("utf-8")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:  # not a JSON value at offset 0 (e.g. leading whitespace): the full decoder decides
        end = -1
    if end != len(text):  # whitespace or data after the value: same answer as ``_DECODER.decode``
        value = _DECODER.decode(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def parse_compact(
    token: object,
    max_bytes: int = MAX_TOKEN_BYTES,
    *,
    known_headers: Mapping[bytes, dict[str, Any]] | None = None,
) -> CompactJws:
    """Split and decode ``token``; :class:`MalformedToken` for anything that is not a
    canonical compact JWS within ``max_bytes``.

    ``known_headers`` maps header segments, byte for byte, to what this function parsed from them
    before: a verifier passes the headers of tokens it accepted, since every token a key signs
    carries the same header, and that header is then not decoded again.  Identical bytes, identical
    result: no check is skipped, only repeated.

    One pass per segment: the token is encoded to bytes once, each segment is decoded once
    (base64url, then UTF-8 and JSON for the header and payload), and the signing input is a
    slice of those bytes."""
    if not isinstance(token, str):
        raise MalformedToken(detail="token is not a string")
    if len(token) > max_bytes:
        raise MalformedToken(detail="token too large")
    if not token.isascii():
        raise MalformedToken(detail="token is not ASCII")
    raw = token.encode("ascii")
    parts = raw.split(b".")
    if len(parts) != 3:
        raise MalformedToken(detail="not a compact JWS")
    header_segment, payload_segment, signature_segment = parts
    if not header_segment or not payload_segment or not signature_segment:
        raise MalformedToken(detail="empty segment")
    try:
        header = known_headers.get(header_segment) if known_headers is not None else None
        if header is None:
            header = _json_object(base64url.decode(header_segment))
        payload = _json_object(base64url.decode(payload_segment))
        signature = base64url.decode(signature_segment)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MalformedToken(detail="segment is not canonical base64url JSON") from None
    # RFC 7515 §5.2 step 8: the signing input is ASCII(header segment || "." || payload segment)
    signing_input = raw[: len(header_segment) + 1 + len(payload_segment)]
    return CompactJws(header, payload, signing_input, signature, header_segment)
