"""What a warm authorizer remembers never changes an answer (issue 16: the decision's per-ARN, per-route,
per-scope-set and per-client work is done once; issue 20: every cache key holds everything the answer
depends on).

The rule, as a property: a warm authorizer that has answered any sequence of events answers the next
event exactly as a cold one built from the same settings does.  The events vary in everything an answer
depends on - stage, method, path, route, the token's scopes (sets of the same size), its client - so a
cache keyed by less than that answers one event with another's parts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizer import decision as decision_module
from authorizer.decision import Authorizer, Decision

from .conftest import AuthorizerFactory, TokenFactory, bearer, http_event, request_event, token_event

STAGES = (
    "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev",
    "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/prod",
    "arn:aws:execute-api:us-east-1:123456789012:otherapi22/dev",
)
REQUESTS = (  # (method, path, resource): mapped routes, an unmapped one, a non-canonical spelling
    ("GET", "orders/42", "/orders/{id}"),
    ("GET", "orders/43", "/orders/{id}"),
    ("GET", "orders", "/orders"),
    ("POST", "orders", "/orders"),
    ("GET", "inventory", "/inventory"),
    ("DELETE", "orders/42", "/orders/{id}"),
    ("GET", "orders/42/", "/orders/{id}"),
)
SCOPES = (  # three sets of one scope, two of two: a key by size alone is caught
    "orders:read",
    "orders:write",
    "inventory:read",
    "orders:read inventory:read",
    "orders:write orders:read",
)
CLIENTS = ("partner-1", "partner-2")
KINDS = ("TOKEN", "REQUEST", "HTTP API")

Event = tuple[str, int, int, int, int]
events = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, len(STAGES) - 1),
    st.integers(0, len(REQUESTS) - 1),
    st.integers(0, len(SCOPES) - 1),
    st.integers(0, len(CLIENTS) - 1),
)


def build_event(token: TokenFactory, event: Event) -> dict[str, object]:
    kind, stage, request, scopes, client = event
    method, path, resource = REQUESTS[request]
    header = bearer(token(scope=SCOPES[scopes], client_id=CLIENTS[client], sub=CLIENTS[client]))
    if kind == "TOKEN":
        return token_event(header, method, path, prefix=STAGES[stage])
    if kind == "REQUEST":
        built = request_event(header, method, path, resource)
        built["methodArn"] = f"{STAGES[stage]}/{method}/{path}"
        return built
    return http_event(header, f"{method} {resource}", method, path)


@pytest.fixture(scope="module")
def warm(make_authorizer: AuthorizerFactory) -> Authorizer:
    return make_authorizer()  # one for every example: it stays warm across them


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(events, min_size=1, max_size=12))
def test_a_warm_authorizer_answers_every_event_as_a_cold_one_does(
    warm: Authorizer, make_authorizer: AuthorizerFactory, token: TokenFactory, sequence: list[Event]
) -> None:
    for event in sequence:
        built = build_event(token, event)
        answer: Decision = warm.decide(built)
        assert answer.response is not None, event  # every event here is answered (allow or deny)
        assert answer == make_authorizer().decide(built), event


def test_the_remembered_arns_routes_scopes_and_keys_stay_bounded(
    make_authorizer: AuthorizerFactory, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given small bounds, and more distinct ARNs, scope sets and clients than they hold,
    monkeypatch.setattr(decision_module, "MAX_ARNS_CACHED", 4)
    monkeypatch.setattr(decision_module, "MAX_CLIENTS_CACHED", 2)
    warm, cold = make_authorizer(), make_authorizer
    for index in range(12):
        client = f"partner-{index % 5}"
        header = bearer(token(scope=SCOPES[index % len(SCOPES)], client_id=client, sub=client))
        built = token_event(header, "GET", f"orders/{index}")
        # then every answer is still right,
        assert warm.decide(built) == cold().decide(built)
    # and no remembered value outgrows its bound (a hostile caller varies the path of every TOKEN event).
    assert max(len(warm._arns), len(warm._token_requests)) <= 4  # the bounds are the subject
    assert max(len(warm._scope_texts), len(warm._usage_keys)) <= 2
