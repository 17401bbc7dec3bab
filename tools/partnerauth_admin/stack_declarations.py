"""What the stack declares, so the CLI can refuse a mistake before it is written to the clients table.

* **Scopes**: the scopes the stack's APIs know are the ``scopes_supported`` of its RFC 8414 metadata
  (``<Issuer>/.well-known/oauth-authorization-server``; the JWKS function's ``SUPPORTED_SCOPES``). The
  issuer is the stack output ``Issuer``, or ``PARTNERAUTH_ISSUER`` (``make dev`` prints it). A scope
  outside them is refused with the list of valid ones, unless ``--allow-unknown-scope``: a typo such as
  ``order:read`` would otherwise give tokens that every route refuses with 403. When the issuer is known
  but its metadata cannot be read, the CLI says the scopes were not checked; with no issuer at all
  (``--table`` without a stack) there is nothing to check against.
* **Client ids**: letters, digits and ``-`` ``.`` ``_`` ``~`` (RFC 3986's unreserved characters), 1 to 128.
  HTTP Basic client authentication form-urlencodes the id before base64 (RFC 6749 §2.3.1), but curl
  ``-u``, requests, authlib and requests-oauthlib do not: an id with ``:``, ``+``, ``%``, a space or any
  other character that encoding changes reaches the token endpoint spelled differently (``:`` even splits
  it), and the client can never authenticate. Unreserved characters are the same either way. Generated
  ids (``pc_`` + base32) already follow the rule.
* **Token URL**: the stack output ``TokenUrl``, else the metadata's ``token_endpoint``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final
from urllib.parse import urlsplit

from .aws_context import AwsContext, ContextError

CLIENT_ID_RULE: Final = "letters, digits and - . _ ~ only (1 to 128 characters)"
_CLIENT_ID: Final = re.compile(r"[A-Za-z0-9._~-]{1,128}")
METADATA_PATH: Final = "/.well-known/oauth-authorization-server"
FETCH_TIMEOUT: Final = 5.0
MAX_METADATA_BYTES: Final = 64 * 1024


class InputRefused(ContextError):
    """The operator's input would make a client that cannot work (one line: what and what to do)."""


def check_client_id(client_id: str | None) -> None:
    """Refuse an id that HTTP Basic clients would send spelled otherwise (see the module's docstring)."""
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise InputRefused(
            f"client id {client_id!r} would not survive HTTP Basic authentication with common clients: "
            f"use {CLIENT_ID_RULE}, or leave out --client-id to get a generated one"
        )


def fetch_metadata(url: str) -> dict[str, Any]:
    """The metadata document at ``url``: https, or http to a loopback address (the local stack) only."""
    parts = urlsplit(url)
    loopback = parts.hostname == "localhost" or _is_loopback(parts.hostname or "")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("the issuer must be https (http only for the local stack on 127.0.0.1)")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - scheme checked above
        document = json.loads(response.read(MAX_METADATA_BYTES + 1)[:MAX_METADATA_BYTES])
    if not isinstance(document, dict):
        raise ValueError("the metadata document is not a JSON object")
    return document


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class StackDeclarations:
    context: AwsContext
    env: Mapping[str, str] = field(default_factory=dict)
    fetch: Callable[[str], dict[str, Any]] = fetch_metadata
    unknown_because: str | None = None  # why the scopes could not be learned (for the warning)

    def issuer(self) -> str | None:
        return self.env.get("PARTNERAUTH_ISSUER") or self.context.issuer()

    @cached_property
    def metadata(self) -> dict[str, Any] | None:
        issuer = self.issuer()
        if not issuer:
            self.unknown_because = "no issuer known (pass --stack-name, or set PARTNERAUTH_ISSUER)"
            return None
        url = issuer.rstrip("/") + METADATA_PATH
        try:
            return self.fetch(url)
        except (OSError, ValueError) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            self.unknown_because = f"{url} could not be read ({reason})"
            return None

    def scopes(self) -> list[str] | None:
        """The scopes the stack declares, or None when they cannot be learned."""
        declared = (self.metadata or {}).get("scopes_supported")
        if not isinstance(declared, list):
            if self.metadata is not None:
                self.unknown_because = "the metadata document has no scopes_supported"
            return None
        return [str(scope) for scope in declared]

    def token_url(self) -> str | None:
        endpoint = self.context.token_url() or (self.metadata or {}).get("token_endpoint")
        return str(endpoint) if endpoint else None

    def check_scopes(
        self, scopes: Iterable[str], *, allow_unknown: bool, warn: Callable[[str], None]
    ) -> None:
        """Refuse scopes the stack does not declare; say so when they cannot be checked."""
        wanted = list(scopes)
        declared = self.scopes()
        if declared is None:
            if self.issuer():  # a stack without an issuer (--table alone) has nothing to check against
                warn(f"scopes not checked against the stack: {self.unknown_because}")
            return
        unknown = [scope for scope in wanted if scope not in declared]
        if unknown and not allow_unknown:
            raise InputRefused(
                f"unknown scope {', '.join(unknown)}: the stack declares {' '.join(declared)} "
                "(--allow-unknown-scope to grant it all the same)"
            )
        if unknown:
            warn(f"granting scopes the stack does not declare: {', '.join(unknown)}")
