"""Lambda authorizer: REST API TOKEN/REQUEST events and HTTP API payload 2.0 events.

Thin glue.  Everything is built once, at import (cold start): the settings (a bad configuration
fails here, with one log line, and never becomes an answer), the JWKS cache over the standard
library fetcher, the verifier, and the :class:`~authorizer.decision.Authorizer`.  Our own
issuer's JWKS is fetched at import too, while the init phase runs at full speed.

Cold start is part of the contract (docs/authorizer.md): nothing on this import path imports
boto3 or botocore, and there is no Powertools Tracer - it imports the X-Ray SDK and botocore,
which cost more than the whole rest of the cold start (measured in benchmarks/bench_authorizer.py).
Lambda's own X-Ray segments (``Tracing: Active``) still show the invocation and its duration.

A rejected token raises ``Exception("Unauthorized")``: API Gateway answers 401 and its gateway
response adds ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3.1).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.errors import ConfigurationError
from partnerauth.invocation_log import ColdStart, context_fields
from partnerauth.jwks_cache import DocumentCache, JwksCache
from partnerauth.jwks_fetch import HttpJwksFetcher
from partnerauth.revocations import Revocation, RevocationList, parse_revocations

from .decision import Authorizer, Decision, Outcome, build_authorizer
from .registry import DynamoDbProfileReader
from .settings import JWKS_FETCH_TIMEOUT, AuthorizerSettings

logger = Logger()
metrics = Metrics()

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway maps to 401


def _start() -> tuple[AuthorizerSettings, JwksCache, Authorizer]:
    try:
        settings = AuthorizerSettings.from_environment(os.environ)
    except ConfigurationError as error:
        # The message names the variable and never its value.
        logger.critical("authorizer configuration refused", extra={"problem": str(error)})
        raise
    cache = JwksCache(
        HttpJwksFetcher(timeout=JWKS_FETCH_TIMEOUT),
        max_age=settings.jwks_max_age,
        cooldown=settings.jwks_cooldown,
        clock=time.monotonic,
    )
    cache.prefetch(settings.own_issuer.jwks_uri)  # never raises; a failure is logged by the cache
    registry = DynamoDbProfileReader(settings.apis_table) if settings.apis_table else None
    return (
        settings,
        cache,
        build_authorizer(settings, cache, registry=registry, revocations=_revocations(settings)),
    )


def _revocations(settings: AuthorizerSettings) -> RevocationList | None:
    """Our issuer's revocation document, learned like its JWKS (the same fetcher, max age, cooldown and
    stale-if-error) and fetched at import too; ``None`` when the stack publishes none."""
    if settings.revocations_uri is None:
        return None
    cache: DocumentCache[Revocation] = DocumentCache(
        HttpJwksFetcher(timeout=JWKS_FETCH_TIMEOUT),
        parse=parse_revocations,
        allow_empty=True,
        max_age=settings.jwks_max_age,
        cooldown=settings.jwks_cooldown,
        clock=time.monotonic,
    )
    revocations = RevocationList(cache, settings.revocations_uri)
    revocations.prefetch()  # never raises; a failure is logged by the cache
    return revocations


settings, jwks_cache, authorizer = _start()


_cold_start = ColdStart()
# POWERTOOLS_LOGGER_SAMPLE_RATE: a share of invocations logs at DEBUG, drawn again per invocation (what
# inject_lambda_context does, only when a rate is set).
_SAMPLED = bool(logger.sampling_rate)


def record(decision: Decision, context: LambdaContext, *, cold_start: bool) -> None:
    """A denial or rejection: one log line and one metric, ``reason`` its only dimension (a fixed set).

    An allowed request is neither logged (above DEBUG) nor counted: at the request rates an
    authorizer sees, one EMF line per allowed call would cost more than the decision itself
    (benchmarks/bench_authorizer.py) and a log line per call in CloudWatch Logs ingestion.  Lambda's
    own Invocations metric counts decisions; the metrics below count the ones that were not Allow.
    """
    fields = {**decision.log_fields(), **context_fields(context, cold_start=cold_start)}
    if decision.outcome is Outcome.ALLOW:
        logger.debug("request allowed", extra=fields)
        return
    if decision.outcome is Outcome.DENY:
        logger.info("request denied", extra=fields)
        name = "Denied"
    else:
        logger.info("token rejected", extra=fields)
        name = "Rejected"
    metrics.add_dimension(name="reason", value=decision.reason or "unknown")
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Not @logger.inject_lambda_context: it appends the context's keys to the logger on every invocation
    # (10 us, more than a third of the RS256 signature check: benchmarks/bench_authorizer.py), while only
    # refusals (and allowed requests at DEBUG) write a line; record() adds the same keys to that line.
    # No @metrics.log_metrics: it would flush (or warn about) an empty metric set on every allowed call;
    # record() flushes the one metric of a denial or rejection itself.
    cold_start = _cold_start.begin()
    if _SAMPLED and not cold_start:
        logger.refresh_sample_rate_calculation()
    decision = authorizer.decide(event)
    if decision.outcome is not Outcome.ALLOW or logger.log_level <= logging.DEBUG:
        record(decision, context, cold_start=cold_start)
    if decision.response is None:
        raise Exception(UNAUTHORIZED)  # API Gateway maps exactly this message to 401
    return decision.response
