"""Two stacks of the template can live in one account and region: no physical name is fixed (issue 15).

The template is translated by SAM's own translator, because SAM names some resources itself (a `ScheduleV2`
event's schedule after the event, a layer after its logical id), and that is where fixed names hide.
"""

from __future__ import annotations

from typing import Any

from tests.template.conftest import ROOT, translate
from tests.template.physical_names import name_properties, names_in_common


def test_two_stacks_of_the_template_share_no_physical_name(translated_template: dict[str, Any]) -> None:
    # Given the template as CloudFormation receives it, deployed as two stacks
    # Then no resource (or export) of one has the name of a resource of the other
    assert names_in_common(translated_template) == {}


def test_the_names_the_template_does_set_are_all_checked(translated_template: dict[str, Any]) -> None:
    # The rotation schedule, the layer, the KMS alias, the APIs and the export are named by the template
    # (or by SAM): each is among the names compared above.
    checked = {f"{logical_id}.{key}" for logical_id, key, _ in name_properties(translated_template)}
    assert {
        "KeyRotationFunctionReconcile.Name",
        "SigningKeyEncryptionKeyAlias.AliasName",
        "AuthApi.Name",
        "SampleApi.Name",
        "Outputs.AuthorizerFunctionArn.Export.Name",
    } <= checked
    assert any(check.endswith(".LayerName") for check in checked)


def test_sams_default_schedule_name_is_caught(tmp_path: Any) -> None:
    # Given a function with a ScheduleV2 event that names no schedule (the template before issue 15)
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Worker:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.13\n"
        "      Handler: app.handler\n"
        f"      CodeUri: {ROOT / 'functions' / 'key_rotation'}\n"
        "      Events:\n"
        "        Reconcile:\n"
        "          Type: ScheduleV2\n"
        "          Properties:\n"
        "            ScheduleExpression: rate(1 hour)\n",
        encoding="utf-8",
    )
    # Then SAM names the schedule after the event, and the check finds it in both stacks
    assert names_in_common(translate(template)) == {"WorkerReconcile.Name": "WorkerReconcile"}
