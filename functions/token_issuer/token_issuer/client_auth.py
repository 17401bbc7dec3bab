"""Client credentials as presented: ``client_secret_basic`` or ``client_secret_post`` (RFC 6749 §2.3.1),
or a signed JWT assertion, ``private_key_jwt`` (RFC 7523 §2.2, RFC 7521 §4.2).

For HTTP Basic, RFC 6749 §2.3.1 says the client id and the secret are each encoded with
``application/x-www-form-urlencoded`` *before* they are joined with ``:`` and base64-encoded,
so a ``:`` inside either travels as ``%3A`` and the first literal ``:`` is the separator.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from enum import StrEnum

from .form_body import FormError, decode_component
from .oauth_errors import InvalidClient

AUTH_FAILED = "client authentication failed"
MAX_AUTHORIZATION_LENGTH = 2048
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
# RFC 6749 Appendix A.1: client-id = *VSCHAR (we refuse space and the empty id, as the registry does).
CLIENT_ID = re.compile(r"[\x21-\x7e]{1,128}")


class AuthMethod(StrEnum):
    """RFC 7591 §2 ``token_endpoint_auth_method`` values (also in the discovery document)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    PRIVATE_KEY_JWT = "private_key_jwt"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: str = field(repr=False)
    method: AuthMethod = AuthMethod.CLIENT_SECRET_POST


@dataclass(frozen=True, slots=True)
class AssertionCredentials:
    """A ``client_assertion`` (RFC 7521 §4.2), unread; ``client_id`` is the body parameter, if sent."""

    assertion: str = field(repr=False)
    client_id: str | None = None
    method: AuthMethod = AuthMethod.PRIVATE_KEY_JWT


def credentials(client_id: str, secret: str, method: AuthMethod) -> ClientCredentials:
    """Refuse what cannot be a registered client before any store work (the id format is public)."""
    if not CLIENT_ID.fullmatch(client_id) or not secret:
        raise InvalidClient(AUTH_FAILED, reason="malformed_credentials", auth_method=method.value)
    return ClientCredentials(client_id=client_id, secret=secret, method=method)


def parse_basic(header: str) -> ClientCredentials:
    """``Authorization: Basic <base64(urlencode(id):urlencode(secret))>`` -> credentials; otherwise
    ``invalid_client`` (RFC 6749 §5.2: the client tried to authenticate with the header and failed)."""
    method = AuthMethod.CLIENT_SECRET_BASIC

    def failed() -> InvalidClient:
        return InvalidClient(AUTH_FAILED, reason="malformed_basic", auth_method=method.value)

    scheme, _, token = header.partition(" ")
    token = token.strip(" ")
    # RFC 9110 §11.1: the auth-scheme is case-insensitive.
    if scheme.lower() != "basic" or not token or len(header) > MAX_AUTHORIZATION_LENGTH:
        raise failed()
    if not _BASE64.fullmatch(token):
        raise failed()
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        raise failed() from None
    raw_id, colon, raw_secret = decoded.partition(b":")
    if not colon:
        raise failed()
    try:
        client_id, secret = decode_component(raw_id), decode_component(raw_secret)
    except FormError:
        raise failed() from None
    return credentials(client_id, secret, method)
