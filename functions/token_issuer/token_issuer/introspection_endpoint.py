"""``POST /oauth2/introspect``: token introspection for resource servers (RFC 7662).

1. The form (:mod:`.form_post`); ``token`` is REQUIRED (RFC 7662 §2.1), else ``invalid_request``;
   ``token_type_hint`` is ignored (§2.1: "MAY ignore this parameter"; we issue access tokens only).
2. The caller authenticates exactly as at the token endpoint (§2.1 "MUST also require some form of
   authorization"; §2.3: invalid credentials are RFC 6749 §5.2 ``invalid_client``, 401).
3. It must hold the ``introspect`` permission (§4: the server "SHOULD require protected resources to be
   specifically authorized to call the introspection endpoint").  A client without it gets
   ``unauthorized_client`` (RFC 6749 §5.2, 400), before the token is read: no answer about any token.
4. The answer (:class:`~partnerauth.token_introspection.TokenIntrospection`) is RFC 7662 §2.2: ``active``
   and, for an active token, its members; for every inactive token ``{"active": false}`` and nothing more.
   A token whose ``aud`` names none of the caller's registered audiences is inactive for it (§4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnerauth.errors import KeysUnavailable
from partnerauth.token_introspection import Introspected, TokenIntrospection

from .form_post import read_form_post
from .oauth_errors import TemporarilyUnavailable, UnauthorizedClient
from .revocation_endpoint import Authenticator, token_parameter
from .token_request import presented_credentials

INTROSPECT_PERMISSION = "introspect"


class IntrospectionEndpoint:
    def __init__(self, authenticator: Authenticator, introspection: TokenIntrospection) -> None:
        self._authenticator = authenticator
        self._introspection = introspection

    def introspect(self, event: Mapping[str, Any], issuer: str) -> tuple[str, Introspected]:
        """The caller's client id and the answer."""
        form = read_form_post(event)
        token = token_parameter(form)
        client = self._authenticator.authenticate(presented_credentials(event, form), issuer)
        if INTROSPECT_PERMISSION not in client.permissions:
            raise UnauthorizedClient(
                "the client may not use token introspection", client_id=client.client_id, reason="permission"
            )
        try:
            return client.client_id, self._introspection.introspect(token, issuer, client.audiences)
        except KeysUnavailable:
            raise TemporarilyUnavailable(client_id=client.client_id, reason="keys_unavailable") from None
