"""Strict ``application/x-www-form-urlencoded`` decoding for the token endpoint (RFC 6749 Appendix B).

Stricter than :func:`urllib.parse.parse_qsl` on purpose: a body is ASCII; ``&`` is the only
separator (``;`` is data, as in the WHATWG URL standard); every ``%`` starts a valid escape;
the decoded bytes are UTF-8; and a parameter may appear once (RFC 6749 §3.2).  Empty
segments (``a=1&&b=2``) are skipped, as the WHATWG parser does.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

MAX_BODY_BYTES = 4096  # a client-credentials request is a few hundred bytes
MAX_PARAMETERS = 32

_FORM_TEXT = re.compile(rb"[\x21-\x7e]*")  # printable ASCII, no space (spaces travel as '+')
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class FormError(ValueError):
    """The body is not a well-formed form; the message is a constant."""


def decode_component(raw: bytes) -> str:
    """One form-urlencoded name or value: '+' is a space, %XX a byte, then strict UTF-8."""
    if _FORM_TEXT.fullmatch(raw) is None:
        raise FormError("the body must be printable ASCII")
    if _BAD_ESCAPE.search(raw):
        raise FormError("invalid percent-encoding")
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise FormError("percent-encoded bytes are not UTF-8") from None


def parse_form(body: bytes) -> dict[str, str]:
    """Parameters by name; :class:`FormError` for anything malformed or repeated."""
    if len(body) > MAX_BODY_BYTES:
        raise FormError("the body is too large")
    params: dict[str, str] = {}
    segments = [s for s in body.split(b"&") if s]
    if len(segments) > MAX_PARAMETERS:
        raise FormError("too many parameters")
    for segment in segments:
        raw_name, _, raw_value = segment.partition(b"=")
        name = decode_component(raw_name)
        if not name:
            raise FormError("a parameter has no name")
        if name in params:
            raise FormError("a parameter is repeated")  # RFC 6749 §3.2
        params[name] = decode_component(raw_value)
    return params
