"""Who is calling: client authentication for every endpoint of the token function.

The token endpoint (RFC 6749 §3.2.1), revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1)
authenticate clients the same way, through one :class:`ClientAuthenticator`:

* a secret (``client_secret_basic`` / ``client_secret_post``, RFC 6749 §2.3.1) or a signed assertion
  (``private_key_jwt``, RFC 7523 §2.2; the presented id is its ``iss``, which must equal a ``client_id``
  sent in the body, RFC 7521 §4.2; an assertion that cannot be read names no id and is refused before
  any store work);
* the client item and the presented id's failure record are read in one ``BatchGetItem``
  (:mod:`partnerauth.client_and_attempts`; issue 16 item 5), for a secret after its HMAC, whatever the id;
* the throttle for the presented id (:mod:`partnerauth.auth_throttle`): a valid credential always
  passes (issue 14 item 6: no lockout by strangers); a failure is 429 while a delay is open, else counted;
* every failure is the same ``invalid_client`` answer (RFC 6749 §5.2); why it failed goes to the log only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Final

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from partnerauth.assertion_authentication import AssertionAuthenticator
from partnerauth.auth_throttle import AuthThrottle
from partnerauth.client_and_attempts import ClientAndAttemptsReader
from partnerauth.client_assertion import (
    AssertionFailure,
    AssertionRejected,
    ClientAssertion,
    read_client_assertion,
)
from partnerauth.client_items import MalformedClientItem, decode_client
from partnerauth.client_registry import AuthFailure, Client, ClientAuthenticationFailed, ClientRegistry

from .client_auth import AUTH_FAILED, AssertionCredentials, ClientCredentials
from .oauth_errors import InvalidClient

MALFORMED_CLIENT_ITEMS: Final = "MalformedClientItems"


def count_malformed_client_item() -> None:
    """Count a client item that cannot be read (issue 19) as ``MalformedClientItems``.  Powertools keeps one
    metric buffer per process, shared by every ``Metrics`` instance, so the handler's ``log_metrics``
    (app.py) publishes this one with its own."""
    Metrics().add_metric(name=MALFORMED_CLIENT_ITEMS, unit=MetricUnit.Count, value=1)


class ClientAuthenticator:
    """The client a request's credentials prove, or :class:`InvalidClient` (or ``ClientThrottled``)."""

    def __init__(
        self,
        registry: ClientRegistry,
        throttle: AuthThrottle,
        reader: ClientAndAttemptsReader,
        assertions: AssertionAuthenticator | None = None,
        on_malformed_item: Callable[[], None] = count_malformed_client_item,
    ) -> None:
        self._registry = registry
        self._throttle = throttle
        self._reader = reader
        self._assertions = assertions
        self._on_malformed_item = on_malformed_item

    def authenticate(self, credentials: ClientCredentials | AssertionCredentials, issuer: str) -> Client:
        """``issuer`` is this server's issuer identifier: an assertion's audience (RFC 7523 §3)."""
        if isinstance(credentials, AssertionCredentials):
            return self._authenticate_assertion(credentials, issuer)
        return self._authenticate_secret(credentials)

    def _authenticate_secret(self, presented: ClientCredentials) -> Client:
        """The registry, then the throttle: a valid secret always passes (issue 14 item 6); a failure is
        429 while a delay is open (not written), else counted; every failure is answered alike.

        Same work on every path: the HMAC before the read, one ``BatchGetItem`` for the client item and
        the failure record (issue 16 item 5), the same comparisons for a known and an unknown id."""
        digest = self._registry.presented_digest(presented.secret)
        read = self._reader.read(presented.client_id)
        state = read.attempts
        try:
            client = self._registry.authenticate_item(read.client_item, digest)
        except ClientAuthenticationFailed as failure:
            if failure.reason is AuthFailure.MALFORMED_CLIENT:
                self._on_malformed_item()
            self._throttle.refuse(presented.client_id, state)
            raise InvalidClient(
                AUTH_FAILED,
                reason=failure.reason.value,
                auth_method=presented.method.value,
                **_who(presented.client_id, failure.reason),
            ) from None
        self._throttle.record_success(presented.client_id, state)
        return client

    def _authenticate_assertion(self, presented: AssertionCredentials, issuer: str) -> Client:
        """``private_key_jwt``: the same throttle, the same answer for every failure (RFC 7521 §4.2.1)."""
        method = presented.method.value
        try:
            assertion = read_client_assertion(presented.assertion)
        except AssertionRejected as rejected:
            raise InvalidClient(AUTH_FAILED, reason=rejected.reason.value, auth_method=method) from None
        client_id = assertion.client_id
        if presented.client_id is not None and presented.client_id != client_id:
            # RFC 7521 §4.2: a client_id sent alongside must identify the same client as the assertion.
            raise InvalidClient(AUTH_FAILED, reason="client_id_mismatch", auth_method=method)
        read = self._reader.read(client_id)  # the client and the failure record: one round trip
        state = read.attempts
        try:
            client = self._verified(assertion, issuer, self._decoded(read.client_item))
        except AssertionRejected as failure:
            self._throttle.refuse(client_id, state)
            raise InvalidClient(
                AUTH_FAILED,
                reason=failure.reason.value,
                auth_method=method,
                jti_sha256=_fingerprint(assertion.jti),
                **_who(client_id, failure.reason),
            ) from None
        self._throttle.record_success(client_id, state)
        return client

    def _verified(self, assertion: ClientAssertion, issuer: str, client: Client | None) -> Client:
        if self._assertions is None:
            raise AssertionRejected(AssertionFailure.NO_KEYS)
        return self._assertions.authenticate(assertion, issuer, client)

    def _decoded(self, item: dict[str, Any] | None) -> Client | None:
        """The client an item holds; ``None`` for no item and for one that cannot be read (fail closed: a
        malformed item is nobody's, issue 19; the assertion is then refused as for an unknown client)."""
        if item is None:
            return None
        try:
            return decode_client(item)
        except MalformedClientItem:
            self._on_malformed_item()
            return None


def _who(client_id: str, reason: AuthFailure | AssertionFailure) -> dict[str, str]:
    """Log the id of a registered client; for an unknown one only a fingerprint, because a confused
    caller may have sent its secret as the id."""
    if reason in (AuthFailure.UNKNOWN_CLIENT, AssertionFailure.UNKNOWN_CLIENT):
        return {"client_id_sha256": _fingerprint(client_id)}
    return {"client_id": client_id}


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
