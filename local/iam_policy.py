"""Evaluating the IAM policy a Lambda authorizer returns, as API Gateway does.

API Gateway asks one question of the policy: may this caller ``execute-api:Invoke`` the method ARN
of this request (``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}``)?  The
rules are IAM's policy evaluation logic (IAM User Guide, "Policy evaluation logic"):

* an explicit ``Deny`` that matches wins over any ``Allow``;
* otherwise a matching ``Allow`` allows;
* otherwise the request is denied (default deny).

Matching follows IAM's rules for ARNs and actions: ``*`` matches any run of characters (also none)
and ``?`` exactly one, within each of an ARN's colon-separated segments (the resource segment is
the rest of the ARN, slashes and all); a Resource of just ``*`` matches everything; resources compare
case-sensitively, actions case-insensitively.  ``NotAction`` / ``NotResource`` are honoured.  A
``Condition`` cannot be evaluated here (an authorizer's policy has no request context to test), so
it is refused as a malformed policy rather than silently ignored: fail closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

INVOKE_ACTION: Final = "execute-api:Invoke"
_ARN_SEGMENTS: Final = 6  # arn:partition:service:region:account:resource
_STATEMENT_KEYS: Final = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"})


class Decision(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


class PolicyError(ValueError):
    """The policy document is not one API Gateway could evaluate (a configuration error)."""


def evaluate(policy_document: Any, resource: str, action: str = INVOKE_ACTION) -> Decision:
    """The decision of ``policy_document`` for ``action`` on ``resource``.  Explicit deny wins."""
    allowed = False
    for statement in _statements(policy_document):
        if not (_action_applies(statement, action) and _resource_applies(statement, resource)):
            continue
        if statement["Effect"] == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def check(policy_document: Any) -> Mapping[str, Any]:
    """``policy_document`` if API Gateway could evaluate it, else :class:`PolicyError`."""
    _statements(policy_document)
    return policy_document  # _statements refused anything but a Mapping


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching: wildcards apply within a segment; ``*`` alone matches any ARN."""
    if pattern == "*":
        return True
    wanted = pattern.split(":", _ARN_SEGMENTS - 1)
    actual = arn.split(":", _ARN_SEGMENTS - 1)
    if len(wanted) != _ARN_SEGMENTS or len(actual) != _ARN_SEGMENTS:
        return False
    return all(
        _glob(part, case_sensitive=True).fullmatch(value) for part, value in zip(wanted, actual, strict=True)
    )


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: ``service:Action`` with wildcards, case-insensitive."""
    return _glob(pattern, case_sensitive=False).fullmatch(action) is not None


@lru_cache(maxsize=1024)
def _glob(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    translated = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(translated, re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


def _statements(policy_document: Any) -> list[Mapping[str, Any]]:
    if not isinstance(policy_document, Mapping):
        raise PolicyError("policyDocument must be an object")
    statements = policy_document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise PolicyError("policyDocument.Statement must be an object or a list")
    for statement in statements:
        _check_statement(statement)
    return statements


def _check_statement(statement: Any) -> None:
    if not isinstance(statement, Mapping):
        raise PolicyError("every Statement must be an object")
    if "Condition" in statement:
        raise PolicyError("Condition cannot be evaluated in an authorizer policy")
    if not set(statement) <= _STATEMENT_KEYS:
        raise PolicyError("a Statement holds an element API Gateway does not evaluate")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError("Effect must be Allow or Deny")
    if ("Action" in statement) == ("NotAction" in statement):
        raise PolicyError("a Statement needs exactly one of Action and NotAction")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise PolicyError("a Statement needs exactly one of Resource and NotResource")
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            _strings(statement[key])


def _strings(value: Any) -> Sequence[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError("Action and Resource must be a string or a non-empty list of strings")
    return values


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(action_matches(p, action) for p in _strings(statement["Action"]))
    return not any(action_matches(p, action) for p in _strings(statement["NotAction"]))


def _resource_applies(statement: Mapping[str, Any], resource: str) -> bool:
    if "Resource" in statement:
        return any(arn_matches(p, resource) for p in _strings(statement["Resource"]))
    return not any(arn_matches(p, resource) for p in _strings(statement["NotResource"]))
