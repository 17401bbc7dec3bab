"""Malformed URIs of every kind (issue 14 item 7): not absolute, no authority, fragments, broken IP
literals, ports, spaces and controls, bad percent-encoding, non-ASCII, backslashes, delimiters RFC 3986
does not allow, over-long.  None is an RFC 8707 §2 resource indicator; none may make anything raise."""

from __future__ import annotations

from partnerauth.resource_indicator import MAX_RESOURCE_LENGTH

MALFORMED_URIS: list[str] = [
    "",
    "partner-api",  # not absolute
    "//api.example.test",  # no scheme
    "https:",
    "https:/api.example.test",  # no authority
    "urn:example:api",  # absolute, but no authority
    "https://",  # empty host
    "https://api.example.test#frag",  # RFC 8707 §2: no fragment
    "https://api.example.test/#",
    "http://[",  # urlsplit: ValueError Invalid IPv6 URL (the 500 of issue 14)
    "http://]",
    "http://[::1",
    "http://::1]",
    "http://[::1]x",
    "http://[]",
    "http://[not-an-ip]",
    "http://[::1%25eth0]",  # zone identifiers are not RFC 3986
    "http://[1.2.3.4]",
    "http://[v.x]",
    "http://a:b",
    "http://a:-1",
    "http://a:1:2",
    "http://a b",
    "http://a/b c",
    "http://a/%zz",
    "http://a/%4",
    "http://a/%",
    "http://a\\b",
    "http:\\\\a",
    "http://a/\x00",
    "http://a\r\n",
    "http://a\t",
    "http://例え.jp",
    "http://\uff03x",  # FULLWIDTH NUMBER SIGN: NFKC changes the netloc, urlsplit raises
    "http://a/ü",
    "https://a/\ud800",  # a lone surrogate (percent-decoding can make one with surrogatepass)
    "http://a/<script>",
    'http://a/"',
    "http://a/{x}",
    "http://a/|",
    "http://a/^",
    "http://a/`",
    "1http://a",
    "-http://a",
    "ht tp://a",
    "javascript:alert(1)",
    "https://a/" + "x" * MAX_RESOURCE_LENGTH,
]
