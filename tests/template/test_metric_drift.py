"""The dashboard and the alarms can never drift into empty graphs (issue 15 item 5).

Every metric a widget or an alarm names is one that is emitted: by our code (same namespace, same name, the
same dimension set: Powertools' `service` plus the emitting function's own, `service` = this stack), by a
metric filter of the template, or by AWS for a resource of this stack (API name or id, function, stage).
SEARCH expressions are held to the same rules.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.support.template import Resolver, Template
from tests.template.metric_catalog import (
    AWS_METRICS,
    Emitted,
    Named,
    emitted_by_code,
    emitted_by_metric_filters,
    named_by_alarms,
    named_by_dashboards,
)

STACK = "partnerauth-test"  # the resolver's AWS::StackName


def resolver(template: Template) -> Resolver:
    refs: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        refs[logical_id] = f"{logical_id}-physical"
        refs[f"{logical_id}.Arn"] = f"arn:aws:{resource['Type'].split('::')[1].lower()}:::{logical_id}"
        refs[f"{logical_id}.QueueName"] = f"{logical_id}-physical"
    return Resolver(template, refs)


def namespace_and_service(template: Template) -> tuple[str, str]:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    resolve = resolver(template).resolve
    return resolve(variables["POWERTOOLS_METRICS_NAMESPACE"]), resolve(variables["POWERTOOLS_SERVICE_NAME"])


def stack_resources(template: Template) -> dict[str, set[str]]:
    """The dimension values that name a resource of this stack, per AWS dimension."""
    resolve = resolver(template).resolve

    def of_type(kind: str) -> list[str]:
        return [lid for lid, r in template["Resources"].items() if r["Type"] == kind]

    return {
        "FunctionName": {f"{lid}-physical" for lid in of_type("AWS::Serverless::Function")},
        "ApiName": {
            resolve(template["Resources"][lid]["Properties"]["Name"])
            for lid in of_type("AWS::Serverless::Api")
        },
        "ApiId": {f"{lid}-physical" for lid in of_type("AWS::Serverless::HttpApi")},
        "Stage": {resolve({"Ref": "Stage"})},
    }


def problems(template: Template) -> list[str]:
    """Everything a widget or alarm names that nothing emits (empty: no drift)."""
    namespace, service = namespace_and_service(template)
    ours = emitted_by_code(namespace) + emitted_by_metric_filters(template)
    resources = stack_resources(template)
    resolve = resolver(template)
    dashboard_metrics, searches = named_by_dashboards(template, resolve)
    found = []
    for named in [*named_by_alarms(template, resolve), *dashboard_metrics]:
        found.extend(_problems_of(named, ours, resources, service))
    for where, expression in searches:
        found.extend(_search_problems(where, expression, ours, service))
    return found


def _problems_of(
    named: Named, ours: list[Emitted], resources: dict[str, set[str]], service: str
) -> list[str]:
    dimensions = frozenset(named.dimensions)
    label = f"{named.where}: {named.namespace} {named.name} {named.dimensions}"
    if named.namespace.startswith("AWS/"):
        if not any(m.matches(named.namespace, named.name, dimensions) for m in AWS_METRICS):
            return [f"{label}: AWS publishes no such metric with these dimensions"]
        return [
            f"{label}: {key}={value!r} is no resource of this stack"
            for key, value in named.dimensions.items()
            if value not in resources.get(key, {value})
        ]
    if not any(m.matches(named.namespace, named.name, dimensions) for m in ours):
        return [f"{label}: no code or metric filter emits it"]
    if "service" in named.dimensions and named.dimensions["service"] != service:
        return [f"{label}: service must be this stack's ({service})"]
    return []


_SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<terms>[^']*)'")
_TERM = re.compile(r'(\w+)=("(?P<quoted>[^"]*)"|(?P<bare>\S+))')


def _search_problems(where: str, expression: str, ours: list[Emitted], service: str) -> list[str]:
    match = _SEARCH.search(expression)
    if match is None:
        return [f"{where}: unreadable SEARCH {expression!r}"]
    namespace, *dimension_names = [part.strip() for part in match["schema"].split(",")]
    terms = {
        m[1]: (m["quoted"], m["quoted"] is not None) if m["quoted"] is not None else (m["bare"], False)
        for m in _TERM.finditer(match["terms"])
    }
    name, exact = terms.get("MetricName", ("", False))
    dimensions = frozenset(dimension_names)

    def named(m: Emitted) -> bool:  # SEARCH matches a bare term as part of a name
        return m.matches(namespace, name, dimensions) if exact else name in m.name or m.name.startswith(name)

    candidates = [m for m in ours if m.namespace == namespace and m.dimensions == dimensions and named(m)]
    found = [] if candidates and name else [f"{where}: SEARCH {expression!r} finds no emitted metric"]
    if "service" in terms and terms["service"][0] != service:
        found.append(f"{where}: SEARCH service must be this stack's ({service})")
    return found


# ----------------------------------------------------------------------------------------------------------
def test_every_metric_of_the_dashboard_and_the_alarms_is_emitted(cfn_template: Template) -> None:
    assert problems(cfn_template) == []


def test_the_check_reads_the_code_and_sees_what_it_emits() -> None:
    emitted = {(m.name, m.dimensions, m.prefix) for m in emitted_by_code("PartnerAuth")}
    assert ("Rejected", frozenset({"service", "reason"}), False) in emitted  # authorizer, per reason
    assert ("TokenIssued", frozenset({"service"}), False) in emitted
    assert ("TokenError.", frozenset({"service"}), True) in emitted  # an f-string: its prefix
    assert ("SecondsToRotation", frozenset({"service"}), False) in emitted


def test_the_dashboard_and_alarms_are_actually_checked(cfn_template: Template) -> None:
    named, searches = named_by_dashboards(cfn_template, resolver(cfn_template))
    assert len(named) >= 10
    assert len(searches) >= 3
    assert len(named_by_alarms(cfn_template, resolver(cfn_template))) >= 7


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # the authorizer's counts carry a reason: without it the graph is empty
        (
            {
                "Namespace": "PartnerAuth",
                "MetricName": "Rejected",
                "Dimensions": [{"Name": "service", "Value": "partnerauth-test"}],
            },
            "no code or metric filter",
        ),
        # a metric nobody emits (a typo)
        (
            {
                "Namespace": "PartnerAuth",
                "MetricName": "TokensIssued",
                "Dimensions": [{"Name": "service", "Value": "partnerauth-test"}],
            },
            "no code or metric filter",
        ),
        # another stack's (or the old, stack-less) service
        (
            {
                "Namespace": "PartnerAuth",
                "MetricName": "TokenIssued",
                "Dimensions": [{"Name": "service", "Value": "partnerauth"}],
            },
            "this stack's",
        ),
        # the HTTP API's metrics are lower-case 5xx, per ApiId
        (
            {
                "Namespace": "AWS/ApiGateway",
                "MetricName": "5XXError",
                "Dimensions": [
                    {"Name": "ApiId", "Value": {"Ref": "SampleHttpApi"}},
                    {"Name": "Stage", "Value": {"Ref": "Stage"}},
                ],
            },
            "AWS publishes no such metric",
        ),
        # an API name that is not this stack's
        (
            {
                "Namespace": "AWS/ApiGateway",
                "MetricName": "5XXError",
                "Dimensions": [
                    {"Name": "ApiName", "Value": "partnerauth-auth"},
                    {"Name": "Stage", "Value": {"Ref": "Stage"}},
                ],
            },
            "no resource of this stack",
        ),
    ],
)
def test_a_drifted_alarm_is_found(cfn_template: Template, metric: dict[str, Any], expected: str) -> None:
    template = copy.deepcopy(cfn_template)
    template["Resources"]["Drifted"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {**metric, "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1},
    }
    (problem,) = [p for p in problems(template) if p.startswith("Drifted")]
    assert expected in problem
