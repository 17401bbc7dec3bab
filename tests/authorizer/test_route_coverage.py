"""``covers``: whether an IAM pattern reaches some request of a route, exactly as IAM matches (issue 20).

Whole-API answers keep or drop a deny pattern by asking ``covers(pattern, route)`` of every allowed
route, so a wrong ``True`` drops a deny that was needed and a wrong ``False`` denies an allowed route.
The oracle here is IAM itself (``local.iam_policy.arn_matches``: ``*`` matches any run of characters,
``/`` included) tried on every request of the route that could matter: each parameter takes a literal of
the pattern or a value the pattern does not name (parameter values are never empty).
"""

from __future__ import annotations

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from local.iam_policy import arn_matches
from partnerauth.route_map import Route, Segment, parse_route, render
from partnerauth.route_policy import covers

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:api1/dev/GET/"


def route_of(segments: list[str | None]) -> Route:
    names = iter(f"{{p{i}}}" for i in range(10))
    path = "/" + "/".join(next(names) if s is None else s for s in segments)
    return parse_route(f"GET {path}", [])


def iam_reaches(pattern: tuple[Segment, ...], route: Route) -> bool:
    """Whether IAM matches ``GET/<pattern>`` against some canonical request to ``route``."""
    literals = {s for s in pattern if isinstance(s, str) and s} | {"zz"}
    options = [[s] if isinstance(s, str) else sorted(literals) for s in route.segments]
    return any(
        arn_matches(PREFIX + render(pattern), PREFIX + "/".join(values))
        for values in itertools.product(*options)
    )


patterns = st.lists(st.sampled_from(["a", "b", "", None]), min_size=1, max_size=5).map(tuple)
routes = st.one_of(
    st.just(parse_route("GET /", [])),
    st.lists(st.sampled_from(["a", "b", None]), min_size=1, max_size=4).map(route_of),
)


@settings(max_examples=600, deadline=None)
@given(pattern=patterns, route=routes)
@example(pattern=("a",), route=route_of(["a", None]))  # a prefix of the route's shape
@example(pattern=(None,), route=route_of(["a", None]))  # "*" spans the slash
@example(pattern=("a", None, None), route=route_of(["a", None]))  # longer than any request to it
def test_a_pattern_covers_a_route_exactly_when_iam_matches_it_to_one_of_the_routes_requests(
    pattern: tuple[Segment, ...], route: Route
) -> None:
    assert covers(pattern, route) is iam_reaches(pattern, route), (render(pattern), route.path)


def test_a_pattern_naming_only_the_start_of_a_route_does_not_cover_it() -> None:
    # GET/orders matches the request GET/orders only, never GET/orders/42
    assert not covers(("orders",), route_of(["orders", None]))
    assert covers(("orders", None), route_of(["orders", None]))
