"""docs/openapi.yaml holds for the running local stack (schemathesis, bounded, loopback only).

The description is the one `make dev` serves at `GET /openapi.yaml` (servers set to this run's URLs).
For every operation:

* requests that fit the description (positive mode), sent as a partner would (the token endpoint with
  the demo client's Basic credentials, the APIs with a token holding every scope): the status is a
  documented one, and its headers, content type and body schema are the documented ones;
* requests that do not fit it (negative mode: wrong types, missing or extra parts): never a 5xx;
* each documented refusal of the protected APIs, provoked on purpose (no token: 401, a token without the
  route's scope: 403), holds its documented status, headers (`WWW-Authenticate`, RFC 6750 §3.1) and body.

Hypothesis runs derandomized with a fixed number of examples per operation and mode, no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.event_placeholders import basic_credentials
from tests.local_stack.running_stack import REPO, StackProcess, start_stack

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION: Final = 20  # 12 positive + 7 negative runs x 20: at most 380 requests
DOCUMENT = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
OPERATIONS = [
    (path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item if method in METHODS
]


def has_inputs(path: str, method: str) -> bool:
    """Whether a request of the operation has parts to get wrong (negative mode needs one)."""
    item = DOCUMENT["paths"][path]
    operation = item[method.lower()]
    return bool(item.get("parameters") or operation.get("parameters") or operation.get("requestBody"))


CASES = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + [
    (path, method, GenerationMode.NEGATIVE) for path, method in OPERATIONS if has_inputs(path, method)
]
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {GenerationMode.POSITIVE: CONFORMANCE, GenerationMode.NEGATIVE: [not_a_server_error]}
TIMEOUT = 10
# the endpoints where a client authenticates (RFC 6749 §2.3.1; RFC 7009 §2.1; RFC 7662 §2.1)
CLIENT_AUTHENTICATED = ("/oauth2/token", "/oauth2/revoke", "/oauth2/introspect")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start_stack(tmp_path_factory.mktemp("openapi-stack"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def served(stack: StackProcess) -> dict[str, Any]:
    """The description as the stack serves it."""
    response = requests.get(f"{stack.demo['api_url']}/openapi.yaml", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/yaml")
    document: dict[str, Any] = yaml.safe_load(response.text)
    return document


@pytest.fixture(scope="module")
def schema(served: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(served)


def token(stack: StackProcess, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = requests.post(
        stack.demo["token_url"],
        data=data,
        auth=(stack.demo["client_id"], stack.demo["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def full_token(stack: StackProcess) -> str:
    return token(stack)


def base_url(served: dict[str, Any], path: str) -> str:
    item = served["paths"][path]
    return str((item.get("servers") or served["servers"])[0]["url"])


def is_protected(path: str, method: str) -> bool:
    requirements = DOCUMENT["paths"][path][method.lower()].get("security", [])
    return any("bearer" in requirement for requirement in requirements)


def credentials(stack: StackProcess, path: str, method: str, full_token: str) -> dict[str, str]:
    """What a partner sends: the demo client's Basic credentials at the token endpoint, a token elsewhere."""
    if is_protected(path, method):
        return {"Authorization": f"Bearer {full_token}"}
    if path in CLIENT_AUTHENTICATED:
        return {"Authorization": basic_credentials(stack.demo["client_id"], stack.demo["client_secret"])}
    return {}


def test_the_served_description_points_at_this_run(stack: StackProcess, served: dict[str, Any]) -> None:
    urls = stack.stack["api_urls"]
    assert served["servers"][0]["url"] == urls["AuthApi"]
    assert base_url(served, "/orders") == urls["SampleApi"]
    assert base_url(served, "/shipments") == urls["SampleHttpApi"]
    # nothing else differs from docs/openapi.yaml
    assert without_servers(served) == without_servers(DOCUMENT)


def without_servers(document: dict[str, Any]) -> dict[str, Any]:
    copy = {k: v for k, v in document.items() if k != "servers"}
    copy["paths"] = {
        path: {k: v for k, v in item.items() if k != "servers"} for path, item in document["paths"].items()
    }
    return copy


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_generated_requests_get_documented_answers_and_never_a_5xx(
    stack: StackProcess,
    served: dict[str, Any],
    schema: Any,
    full_token: str,
    path: str,
    method: str,
    mode: GenerationMode,
) -> None:
    operation = schema[path][method]
    url = base_url(served, path)
    headers = credentials(stack, path, method, full_token) if mode is GenerationMode.POSITIVE else {}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=url, headers=headers, timeout=TIMEOUT)
        case.validate_response(response, checks=CHECKS[mode], headers=headers)

    check()


