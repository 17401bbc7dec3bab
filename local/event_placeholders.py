"""The placeholders of the sample events in ``events/`` and how ``make invoke`` fills them.

The samples are deployable as they are (``sam local invoke -e``), so what only a running stack can
supply stands in them as a fixed, documented value (``events/README.md``):

========================================  ==========================================================
placeholder                               filled by ``make invoke`` with
========================================  ==========================================================
``PLACEHOLDER.ACCESS.TOKEN``              a fresh access token of the demo client (all its scopes)
``pc_example00000000``                    the demo client's id
``example-secret-not-a-real-one``         the demo client's secret
``Basic <base64 of the two above>``       ``Basic`` with the demo client's id and secret (RFC 6749
                                          §2.3.1: each form-urlencoded, then base64)
``NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs``  a kid that exists (:func:`local.live_values.kid_to_revoke`)
========================================  ==========================================================

A placeholder is replaced wherever it appears in a string of the event, and only values that are
needed are fetched (a token request, a read of the key table).  Pure: the values come in as
:class:`LiveValues`, whose lazy members the caller backs with the running stack.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

ACCESS_TOKEN: Final = "PLACEHOLDER.ACCESS.TOKEN"
CLIENT_ID: Final = "pc_example00000000"
CLIENT_SECRET: Final = "example-secret-not-a-real-one"  # a documented placeholder
KID: Final = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"  # RFC 7638 §3.1's example thumbprint


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` value of HTTP Basic client authentication (RFC 6749 §2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


BASIC_CREDENTIALS: Final = basic_credentials(CLIENT_ID, CLIENT_SECRET)


@dataclass(frozen=True)
class LiveValues:
    """What the running stack supplies; the callables run only for a placeholder an event holds."""

    client_id: str
    client_secret: str = field(repr=False)
    access_token: Callable[[], str]
    kid: Callable[[], str]


@dataclass
class _Filler:
    live: LiveValues
    filled: dict[str, str] = field(default_factory=dict)  # placeholder -> what it became (no secrets)
    _token: str | None = None
    _kid: str | None = None

    def token(self) -> str:
        if self._token is None:
            self._token = self.live.access_token()
            self.filled[ACCESS_TOKEN] = "a fresh access token of the demo client"
        return self._token

    def kid(self) -> str:
        if self._kid is None:
            self._kid = self.live.kid()
            self.filled[KID] = f"kid {self._kid}"
        return self._kid

    def string(self, value: str) -> str:
        if value == KID:
            return self.kid()
        if value == BASIC_CREDENTIALS:
            self.filled[BASIC_CREDENTIALS] = "Basic credentials of the demo client"
            return basic_credentials(self.live.client_id, self.live.client_secret)
        if ACCESS_TOKEN in value:
            value = value.replace(ACCESS_TOKEN, self.token())
        for placeholder, live, what in (
            (CLIENT_ID, self.live.client_id, "the demo client's id"),
            (CLIENT_SECRET, self.live.client_secret, "the demo client's secret"),
        ):
            if placeholder in value:
                # a form body carries them form-urlencoded (generated ids and secrets need no escaping)
                value = value.replace(placeholder, quote(live, safe=""))
                self.filled[placeholder] = what
        return value

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, dict):
            return {key: self.walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        return value


PLACEHOLDERS: Final = (ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, KID, BASIC_CREDENTIALS)


def holds_placeholders(event: Any) -> bool:
    """Whether any string of ``event`` holds a placeholder (then a running stack must fill it)."""
    if isinstance(event, str):
        return any(placeholder in event for placeholder in PLACEHOLDERS)
    if isinstance(event, dict):
        return any(holds_placeholders(item) for item in event.values())
    if isinstance(event, list):
        return any(holds_placeholders(item) for item in event)
    return False


def fill_placeholders(event: Any, live: LiveValues) -> tuple[Any, list[str]]:
    """``event`` with every placeholder replaced, and a line per kind filled (never a secret)."""
    filler = _Filler(live)
    filled_event = filler.walk(event)
    return filled_event, list(filler.filled.values())
