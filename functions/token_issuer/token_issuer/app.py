"""TokenFunction handler: ``POST /oauth2/token`` (RFC 6749 §4.4 client credentials grant).

Thin glue: parse (:mod:`.token_request`), grant (:mod:`.grant`), answer.  Every error, whatever
raised it, becomes its RFC 6749 §5.2 response in :func:`handle_error` (:mod:`.oauth_errors`).

What is never logged or traced: the request event (it holds the credentials), the response (it
holds the token), secrets, hashes.  Logged instead: client_id, jti, kid, scope, the error code.
"""

from __future__ import annotations

from typing import Any, cast

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.server_metadata import TOKEN_PATH, issuer_for

from .grant import build_grant
from .oauth_errors import as_oauth_error, json_response, oauth_response
from .settings import TokenSettings
from .token_request import parse_token_request

PEPPER_MAX_AGE = 3600  # seconds Powertools keeps the pepper; it is not rotated in place

settings = TokenSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

_secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def _pepper() -> str | bytes:
    return cast("str | bytes", _secrets.get(settings.pepper_secret_arn, max_age=PEPPER_MAX_AGE))


grant = build_grant(
    settings, dynamodb=boto3.client("dynamodb"), kms=boto3.client("kms"), fetch_pepper=_pepper
)


@app.post(TOKEN_PATH)
def token() -> Response[str]:
    event = app.current_event.raw_event
    request = parse_token_request(event)
    granted = grant.issue(request, issuer=issuer_for(settings.issuer, event.get("requestContext")))
    logger.info("access token issued", extra=granted.log_fields())
    metrics.add_metric(name="TokenIssued", unit=MetricUnit.Count, value=1)
    return json_response(granted.response_body())


def handle_error(error: Exception) -> Response[str]:
    """The one place where failures become responses (RFC 6749 §5.2, 503 for dependencies)."""
    refusal = as_oauth_error(error)
    fields: dict[str, Any] = {"error": refusal.error, "status": refusal.status, **refusal.log_fields}
    if refusal.status >= 500:
        # The traceback only for defects of ours (500); a dependency failure is named by type and AWS code.
        logger.error("token request failed", extra=fields, exc_info=error if refusal.status == 500 else None)
    else:
        logger.info("token request refused", extra=fields)
    metrics.add_metric(name=f"TokenError.{refusal.error}", unit=MetricUnit.Count, value=1)
    return oauth_response(refusal)


app.exception_handler(Exception)(handle_error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
