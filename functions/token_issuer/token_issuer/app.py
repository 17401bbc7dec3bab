"""TokenFunction handler: ``POST /oauth2/token`` (RFC 6749 §4.4 client credentials grant),
``POST /oauth2/revoke`` (RFC 7009) and ``POST /oauth2/introspect`` (RFC 7662).

Thin glue: route (:func:`answer`), parse (:mod:`.token_request`), grant (:mod:`.grant`), answer; the other
two endpoints authenticate clients with the grant's own authenticator (:mod:`.revocation_endpoint`,
:mod:`.introspection_endpoint`).  Every error, whatever raised it, becomes its RFC 6749 §5.2 response
in :func:`handle_error` (:mod:`.oauth_errors`).

Routing is three POST routes matched the way Powertools' ``APIGatewayRestResolver`` matched them (the
event's ``path``, trailing slashes allowed, the method in any case; anything else the same 404), written
out here: for three fixed routes the resolver's dispatch, middleware stack and ``Response`` building cost
about 60 us of a token's 650 (issue 16 item 5, benchmarks/bench_token_endpoint.py), and its import about
20 ms of a cold start.

What is never logged or traced: the request event (it holds the credentials), the response (it
holds the token), secrets, hashes.  Logged instead: client_id, jti, kid, scope, the error code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from partnerauth.invocation_log import ColdStart, context_fields, rest_request_id
from partnerauth.server_metadata import INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH, issuer_for

from .endpoint_settings import RevocationSettings
from .grant import build_grant
from .oauth_errors import (
    NO_STORE,
    NotFound,
    TooManyTokens,
    as_oauth_error,
    json_response,
    oauth_response,
    proxy_response,
)
from .own_token_endpoints import build_own_token_endpoints
from .settings import TokenSettings
from .token_request import parse_token_request

PEPPER_MAX_AGE = 3600  # seconds Powertools keeps the pepper; it is not rotated in place


def message_as_written(message: Any) -> Any:
    """Powertools' ``json_deserializer`` for log messages: the message as written.  The default tries
    ``json.loads`` on every message string and keeps the text when it fails, an exception per line; this
    function's messages are constant words, never JSON documents (benchmarks/bench_token_endpoint.py)."""
    return message


settings = TokenSettings.from_env()
revocation_settings = RevocationSettings.from_env()
logger = Logger(json_deserializer=message_as_written)
tracer = Tracer()
metrics = Metrics()

_secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def _pepper() -> str | bytes:
    return cast("str | bytes", _secrets.get(settings.pepper_secret_arn, max_age=PEPPER_MAX_AGE))


_dynamodb = boto3.client("dynamodb")
grant = build_grant(settings, dynamodb=_dynamodb, kms=boto3.client("kms"), fetch_pepper=_pepper)
endpoints = build_own_token_endpoints(
    settings, revocation_settings, dynamodb=_dynamodb, authenticator=grant.authenticator, fetch_pepper=_pepper
)


Event = dict[str, Any]
Answer = dict[str, Any]  # a REST API proxy integration response


def token(event: Event) -> Answer:
    request = parse_token_request(event)
    granted = grant.issue(request, issuer=issuer_for(settings.issuer, event.get("requestContext")))
    logger.info("access token issued", extra=granted.log_fields())
    metrics.add_metric(name="TokenIssued", unit=MetricUnit.Count, value=1)
    return json_response(granted.response_body())


def revoke(event: Event) -> Answer:
    """RFC 7009 §2.2: 200 and an empty body, whatever the token was; what happened goes to the log."""
    outcome = endpoints.revocation.revoke(
        event, issuer=issuer_for(settings.issuer, event.get("requestContext"))
    )
    logger.info("token revocation", extra=outcome.log_fields())
    metrics.add_metric(name=f"Revocation.{outcome.result}", unit=MetricUnit.Count, value=1)
    return proxy_response(200, "", NO_STORE)


