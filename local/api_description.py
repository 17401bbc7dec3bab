"""``GET /openapi.yaml`` on the first port: docs/openapi.yaml with its servers set to this run's URLs.

The description names, at its top and on each path item with servers of its own, the template API that
serves it (``x-partnerauth-api: AuthApi`` / ``SampleApi`` / ``SampleHttpApi``); the served copy replaces
each ``servers`` list by that API's local base URL (``api_urls``), so a tool pointed at
``http://127.0.0.1:3000/openapi.yaml`` (Swagger UI, schemathesis, a client generator) calls this stack.
The file in docs/ stays the one source: it is read at start, nothing else in it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from .config import REPO_ROOT
from .gateway import Exchange
from .http_server import ApiGateway
from .proxy_event import HttpRequest, HttpResponse

DESCRIPTION_PATH: Final = "/openapi.yaml"
DESCRIPTION_FILE: Final = REPO_ROOT / "docs" / "openapi.yaml"
API_KEY: Final = "x-partnerauth-api"
MEDIA_TYPE: Final = "application/yaml"  # RFC 9512


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the descriptions) stay literal blocks, as written in the file."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def local_description(text: str, api_urls: Mapping[str, str]) -> str:
    """The description with every ``servers`` list naming an API served here replaced by its local URL."""
    document: dict[str, Any] = yaml.safe_load(text)
    for item in [document, *(document.get("paths") or {}).values()]:
        url = api_urls.get(str(item.get(API_KEY)))
        if url is not None:
            item["servers"] = [{"url": url, "description": f"{item[API_KEY]} on the local stack (make dev)"}]
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


@dataclass(frozen=True)
class DescribedGateway:
    """A gateway that also answers ``GET``/``HEAD /openapi.yaml``; every other request goes to ``inner``."""

    inner: ApiGateway
    description: bytes

    @classmethod
    def serving(
        cls, inner: ApiGateway, api_urls: Mapping[str, str], path: Path = DESCRIPTION_FILE
    ) -> DescribedGateway:
        return cls(inner, local_description(path.read_text(encoding="utf-8"), api_urls).encode("utf-8"))

    def handle(self, request: HttpRequest) -> Exchange:
        if request.path != DESCRIPTION_PATH or request.method not in ("GET", "HEAD"):
            return self.inner.handle(request)
        headers = (("Content-Type", f"{MEDIA_TYPE}; charset=utf-8"), ("Cache-Control", "no-cache"))
        return Exchange(HttpResponse(200, headers, self.description))
