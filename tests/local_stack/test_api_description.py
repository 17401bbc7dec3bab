"""`GET /openapi.yaml` on the local stack: docs/openapi.yaml with its servers set to the run's URLs."""

from __future__ import annotations

import yaml

from local.api_description import DESCRIPTION_FILE, DescribedGateway, local_description
from local.gateway import Exchange
from local.proxy_event import HttpRequest, HttpResponse

URLS = {
    "AuthApi": "http://127.0.0.1:3000",
    "SampleApi": "http://127.0.0.1:3000",
    "SampleHttpApi": "http://127.0.0.1:3002/dev",
}


class Inner:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def handle(self, request: HttpRequest) -> Exchange:
        self.seen.append(f"{request.method} {request.path}")
        return Exchange(HttpResponse(403, (), b'{"message":"Missing Authentication Token"}'))


def request(method: str, path: str) -> HttpRequest:
    return HttpRequest(method=method, path=path, query="", headers=(), body=b"", source_ip="127.0.0.1")


def test_every_servers_list_names_the_local_url_of_its_api() -> None:
    served = yaml.safe_load(local_description(DESCRIPTION_FILE.read_text(encoding="utf-8"), URLS))
    assert [server["url"] for server in served["servers"]] == [URLS["AuthApi"]]
    for path, item in served["paths"].items():
        expected = URLS[item["x-partnerauth-api"]] if "x-partnerauth-api" in item else None
        assert (item["servers"][0]["url"] if "servers" in item else None) == expected, path
    assert served["paths"]["/shipments"]["servers"][0]["url"] == "http://127.0.0.1:3002/dev"


def test_the_description_is_served_and_every_other_request_passes_through() -> None:
    inner = Inner()
    gateway = DescribedGateway.serving(inner, URLS)
    served = gateway.handle(request("GET", "/openapi.yaml")).response
    assert served.status == 200
    assert served.header("Content-Type") == "application/yaml; charset=utf-8"
    assert yaml.safe_load(served.body)["openapi"].startswith("3.1")
    assert gateway.handle(request("HEAD", "/openapi.yaml")).response.status == 200
    assert gateway.handle(request("POST", "/openapi.yaml")).response.status == 403  # the API's own answer
    assert gateway.handle(request("GET", "/openapi.yml")).response.status == 403
    assert inner.seen == ["POST /openapi.yaml", "GET /openapi.yml"]
