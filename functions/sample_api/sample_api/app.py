"""Placeholder handler so `sam build` has a package to copy; the sample API's owner replaces this file.

It already does the job DESIGN.md gives it, minimally: echo the route and the caller the authorizer admitted.
"""

from __future__ import annotations

import json
from typing import Any


def lambda_handler(event: dict[str, Any], _context: object) -> dict[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    body = {
        "route": f"{event.get('httpMethod')} {event.get('resource')}",
        "principal": authorizer.get("principalId"),
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
