"""Every API of every stack in this repository attaches the partnerauth authorizer with a cache key per route.

The authorizer's REQUEST and HTTP API answers speak for the one route API Gateway matched
(docs/authorizer.md, "Answers and caching"): API Gateway may only reuse them for the same route, so the
identity sources must name it (REST: ``context.httpMethod`` and ``context.resourcePath``; HTTP API:
``$context.routeKey``) next to the ``Authorization`` header.  An authorizer attached with the header alone
would apply one route's Allow to others.  Checked for template.yaml and every ``examples/*/template.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "template.yaml", *sorted(ROOT.glob("examples/*/template.yaml"))]


def partnerauth_authorizers(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(API logical id, API type, authorizer) for every Lambda authorizer that is the partnerauth function."""
    found = []
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind not in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
            continue
        for authorizer in resource["Properties"].get("Auth", {}).get("Authorizers", {}).values():
            arn = json.dumps(authorizer.get("FunctionArn"))
            if "AuthorizerFunction" in arn:  # GetAtt AuthorizerFunction.Arn, or the stack's export
                found.append((logical_id, kind, authorizer))
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_attached_authorizer_is_cached_per_route(path: Path) -> None:
    attached = partnerauth_authorizers(load_template(path))
    assert attached, f"{path}: no API uses the partnerauth authorizer"
    for api, kind, authorizer in attached:
        identity = authorizer["Identity"]
        assert identity["Headers"] == ["Authorization"], api
        if kind == "AWS::Serverless::Api":
            assert authorizer["FunctionPayloadType"] == "REQUEST", (
                f"{api}: TOKEN answers are cached per token"
            )
            assert {"httpMethod", "resourcePath"} <= set(identity["Context"]), api
        else:
            assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0", api
            assert "routeKey" in identity["Context"], api
