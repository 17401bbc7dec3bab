"""The template as CloudFormation will see it: translated by SAM's own translator (`aws-sam-translator`).

The translator is installed in `.venv-sam` only, so it runs there, in a subprocess
(tests/template/sam_translate.py), once per session, offline (fake credentials, a fixed region). Without
`.venv-sam` these tests skip, unless PARTNERAUTH_REQUIRE_BUILD is set (as `make test` does): then they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
TRANSLATE = Path(__file__).with_name("sam_translate.py")
OFFLINE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "PATH": os.environ.get("PATH", ""),
}


def translate(template: Path) -> dict[str, Any]:
    if not SAM_PYTHON.is_file():
        message = "no .venv-sam (aws-sam-translator): run `make tools`"
        if os.environ.get("PARTNERAUTH_REQUIRE_BUILD"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(  # noqa: S603 - our own interpreter and script, no shell
        [str(SAM_PYTHON), str(TRANSLATE), str(template)],
        capture_output=True,
        text=True,
        env=OFFLINE,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        pytest.fail(f"SAM could not translate {template.name}: {done.stderr.strip().splitlines()[-1:]}")
    translated: dict[str, Any] = json.loads(done.stdout)
    return translated


@pytest.fixture(scope="session")
def translated_template() -> dict[str, Any]:
    """template.yaml after the SAM transform: the resources CloudFormation creates."""
    return translate(ROOT / "template.yaml")
