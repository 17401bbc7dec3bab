"""Scope claims of access tokens, parsed by RFC 6749 §3.3's grammar and nothing looser.

    scope       = scope-token *( SP scope-token )
    scope-token = 1*( %x21 / %x23-5B / %x5D-7E )

A ``scope`` string is split on SP (U+0020) alone: a tab, a no-break space, U+001C or any other
character that ``str.split()`` would treat as a separator is no separator here, and since none of
them may appear in a scope token either, a string holding one is refused.  List forms (``scp`` of
Okta, ``roles`` of Entra ID) hold one scope token per item: an item with a space in it is refused,
never split (it would otherwise reach the backend as two scopes in ``context.scope``).

An empty claim (``""`` or ``[]``) holds no scope, as an absent one does (our own issuer leaves the
claim out then): it can only ever narrow what a token may do.  Refused: empty tokens (leading,
trailing or doubled spaces, an empty list item), duplicates (a well-formed issuer never sends them, and
refusing what is ambiguous is RFC 8725 §3.11's advice), a token longer than any route map accepts,
and more tokens than :data:`MAX_SCOPES`.  Every refusal is a :class:`ClaimInvalid` naming the
claim, never its value.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import ClaimInvalid, Reason

MAX_SCOPE_LENGTH: Final = 128  # one limit for tokens, route maps and client registrations
MAX_SCOPES: Final = 256
# The claims scopes may be read from, and the JSON forms each may take.
STRING_SCOPE_CLAIMS: Final = frozenset({"scope", "scp"})  # RFC 8693 §4.2 / RFC 9068 §2.2.3; Entra ID's scp
LIST_SCOPE_CLAIMS: Final = frozenset({"scp", "roles"})  # Okta's scp; Entra ID's roles (app permissions)
SCOPE_CLAIMS: Final = STRING_SCOPE_CLAIMS | LIST_SCOPE_CLAIMS

_SCOPE_TOKEN: Final = rf"[\x21\x23-\x5b\x5d-\x7e]{{1,{MAX_SCOPE_LENGTH}}}"
_SCOPE: Final = re.compile(rf"{_SCOPE_TOKEN}(?: {_SCOPE_TOKEN})*")
_TOKEN: Final = re.compile(_SCOPE_TOKEN)


def is_scope_token(value: object) -> bool:
    """RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), here at most MAX_SCOPE_LENGTH long."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


# Scope strings that parsed, and their scopes: a client's tokens repeat one string, and a lookup costs a
# tenth of the grammar check.  Only valid strings enter; the bound keeps hostile variety from growing it.
MAX_REMEMBERED: Final = 256
_parsed: dict[str, frozenset[str]] = {}


def parse_scope_claim(claim: str, value: object) -> frozenset[str]:
    """The scope tokens of claim ``claim`` holding ``value``; ``None`` (absent) is no scope."""
    if value is None or value in ("", []):
        return frozenset()
    if type(value) is str and claim in STRING_SCOPE_CLAIMS:
        known = _parsed.get(value)
        if known is not None:
            return known
        if not _SCOPE.fullmatch(value):  # RFC 6749 §3.3
            raise ClaimInvalid(Reason.INVALID_CLAIM, "scope is not an RFC 6749 §3.3 scope", claim=claim)
        tokens: list[str] = value.split(" ")
    elif type(value) is list and claim in LIST_SCOPE_CLAIMS:
        if not all(type(item) is str and _TOKEN.fullmatch(item) for item in value):
            raise ClaimInvalid(
                Reason.INVALID_CLAIM, "scope item is not an RFC 6749 §3.3 scope-token", claim=claim
            )
        tokens = value
    else:
        raise ClaimInvalid(Reason.INVALID_CLAIM, "scope has the wrong type", claim=claim)
    scopes = frozenset(tokens)
    if len(scopes) != len(tokens) or len(tokens) > MAX_SCOPES:
        raise ClaimInvalid(Reason.INVALID_CLAIM, "scope repeats a token or has too many", claim=claim)
    if type(value) is str:
        if len(_parsed) >= MAX_REMEMBERED:
            _parsed.clear()
        _parsed[value] = scopes
    return scopes


def parse_scope_claims(claims: tuple[str, ...], payload: dict[str, object]) -> frozenset[str]:
    """The union of the scopes of every claim in ``claims`` (Entra ID: ``roles`` and ``scp``)."""
    if len(claims) == 1:
        return parse_scope_claim(claims[0], payload.get(claims[0]))
    scopes: frozenset[str] = frozenset()
    for claim in claims:
        scopes |= parse_scope_claim(claim, payload.get(claim))
    return scopes
