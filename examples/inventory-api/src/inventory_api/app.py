"""Inventory API: another team's REST API, protected by the partnerauth authorizer of another stack.

Nothing here checks a token: API Gateway calls the shared authorizer first (a REQUEST authorizer
cached per token, method and resource; the stage variable ``partnerauthApi`` names this API's
route map in the partnerauth registry, ``routes.json``) and only then this function, passing the
authorizer's context in ``requestContext.authorizer`` (``client_id``, ``scope``, ``sub``, ``jti``,
``iss``).  The warehouses and stock are fixed sample data; a stock update is answered, not stored.
"""

from __future__ import annotations

from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = APIGatewayRestResolver()

CALLER_FIELDS: Final = ("client_id", "scope", "sub", "jti", "iss")
MAX_QUANTITY: Final = 1_000_000
WAREHOUSES: Final = {
    "wh-ams": {"id": "wh-ams", "city": "Amsterdam"},
    "wh-lyon": {"id": "wh-lyon", "city": "Lyon"},
}
STOCK: Final = {
    "wh-ams": {"pallet-euro": 310, "crate-60x40": 1200},
    "wh-lyon": {"pallet-euro": 45},
}
AUDIT: Final = {
    "wh-ams": [{"at": "2027-01-14T17:02:00Z", "sku": "pallet-euro", "change": -20, "by": "pc_carrier01"}],
    "wh-lyon": [],
}


def caller() -> dict[str, str]:
    """Who the authorizer admitted: only the fields it promises (never a token)."""
    context = app.current_event.request_context.authorizer.raw_event or {}
    return {name: str(context[name]) for name in CALLER_FIELDS if context.get(name) is not None}


def warehouse(warehouse_id: str) -> dict[str, Any]:
    found = WAREHOUSES.get(warehouse_id)
    if found is None:
        raise NotFoundError("no such warehouse")
    return found


@app.get("/warehouses")
def list_warehouses() -> dict[str, Any]:
    return {"warehouses": list(WAREHOUSES.values()), "caller": caller()}


@app.get("/warehouses/<warehouse_id>")
def get_warehouse(warehouse_id: str) -> dict[str, Any]:
    return {"warehouse": warehouse(warehouse_id), "caller": caller()}


@app.get("/warehouses/<warehouse_id>/stock")
def get_stock(warehouse_id: str) -> dict[str, Any]:
    levels = STOCK[warehouse(warehouse_id)["id"]]
    return {
        "warehouse": warehouse_id,
        "stock": [{"sku": sku, "quantity": quantity} for sku, quantity in levels.items()],
        "caller": caller(),
    }


@app.put("/warehouses/<warehouse_id>/stock/<sku>")
def set_stock(warehouse_id: str, sku: str) -> dict[str, Any]:
    levels = STOCK[warehouse(warehouse_id)["id"]]
    if sku not in levels:
        raise NotFoundError("no such sku in this warehouse")
    try:
        body = app.current_event.json_body
    except ValueError:
        raise BadRequestError("the body must be JSON") from None
    quantity = body.get("quantity") if isinstance(body, dict) else None
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
        raise BadRequestError(
            f'the body must be {{"quantity": n}} with n a whole number from 0 to {MAX_QUANTITY}'
        )
    return {
        "warehouse": warehouse_id,
        "sku": sku,
        "quantity": quantity,
        "previous": levels[sku],
        "stored": False,  # sample data
        "caller": caller(),
    }


@app.get("/warehouses/<warehouse_id>/audit")
def get_audit(warehouse_id: str) -> dict[str, Any]:
    return {"warehouse": warehouse_id, "audit": AUDIT[warehouse(warehouse_id)["id"]], "caller": caller()}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    client_id = ((event.get("requestContext") or {}).get("authorizer") or {}).get("client_id")
    if client_id:
        logger.append_keys(client_id=client_id)
    return app.resolve(event, context)
