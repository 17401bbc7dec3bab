"""The verification side of the layer never imports boto3/botocore (nor requests).

The authorizer imports only these modules; boto3 would add a large share of its cold start
(DESIGN.md: "Verification-side modules never import boto3").  Checked in a fresh interpreter,
so that nothing another test imported can hide or cause a hit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "partnerauth"

VERIFICATION_SIDE = [
    "partnerauth",
    "partnerauth.errors",
    "partnerauth.algorithms",
    "partnerauth.base64url",
    "partnerauth.jwk",
    "partnerauth.key_source",
    "partnerauth.compact",
    "partnerauth.verification",
    "partnerauth.route_policy",
    "partnerauth.jwks_cache",
    "partnerauth.jwks_fetch",
]
REQUIRED = {"partnerauth.jwks_cache", "partnerauth.jwks_fetch"}
FORBIDDEN_ROOTS = {"boto3", "botocore", "requests", "urllib3"}

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    # building the fetcher and the cache must not pull anything heavy in either
    if name == "partnerauth.jwks_cache":
        from partnerauth.jwks_cache import JwksCache
        from partnerauth.jwks_fetch import HttpJwksFetcher
        JwksCache(HttpJwksFetcher())
print(json.dumps(sorted(sys.modules)))
"""


def _present(module: str) -> bool:
    sys.path.insert(0, str(LAYER))
    try:
        return find_spec(module) is not None
    finally:
        sys.path.remove(str(LAYER))


def test_verification_modules_do_not_import_boto3() -> None:
    modules = [m for m in VERIFICATION_SIDE if m in REQUIRED or _present(m)]
    # boto3 must be importable here, or the check below could not fail
    assert find_spec("boto3") is not None
    env = {**os.environ, "PYTHONPATH": str(LAYER)}
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", PROBE, *modules],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    loaded = json.loads(result.stdout)
    assert set(modules) <= set(loaded)
    assert sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_ROOTS) == []
