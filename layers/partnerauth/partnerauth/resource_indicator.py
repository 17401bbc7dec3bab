"""Is a string an RFC 8707 resource indicator? A total function: it answers for any ``str``, never raises.

RFC 8707 §2: the ``resource`` parameter "MUST be an absolute URI, as specified by Section 4.3 of
[RFC3986]", "MUST NOT include a fragment component", and a malformed one is ``invalid_target``.
We also require an authority (``scheme://host``): every audience we register is a network resource.

Why not :func:`urllib.parse.urlsplit`: it is lenient where RFC 3986 is strict (it accepts spaces,
non-ASCII, ``%zz``, a port ``b``) and it *raises* where RFC 3986 merely says no (``http://[`` is
``ValueError: Invalid IPv6 URL``; a netloc that changes under NFKC too).  An exception escaping the
grant was a 500 for ``resource=http://%5B`` (issue 14 item 7).  Here the RFC 3986 §3 grammar is
matched with regular expressions over ASCII only, and the one sub-parse that a library does (an IPv6
literal, RFC 3986 §3.2.2) is guarded.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

MAX_RESOURCE_LENGTH: Final = 2048  # far above any audience we register; bounds the regex work

# RFC 3986 §2 character classes
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"

_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"  # §3.1
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"  # §3.2.1
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})+"  # §3.2.2, non-empty: a host is required
_IP_LITERAL = r"\[(?P<ip_literal>[^\[\]]*)\]"  # checked below
_PORT = r"[0-9]*"  # §3.2.3
_PATH_ABEMPTY = rf"(?:/{_PCHAR}*)*"  # §3.3
_QUERY = rf"(?:{_PCHAR}|[/?])*"  # §3.4

_ABSOLUTE_URI_WITH_AUTHORITY = re.compile(
    rf"{_SCHEME}://(?:{_USERINFO}@)?(?:{_IP_LITERAL}|{_REG_NAME})(?::{_PORT})?{_PATH_ABEMPTY}(?:\?{_QUERY})?",
    re.ASCII,
)
_IPV_FUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+", re.ASCII)  # §3.2.2


def is_resource_indicator(value: str) -> bool:
    """``True`` when ``value`` is an absolute URI with an authority and without a fragment (RFC 8707 §2,
    RFC 3986 §4.3); ``False`` for anything else, whatever its characters or length."""
    if len(value) > MAX_RESOURCE_LENGTH or not value.isascii():
        return False
    match = _ABSOLUTE_URI_WITH_AUTHORITY.fullmatch(value)
    if match is None:
        return False
    literal = match.group("ip_literal")
    return literal is None or _is_ip_literal(literal)


def _is_ip_literal(literal: str) -> bool:
    """The inside of ``[...]``: an IPv6 address (no zone identifier, RFC 3986 §3.2.2) or IPvFuture."""
    if _IPV_FUTURE.fullmatch(literal):
        return True
    if "%" in literal:  # RFC 6874 zone identifiers are not in RFC 3986's grammar
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True
