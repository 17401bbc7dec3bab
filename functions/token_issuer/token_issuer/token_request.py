"""From an API Gateway REST proxy event to a :class:`TokenRequest` (syntax only, no I/O).

What is refused here (``invalid_request`` unless said otherwise):

* any query string: parameters, and above all credentials, travel in the body only (RFC 6749 §2.3.1, §3.2);
* a Content-Type other than ``application/x-www-form-urlencoded``, or none (RFC 6749 §4.4.2, Appendix B);
* a body that is too large, not ASCII, badly percent-encoded, not UTF-8, or repeats a parameter (§3.2);
* a repeated ``Authorization`` or ``Content-Type`` header;
* two client authentication methods at once (RFC 6749 §2.3: "MUST NOT use more than one"), e.g. a
  Basic header or a ``client_secret`` together with a ``client_assertion``;
* ``client_assertion`` without ``client_assertion_type`` or the other way round (RFC 7521 §4.2);
* a missing ``grant_type``; ``resource`` together with ``audience``.

Malformed or missing credentials are ``invalid_client`` (see :mod:`token_issuer.client_auth`), and so
is an assertion type other than ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` (an
unsupported authentication method, RFC 6749 §5.2).
Parameters sent without a value are treated as omitted (RFC 6749 §3.1); unknown ones are ignored (§3.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from partnerauth.client_assertion import JWT_BEARER

from .client_auth import (
    AUTH_FAILED,
    CLIENT_ID,
    AssertionCredentials,
    AuthMethod,
    ClientCredentials,
    credentials,
    parse_basic,
)
from .form_post import header_values, read_form_post
from .oauth_errors import InvalidClient, InvalidRequest


@dataclass(frozen=True, slots=True)
class TokenRequest:
    grant_type: str
    credentials: ClientCredentials | AssertionCredentials
    scope: str | None = None  # raw; the grant checks it against RFC 6749 §3.3 and the client
    resource: str | None = None  # RFC 8707 §2
    audience: str | None = None  # the common non-RFC spelling of the same choice


def parse_token_request(event: Mapping[str, Any]) -> TokenRequest:
    params = read_form_post(event)  # query string, Content-Type, body; values-less parameters dropped
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is required", reason="grant_type_missing")
    if "resource" in params and "audience" in params:
        raise InvalidRequest("send resource or audience, not both", reason="resource_and_audience")
    return TokenRequest(
        grant_type=grant_type,
        credentials=presented_credentials(event, params),
        scope=params.get("scope"),
        resource=params.get("resource"),
        audience=params.get("audience"),
    )


def presented_credentials(
    event: Mapping[str, Any], form: Mapping[str, str]
) -> ClientCredentials | AssertionCredentials:
    """The one client authentication method a request presents (RFC 6749 §2.3.1, RFC 7521 §4.2), from
    the ``Authorization`` header and the parsed ``form``.  Shared by every endpoint that authenticates
    clients (token, revocation RFC 7009 §2.1, introspection RFC 7662 §2.1), so they accept and refuse
    exactly the same credentials.  Raises ``invalid_request`` / ``invalid_client`` as described above."""
    form = {name: value for name, value in form.items() if value}  # RFC 6749 §3.1: no value = omitted
    authorization = header_values(event, "authorization")
    if len(authorization) > 1:
        raise InvalidRequest("the Authorization header is repeated", reason="authorization_repeated")
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    assertion_type, assertion = form.get("client_assertion_type"), form.get("client_assertion")
    if assertion_type is not None or assertion is not None:
        if authorization or body_secret is not None:
            # RFC 6749 §2.3: the client MUST NOT use more than one authentication method.
            raise InvalidRequest("use one client authentication method", reason="two_auth_methods")
        return _assertion_credentials(body_id, assertion_type, assertion)
    if authorization:
        if body_secret is not None:
            # RFC 6749 §2.3: the client MUST NOT use more than one authentication method.
            raise InvalidRequest("use one client authentication method", reason="two_auth_methods")
        presented = parse_basic(authorization[0])
        if body_id is not None and body_id != presented.client_id:
            raise InvalidRequest(
                "client_id does not match the Authorization header", reason="client_id_mismatch"
            )
        return presented
    if body_secret is not None:
        if body_id is None:
            raise InvalidRequest("client_id is required with client_secret", reason="client_id_missing")
        return credentials(body_id, body_secret, AuthMethod.CLIENT_SECRET_POST)
    raise InvalidClient("client authentication is required", reason="no_credentials")


def _assertion_credentials(
    body_id: str | None, assertion_type: str | None, assertion: str | None
) -> AssertionCredentials:
    """RFC 7521 §4.2: both parameters, the JWT bearer type (RFC 7523 §2.2); ``client_id`` optional."""
    if assertion_type is None or assertion is None:
        raise InvalidRequest(
            "client_assertion and client_assertion_type go together", reason="assertion_incomplete"
        )
    method = AuthMethod.PRIVATE_KEY_JWT
    if assertion_type != JWT_BEARER:
        raise InvalidClient(AUTH_FAILED, reason="unsupported_assertion_type", auth_method=method.value)
    if body_id is not None and not CLIENT_ID.fullmatch(body_id):
        raise InvalidClient(AUTH_FAILED, reason="malformed_credentials", auth_method=method.value)
    return AssertionCredentials(assertion=assertion, client_id=body_id)
