"""The authorizer policy, evaluated as API Gateway evaluates it (IAM User Guide, "Policy evaluation logic").

Method ARNs: arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.iam_policy import Decision, PolicyError, action_matches, arn_matches, check, evaluate

API = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev"
GET_ORDERS = f"{API}/GET/orders"
POST_ORDERS = f"{API}/POST/orders"
GET_ORDER_42 = f"{API}/GET/orders/42"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(resource: str | list[str], action: str = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(resource: str | list[str], action: str = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def test_a_matching_allow_allows() -> None:
    assert evaluate(policy(allow(GET_ORDERS)), GET_ORDERS) is Decision.ALLOW


def test_nothing_matching_is_a_default_deny() -> None:
    assert evaluate(policy(allow(GET_ORDERS)), POST_ORDERS) is Decision.IMPLICIT_DENY


def test_an_empty_statement_list_denies() -> None:
    assert evaluate(policy(), GET_ORDERS) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_an_allow_whatever_the_order() -> None:
    assert evaluate(policy(allow(f"{API}/*"), deny(GET_ORDERS)), GET_ORDERS) is Decision.EXPLICIT_DENY
    assert evaluate(policy(deny(GET_ORDERS), allow(f"{API}/*")), GET_ORDERS) is Decision.EXPLICIT_DENY


def test_a_deny_of_another_route_leaves_the_allow() -> None:
    assert evaluate(policy(allow(f"{API}/*"), deny(POST_ORDERS)), GET_ORDERS) is Decision.ALLOW


def test_star_matches_across_slashes_in_the_resource() -> None:
    assert evaluate(policy(allow(f"{API}/*")), GET_ORDER_42) is Decision.ALLOW
    assert evaluate(policy(allow(f"{API}/GET/orders/*")), GET_ORDER_42) is Decision.ALLOW


def test_star_matches_an_empty_run() -> None:
    assert arn_matches(f"{API}/GET/orders*", GET_ORDERS)


def test_question_mark_matches_exactly_one_character() -> None:
    assert arn_matches(f"{API}/GET/orders/4?", GET_ORDER_42)
    assert not arn_matches(f"{API}/GET/orders/?", GET_ORDER_42)


def test_a_lone_star_resource_matches_every_arn() -> None:
    assert evaluate(policy(allow("*")), GET_ORDER_42) is Decision.ALLOW


def test_wildcards_stay_within_their_arn_segment() -> None:
    # IAM: wildcards apply within a colon-separated segment; "*" in the region is not the account too.
    assert arn_matches("arn:aws:execute-api:*:123456789012:abc123/dev/GET/orders", GET_ORDERS)
    assert not arn_matches("arn:aws:execute-api:*:abc123/dev/GET/orders", GET_ORDERS)


def test_a_wildcard_region_and_account_match() -> None:
    assert arn_matches("arn:aws:execute-api:*:*:abc123/*/GET/orders", GET_ORDERS)


def test_resources_compare_case_sensitively() -> None:
    assert not arn_matches(f"{API}/get/orders", GET_ORDERS)


def test_actions_compare_case_insensitively_and_with_wildcards() -> None:
    assert action_matches("EXECUTE-API:invoke", "execute-api:Invoke")
    assert action_matches("execute-api:*", "execute-api:Invoke")
    assert action_matches("*", "execute-api:Invoke")
    assert not action_matches("execute-api:ManageConnections", "execute-api:Invoke")


def test_a_statement_for_another_action_does_not_apply() -> None:
    document = policy(allow(GET_ORDERS, action="execute-api:ManageConnections"))
    assert evaluate(document, GET_ORDERS) is Decision.IMPLICIT_DENY


def test_resource_lists_are_any_of() -> None:
    assert evaluate(policy(allow([POST_ORDERS, GET_ORDERS])), GET_ORDERS) is Decision.ALLOW


def test_a_single_statement_object_is_accepted() -> None:
    assert evaluate({"Version": "2012-10-17", "Statement": allow(GET_ORDERS)}, GET_ORDERS) is Decision.ALLOW


def test_not_resource_applies_to_everything_else() -> None:
    statement = {"Effect": "Deny", "Action": "execute-api:Invoke", "NotResource": GET_ORDERS}
    assert evaluate(policy(allow("*"), statement), POST_ORDERS) is Decision.EXPLICIT_DENY
    assert evaluate(policy(allow("*"), statement), GET_ORDERS) is Decision.ALLOW


def test_not_action_applies_to_every_other_action() -> None:
    statement = {"Effect": "Allow", "NotAction": "execute-api:ManageConnections", "Resource": "*"}
    assert evaluate(policy(statement), GET_ORDERS) is Decision.ALLOW


@pytest.mark.parametrize(
    "document",
    [
        None,
        "Allow",
        {"Statement": "Allow"},
        {"Statement": [None]},
        policy({"Effect": "allow", "Action": "execute-api:Invoke", "Resource": "*"}),
        policy({"Effect": "Allow", "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke"}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": []}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [1]}),
        policy({"Effect": "Allow", "Action": "a", "NotAction": "b", "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*", "Principal": "*"}),
    ],
)
def test_a_malformed_policy_is_a_configuration_error(document: Any) -> None:
    with pytest.raises(PolicyError):
        check(document)


def test_a_condition_is_refused_rather_than_ignored() -> None:
    # Ignoring it would allow what the author meant to restrict: fail closed.
    statement = {**allow("*"), "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    with pytest.raises(PolicyError):
        evaluate(policy(statement), GET_ORDERS)
