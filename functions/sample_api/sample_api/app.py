"""Backend of the sample protected API: it answers with who called, as the authorizer told it.

API Gateway only invokes this function after the authorizer allowed the request, and passes the
authorizer's context in ``requestContext.authorizer`` (strings only): ``client_id``, ``scope``, ``sub``,
``jti``, ``iss``.  A partner's real backend identifies the calling application the same way, without
ever parsing the token itself.  The orders and inventory are fixed sample data; nothing is stored.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from .caller import caller_from

logger = Logger()
app = APIGatewayRestResolver()

ORDERS = {
    "o-1001": {"id": "o-1001", "item": "pallet-euro", "quantity": 12, "status": "shipped"},
    "o-1002": {"id": "o-1002", "item": "crate-60x40", "quantity": 40, "status": "open"},
}
INVENTORY = [{"item": "pallet-euro", "available": 310}, {"item": "crate-60x40", "available": 1200}]
MAX_QUANTITY = 10_000


def caller() -> dict[str, str]:
    """Who the authorizer admitted; only the fields it promises, never a token."""
    return caller_from(app.current_event.request_context.authorizer.raw_event)


@app.get("/orders")
def list_orders() -> dict[str, Any]:
    return {"orders": list(ORDERS.values()), "caller": caller()}


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict[str, Any]:
    order = ORDERS.get(order_id)
    if order is None:
        raise NotFoundError("no such order")
    return {"order": order, "caller": caller()}


@app.post("/orders")
def create_order() -> Response[dict[str, Any]]:
    try:
        body = app.current_event.json_body
    except ValueError:
        raise BadRequestError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    item, quantity = body.get("item"), body.get("quantity")
    if not isinstance(item, str) or not item or len(item) > 64:
        raise BadRequestError("item must be a non-empty string of at most 64 characters")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
        raise BadRequestError(f"quantity must be a whole number from 1 to {MAX_QUANTITY}")
    order = {"id": "o-sample", "item": item, "quantity": quantity, "status": "accepted (sample: not stored)"}
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body={"order": order, "caller": caller()},
    )


@app.get("/inventory")
def inventory() -> dict[str, Any]:
    return {"inventory": INVENTORY, "caller": caller()}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    client_id = caller_from((event.get("requestContext") or {}).get("authorizer")).get("client_id")
    if client_id:
        logger.append_keys(client_id=client_id)
    return app.resolve(event, context)
