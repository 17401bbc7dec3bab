"""Which metrics exist: the ones our code emits (read from its source), the template's metric filters', AWS's.

Our code emits through Powertools `Metrics`: namespace POWERTOOLS_METRICS_NAMESPACE (Globals), the default
dimension `service`, and whatever `add_dimension` the emitting function adds. The source is read, not run, so
every `add_metric` of every handler counts, including those of paths no test reaches; an f-string name counts
as its constant prefix (`f"TokenError.{code}"` -> `TokenError.`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.template import Resolver, Template

ROOT = Path(__file__).resolve().parents[2]
# Every module of every function package: a handler may count through a helper module (the token function's
# MalformedClientItems, client_authentication.py).
HANDLER_SOURCES = sorted((ROOT / "functions").glob("*/*/*.py"))


@dataclass(frozen=True)
class Emitted:
    namespace: str
    name: str  # exact name, or a prefix when `prefix`
    dimensions: frozenset[str]
    prefix: bool = False
    source: str = ""

    def matches(self, namespace: str, name: str, dimensions: frozenset[str]) -> bool:
        named = name.startswith(self.name) if self.prefix else name == self.name
        return namespace == self.namespace and named and dimensions == self.dimensions


def _strings(node: ast.expr) -> list[str] | None:
    """The string constants an expression can be (a constant, or a conditional between constants)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _module_constant(name: str, module: ast.Module | None) -> list[str] | None:
    """The constant a module-level ``NAME = "..."`` / ``NAME: Final = "..."`` holds."""
    for statement in module.body if module is not None else []:
        match statement:
            case ast.AnnAssign(target=ast.Name(id=target), value=value) if (
                target == name and value is not None
            ):
                return _strings(value)
            case ast.Assign(targets=targets, value=value) if any(
                isinstance(t, ast.Name) and t.id == name for t in targets
            ):
                return _strings(value)
    return None


def _metric_names(
    node: ast.expr, function: ast.FunctionDef, module: ast.Module | None = None
) -> list[tuple[str, bool]] | None:
    """(name, is a prefix) for every name ``node`` can be: a constant, an f-string's constant head, a local
    variable only ever assigned constants, or a module-level constant."""
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return [(str(node.values[0].value), True)]
    if isinstance(node, ast.Name):
        values: list[str] = []
        for assign in (n for n in ast.walk(function) if isinstance(n, ast.Assign)):
            if any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets):
                strings = _strings(assign.value)
                if strings is None:
                    return None
                values.extend(strings)
        if not values:
            values = _module_constant(node.id, module) or []
        return [(value, False) for value in values] or None
    strings = _strings(node)
    return None if strings is None else [(value, False) for value in strings]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _calls(node: ast.AST, method: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == method
    ]


def emitted_by_code(namespace: str) -> list[Emitted]:
    """Every metric the handlers add, with the dimensions of its function (plus Powertools' `service`)."""
    found: list[Emitted] = []
    for path in HANDLER_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            extra = set()
            for call in _calls(function, "add_dimension"):
                value = _keyword(call, "name")
                assert isinstance(value, ast.Constant), f"{path}: a dimension name must be a constant"
                extra.add(str(value.value))
            for call in _calls(function, "add_metric"):
                value = _keyword(call, "name")
                names = _metric_names(value, function, tree) if value is not None else None
                assert names, (
                    f"{path}:{call.lineno}: a metric name must be a constant, f-string or constant variable"
                )
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                dimensions = frozenset({"service", *extra})
                found.extend(Emitted(namespace, name, dimensions, prefix, where) for name, prefix in names)
            if any(_keyword(call, "capture_cold_start_metric") for call in _calls(function, "log_metrics")):
                found.append(Emitted(namespace, "ColdStart", frozenset({"service", "function_name"})))
    return found


def emitted_by_metric_filters(template: Template) -> list[Emitted]:
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Logs::MetricFilter":
            for transformation in resource["Properties"]["MetricTransformations"]:
                dimensions = frozenset(d["Key"] for d in transformation.get("Dimensions", []))
                found.append(
                    Emitted(
                        transformation["MetricNamespace"],
                        transformation["MetricName"],
                        dimensions,
                        source=logical_id,
                    )
                )
    return found


# What AWS publishes, for the resources this template has (documented metric names and their dimension sets).
_REST = frozenset({"ApiName", "Stage"})
_HTTP = frozenset({"ApiId", "Stage"})
AWS_METRICS = [
    *(
        Emitted("AWS/Lambda", name, frozenset({"FunctionName"}))
        for name in ("Invocations", "Errors", "Duration", "Throttles")
    ),
    *(
        Emitted("AWS/ApiGateway", name, _REST)
        for name in ("Count", "4XXError", "5XXError", "Latency", "IntegrationLatency")
    ),
    *(
        Emitted("AWS/ApiGateway", name, _HTTP)
        for name in ("Count", "4xx", "5xx", "Latency", "IntegrationLatency")
    ),
    *(
        Emitted("AWS/SQS", name, frozenset({"QueueName"}))
        for name in ("ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent")
    ),
]


@dataclass(frozen=True)
class Named:
    """A metric a widget or an alarm names."""

    where: str
    namespace: str
    name: str
    dimensions: dict[str, Any]


def named_by_alarms(template: Template, resolver: Resolver) -> list[Named]:
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        metrics = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        if "MetricName" in props:
            metrics.append(props)
        for metric in metrics:
            dimensions = {d["Name"]: resolver.resolve(d["Value"]) for d in metric.get("Dimensions", [])}
            found.append(Named(logical_id, metric["Namespace"], metric["MetricName"], dimensions))
    return found


def named_by_dashboards(template: Template, resolver: Resolver) -> tuple[list[Named], list[tuple[str, str]]]:
    """Metrics of the dashboards' widgets, and their SEARCH expressions (where, expression)."""
    import json

    named, searches = [], []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        body = json.loads(resolver.resolve(resource["Properties"]["DashboardBody"]))
        for widget in body["widgets"]:
            for row in widget.get("properties", {}).get("metrics", []):
                where = f"{logical_id}: {widget['properties'].get('title')}"
                fields = [item for item in row if not isinstance(item, dict)]
                options = [item for item in row if isinstance(item, dict)]
                if not fields:
                    expression = options[0]["expression"]
                    if "SEARCH(" in expression:
                        searches.append((where, expression))
                    continue
                assert "..." not in fields, f"{where}: write every metric out in full"
                assert "." not in fields, f"{where}: write every metric out in full"
                namespace, name, *pairs = fields
                named.append(Named(where, namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return named, searches
