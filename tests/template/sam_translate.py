"""Translate a SAM template into the CloudFormation SAM would deploy; run by the SAM CLI's interpreter.

    .venv-sam/bin/python tests/template/sam_translate.py template.yaml  > translated.json

`aws-sam-translator` lives in `.venv-sam` (its pins conflict with the project's), so the tests run this file
there (tests/template/conftest.py) and read the JSON it prints. Local `CodeUri`/`ContentUri` paths become
`s3://` URIs first, as `sam package` would make them; nothing reaches AWS (the managed-policy map is empty:
the template names no managed policy by name).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform  # type: ignore[import-not-found, unused-ignore]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-not-found, unused-ignore]


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def translate(text: str) -> dict[str, Any]:
    template = yaml_parse(text)
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://artifacts/{properties[key]}"
    translated: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return translated


if __name__ == "__main__":
    json.dump(translate(Path(sys.argv[1]).read_text(encoding="utf-8")), sys.stdout, default=str)
