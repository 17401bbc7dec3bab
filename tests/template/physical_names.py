"""Physical names of a translated template, as two stacks of it would name their resources.

CloudFormation generates a unique name for every resource whose template leaves the name out; a name the
template (or SAM, on its behalf) spells out is the same in every stack, and a second stack of the template in
the same account and region fails to create that resource. `names_in_common` finds those.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.support.template import Resolver, Template

# Properties ending in "Name" that do not name the resource itself, so they may be equal in two stacks.
NOT_PHYSICAL_NAMES: dict[tuple[str, str], str] = {
    ("AWS::ApiGateway::Stage", "StageName"): "a stage is named within its own API, which is the stack's own",
    (
        "AWS::ApiGatewayV2::Stage",
        "StageName",
    ): "a stage is named within its own API, which is the stack's own",
    ("AWS::Lambda::Permission", "FunctionName"): "names the function the permission is for (a reference)",
    ("AWS::CloudWatch::Alarm", "MetricName"): "names the metric the alarm watches, not the alarm",
    ("AWS::SNS::Topic", "DisplayName"): "the sender name of e-mails, not an identifier",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _references(value: Any) -> Iterator[str]:
    """Every logical id or "Id.Attribute" that `value` refers to (Ref, GetAtt, Sub variables)."""
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield ".".join(arg) if isinstance(arg, list) else str(arg)
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                yield from _SUB_VARIABLE.findall(str(text))
            yield from _references(arg)


def name_properties(template: Template) -> list[tuple[str, str, Any]]:
    """(logical id, property, unresolved value) of every top-level property named `Name` or `...Name`."""
    found = []
    for logical_id, resource in template["Resources"].items():
        for key, value in (resource.get("Properties") or {}).items():
            if key.endswith("Name") and (resource["Type"], key) not in NOT_PHYSICAL_NAMES:
                found.append((logical_id, key, value))
    for output_id, output in template.get("Outputs", {}).items():
        if "Export" in output:
            found.append((f"Outputs.{output_id}", "Export.Name", output["Export"]["Name"]))
    return found


def resolver_for_stack(template: Template, stack_name: str, stack_uuid: str) -> Resolver:
    """A resolver where every resource's physical id is the stack's own (as CloudFormation makes them)."""
    declared = set(template.get("Parameters", {}))
    refs = {
        name: f"{stack_name}-{name}-{stack_uuid[:8]}"
        for name in set(_references(template["Resources"])) | set(_references(template.get("Outputs", {})))
        if not name.startswith("AWS::") and name not in declared
    }
    pseudo = {
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack_name}/{stack_uuid}",
    }
    return Resolver(template, refs, pseudo_parameters=pseudo)


def names_in_common(template: Template) -> dict[str, Any]:
    """`logical id.property` -> the name it would have in two stacks of `template`, where both are equal."""
    first = resolver_for_stack(template, "partnerauth-blue", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    second = resolver_for_stack(template, "partnerauth-green", "8a9b0c1d-2e3f-4a5b-8c7d-9e0f1a2b3c4d")
    common = {}
    for logical_id, key, value in name_properties(template):
        if first.resolve(value) == second.resolve(value):
            common[f"{logical_id}.{key}"] = first.resolve(value)
    return common
