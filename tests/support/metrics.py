"""What a handler's Powertools Metrics printed: Embedded Metric Format lines on stdout."""

from __future__ import annotations

import json


def emitted(out: str) -> dict[str, float]:
    """Metric name -> total value, from the EMF lines in ``out`` (a capsys capture)."""
    values: dict[str, float] = {}
    for line in (json.loads(text) for text in out.splitlines() if text.startswith("{")):
        if "_aws" in line:
            for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = line[metric["Name"]]
                values[metric["Name"]] = values.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return values
