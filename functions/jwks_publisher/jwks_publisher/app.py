"""JwksFunction handler: ``GET /.well-known/jwks.json`` and ``GET /.well-known/oauth-authorization-server``.

No KMS client and no decrypt rights: :meth:`KeyStore.published_jwks` reads public JWKs only.

``Cache-Control: max-age`` on the JWKS is ``JWKS_MAX_AGE``.  The rotation publishes a key
``PUBLISH_LEAD`` before it signs, and ``PUBLISH_LEAD`` must exceed ``JWKS_MAX_AGE`` (checked by the
rotation's schedule), so a verifier whose cached copy is as old as allowed already has the key.
Nothing is cached in this function's memory, so the header is the whole staleness budget.
"""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.key_store import KeyStore
from partnerauth.server_metadata import JWKS_PATH, METADATA_PATH, authorization_server_metadata, issuer_for

from .responses import JWK_SET, cached_json, failure_response
from .settings import PublisherSettings

settings = PublisherSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()
key_store = KeyStore(settings.signing_keys_table, boto3.client("dynamodb"))


@app.get(JWKS_PATH)
def jwks() -> Response[str]:
    document = key_store.published_jwks()
    logger.info("jwks served", extra={"kids": [key.get("kid") for key in document["keys"]]})
    metrics.add_metric(name="JwksServed", unit=MetricUnit.Count, value=1)
    return cached_json(document, settings.jwks_max_age if document["keys"] else 0, JWK_SET)


@app.get(METADATA_PATH)
def metadata() -> Response[str]:
    issuer = issuer_for(settings.issuer, app.current_event.raw_event.get("requestContext"))
    metrics.add_metric(name="MetadataServed", unit=MetricUnit.Count, value=1)
    return cached_json(
        authorization_server_metadata(issuer, settings.supported_scopes), settings.jwks_max_age
    )


def handle_error(error: Exception) -> Response[str]:
    """The one place where failures become responses; never a stack trace to the caller."""
    response, code = failure_response(error)
    if response.status_code >= 500:
        # The traceback only for defects of ours; a dependency failure is named by its type.
        trace = error if code == "server_error" else None
        logger.error(
            "publishing failed", extra={"error": code, "exception": type(error).__name__}, exc_info=trace
        )
    metrics.add_metric(name=f"PublishError.{code}", unit=MetricUnit.Count, value=1)
    return response


app.exception_handler(Exception)(handle_error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
