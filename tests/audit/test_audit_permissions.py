"""Records cannot be altered by the roles that write clients (issue 14 item 4): what template.yaml grants and
denies around AuditTable, read from the template itself."""

from __future__ import annotations

import json
from typing import Any

from tests.support.template import Template, resources_of_type

AUDITED = ("ClientsTable", "SigningKeysTable", "RevocationsTable", "ApisTable")
ITEM_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
AUDIT_TABLE_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-audit"
}


def actions(statement: dict[str, Any]) -> set[str]:
    listed = statement["Action"]
    return set(listed if isinstance(listed, list) else [listed])


def resources(statement: dict[str, Any]) -> list[Any]:
    listed = statement["Resource"]
    return listed if isinstance(listed, list) else [listed]


def recorder_statements(template: Template) -> list[dict[str, Any]]:
    policies = template["Resources"]["AuditRecorderFunction"]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["Statement"]]


def mentions(resource: Any, logical_id: str) -> bool:
    return logical_id in json.dumps(resource)


def test_the_audited_tables_stream_old_and_new_images(cfn_template: Template) -> None:
    for logical_id in AUDITED:
        stream = cfn_template["Resources"][logical_id]["Properties"]["StreamSpecification"]
        assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}, logical_id


def test_the_audit_table_is_kept_backed_up_encrypted_and_expires_records(cfn_template: Template) -> None:
    table = cfn_template["Resources"]["AuditTable"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["TableName"] == {"Fn::Sub": "${AWS::StackName}-audit"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["DeletionProtectionEnabled"] == {"Ref": "DeletionProtection"}
    retention = cfn_template["Parameters"]["AuditRetentionDays"]
    assert retention["MinValue"] >= 90
    assert retention["Default"] >= 365  # PCI DSS v4.0 10.5.1: 12 months of audit history


def test_the_recorder_may_only_append_to_the_audit_table_and_read_the_three_streams(
    cfn_template: Template,
) -> None:
    statements = recorder_statements(cfn_template)
    assert all(statement["Effect"] == "Allow" for statement in statements)
    on_audit = [s for s in statements if AUDIT_TABLE_ARN in resources(s)]
    assert [actions(s) for s in on_audit] == [{"dynamodb:PutItem"}]  # no update, no delete, no read
    stream_reads = [s for s in statements if any("StreamArn" in json.dumps(r) for r in resources(s))]
    assert len(stream_reads) == 1
    assert actions(stream_reads[0]) == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    }
    assert resources(stream_reads[0]) == [{"Fn::GetAtt": [t, "StreamArn"]} for t in AUDITED]
    wildcard = [s for s in statements if "*" in resources(s)]
    assert [actions(s) for s in wildcard] == [{"dynamodb:ListStreams"}]  # names stream ARNs, reads no record
    every_action = set().union(*(actions(s) for s in statements))
    assert every_action == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "dynamodb:PutItem",
        "sqs:SendMessage",
    }
    assert not any(
        mentions(r, t) for s in statements if actions(s) & ITEM_WRITES for r in resources(s) for t in AUDITED
    )


def test_the_recorder_uses_its_own_table_name_not_a_wildcard(cfn_template: Template) -> None:
    env = cfn_template["Resources"]["AuditRecorderFunction"]["Properties"]["Environment"]["Variables"]
    assert env["AUDIT_TABLE"] == {"Ref": "AuditTable"}
    assert env["AUDIT_RETENTION_DAYS"] == {"Ref": "AuditRetentionDays"}


def test_the_audit_tables_own_policy_denies_appends_by_anyone_but_the_recorder_and_changes_by_all(
    cfn_template: Template,
) -> None:
    statements = cfn_template["Resources"]["AuditTable"]["Properties"]["ResourcePolicy"]["PolicyDocument"][
        "Statement"
    ]
    assert all(s["Effect"] == "Deny" and s["Principal"] == "*" for s in statements)
    appends, changes = statements
    assert actions(appends) == {"dynamodb:PutItem", "dynamodb:PartiQLInsert"}
    assert appends["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["AuditRecorderFunctionRole", "Arn"]}}
    }
    assert "Condition" not in changes  # the recorder included
    assert actions(changes) >= ITEM_WRITES - {"dynamodb:PutItem", "dynamodb:PartiQLInsert"}
    assert resources(appends) == resources(changes) == [AUDIT_TABLE_ARN]


