"""The Authorizer: every event type, every outcome, every rejection reason.

401 = ``decision.response is None`` (the handler raises "Unauthorized"); 403 = a policy that
denies the current method ARN (or ``isAuthorized: false``); 200 = a policy that allows it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from authorizer.decision import Authorizer, Decision, Outcome, Problem, bearer_token
from local.iam_policy import Decision as Iam
from local.iam_policy import evaluate
from partnerauth.errors import Reason
from partnerauth.keys import SigningKey
from partnerauth.usage_plans import usage_key_value

from .conftest import (
    ARN_PREFIX,
    AUDIENCE,
    EVENTS,
    EXTERNAL_AUDIENCE,
    EXTERNAL_ISSUER,
    ISSUER,
    NOW,
    USAGE_KEY_NAMESPACE,
    AuthorizerFactory,
    TokenFactory,
    bearer,
    claims,
    http_event,
    request_event,
    sign,
    token_event,
)

EventFactory = Callable[[Any], dict[str, Any]]

# One request to GET /orders/{id} in each format (REST TOKEN, REST REQUEST, HTTP API 2.0).
EVENT_TYPES: dict[str, EventFactory] = {
    "rest-token": lambda header: token_event(header, "GET", "orders/42"),
    "rest-request": lambda header: request_event(header, "GET", "orders/42", "/orders/{id}"),
    "http-api": lambda header: http_event(header, "GET /orders/{id}", "GET", "orders/42"),
}


def policy_answer(decision: Decision, arn: str) -> Iam:
    assert decision.response is not None
    return evaluate(decision.response["policyDocument"], arn)


def is_unauthorized(decision: Decision) -> bool:
    return decision.outcome is Outcome.REJECT and decision.response is None


# -- outcomes, per event type --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_a_valid_token_with_the_route_scope_is_allowed(
    kind: str, authorizer: Authorizer, token: TokenFactory
) -> None:
    decision = authorizer.decide(EVENT_TYPES[kind](bearer(token(scope="orders:read"))))
    assert decision.outcome is Outcome.ALLOW
    assert decision.response is not None
    if kind == "http-api":
        assert decision.response["isAuthorized"] is True
    else:
        assert decision.response["principalId"] == "partner-1"
        assert policy_answer(decision, f"{ARN_PREFIX}/GET/orders/42") is Iam.ALLOW
    assert decision.response["context"] == {
        "client_id": "partner-1",
        "scope": "orders:read",
        "sub": "partner-1",
        "jti": "jti-0001",
        "iss": ISSUER,
    }


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_a_valid_token_without_the_route_scope_is_denied_with_403(
    kind: str, authorizer: Authorizer, token: TokenFactory
) -> None:
    decision = authorizer.decide(EVENT_TYPES[kind](bearer(token(scope="inventory:read"))))
    # RFC 6750 §3.1 insufficient_scope: a valid token is not a 401.
    assert decision.outcome is Outcome.DENY
    assert decision.reason == Reason.INSUFFICIENT_SCOPE
    assert decision.response is not None
    if kind == "http-api":
        assert decision.response == {"isAuthorized": False}
    else:
        assert policy_answer(decision, f"{ARN_PREFIX}/GET/orders/42") is Iam.EXPLICIT_DENY
    if kind == "rest-token":
        # Cached per token and applied to every route: the whole-API answer opens what the scopes cover.
        assert policy_answer(decision, f"{ARN_PREFIX}/GET/inventory") is Iam.ALLOW
    if kind == "rest-request":
        # Cached per token, method and resource: the answer speaks for this route only.
        assert policy_answer(decision, f"{ARN_PREFIX}/GET/inventory") is not Iam.ALLOW


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_no_token_is_401(kind: str, authorizer: Authorizer) -> None:
    decision = authorizer.decide(EVENT_TYPES[kind](None))
    assert is_unauthorized(decision)
    assert decision.reason == Problem.MISSING_TOKEN


@pytest.mark.parametrize("kind", EVENT_TYPES)
@pytest.mark.parametrize(
    "header",
    [
        "Basic cGFydG5lcjpzZWNyZXQ=",
        "Bearer",
        "Bearer ",
        "Bearer  {t}",  # stricter than RFC 6750's 1*SP, like the template's ValidationExpression
        "Bearer {t} {t}",  # exactly one token
        "Bearer {t},Bearer {t}",  # a repeated header, as HTTP APIs join them
        " Bearer {t}",
        "Bearer {t} ",
        "Bearer\t{t}",
        "Bearer {t}\n",
        "Bearer\u00a0{t}",
        "Token {t}",
        "{t}",
    ],
)
def test_a_malformed_authorization_header_is_401(
    kind: str, header: str, authorizer: Authorizer, token: TokenFactory
) -> None:
    decision = authorizer.decide(EVENT_TYPES[kind](header.replace("{t}", token())))
    assert is_unauthorized(decision)
    assert decision.reason == Problem.INVALID_AUTHORIZATION


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(
    scheme: str, authorizer: Authorizer, token: TokenFactory
) -> None:
    # RFC 6750 §2.1 with RFC 9110 §11.1: auth-scheme is case-insensitive.
    for factory in EVENT_TYPES.values():
        assert authorizer.decide(factory(f"{scheme} {token()}")).outcome is Outcome.ALLOW


def test_bearer_tokens_are_b64token_strings() -> None:
    assert bearer_token("Bearer abc.DEF-_~+/.x==") == "abc.DEF-_~+/.x=="


# -- every rejection reason is a 401, whatever the event type ------------------------------------------
def rejected_token(reason: str, key: SigningKey, stranger: SigningKey) -> str:  # noqa: PLR0911 - a catalogue
    if reason == Reason.MALFORMED:
        return "not.a.jwt"
    if reason == Reason.DISALLOWED_ALGORITHM:
        return sign(key, claims(), alg="RS512")  # not on the allow-list (RFC 8725 §3.1)
    if reason == Reason.UNSUPPORTED_HEADER:
        return sign(key, claims(), crit=["exp"])  # RFC 7515 §4.1.11
    if reason == Reason.WRONG_TYPE:
        return sign(key, claims(), typ="JWT")  # RFC 9068 §4 item 1
    if reason == Reason.UNKNOWN_KEY:
        return sign(stranger, claims())
    if reason == Reason.BAD_SIGNATURE:
        return sign(stranger, claims(), kid=key.kid)
    overrides: dict[str, dict[str, Any]] = {
        Reason.WRONG_ISSUER: {"iss": "https://evil.example.test"},  # RFC 9068 §4 item 3
        Reason.WRONG_AUDIENCE: {"aud": "https://other-api.example.test"},  # RFC 9068 §4 item 4
        Reason.MISSING_CLAIM: {"jti": ...},  # RFC 9068 §2.2
        Reason.INVALID_CLAIM: {"exp": "tomorrow"},  # RFC 7519 §2 NumericDate
        Reason.EXPIRED: {"exp": NOW - 61, "iat": NOW - 400, "nbf": NOW - 400},  # RFC 7519 §4.1.4
        Reason.NOT_YET_VALID: {"nbf": NOW + 120},  # RFC 7519 §4.1.5
        Reason.LIFETIME_TOO_LONG: {"exp": NOW + 7200},
    }
    return sign(key, claims(**overrides[reason]))


TOKEN_REASONS = [
    reason for reason in Reason if reason not in (Reason.KEYS_UNAVAILABLE, Reason.INSUFFICIENT_SCOPE)
]


@pytest.mark.parametrize("kind", EVENT_TYPES)
@pytest.mark.parametrize("reason", TOKEN_REASONS)
def test_each_rejection_reason_is_401_with_that_reason(
    kind: str, reason: Reason, authorizer: Authorizer, rsa_key: SigningKey, stranger_key: SigningKey
) -> None:
    decision = authorizer.decide(EVENT_TYPES[kind](bearer(rejected_token(reason, rsa_key, stranger_key))))
    assert is_unauthorized(decision)
    assert decision.reason == reason


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_unreachable_keys_are_401_keys_unavailable(
    kind: str, make_authorizer: AuthorizerFactory, token: TokenFactory
) -> None:
    # Our issuer's JWKS URI is one the key source cannot serve.
    authorizer = make_authorizer(JWKS_URI="https://keys.elsewhere.test/jwks")
    decision = authorizer.decide(EVENT_TYPES[kind](bearer(token())))
    assert is_unauthorized(decision)
    assert decision.reason == Reason.KEYS_UNAVAILABLE


def test_a_rejection_names_kid_jti_and_client_id_but_never_the_token(
    authorizer: Authorizer, rsa_key: SigningKey, stranger_key: SigningKey
) -> None:
    forged = sign(stranger_key, claims(jti="jti-forged"), kid=rsa_key.kid)
    decision = authorizer.decide(token_event(bearer(forged)))
    assert decision.log_fields() == {
        "outcome": "reject",
        "reason": "bad_signature",
        "kid": rsa_key.kid,
        "jti": "jti-forged",
        "client_id": "partner-1",
        "api": "default",
    }
    assert forged not in json.dumps(decision.log_fields())


def test_identifiers_that_are_not_plain_strings_are_not_logged(
    authorizer: Authorizer, stranger_key: SigningKey
) -> None:
    hostile = sign(stranger_key, claims(jti="x" * 500, client_id="a\nb"), kid="k\u2028")
    fields = authorizer.decide(token_event(bearer(hostile))).log_fields()
    assert set(fields) == {"outcome", "reason", "api"}


# -- events that are not what API Gateway sends ---------------------------------------------------------
@pytest.mark.parametrize(
    "arn",
    [
        None,
        7,
        "",
        "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/*/GET/orders",  # a wildcard stage
        "arn:aws:execute-api:us-east-1:*:sampleapi1/dev/GET/orders",
        "arn:aws:execute-api:*:123456789012:sampleapi1/dev/GET/orders",
        "arn:aws:execute-api:us-east-1:123456789012:*/dev/GET/orders",
        "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev/*/orders",
        "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev/GET/orders/*",
        "arn:aws:lambda:us-east-1:123456789012:function:x",
        "arn:aws:execute-api:us-east-1:123456789012:sampleapi1/dev",
        f"{ARN_PREFIX}/GET/" + "a" * 5000,
    ],
)
def test_a_method_arn_of_another_shape_is_401_invalid_event(
    arn: object, authorizer: Authorizer, token: TokenFactory
) -> None:
    event = token_event(bearer(token()))
    event["methodArn"] = arn
    decision = authorizer.decide(event)
    assert is_unauthorized(decision)
    assert decision.reason == Problem.INVALID_EVENT


@pytest.mark.parametrize("event", [None, [], "TOKEN", {}, {"type": "OTHER"}, {"version": "3.0"}])
def test_an_event_of_no_known_format_is_401(event: object, authorizer: Authorizer) -> None:
    decision = authorizer.decide(event)
    assert is_unauthorized(decision)
    assert decision.reason == Problem.INVALID_EVENT


@pytest.mark.parametrize("value", [7, ["Bearer x"], {"a": 1}, "B" * 20_000])
def test_an_authorization_value_that_is_not_a_short_string_is_401(
    value: object, authorizer: Authorizer
) -> None:
    assert is_unauthorized(authorizer.decide(token_event(value)))


def test_a_repeated_authorization_header_is_401(authorizer: Authorizer, token: TokenFactory) -> None:
    event = request_event(bearer(token()), "GET", "orders/42", "/orders/{id}")
    event["multiValueHeaders"]["Authorization"] = [bearer(token()), bearer(token(jti="other"))]
    assert authorizer.decide(event).reason == Problem.INVALID_AUTHORIZATION
    event = request_event(bearer(token()), "GET", "orders/42", "/orders/{id}")
    event["headers"]["authorization"] = bearer(token(jti="other"))  # two spellings of one header
    assert authorizer.decide(event).reason == Problem.INVALID_AUTHORIZATION


def test_request_events_without_headers_are_401_missing_token(authorizer: Authorizer) -> None:
    event = request_event(None, "GET", "orders", "/orders")
    event["headers"] = None
    event["multiValueHeaders"] = None
    assert authorizer.decide(event).reason == Problem.MISSING_TOKEN
    event["headers"] = "Authorization: Bearer x"
    assert authorizer.decide(event).reason == Problem.INVALID_EVENT


def test_an_unexpected_fault_is_401_never_an_allow(authorizer: Authorizer, token: TokenFactory) -> None:
    class Broken:
        def verify(self, token: object) -> object:
            raise RuntimeError("boom")

    authorizer._verifier = Broken()  # type: ignore[assignment]
    decision = authorizer.decide(token_event(bearer(token())))
    assert is_unauthorized(decision)
    assert decision.reason == Problem.INTERNAL_ERROR


# -- REST: the policy, its ARNs, usage keys ---------------------------------------------------------------
def test_the_policy_is_built_from_the_method_arn(authorizer: Authorizer, token: TokenFactory) -> None:
    prefix = "arn:aws-cn:execute-api:cn-north-1:210987654321:cnapi42/prod"
    decision = authorizer.decide(
        token_event(bearer(token(scope="orders:read")), "GET", "orders", prefix=prefix)
    )
    assert decision.outcome is Outcome.ALLOW
    assert decision.response is not None
    statements = decision.response["policyDocument"]["Statement"]
    resources = [r for statement in statements for r in statement["Resource"]]
    assert all(r.startswith(f"{prefix}/") for r in resources)
    assert evaluate(decision.response["policyDocument"], f"{prefix}/GET/orders/7") is Iam.ALLOW
    # Another stage or API is not covered by this cached answer.
    assert evaluate(decision.response["policyDocument"], f"{ARN_PREFIX}/GET/orders/7") is Iam.IMPLICIT_DENY


def test_the_root_resource_gets_its_own_arn(make_authorizer: AuthorizerFactory, token: TokenFactory) -> None:
    authorizer = make_authorizer(ROUTE_SCOPES='{"GET /": ["orders:read"], "GET /{page}": ["pages"]}')
    decision = authorizer.decide(token_event(bearer(token(scope="orders:read")), "GET", ""))
    assert decision.outcome is Outcome.ALLOW
    assert policy_answer(decision, f"{ARN_PREFIX}/GET/") is Iam.ALLOW
    assert policy_answer(decision, f"{ARN_PREFIX}/GET/about") is not Iam.ALLOW


def test_a_route_outside_the_map_is_denied(authorizer: Authorizer, token: TokenFactory) -> None:
    decision = authorizer.decide(token_event(bearer(token(scope="orders:read")), "GET", "orders/42/secret"))
    assert decision.outcome is Outcome.DENY
    assert decision.reason == Problem.UNKNOWN_ROUTE
    assert policy_answer(decision, f"{ARN_PREFIX}/GET/orders/42/secret") is Iam.EXPLICIT_DENY
    assert policy_answer(decision, f"{ARN_PREFIX}/GET/orders/42") is Iam.ALLOW


def test_a_route_outside_the_map_with_odd_characters_is_still_denied(
    authorizer: Authorizer, token: TokenFactory
) -> None:
    decision = authorizer.decide(token_event(bearer(token(scope="orders:read")), "DELETE", "orders/%2e%2e"))
    assert decision.outcome is Outcome.DENY
    assert policy_answer(decision, f"{ARN_PREFIX}/DELETE/orders/%2e%2e") is not Iam.ALLOW


def test_our_partners_get_the_api_key_derived_from_their_client_id(
    authorizer: Authorizer, token: TokenFactory
) -> None:
    # Given tokens of two of our clients
    decision = authorizer.decide(token_event(bearer(token())))
    other = authorizer.decide(token_event(bearer(token(client_id="partner-2", sub="partner-2"))))
    # Then each answer names the client's own API key, the one the admin CLI put in its usage plan
    assert decision.response is not None
    assert other.response is not None
    assert decision.response["usageIdentifierKey"] == usage_key_value(USAGE_KEY_NAMESPACE, "partner-1")
    assert other.response["usageIdentifierKey"] == usage_key_value(USAGE_KEY_NAMESPACE, "partner-2")
    assert decision.response["usageIdentifierKey"] != other.response["usageIdentifierKey"]


def test_without_a_usage_key_namespace_answers_name_no_api_key(
    make_authorizer: AuthorizerFactory, token: TokenFactory
) -> None:
    decision = make_authorizer(USAGE_KEY_NAMESPACE="").decide(token_event(bearer(token())))
    assert decision.response is not None
    assert "usageIdentifierKey" not in decision.response


def test_usage_keys_are_not_given_to_a_namesake_of_another_issuer(
    authorizer: Authorizer, external_key: SigningKey
) -> None:
    external = sign(external_key, external_claims(azp="partner-1"), typ=...)
    decision = authorizer.decide(token_event(bearer(external)))
    assert decision.outcome is Outcome.ALLOW
    assert decision.response is not None
    assert "usageIdentifierKey" not in decision.response


# -- external issuers ------------------------------------------------------------------------------------
def external_claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "iss": EXTERNAL_ISSUER,
        "aud": [EXTERNAL_AUDIENCE, "https://other.example.test"],
        "exp": NOW + 600,
        "iat": NOW,
        "azp": "ext-client-9",
        "scp": ["orders:read", "orders:write"],
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not ...}


def test_an_external_issuer_token_is_verified_with_its_own_rules(
    authorizer: Authorizer, external_key: SigningKey
) -> None:
    decision = authorizer.decide(
        token_event(bearer(sign(external_key, external_claims(), typ="JWT")), "POST", "orders")
    )
    assert decision.outcome is Outcome.ALLOW
    assert decision.response is not None
    assert decision.response["principalId"] == "ext-client-9"
    assert decision.response["context"] == {
        "client_id": "ext-client-9",
        "scope": "orders:read orders:write",
        "sub": "",
        "jti": "",
        "iss": EXTERNAL_ISSUER,
    }


def test_an_external_issuer_cannot_use_our_audience_or_our_keys(
    authorizer: Authorizer, external_key: SigningKey, rsa_key: SigningKey
) -> None:
    assert authorizer.decide(
        token_event(bearer(sign(external_key, external_claims(aud=AUDIENCE))))
    ).reason == (Reason.WRONG_AUDIENCE)
    # RFC 8725 §3.8: keys are looked up per issuer; our key signs nothing for them.
    assert authorizer.decide(token_event(bearer(sign(rsa_key, external_claims())))).outcome is Outcome.REJECT
    assert authorizer.decide(token_event(bearer(sign(external_key, external_claims(azp=...))))).reason == (
        Reason.MISSING_CLAIM
    )


# -- HTTP API: simple responses decide for the route key; policy responses for every route ---------------
def test_a_simple_response_decides_for_the_route_key_only(
    authorizer: Authorizer, token: TokenFactory
) -> None:
    read = bearer(token(scope="orders:read"))
    assert authorizer.decide(http_event(read, "GET /orders", "GET", "orders")).outcome is Outcome.ALLOW
    denied = authorizer.decide(http_event(read, "POST /orders", "POST", "orders"))
    assert (denied.outcome, denied.response) == (Outcome.DENY, {"isAuthorized": False})
    unknown = authorizer.decide(http_event(read, "$default", "GET", "anything"))
    assert (unknown.outcome, unknown.reason) == (Outcome.DENY, Problem.UNKNOWN_ROUTE)
    assert (
        authorizer.decide(http_event(read, "GET /orders/{orderId}", "GET", "orders/1")).outcome
        is Outcome.ALLOW
    )


def test_http_api_policy_responses_speak_for_their_route_key(
    make_authorizer: AuthorizerFactory, token: TokenFactory
) -> None:
    # Cached per route key ($context.routeKey is an identity source): the policy covers that route only.
    authorizer = make_authorizer(HTTP_API_RESPONSE="policy")
    read = bearer(token(scope="orders:read"))
    prefix = "arn:aws:execute-api:us-east-1:123456789012:httpapi123/$default"
    denied = authorizer.decide(http_event(read, "POST /orders", "POST", "orders"))
    assert denied.outcome is Outcome.DENY
    assert denied.response is not None
    assert "usageIdentifierKey" not in denied.response  # usage plans are a REST API feature
    assert evaluate(denied.response["policyDocument"], f"{prefix}/POST/orders") is Iam.EXPLICIT_DENY
    allowed = authorizer.decide(http_event(read, "GET /orders/{id}", "GET", "orders/9"))
    assert allowed.response is not None
    document = allowed.response["policyDocument"]
    assert evaluate(document, f"{prefix}/GET/orders/9") is Iam.ALLOW
    assert evaluate(document, f"{prefix}/GET/orders/10") is Iam.ALLOW  # the same route, another id
    assert evaluate(document, f"{prefix}/GET/orders/9/secret") is Iam.EXPLICIT_DENY  # beyond the route
    assert evaluate(document, f"{prefix}/GET/orders") is not Iam.ALLOW  # another route


# -- the committed sample events ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["authorizer-token.json", "authorizer-request.json", "authorizer-http-api.json"]
)
def test_the_sample_events_carry_no_usable_token(name: str, authorizer: Authorizer) -> None:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    decision = authorizer.decide(event)
    assert is_unauthorized(decision)
    assert decision.reason == Reason.MALFORMED


KNOWN_REASONS = {reason.value for reason in Reason} | {problem.value for problem in Problem}


def test_every_reason_is_one_of_a_fixed_set(authorizer: Authorizer, token: TokenFactory) -> None:
    # The metric dimension `reason` must have bounded cardinality (EMF).
    decisions = [
        authorizer.decide(factory(header))
        for factory in EVENT_TYPES.values()
        for header in (None, "junk", bearer("a.b.c"), bearer(token(scope="")), bearer(token(aud="x")))
    ]
    assert {d.reason for d in decisions if d.reason is not None} <= KNOWN_REASONS