def introspect(event: Event) -> Answer:
    """RFC 7662 §2.2 (``Cache-Control: no-store``: the answer changes with revocations and time)."""
    caller, introspection = endpoints.introspection.introspect(
        event, issuer=issuer_for(settings.issuer, event.get("requestContext"))
    )
    logger.info("token introspection", extra={"client_id": caller, **introspection.log_fields()})
    metrics.add_metric(
        name="IntrospectionActive" if introspection.active else "IntrospectionInactive",
        unit=MetricUnit.Count,
        value=1,
    )
    return json_response(introspection.response_body())


def handle_error(error: Exception) -> Answer:
    """The one place where failures become responses (RFC 6749 §5.2, 503 for dependencies)."""
    refusal = as_oauth_error(error)
    fields: dict[str, Any] = {"error": refusal.error, "status": refusal.status, **refusal.log_fields}
    if refusal.status >= 500:
        # The traceback only for defects of ours (500); a dependency failure is named by type and AWS code.
        logger.error("token request failed", extra=fields, exc_info=error if refusal.status == 500 else None)
    else:
        logger.info("token request refused", extra=fields)
    if isinstance(refusal, TooManyTokens):
        # Its 429 shares the code temporarily_unavailable with a failed dependency's 503: a busy partner
        # is not an outage, so the dashboard counts it apart.
        metrics.add_metric(name="TokenRateLimited", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name=f"TokenError.{refusal.error}", unit=MetricUnit.Count, value=1)
    return oauth_response(refusal)


ROUTES: dict[str, Callable[[Event], Answer]] = {
    TOKEN_PATH: token,
    REVOCATION_PATH: revoke,
    INTROSPECTION_PATH: introspect,
}  # POST each
# The resolver's REST rule for a static route, "^<route>/*$" with re.match (so "$" also matches before a
# final newline), for the three routes at once; the group names the route.
_ROUTE_PATH = re.compile("^(" + "|".join(re.escape(path) for path in ROUTES) + ")/*$")


def route(event: Event) -> Callable[[Event], Answer]:
    """The endpoint for the event's method and path; :class:`NotFound` (404) for every other pair."""
    matched = _ROUTE_PATH.match(event["path"]) if event["httpMethod"].upper() == "POST" else None
    if matched is None:
        raise NotFound("no such endpoint")
    return ROUTES[matched.group(1)]


def answer(event: Event) -> Answer:
    """The endpoint's answer, or :func:`handle_error`'s for whatever it raised (a malformed event too)."""
    try:
        return route(event)(event)
    except Exception as error:  # noqa: BLE001 - the one place every failure becomes its answer
        return handle_error(error)


Handler = Callable[[Event, LambdaContext], Answer]


@metrics.log_metrics(capture_cold_start_metric=True)  # one EMF flush per invocation, ColdStart once
def respond(event: Event, context: LambdaContext) -> Answer:  # noqa: ARG001 - a handler's signature
    return answer(event)


def traced(tracer: Tracer, handler: Handler) -> Handler:
    """``handler`` inside its X-Ray subsegment (``ColdStart`` and ``Service`` annotations) when tracing is on
    (``Tracing: Active``); ``handler`` itself when it is off: a disabled Tracer still builds and ends a dummy
    subsegment per invocation, CPU for nothing (benchmarks/bench_token_endpoint.py)."""
    if tracer.disabled:
        return handler
    return cast(
        "Handler", tracer.capture_lambda_handler(capture_response=False, capture_error=False)(handler)
    )


_answer = traced(tracer, respond)
_cold_start = ColdStart()
# POWERTOOLS_LOGGER_SAMPLE_RATE: a share of invocations logs at DEBUG, drawn again per warm invocation.
_SAMPLED = bool(logger.sampling_rate)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Not @logger.inject_lambda_context: the same keys (Powertools' own context model, the REST request id as
    # correlation_id) on every line of this invocation, without its JMESPath query and wrapper
    # (benchmarks/bench_token_endpoint.py).
    cold_start = _cold_start.begin()
    logger.append_keys(
        correlation_id=rest_request_id(event), **context_fields(context, cold_start=cold_start)
    )
    if _SAMPLED and not cold_start:
        logger.refresh_sample_rate_calculation()
    return _answer(event, context)
