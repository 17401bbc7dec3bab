"""The process environment that points every AWS SDK call at the local endpoint, never at AWS.

Fake credentials, a fixed region, no profile or config file, no instance metadata, and
``AWS_ENDPOINT_URL`` (honoured by every boto3 client, including those the handlers create at
import) set to the local moto server.  Service-specific endpoint variables a developer may have
exported are removed, so none of them can send a call elsewhere.  X-Ray tracing and EMF metrics
are switched off (nothing collects them locally); Powertools logs stay on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Final

from .config import REGION

OFFLINE_ENVIRONMENT: Final[Mapping[str, str]] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
REMOVED: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_LAMBDA_FUNCTION_NAME",
)


def use_local_endpoint(endpoint_url: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Make ``environ`` (the process environment by default) talk to ``endpoint_url`` only."""
    env = os.environ if environ is None else environ
    for name in [n for n in env if n.startswith("AWS_ENDPOINT_URL_") or n in REMOVED]:
        del env[name]
    env.update(OFFLINE_ENVIRONMENT)
    env["AWS_ENDPOINT_URL"] = endpoint_url
