"""``private_key_jwt`` client authentication (RFC 7523 §2.2, RFC 7521 §4.2): who signed this assertion?

The steps, in this order (each failure is :class:`~partnerauth.client_assertion.AssertionRejected`):

1. audience and time (:meth:`AssertionRules.check`): no I/O;
2. the client the assertion's ``iss`` names, as the caller read it (the token function reads it with the
   presented id's failure record in one consistent ``BatchGetItem``, :mod:`.client_and_attempts`): unknown,
   unreadable (a malformed item is nobody's, issue 19), disabled, or without registered keys is a failure;
3. the candidate keys: the inline set's key named by ``kid`` (every key of a fitting type when the
   assertion names none: authlib's ``PrivateKeyJWT`` sends no ``kid``), or, for a ``jwks_uri`` client, the
   key named by ``kid`` from the layer's :class:`~partnerauth.jwks_cache.JwksCache` (a ``kid`` is required
   there, so that an unknown one costs at most one fetch per cooldown);
4. the signature (:func:`verify_assertion_signature`);
5. single use (:class:`AssertionReplayGuard`): only a fully verified assertion is recorded, so nobody can
   spend another client's ``jti``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .assertion_replay import AssertionReplayed, AssertionReplayGuard
from .client_assertion import (
    AssertionFailure,
    AssertionRejected,
    AssertionRules,
    ClientAssertion,
    verify_assertion_signature,
)
from .client_keys import inline_keys
from .client_registry import Client
from .errors import KeyNotFound, KeysUnavailable
from .jwk import VerificationKey
from .key_source import KeySource


class AssertionAuthenticator:
    def __init__(
        self,
        jwks_uri_keys: KeySource,
        replay_guard: AssertionReplayGuard,
        rules: AssertionRules,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jwks_uri_keys = jwks_uri_keys
        self._replay_guard = replay_guard
        self._rules = rules
        self._clock = clock

    def authenticate(self, assertion: ClientAssertion, issuer: str, client: Client | None) -> Client:
        """``client`` if it is active and signed ``assertion`` for ``issuer``; the assertion is then
        recorded as used.  ``client`` is the one ``assertion.client_id`` names, as the caller read it
        (``None``: there is none, or its item cannot be read)."""
        now = self._clock()
        remember_until = self._rules.check(assertion, issuer, now)
        if client is None or client.client_id != assertion.client_id:
            raise AssertionRejected(AssertionFailure.UNKNOWN_CLIENT)
        if not client.active:
            raise AssertionRejected(AssertionFailure.DISABLED_CLIENT)
        verify_assertion_signature(assertion, self._candidates(client, assertion))
        try:
            self._replay_guard.record(client.client_id, assertion.jti, remember_until, now)
        except AssertionReplayed:
            raise AssertionRejected(AssertionFailure.REPLAYED) from None
        return client

    def _candidates(self, client: Client, assertion: ClientAssertion) -> list[VerificationKey]:
        kid = assertion.kid
        if client.jwks_uri is not None:
            if kid is None:
                raise AssertionRejected(AssertionFailure.UNKNOWN_KEY)
            try:
                return [self._jwks_uri_keys.key_for(client.jwks_uri, kid)]
            except KeyNotFound:
                raise AssertionRejected(AssertionFailure.UNKNOWN_KEY) from None
            except KeysUnavailable:
                raise AssertionRejected(AssertionFailure.KEYS_UNAVAILABLE) from None
        if client.jwks is None:
            raise AssertionRejected(AssertionFailure.NO_KEYS)
        keys = inline_keys(client.jwks)
        if kid is None:
            return [key for key in keys.values() if key.accepts(assertion.alg)]
        if kid not in keys:
            raise AssertionRejected(AssertionFailure.UNKNOWN_KEY)
        return [keys[kid]]
