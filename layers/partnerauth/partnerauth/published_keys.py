"""Our own public signing keys, read from ``SigningKeysTable`` by ``kid``: a
:class:`~partnerauth.key_source.KeySource` for the token function's revocation (RFC 7009) and
introspection (RFC 7662) endpoints, which must check that a token is ours without fetching our JWKS over
HTTP.

Exactly the keys the JWKS publishes (:func:`partnerauth.key_store.published`): a key item in a known state
whose ``expires_at`` has not passed; one consistent ``GetItem`` per lookup, projected to public members
(never ``private_key_ciphertext``), so an emergency key revocation is seen by the next request.  Nothing is
cached: introspection answers what is true now.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import KeyNotFound, KeysUnavailable
from .jwk import MAX_KID_LENGTH, VerificationKey, parse_jwk
from .key_store import HEAD_KID, KeyState

_PUBLIC_MEMBERS = "kid, alg, #state, expires_at, public_jwk"  # never the private key's ciphertext
_STATES = frozenset(state.value for state in KeyState)


class PublishedSigningKeys:
    """``key_for(jwks_uri, kid)``: the published key ``kid`` of our own issuer (``jwks_uri`` names it and is
    not fetched).  :class:`KeyNotFound` for a key that is not published now, :class:`KeysUnavailable` when
    the table cannot be read."""

    def __init__(self, table_name: str, dynamodb_client: Any, clock: Callable[[], float] = time.time) -> None:
        self._table = table_name
        self._dynamodb = dynamodb_client
        self._clock = clock

    def key_for(self, jwks_uri: str, kid: str) -> VerificationKey:  # noqa: ARG002 - one issuer: ours
        if kid == HEAD_KID or not 0 < len(kid) <= MAX_KID_LENGTH:
            raise KeyNotFound()
        try:
            item = self._dynamodb.get_item(
                TableName=self._table,
                Key={"kid": {"S": kid}},
                ConsistentRead=True,
                ProjectionExpression=_PUBLIC_MEMBERS,
                ExpressionAttributeNames={"#state": "state"},
            ).get("Item")
        except Exception:  # noqa: BLE001 - any failure to read is "keys unavailable" (503), never a crash
            raise KeysUnavailable() from None
        key = _published_key(item, kid, self._clock()) if item is not None else None
        if key is None:
            raise KeyNotFound()
        return key


def _published_key(item: Mapping[str, Any], kid: str, now: float) -> VerificationKey | None:
    """The item's public key if the JWKS would publish it at ``now``; ``None`` otherwise."""
    try:
        if item["state"]["S"] not in _STATES:
            return None
        if "expires_at" in item and now >= int(item["expires_at"]["N"]):
            return None  # a retired key past its grace is no longer published
        jwk = json.loads(item["public_jwk"]["S"])
        if not isinstance(jwk, dict) or jwk.get("kid") != kid or jwk.get("alg") != item["alg"]["S"]:
            return None
        return parse_jwk(jwk)
    except (KeyError, TypeError, ValueError, RecursionError):
        return None
