"""``POST /oauth2/revoke``: a client revokes one of its own access tokens (RFC 7009).

1. The form (:mod:`.form_post`); ``token`` is REQUIRED (RFC 7009 §2.1), else ``invalid_request``.
2. The client authenticates exactly as at the token endpoint (RFC 7009 §2.1: "the client also includes its
   authentication credentials as described in Section 2.3 of [RFC6749]"): :class:`ClientAuthenticator`,
   the same ``invalid_client`` answers (RFC 6749 §5.2).
3. ``token_type_hint`` is ignored: we issue access tokens only, so every token is looked up as one, which
   is what §2.1 requires when a hint does not locate it ("MUST extend its search") and what it allows
   ("MAY ignore this parameter").  No hint, known or not, is an error: ``unsupported_token_type``
   (§2.2.1) is for a token type the server cannot revoke, and we can revoke every token we issue.
4. The token is read as ours (:class:`~partnerauth.token_introspection.OwnTokenReader`: our published keys,
   ``typ`` at+jwt, not expired).  One of the caller's own is revoked by ``jti`` until its ``exp``, within
   the caller's quota (:meth:`~partnerauth.revocations.RevocationStore.revoke_own_token`).
5. The answer is 200 with an empty body whatever the token was (§2.2): revoked now, revoked before,
   expired, malformed, not ours, or another client's.  A token of another client is never revoked, and the
   caller cannot tell it from an invalid one (§2.1 lets the server refuse such a request with an error; that
   error would tell the caller the string is a live token of someone else).  While our key table cannot be
   read the answer is 503 (§2.2.1: the client "must assume the token still exists" and may retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from partnerauth.client_registry import Client
from partnerauth.errors import KeysUnavailable, TokenRejected
from partnerauth.revocations import RevocationStore
from partnerauth.token_introspection import OwnTokenReader

from .client_auth import AssertionCredentials, ClientCredentials
from .form_post import read_form_post
from .oauth_errors import InvalidRequest, TemporarilyUnavailable
from .token_request import presented_credentials

_RESULTS = {"token": "revoked_token", "client": "revoked_client", "none": "already_revoked"}


class Authenticator(Protocol):
    def authenticate(self, credentials: ClientCredentials | AssertionCredentials, issuer: str) -> Client: ...


def token_parameter(form: Mapping[str, str]) -> str:
    """RFC 7009 §2.1 / RFC 7662 §2.1: ``token`` is REQUIRED."""
    token = form.get("token")
    if token is None:
        raise InvalidRequest("token is required", reason="token_missing")
    return token


@dataclass(frozen=True, slots=True)
class RevocationOutcome:
    """What happened, for the log and metrics only: the caller always gets the same 200."""

    client_id: str
    result: str  # revoked_token | revoked_client | already_revoked | not_revocable | foreign_token
    jti: str | None = None
    reason: str | None = None

    def log_fields(self) -> dict[str, Any]:
        fields = {"client_id": self.client_id, "result": self.result}
        if self.jti is not None:
            fields["jti"] = self.jti
        if self.reason is not None:
            fields["reason"] = self.reason
        return fields


class TokenRevocation:
    def __init__(self, authenticator: Authenticator, reader: OwnTokenReader, store: RevocationStore) -> None:
        self._authenticator = authenticator
        self._reader = reader
        self._store = store

    def revoke(self, event: Mapping[str, Any], issuer: str) -> RevocationOutcome:
        form = read_form_post(event)
        token = token_parameter(form)
        client = self._authenticator.authenticate(presented_credentials(event, form), issuer)
        try:
            verified = self._reader.read(token, issuer)
        except KeysUnavailable:
            raise TemporarilyUnavailable(client_id=client.client_id, reason="keys_unavailable") from None
        except TokenRejected as rejected:  # §2.2: an invalid token is not an error
            return RevocationOutcome(client.client_id, "not_revocable", reason=rejected.reason.value)
        if verified.client_id != client.client_id:
            # §2.1: "verifies whether the token was issued to the client making the revocation request"
            return RevocationOutcome(client.client_id, "foreign_token")
        done = self._store.revoke_own_token(
            verified.jti,
            client.client_id,
            issued_at=verified.issued_at,
            expires_at=verified.expires_at,
            actor=f"client:{client.client_id}",
        )
        return RevocationOutcome(client.client_id, _RESULTS[done.written], jti=verified.jti)
