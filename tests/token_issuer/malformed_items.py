"""Malformed ClientsTable items, one shape per way a stored attribute can be wrong (issue 19).

Each :class:`Shape` changes a valid item (as the registry wrote it) in one way.  ``storable`` says whether
DynamoDB itself accepts the result (it refuses a number that is not a number, an empty set, a key of the
wrong type): those shapes are put into moto's table and read back through every reader; the rest can only
reach a reader through a hostile or buggy store and are given to ``authenticate_item`` directly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Item = dict[str, Any]


@dataclass(frozen=True)
class Shape:
    name: str
    reason: str  # the fixed reason the codec must give
    change: Callable[[Item], None]
    storable: bool = True

    def applied(self, item: Item) -> Item:
        changed = copy.deepcopy(item)
        self.change(changed)
        return changed


def _drop(name: str) -> Callable[[Item], None]:
    return lambda item: item.pop(name)


def _set(name: str, value: Any) -> Callable[[Item], None]:
    def change(item: Item) -> None:
        item[name] = value

    return change


def _first_secret(name: str, value: Any | None) -> Callable[[Item], None]:
    def change(item: Item) -> None:
        fields = item["secrets"]["L"][0]["M"]
        if value is None:
            fields.pop(name)
        else:
            fields[name] = value

    return change


SHAPES: tuple[Shape, ...] = (
    Shape("client_id of the wrong type", "client_id", _set("client_id", {"N": "1"}), storable=False),
    Shape("no client_name", "client_name", _drop("client_name")),
    Shape("client_name a number", "client_name", _set("client_name", {"N": "7"})),
    Shape("no scopes", "scopes", _drop("scopes")),
    Shape("scopes a string", "scopes", _set("scopes", {"S": "orders:read"})),
    Shape("scopes with a number member", "scopes", _set("scopes", {"L": [{"S": "a"}, {"N": "1"}]})),
    Shape("scopes an empty list", "scopes", _set("scopes", {"L": []})),
    Shape("scopes a number set", "scopes", _set("scopes", {"NS": ["1"]})),
    Shape("no audiences", "audiences", _drop("audiences")),
    Shape("audiences an empty list", "audiences", _set("audiences", {"L": []})),
    Shape("audiences a map", "audiences", _set("audiences", {"M": {"a": {"S": "b"}}})),
    Shape("grant_types a number", "grant_types", _set("grant_types", {"N": "1"})),
    Shape("no token_lifetime", "token_lifetime", _drop("token_lifetime")),
    Shape("token_lifetime a string", "token_lifetime", _set("token_lifetime", {"S": "900"})),
    Shape("token_lifetime a fraction", "token_lifetime", _set("token_lifetime", {"N": "1.5"})),
    Shape("token_lifetime zero", "token_lifetime", _set("token_lifetime", {"N": "0"})),
    Shape(
        "token_lifetime not a number", "token_lifetime", _set("token_lifetime", {"N": "abc"}), storable=False
    ),
    Shape("no status", "status", _drop("status")),
    Shape("status unknown to this version", "status", _set("status", {"S": "suspended"})),
    Shape("status a boolean", "status", _set("status", {"BOOL": True})),
    Shape("secrets a string", "secrets", _set("secrets", {"S": "sec"})),
    Shape("secrets member not a map", "secrets", _set("secrets", {"L": [{"S": "sec"}]})),
    Shape("secret without hash", "secrets", _first_secret("hash", None)),
    Shape("secret hash a string", "secrets", _first_secret("hash", {"S": "00"})),
    Shape("secret without secret_id", "secrets", _first_secret("secret_id", None)),
    Shape("secret created_at a string", "secrets", _first_secret("created_at", {"S": "yesterday"})),
    Shape("secret expires_at a fraction", "secrets", _first_secret("expires_at", {"N": "1.25"})),
    Shape("version a string", "version", _set("version", {"S": "3"})),
    Shape("created_at a string", "created_at", _set("created_at", {"S": "2026-01-01"})),
    Shape("jwks not JSON", "jwks", _set("jwks", {"S": "{not json"})),
    Shape("jwks without keys", "jwks", _set("jwks", {"S": '{"kty": "RSA"}'})),
    Shape("plan a number", "plan", _set("plan", {"N": "1"})),
    Shape("permissions a string", "permissions", _set("permissions", {"S": "introspect"})),
    Shape("changed_at a string", "changed_at", _set("changed_at", {"S": "now"})),
)
STORABLE: tuple[Shape, ...] = tuple(shape for shape in SHAPES if shape.storable)


def shape_id(shape: Shape) -> str:
    return shape.name.replace(" ", "-")
