"""API Gateway's route choice and path spellings (local/routing.py), REST and HTTP APIs."""

from __future__ import annotations

import pytest

from local.routing import RouteMatch, arn_path, route_http, route_rest

ORDERS = [
    ("GET", "/orders"),
    ("POST", "/orders"),
    ("GET", "/orders/{id}"),
    ("GET", "/orders/summary"),
    ("GET", "/orders/{id}/payments"),
    ("ANY", "/files/{proxy+}"),
]


def rest(method: str, path: str) -> RouteMatch | None:
    return route_rest(ORDERS, method, path)


# -- REST: route choice -------------------------------------------------------------------------------


def test_rest_a_literal_resource_wins_over_a_path_parameter() -> None:
    assert rest("GET", "/orders/summary") == RouteMatch("GET", "/orders/summary", {}, "GET/orders/summary")


def test_rest_a_path_parameter_is_decoded_once() -> None:
    match = rest("GET", "/orders/a%20b")
    assert match is not None
    assert match.path_parameters == {"id": "a b"}
    assert match.arn_path == "GET/orders/a%20b"  # the ARN keeps the spelling


def test_rest_an_encoded_slash_does_not_split_a_segment() -> None:
    match = rest("GET", "/orders/a%2Fb")
    assert match is not None
    assert (match.template, match.path_parameters) == ("/orders/{id}", {"id": "a/b"})


def test_rest_the_most_specific_resource_answers_or_nothing_does() -> None:
    # DELETE /orders/summary: the resource exists without DELETE or ANY; no fallback to /orders/{id}
    assert rest("DELETE", "/orders/summary") is None
    assert rest("DELETE", "/orders") is None


def test_rest_any_serves_every_method_of_its_resource() -> None:
    match = rest("PATCH", "/files/a/b")
    assert match is not None
    assert (match.method, match.path_parameters) == ("ANY", {"proxy": "a/b"})
    assert match.arn_path == "PATCH/files/a/b"


def test_rest_a_greedy_parameter_needs_at_least_one_segment() -> None:
    assert rest("GET", "/files") is None
    assert rest("GET", "/files/") is None


# -- spellings (both kinds of API route alike) ---------------------------------------------------------


def test_a_trailing_slash_routes_to_the_resource_and_the_arn_keeps_it() -> None:
    assert rest("GET", "/orders/") == RouteMatch("GET", "/orders", {}, "GET/orders/")
    assert rest("GET", "/orders/1/payments/") == RouteMatch(
        "GET", "/orders/{id}/payments", {"id": "1"}, "GET/orders/1/payments/"
    )
    http = route_http(["GET /orders/{id}"], "GET", "/orders/1/")
    assert http == RouteMatch("GET", "/orders/{id}", {"id": "1"}, "GET/orders/1/")


@pytest.mark.parametrize(
    "path", ["//orders", "/orders//1", "/orders/1//", "/orders//", "/files//a", "/files/a//b", "//"]
)
def test_empty_segments_match_no_route(path: str) -> None:
    assert rest("GET", path) is None
    assert route_http([f"{m} {p}" for m, p in ORDERS], "GET", path) is None


@pytest.mark.parametrize("path", ["/Orders", "/ORDERS/1", "/orders/Summary/x"])
def test_letter_case_is_significant(path: str) -> None:
    assert rest("GET", path) is None


def test_a_literal_segment_matches_its_percent_encoded_spelling() -> None:
    match = rest("GET", "/%6Frders/summary")
    assert match is not None
    assert (match.template, match.arn_path) == ("/orders/summary", "GET/%6Frders/summary")


def test_dot_segments_are_not_resolved() -> None:
    assert rest("GET", "/orders/../orders") is None
    match = rest("GET", "/orders/..")
    assert match is not None
    assert match.path_parameters == {"id": ".."}


def test_the_root_resource_and_its_arn() -> None:
    assert route_rest([("GET", "/")], "GET", "/") == RouteMatch("GET", "/", {}, "GET/")
    assert arn_path("GET", "/") == "GET/"


def test_a_path_not_starting_with_a_slash_matches_nothing() -> None:
    assert rest("GET", "orders") is None


# -- HTTP API: route keys ------------------------------------------------------------------------------

HTTP = [
    "GET /pets/dog/1",
    "GET /pets/dog/{id}",
    "GET /pets/{proxy+}",
    "ANY /pets/{id}",
    "ANY /{proxy+}",
    "$default",
]


@pytest.mark.parametrize(
    ("method", "path", "route_key"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1"),  # full match of route and method
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat", "ANY /pets/{id}"),  # no greedy variable beats a greedy one
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),  # method before ANY among greedy routes
        ("POST", "/pets/cat/1", "ANY /{proxy+}"),
        ("POST", "/pets/dog/1", "ANY /{proxy+}"),
        ("GET", "/", "$default"),  # {proxy+} needs a segment
        ("GET", "//pets", "$default"),  # no route takes an empty segment; $default takes anything
    ],
)
def test_http_the_most_specific_route_key_wins(method: str, path: str, route_key: str) -> None:
    match = route_http(HTTP, method, path)
    assert match is not None
    assert match.route_key == route_key
    assert match.arn_path == arn_path(method, path)


def test_http_without_a_default_route_an_unknown_path_has_no_route() -> None:
    assert route_http(["GET /shipments"], "GET", "/orders") is None
    assert route_http(["GET /shipments"], "POST", "/shipments") is None


def test_http_the_default_route_has_no_path_parameters() -> None:
    assert route_http(["$default"], "DELETE", "/a/b") == RouteMatch("ANY", "$default", {}, "DELETE/a/b")
