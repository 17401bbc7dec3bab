"""Backend of the sample HTTP API (payload 2.0): shipments, answered with who called.

API Gateway's HTTP API only invokes this function after the Lambda authorizer allowed the route, and
passes the authorizer's context in ``requestContext.authorizer.lambda``: ``client_id``, ``scope``, ``sub``,
``jti``, ``iss`` (sample_api.caller, shared with the REST sample).  Routes and scopes (template.yaml,
``SampleHttpApi``): ``GET /shipments`` and ``GET /shipments/{id}`` need ``shipments:read``,
``POST /shipments/{id}/cancel`` needs ``shipments:write``.  The shipments are fixed sample data; a
cancellation is accepted and not stored.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from .caller import caller_from

logger = Logger()
app = APIGatewayHttpResolver()

SHIPMENTS = {
    "s-2001": {"id": "s-2001", "order": "o-1001", "carrier": "dhl", "status": "in_transit"},
    "s-2002": {"id": "s-2002", "order": "o-1002", "carrier": "ups", "status": "delivered"},
}


def caller() -> dict[str, str]:
    """Who the authorizer admitted; only the fields it promises, never a token."""
    return caller_from(app.current_event.request_context.authorizer.get_lambda)


def shipment(shipment_id: str) -> dict[str, Any]:
    found = SHIPMENTS.get(shipment_id)
    if found is None:
        raise NotFoundError("no such shipment")
    return found


@app.get("/shipments")
def list_shipments() -> dict[str, Any]:
    return {"shipments": list(SHIPMENTS.values()), "caller": caller()}


@app.get("/shipments/<shipment_id>")
def get_shipment(shipment_id: str) -> dict[str, Any]:
    return {"shipment": shipment(shipment_id), "caller": caller()}


@app.post("/shipments/<shipment_id>/cancel")
def cancel_shipment(shipment_id: str) -> Response[dict[str, Any]]:
    cancellation = {
        "shipment": shipment(shipment_id)["id"],
        "status": "cancellation requested (sample: not stored)",
    }
    # 202: the request is accepted, its processing is not complete (RFC 9110 §15.3.3)
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body={"cancellation": cancellation, "caller": caller()},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    client_id = caller_from(authorizer.get("lambda")).get("client_id")
    if client_id:
        logger.append_keys(client_id=client_id)
    return app.resolve(event, context)
