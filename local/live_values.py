"""Values only a running stack has, for the sample events' placeholders (:mod:`local.event_placeholders`).

* the demo client's id and secret: ``.local/demo-client.json``, written by ``make dev``;
* a fresh access token of the demo client: a client-credentials request (RFC 6749 §4.4) to the
  stack's token endpoint over loopback, with HTTP Basic client authentication, no scope (so it
  holds every scope of the demo client);
* a kid that exists: read from the signing-keys table through the layer's ``KeyStore``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

from .event_placeholders import LiveValues, basic_credentials
from .offline_aws import OFFLINE_ENVIRONMENT

TOKEN_TIMEOUT: Final = 10.0


class LiveValueError(Exception):
    """A value the running stack should supply could not be had; the message says what to do."""


def access_token(demo: Mapping[str, Any]) -> str:
    """A fresh token of the demo client from the running stack's token endpoint."""
    request = urllib.request.Request(  # noqa: S310 - the loopback URL the stack wrote
        str(demo["token_url"]),
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": basic_credentials(str(demo["client_id"]), str(demo["client_secret"])),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TOKEN_TIMEOUT) as response:  # noqa: S310
            token = json.loads(response.read())["access_token"]
    except urllib.error.HTTPError as error:
        raise LiveValueError(
            f"the token endpoint refused the demo client ({error.code}): restart `make dev`"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise LiveValueError(
            "no token from the local stack's token endpoint: is `make dev` running?"
        ) from None
    if not isinstance(token, str):
        raise LiveValueError("the token endpoint answered without an access_token: restart `make dev`")
    return token


def kid_to_revoke(signing_keys_table: str, aws_endpoint_url: str) -> str:
    """The key the revoke sample should name: the one retired last (what ``rotation-rotate-now.json``
    took out of signing: revoking it is the README's way to cut its tokens off), else the ``next`` key
    (it never signed, so revoking it disturbs no token; the rotation makes a new one at once)."""
    import boto3  # noqa: PLC0415 - only an event with a kid needs AWS

    # The layer is importable once the runtime has put its folder on sys.path.
    from partnerauth.key_store import KeyState, KeyStore  # noqa: PLC0415

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=aws_endpoint_url,
        region_name=OFFLINE_ENVIRONMENT["AWS_REGION"],
        aws_access_key_id=OFFLINE_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=OFFLINE_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=OFFLINE_ENVIRONMENT["AWS_SESSION_TOKEN"],
    )
    key_set = KeyStore(signing_keys_table, dynamodb).read_key_set()
    retired = [r for r in key_set.keys.values() if r.state is KeyState.RETIRED]
    if retired:
        return max(retired, key=lambda r: (r.retired_at or 0, r.created_at)).kid
    for record in (key_set.next, key_set.current):
        if record is not None:
            return record.kid
    raise LiveValueError("the local stack has no signing key yet: run events/rotation-scheduled.json first")


def live_values(demo: Mapping[str, Any], signing_keys_table: str, aws_endpoint_url: str) -> LiveValues:
    return LiveValues(
        client_id=str(demo["client_id"]),
        client_secret=str(demo["client_secret"]),
        access_token=lambda: access_token(demo),
        kid=lambda: kid_to_revoke(signing_keys_table, aws_endpoint_url),
    )