PROTECTED = [(path, method) for path, method in OPERATIONS if is_protected(path, method)]
# the documented example values reach the route's backend (ids of the sample data)
PATH_PARAMETERS = {"/orders/{id}": {"id": "o-1001"}, "/shipments/{id}": {"id": "s-2001"}}
BODIES = {("/orders", "POST"): {"item": "crate-60x40", "quantity": 2}}
# a scope that is none of the route's (the demo client holds all five)
OTHER_SCOPE = {"orders": "shipments:read", "inventory": "shipments:read", "shipments": "orders:read"}


def refused(
    schema: Any, served: dict[str, Any], path: str, method: str, headers: dict[str, str]
) -> tuple[Any, Any]:
    operation = schema[path][method]
    body = BODIES.get((path, method))
    case = operation.Case(
        path_parameters=PATH_PARAMETERS.get(path.replace("/cancel", ""), {}) if "{id}" in path else None,
        headers=headers,
        **({"body": body, "media_type": "application/json"} if body is not None else {}),
    )
    return case, case.call(base_url=base_url(served, path), timeout=TIMEOUT)


@pytest.mark.parametrize(("path", "method"), PROTECTED)
def test_a_call_without_a_token_gets_the_documented_401(
    schema: Any, served: dict[str, Any], path: str, method: str
) -> None:
    case, response = refused(schema, served, path, method, {})
    assert response.status_code == 401
    case.validate_response(response, checks=CONFORMANCE)
    if path.startswith(("/orders", "/inventory")):  # REST: the gateway response's challenge
        assert response.headers["www-authenticate"] == ['Bearer error="invalid_token"']  # RFC 6750 §3.1


@pytest.mark.parametrize(("path", "method"), PROTECTED)
def test_a_token_without_the_routes_scope_gets_the_documented_403(
    stack: StackProcess, schema: Any, served: dict[str, Any], path: str, method: str
) -> None:
    scope = OTHER_SCOPE[path.strip("/").split("/")[0]]
    headers = {"Authorization": f"Bearer {token(stack, scope)}"}
    case, response = refused(schema, served, path, method, headers)
    assert response.status_code == 403
    case.validate_response(response, checks=CONFORMANCE, headers=headers)
    if path.startswith(("/orders", "/inventory")):
        assert response.headers["www-authenticate"] == ['Bearer error="insufficient_scope"']  # RFC 6750 §3.1


def test_the_token_endpoints_refusals_hold_their_documented_form(schema: Any, served: dict[str, Any]) -> None:
    operation = schema["/oauth2/token"]["POST"]
    url = base_url(served, "/oauth2/token")
    for body, status in (
        ({"grant_type": "client_credentials"}, 401),  # no client authentication: invalid_client
        ({"grant_type": "password"}, 401),  # the client is authenticated before the grant type is judged
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, 401),
    ):
        case = operation.Case(body=body, media_type="application/x-www-form-urlencoded")
        response = case.call(base_url=url, timeout=TIMEOUT)
        assert response.status_code == status, response.text
        case.validate_response(response, checks=CONFORMANCE)  # RFC 6749 §5.2 body, no-store, challenge


@pytest.mark.parametrize("path", ["/oauth2/revoke", "/oauth2/introspect"])
def test_revocation_and_introspection_answers_hold_their_documented_form(
    stack: StackProcess, schema: Any, served: dict[str, Any], path: str
) -> None:
    operation = schema[path]["POST"]
    url = base_url(served, path)
    basic = {"Authorization": basic_credentials(stack.demo["client_id"], stack.demo["client_secret"])}
    for body, headers, status in (
        ({"token": token(stack)}, basic, {"/oauth2/revoke": 200, "/oauth2/introspect": 400}[path]),
        ({"token": "x"}, {}, 401),  # no client authentication: invalid_client and a Basic challenge
        ({"token_type_hint": "access_token"}, basic, 400),  # no token: invalid_request
    ):
        # the demo client may revoke its token (RFC 7009 §2.2: 200, no body) but not introspect: it holds
        # no introspect permission (RFC 7662 §4: unauthorized_client)
        case = operation.Case(body=body, media_type="application/x-www-form-urlencoded", headers=headers)
        response = case.call(base_url=url, timeout=TIMEOUT)
        assert response.status_code == status, response.text
        case.validate_response(response, checks=CONFORMANCE, headers=headers)
