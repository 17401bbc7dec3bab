"""What the on-call team gets from the template (issue 15 item 4): alarms that page for faults, with what to
do, and API Gateway's own answers of the token API in the token endpoint's shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.template import Template, resources_of_type

OPERATIONS = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")


def test_every_alarm_says_what_the_on_call_does_and_has_a_runbook_entry(cfn_template: Template) -> None:
    alarms = resources_of_type(cfn_template, "AWS::CloudWatch::Alarm")
    headings = set(re.findall(r"^### (\w+)$", OPERATIONS, re.MULTILINE))
    assert set(alarms) == headings
    for logical_id, alarm in alarms.items():
        description = alarm["Properties"]["AlarmDescription"]
        assert "On-call:" in description, logical_id
        assert f"docs/operations.md#{logical_id.lower()}" in description, logical_id
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"]


def test_no_alarm_pages_for_what_the_authorizer_refuses(cfn_template: Template) -> None:
    # A 401 is the authorizer's Exception("Unauthorized"), which Lambda counts as an error: AWS/Lambda
    # Errors of the authorizer would page for every bad token. Faults are counted from our own metric instead.
    for logical_id, alarm in resources_of_type(cfn_template, "AWS::CloudWatch::Alarm").items():
        text = json.dumps(alarm["Properties"])
        assert not ('"Errors"' in text and "AuthorizerFunction" in text), logical_id
        for metric in [
            alarm["Properties"],
            *(q["MetricStat"]["Metric"] for q in alarm["Properties"].get("Metrics", []) if "MetricStat" in q),
        ]:
            reasons = [d["Value"] for d in metric.get("Dimensions", []) if d["Name"] == "reason"]
            # reasons that are our faults only (errors.Reason / decision.Problem values)
            assert set(reasons) <= {"internal_error", "api_profile_unavailable", "keys_unavailable"}, (
                logical_id
            )


def test_the_token_apis_own_answers_are_oauth_errors_that_no_cache_keeps(cfn_template: Template) -> None:
    responses = cfn_template["Resources"]["AuthApi"]["Properties"]["GatewayResponses"]
    assert responses["THROTTLED"]["StatusCode"] == "429"
    assert {"THROTTLED", "DEFAULT_5XX", "DEFAULT_4XX"} <= set(responses)
    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        # RFC 6749 §5.1: Cache-Control: no-store, Pragma: no-cache (header values in API Gateway's quotes)
        assert headers["Cache-Control"] == "'no-store'", kind
        assert headers["Pragma"] == "'no-cache'", kind
        body = json.loads(response["ResponseTemplates"]["application/json"])
        # RFC 6749 §5.2: an error code and a human-readable description, nothing else
        assert set(body) == {"error", "error_description"}, kind
        assert re.fullmatch(r"[a-z_]+", body["error"]), kind
    assert json.loads(responses["THROTTLED"]["ResponseTemplates"]["application/json"])["error"] == (
        "temporarily_unavailable"
    )
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
