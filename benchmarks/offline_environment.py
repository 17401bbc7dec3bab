"""What every benchmark script sets up first: the project on ``sys.path``, and AWS pointed at nothing real.

The scripts run as ``python benchmarks/<script>.py``, so this folder is on the path and they import
this module before anything of the project's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Fake credentials and no config files: boto3 calls go to moto (in-process or the local stack), never AWS.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def use_project_paths(*folders: str) -> None:
    """The repository root, the layer, and ``folders`` (relative to the root) become importable."""
    for folder in (ROOT, ROOT / "layers" / "partnerauth", *(ROOT / f for f in folders)):
        sys.path.insert(0, str(folder))


def use_fake_aws() -> None:
    os.environ.update(FAKE_AWS)
    os.environ.pop("AWS_ENDPOINT_URL", None)
