"""Each function reads exactly the environment variables template.yaml gives it (issue 7).

Every handler is imported in a fresh interpreter with its deployed environment (resolved from the
template) and ``os.environ`` replaced by a mapping that records every name the code reads.  What the
template sets but the code never reads is dead configuration; what the code reads but the template
does not set must be an optional setting that DESIGN.md documents.  Reading happens at import (the
house rule: settings are read once, at cold start), so the import is all there is to observe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.template import Template, function_environment, resource

ROOT = Path(__file__).resolve().parents[1]
REFS = {
    "AuthApi": "authapi123",
    "SampleApi": "sampleapi1",
    "SigningKeyEncryptionKey": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ClientsTable": "clients",
    "SigningKeysTable": "signing-keys",
    "AuthAttemptsTable": "auth-attempts",
    "ClientAssertionsTable": "client-assertions",
    "ApisTable": "apis",
    "RevocationsTable": "revocations",
    "AuditTable": "partnerauth-audit",
    "ClientSecretPepper": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pepper-AbCdEf",
}
OPTIONAL_PARAMETERS = {"ExternalIssuers": "[]"}
# Read when present, with a default when not; DESIGN.md documents each.
OPTIONAL_SETTINGS = {
    "TokenFunction": {"CLIENT_ASSERTION_MAX_AGE"},
    "AuthorizerFunction": {"HTTP_API_RESPONSE"},
    "KeyRotationFunction": {"SIGNING_KEY_CACHE_TTL"},
}
# Set by Globals for Powertools itself, or by the Lambda runtime: not the functions' own settings.
PLATFORM_PREFIXES = ("AWS_", "POWERTOOLS_", "_X_AMZN", "_HANDLER", "LAMBDA_")

RECORDER = r"""
import collections.abc, json, os, sys

OURS = tuple(sys.argv[2:])  # the project's code: only reads made there count
PLUMBING = (os.__file__, collections.abc.__file__, "_collections_abc.py")

class RecordingEnviron(collections.abc.MutableMapping):
    def __init__(self, data):
        self._data, self.read = data, set()
    def _note(self, key):
        frame = sys._getframe(2)
        # skip the mapping machinery (frozen modules report "<frozen ...>" as their file)
        while frame is not None and frame.f_code.co_filename.startswith("<") or (
            frame is not None and frame.f_code.co_filename.endswith(PLUMBING)
        ):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename.startswith(OURS):
            self.read.add(key)
    def __getitem__(self, key):
        self._note(key)
        return self._data[key]
    def __contains__(self, key):
        self._note(key)
        return key in self._data
    def __setitem__(self, key, value):
        self._data[key] = value
    def __delitem__(self, key):
        del self._data[key]
    def __iter__(self):
        return iter(self._data)
    def __len__(self):
        return len(self._data)
    def copy(self):
        return dict(self._data)

recording = RecordingEnviron(os.environ)
os.environ = recording
__import__(sys.argv[1])
print(json.dumps(sorted(recording.read)))
"""


def functions(template: Template) -> dict[str, str]:
    return {
        logical_id: str(item["Properties"]["Handler"]).rsplit(".", 1)[0]
        for logical_id, item in template["Resources"].items()
        if item["Type"] == "AWS::Serverless::Function"
    }


def read_at_import(module: str, env: dict[str, str]) -> set[str]:
    paths = ["layers/partnerauth", *(str(p.relative_to(ROOT)) for p in (ROOT / "functions").iterdir()), "."]
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in paths),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: an accidental call fails at once
        "POWERTOOLS_METRICS_DISABLED": "true",
        **env,
    }
    completed = subprocess.run(  # noqa: S603 - our own interpreter and modules
        [sys.executable, "-c", RECORDER, module, str(ROOT / "functions"), str(ROOT / "layers")],
        cwd=ROOT,
        env=process_env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    return set(json.loads(completed.stdout.decode().strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "logical_id",
    [
        "TokenFunction",
        "JwksFunction",
        "AuthorizerFunction",
        "KeyRotationFunction",
        "SampleApiFunction",
        "AuditRecorderFunction",
    ],
)
def test_each_function_reads_exactly_the_variables_the_template_sets(
    cfn_template: Template, logical_id: str
) -> None:
    resource(cfn_template, logical_id, "AWS::Serverless::Function")
    env = function_environment(logical_id, REFS, OPTIONAL_PARAMETERS, cfn_template)
    if "JWKS_URI" in env:  # the authorizer fetches its JWKS at import: point it at a closed loopback port
        env["JWKS_URI"] = "http://127.0.0.1:9/.well-known/jwks.json"
    own = {name for name in env if not name.startswith(PLATFORM_PREFIXES)}

    read = read_at_import(functions(cfn_template)[logical_id], env)

    assert own - read == set(), f"{logical_id}: set by the template, never read"
    assert read - own <= OPTIONAL_SETTINGS.get(logical_id, set()), f"{logical_id}: read, not set"


def test_the_optional_settings_are_documented() -> None:
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    for names in OPTIONAL_SETTINGS.values():
        for name in names:
            assert f"`{name}`" in design, name