def admin_statements(template: Template) -> list[dict[str, Any]]:
    policy = template["Resources"]["PartnerAuthAdminPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_the_admin_policy_denies_every_write_to_the_audit_table_whatever_else_operators_may(
    cfn_template: Template,
) -> None:
    statements = admin_statements(cfn_template)
    denied = [
        s
        for s in statements
        if s["Effect"] == "Deny" and any(mentions(r, "AuditTable") for r in resources(s))
    ]
    assert denied
    assert set().union(*(actions(s) for s in denied)) >= ITEM_WRITES
    assert {"dynamodb:DeleteTable", "dynamodb:UpdateTimeToLive", "dynamodb:PutResourcePolicy"} <= set().union(
        *(actions(s) for s in denied)
    )
    allowed_on_audit = [
        s
        for s in statements
        if s["Effect"] == "Allow" and any(mentions(r, "AuditTable") for r in resources(s))
    ]
    assert set().union(*(actions(s) for s in allowed_on_audit)) == {"dynamodb:Query", "dynamodb:GetItem"}


def test_operators_change_signing_keys_only_through_the_rotation_function(cfn_template: Template) -> None:
    statements = admin_statements(cfn_template)
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    assert not any(a.startswith("kms:") for s in allowed for a in actions(s))
    on_keys = [s for s in allowed if any(mentions(r, "SigningKeysTable") for r in resources(s))]
    assert set().union(*(actions(s) for s in on_keys)) == {"dynamodb:GetItem", "dynamodb:Scan"}
    readable = on_keys[0]["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert "private_key_ciphertext" not in readable
    assert "kms_key_arn" not in readable
    invoke = [s for s in allowed if "lambda:InvokeFunction" in actions(s)]
    assert [resources(s) for s in invoke] == [[{"Fn::GetAtt": ["KeyRotationFunction", "Arn"]}]]


def test_the_admin_policy_lets_no_one_stop_or_rewrite_the_recorder(cfn_template: Template) -> None:
    denied = {a for s in admin_statements(cfn_template) if s["Effect"] == "Deny" for a in actions(s)}
    assert {
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:DeleteFunction",
        "lambda:DeleteEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
    } <= denied


def test_each_stream_reaches_the_recorder_with_partial_failures_bisection_and_a_failure_queue(
    cfn_template: Template,
) -> None:
    mappings = resources_of_type(cfn_template, "AWS::Lambda::EventSourceMapping")
    sources = {}
    for mapping in mappings.values():
        props = mapping["Properties"]
        assert props["FunctionName"] == {"Ref": "AuditRecorderFunction"}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BisectBatchOnFunctionError"] is True
        assert 0 < props["MaximumRetryAttempts"] <= 10_000  # finite: a poisoned record cannot block its shard
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["AuditRecorderFailureQueue", "Arn"]
        }
        sources[props["EventSourceArn"]["Fn::GetAtt"][0]] = props["StartingPosition"]
    assert sources == dict.fromkeys(AUDITED, "TRIM_HORIZON")


def test_outputs_name_the_audit_table_the_rotation_function_and_the_admin_policy(
    cfn_template: Template,
) -> None:
    outputs = cfn_template["Outputs"]
    assert outputs["AuditTableName"]["Value"] == {"Ref": "AuditTable"}
    assert outputs["KeyRotationFunctionName"]["Value"] == {"Ref": "KeyRotationFunction"}
    assert outputs["AdminPolicyArn"]["Value"] == {"Ref": "PartnerAuthAdminPolicy"}
