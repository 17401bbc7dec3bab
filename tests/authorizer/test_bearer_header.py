"""RFC 6750 §2.1 ``Authorization: Bearer <b64token>``: one rule, whichever check runs first.

The authorizer checks the scheme before verifying and the b64token syntax only when the verifier refuses the
credential (an accepted token is base64url segments joined by ``.``, all b64token characters).  The rule
below: every header value gets the answer the header-first order gives - ``bearer_token`` refusing it
(``missing_token`` / ``invalid_authorization_header``), else the verifier's own reason.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizer import decision as decision_module
from authorizer.decision import Authorizer, Outcome, Problem, Rejected, bearer_token

from .conftest import TokenFactory, request_event, token_event

B64TOKEN_CHARACTERS = "ABCXYZabcxyz0189-._~+/="
credentials = st.text(alphabet=B64TOKEN_CHARACTERS + " \t\u00e9\u212a,", max_size=40)
schemes = st.sampled_from(
    ["Bearer ", "bearer ", "BEARER ", "BeArEr ", "Bearer  ", "Bearer\t", "Basic ", "", "Bearer"]
)


def header_first(authorizer: Authorizer, value: str, event: dict[str, object]) -> str | None:
    """The reason of the header-first order: the header's, else the verifier's (None: allowed)."""
    try:
        bearer_token(value)
    except Rejected as rejection:
        return str(rejection.reason)
    return authorizer.decide(event).reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=schemes, credential=credentials)
def test_any_header_gets_the_reason_the_header_first_order_gives(
    authorizer: Authorizer, scheme: str, credential: str
) -> None:
    value = scheme + credential
    for event in (token_event(value), request_event(value)):
        decision = authorizer.decide(event)
        assert decision.outcome is Outcome.REJECT
        assert decision.reason == header_first(authorizer, value, event)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Bearer", Problem.INVALID_AUTHORIZATION),
        ("Bearer ", Problem.INVALID_AUTHORIZATION),
        ("Bearer a b", Problem.INVALID_AUTHORIZATION),  # RFC 6750 §2.1: one b64token, nothing after it
        ("Bearer a=b", Problem.INVALID_AUTHORIZATION),  # "=" only at the end
        ("Bearer \u212aey.x.y", Problem.INVALID_AUTHORIZATION),  # not ASCII
        ("Bearer x==", "malformed"),  # a b64token, but no JWS
        ("", Problem.MISSING_TOKEN),
    ],
)
def test_a_header_outside_the_bearer_syntax_is_refused_for_what_it_is(
    authorizer: Authorizer, value: str, reason: str
) -> None:
    assert authorizer.decide(token_event(value)).reason == reason


def test_a_valid_token_after_any_spelling_of_the_scheme_is_allowed(
    authorizer: Authorizer, token: TokenFactory
) -> None:
    # RFC 9110 §11.1: the scheme is case-insensitive.
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        assert authorizer.decide(token_event(f"{scheme} {token()}")).outcome is Outcome.ALLOW


# -- one Authorization header (RFC 9110 §5.1: field names are case-insensitive) -------------------------
def header_rule(headers: object, multi_value_headers: object) -> object:
    """The rule, spelled out: every spelling of the name counts; more than one value is refused."""
    if headers is not None and not isinstance(headers, dict):
        return Problem.INVALID_EVENT
    found = [v for k, v in (headers or {}).items() if isinstance(k, str) and k.lower() == "authorization"]
    if isinstance(multi_value_headers, dict):
        for key, values in multi_value_headers.items():
            named = isinstance(key, str) and key.lower() == "authorization"
            if named and (not isinstance(values, list) or len(values) != 1):
                return Problem.INVALID_AUTHORIZATION
    if len(found) > 1:
        return Problem.INVALID_AUTHORIZATION
    return found[0] if found else None


names = st.sampled_from(
    ["Authorization", "authorization", "AUTHORIZATION", "Host", "authorizations", 7, None]
)
header_values = st.one_of(st.text(max_size=3), st.lists(st.text(max_size=3), max_size=2), st.none())
header_maps = st.one_of(st.none(), st.dictionaries(names, header_values, max_size=5), st.just("headers"))


@settings(max_examples=400, deadline=None)
@given(headers=header_maps, multi_value_headers=header_maps)
def test_the_authorization_header_is_read_by_the_rule(headers: object, multi_value_headers: object) -> None:
    expected = header_rule(headers, multi_value_headers)
    try:
        found = decision_module._single_header(headers, multi_value_headers, "authorization")
    except Rejected as rejection:
        found = rejection.reason
    assert found == expected
