"""JwksFunction handler: ``GET /.well-known/jwks.json``, ``GET /.well-known/oauth-authorization-server``
(RFC 8414) and ``GET /.well-known/openid-configuration`` (the same metadata where OpenID Connect
Discovery clients look).

No KMS client and no decrypt rights: :meth:`KeyStore.published_jwks` reads public JWKs only.

The JWKS carries ``Cache-Control: public, max-age=JWKS_MAX_AGE, stale-if-error=S`` and an
``ETag`` (``If-None-Match`` gets 304): see :func:`responses.jwks_response`.  The rotation publishes
a key ``PUBLISH_LEAD`` before it signs, and ``PUBLISH_LEAD >= JWKS_MAX_AGE + S + AuthorizerCacheTtl``
(checked by the rotation's schedule), so a verifier whose copy is as old as our headers allow
already has the key.  Nothing is cached in this function's memory, so the headers are the whole
staleness budget.

An item of the table that cannot be read is left out of the set (never a 500 for the others),
logged with its kid and a fixed reason, and counted: ``MalformedSigningKeyItems`` (alarm) or
``UnknownStateSigningKeyItems`` (a newer version's state, left alone: forward compatibility).
"""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.key_store import KeyStore, SkippedItem
from partnerauth.revocations import REVOCATIONS_PATH, RevocationStore, revocation_document
from partnerauth.server_metadata import (
    JWKS_PATH,
    METADATA_PATH,
    OPENID_CONFIGURATION_PATH,
    authorization_server_metadata,
    issuer_for,
    openid_configuration,
)

from .responses import cached_json, failure_response, jwks_response, revocations_response
from .settings import PublisherSettings

settings = PublisherSettings.from_env()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


def report_skipped(item: SkippedItem) -> None:
    """An unreadable item: its kid (or a fingerprint) and a fixed reason, never its content."""
    logger.warning("signing-key item skipped", extra={"kid": item.label, "reason": item.reason})
    name = "MalformedSigningKeyItems" if item.reason.malformed else "UnknownStateSigningKeyItems"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


_dynamodb = boto3.client("dynamodb")
key_store = KeyStore(settings.signing_keys_table, _dynamodb, on_skipped=report_skipped)
# Only reads: the lifetimes matter to writers (revoke_client/revoke_token), not to published().
revocation_store = (
    RevocationStore(settings.revocations_table, _dynamodb, max_token_lifetime=0, leeway=0)
    if settings.revocations_table
    else None
)


@app.get(JWKS_PATH)
def jwks() -> Response[str]:
    document = key_store.published_jwks()
    if_none_match = app.current_event.headers.get("If-None-Match")  # case-insensitive in Powertools 3
    response = jwks_response(document, settings.jwks_max_age, if_none_match)
    served = "JwksNotModified" if response.status_code == 304 else "JwksServed"
    kids = [key.get("kid") for key in document["keys"]]
    logger.info("jwks served", extra={"kids": kids, "status": response.status_code})
    metrics.add_metric(name=served, unit=MetricUnit.Count, value=1)
    return response


@app.get(REVOCATIONS_PATH)
def revocations() -> Response[str]:
    """Every live revocation (issue 14), read at each request like the JWKS: the headers are the whole
    staleness budget.  A table that cannot be read is a 503, never an empty (re-admitting) document."""
    if revocation_store is None:
        raise NotFoundError
    members = revocation_store.published()  # bounded: partner-written jti revocations are folded past a cap
    if_none_match = app.current_event.headers.get("If-None-Match")
    response = revocations_response(revocation_document(members), settings.jwks_max_age, if_none_match)
    logger.info("revocations served", extra={"revocations": len(members), "status": response.status_code})
    metrics.add_metric(name="RevocationsServed", unit=MetricUnit.Count, value=1)
    return response


@app.get(METADATA_PATH)
def metadata() -> Response[str]:
    issuer = issuer_for(settings.issuer, app.current_event.raw_event.get("requestContext"))
    metrics.add_metric(name="MetadataServed", unit=MetricUnit.Count, value=1)
    return cached_json(
        authorization_server_metadata(issuer, settings.supported_scopes), settings.jwks_max_age
    )


@app.get(OPENID_CONFIGURATION_PATH)
def discovery() -> Response[str]:
    issuer = issuer_for(settings.issuer, app.current_event.raw_event.get("requestContext"))
    metrics.add_metric(name="DiscoveryServed", unit=MetricUnit.Count, value=1)
    return cached_json(openid_configuration(issuer, settings.supported_scopes), settings.jwks_max_age)


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
