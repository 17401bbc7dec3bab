"""Token endpoint errors (RFC 6749 §5.2) and the one place that turns any exception into a response.

Every response of the token endpoint, success or error, carries ``Cache-Control: no-store``
and ``Pragma: no-cache`` (RFC 6749 §5.1, §5.2).  Error bodies hold only ``error`` and a
constant ``error_description`` written here, never anything taken from the request.

Responses are REST API proxy integration answers (:func:`proxy_response`), the dictionaries
Powertools' ``APIGatewayRestResolver`` built for these endpoints before the handler routed
requests itself (benchmarks/bench_token_endpoint.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from partnerauth.auth_throttle import ClientThrottled
from partnerauth.client_and_attempts import ClientReadUnavailable
from partnerauth.errors import KeyStoreError
from partnerauth.token_rate import TokenRateExceeded

JSON = "application/json;charset=UTF-8"
NO_STORE: dict[str, str] = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
REALM = "partnerauth"
DEPENDENCY_RETRY_AFTER = 2  # seconds; DynamoDB/KMS/Secrets Manager hiccups are short
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder for every body, made once


class OAuthError(Exception):
    """An error response of the token endpoint.  ``log_fields`` go to our logs, never to the caller."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400

    def __init__(self, description: str | None = None, **log_fields: Any) -> None:
        self.description = description
        self.log_fields = log_fields
        super().__init__(self.error)

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2 ``invalid_request``: missing, repeated or malformed parameters, two auth methods."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2 ``invalid_client``: 401.  ``WWW-Authenticate: Basic`` is always sent: RFC 6749 §5.2
    requires it when the client used the Authorization header, and RFC 9110 §15.5.2 requires a challenge
    on every 401 (the client_secret_post case), so the response does not depend on the method used."""

    error = "invalid_client"
    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2 ``unauthorized_client``: the client may not use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2 ``unsupported_grant_type``."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2 ``invalid_scope``: malformed, unknown, or beyond what the client is allowed."""

    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 §2 ``invalid_target``: the requested resource/audience is not one the client may use."""

    error = "invalid_target"


class TooManyAttempts(OAuthError):
    """A failed authentication while a throttle delay is open (429, RFC 6585 §4): not counted, not written.
    The credential was checked: a valid one is never refused by the throttle (issue 14 item 6).

    The code stays ``invalid_client`` (the only §5.2 code that fits); the status and ``Retry-After``
    tell a well-behaved client when to come back."""

    error = "invalid_client"
    status = 429

    def __init__(self, retry_after: int, **log_fields: Any) -> None:
        super().__init__("too many failed authentication attempts; retry later", **log_fields)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyTokens(OAuthError):
    """The client's token issuance limit (issue 15 item 2; :mod:`partnerauth.token_rate`): 429 with
    ``Retry-After``, the seconds to the next window (RFC 6585 §4, RFC 9110 §10.2.3).

    The code is ``temporarily_unavailable``: none of RFC 6749 §5.2's codes fits a client that authenticated
    and asked correctly, and the ones a client library acts on would mislead it (``invalid_client`` makes it
    doubt its credentials; ``slow_down`` is RFC 8628 §3.5's device-flow polling answer, meaningless here).
    ``temporarily_unavailable`` is OAuth's registered code for "retry later" (RFC 6749 §4.1.2.1), the one this
    endpoint already sends with 503, so a client retries both the same way; the 429 status and the
    description tell them apart.  docs/token-endpoint.md, "Token issuance limit"."""

    error = "temporarily_unavailable"
    status = 429

    def __init__(self, retry_after: int, **log_fields: Any) -> None:
        super().__init__("too many tokens requested for this client; retry later", **log_fields)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TemporarilyUnavailable(OAuthError):
    """A dependency (DynamoDB, KMS, Secrets Manager) failed: 503 with ``Retry-After``.  The code follows
    RFC 6749 §4.1.2.1 ``temporarily_unavailable``, the registry's code for exactly this condition."""

    error = "temporarily_unavailable"
    status = 503

    def __init__(self, retry_after: int = DEPENDENCY_RETRY_AFTER, **log_fields: Any) -> None:
        super().__init__("the service is temporarily unavailable; retry later", **log_fields)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NotFound(OAuthError):
    """No endpoint of this function answers the request's method and path (any method but POST included:
    404, as the resolver answered, not 405)."""

    error = "not_found"
    status = 404


class ServerError(OAuthError):
    """A defect of ours.  The body says nothing more; the log has the exception type."""

    error = "server_error"
    status = 500


def _is_aws_failure(error: Exception) -> bool:
    """botocore's ClientError/BotoCoreError (network, throttling, 5xx), recognised without importing
    botocore here: both live in ``botocore.exceptions``."""
    return any(cls.__module__ == "botocore.exceptions" for cls in type(error).__mro__)


def as_oauth_error(error: Exception) -> OAuthError:
    """The one mapping from anything a request can raise to the response it gets."""
    if isinstance(error, OAuthError):
        return error
    if isinstance(error, ClientThrottled):
        return TooManyAttempts(error.retry_after, reason="throttled")
    if isinstance(error, TokenRateExceeded):
        return TooManyTokens(
            error.retry_after, reason="token_rate", client_id=error.client_id, limit=error.limit
        )
    if isinstance(error, KeyStoreError | GetParameterError | ClientReadUnavailable) or _is_aws_failure(error):
        return TemporarilyUnavailable(dependency_error=type(error).__name__, aws_code=_aws_code(error))
    return ServerError(exception=type(error).__name__)


def _aws_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def oauth_response(error: OAuthError) -> dict[str, Any]:
    return proxy_response(
        error.status, _COMPACT_JSON.encode(error.body()), {**NO_STORE, **error.headers()}, JSON
    )


def json_response(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return proxy_response(status, _COMPACT_JSON.encode(body), NO_STORE, JSON)


def proxy_response(
    status: int, body: str, headers: Mapping[str, str], content_type: str | None = None
) -> dict[str, Any]:
    """A REST API proxy integration answer: every header in ``multiValueHeaders`` (one value each), the
    body as text, never base64 (the keys and values ``APIGatewayRestResolver`` wrote for a ``Response``)."""
    multi_value_headers = {name: [value] for name, value in headers.items()}
    if content_type is not None:
        multi_value_headers["Content-Type"] = [content_type]
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": multi_value_headers,
    }
