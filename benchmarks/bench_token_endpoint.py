"""Tokens issued per second through the token endpoint's handler vs bare ``jwt.encode`` + one GetItem.

Run with ``make bench`` (or ``python benchmarks/bench_token_endpoint.py``).  Both sides run in the same
process against the same in-memory DynamoDB (moto), sign with the same RS256 key, and are measured in
the same run, so the ratio holds on any machine even though moto is far slower than DynamoDB.

What the handler does per token that the baseline does not: parse and validate the request, a throttle
read (AuthAttemptsTable), HMAC of the secret and two constant-time comparisons, scope/audience checks,
Powertools routing, a log line and a metric.  The signing key comes from the issuer's short in-memory
cache, so KMS is called once for the whole run.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import os
import time
import timeit
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from offline_environment import use_fake_aws, use_project_paths

use_project_paths("functions/token_issuer")
use_fake_aws()

import boto3  # noqa: E402
import jwt  # noqa: E402
from moto import mock_aws  # noqa: E402

from local.proxy_event import ApiIdentity, HttpRequest, rest_proxy_event  # noqa: E402
from partnerauth.algorithms import KeySpec  # noqa: E402
from partnerauth.client_registry import ClientRegistry  # noqa: E402
from partnerauth.client_secrets import SecretHasher  # noqa: E402
from partnerauth.key_store import KeyStore  # noqa: E402
from partnerauth.keys import generate_signing_key  # noqa: E402
from tests.support.template import (  # noqa: E402
    create_all_tables,
    create_kms_key_from_template,
    create_secret_from_template,
    function_environment,
)

ISSUER = "https://auth.bench"
NUMBER, REPEAT = 300, 3  # bounded: 3 x 3 rounds of 300 tokens


def rate(func: Any) -> float:
    """Tokens per second: best of REPEAT rounds of NUMBER calls (the least disturbed round)."""
    return NUMBER / min(timeit.repeat(func, number=NUMBER, repeat=REPEAT))


def main() -> None:
    context = SimpleNamespace(
        function_name="TokenFunction",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        aws_request_id="bench",
    )
    with mock_aws(), Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
        # Log lines and metrics go to /dev/null: they are still formatted and written, as in Lambda.
        dynamodb, kms = boto3.client("dynamodb"), boto3.client("kms")
        secrets = boto3.client("secretsmanager")
        tables = create_all_tables(dynamodb)
        kms_key_id = create_kms_key_from_template(kms)
        pepper_arn = create_secret_from_template(secrets)
        store = KeyStore(tables["SigningKeysTable"], dynamodb, kms, kms_key_id)
        store.bootstrap(
            generate_signing_key(KeySpec.RS256), generate_signing_key(KeySpec.RS256), "RS256", time.time()
        )
        pepper = secrets.get_secret_value(SecretId=pepper_arn)["SecretString"]
        registry = ClientRegistry(tables["ClientsTable"], dynamodb, SecretHasher(pepper))
        issued = registry.create(
            client_name="Bench", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=900
        )
        refs = {
            **tables,
            "SigningKeyEncryptionKey": kms_key_id,
            "ClientSecretPepper": pepper_arn,
            "AuthApi": "b",
        }
        os.environ.update(function_environment("TokenFunction", refs, {"IssuerUrl": ISSUER}))
        app = importlib.import_module("token_issuer.app")

        credentials = base64.b64encode(f"{issued.client.client_id}:{issued.secret}".encode()).decode()
        request = HttpRequest(
            "POST",
            "/oauth2/token",
            headers=(
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", "Basic " + credentials),
            ),
            body=b"grant_type=client_credentials&scope=orders%3Aread",
        )
        api = ApiIdentity("b", "dev", "us-east-1", "123456789012", "b.execute-api.us-east-1.amazonaws.com")
        event = rest_proxy_event(request, api, "/oauth2/token", {}, "bench", time.time())
        first = app.lambda_handler(event, context)
        if first["statusCode"] != 200:
            raise SystemExit(f"the handler refused the benchmark request: {first['statusCode']}")

        key = store.current_signing_key()
        client_key = {"client_id": {"S": issued.client.client_id}}

        def bare() -> None:
            dynamodb.get_item(TableName=tables["ClientsTable"], Key=client_key, ConsistentRead=True)
            now = int(time.time())
            claims = {"iss": ISSUER, "sub": "c", "aud": "partner-api", "exp": now + 900, "iat": now}
            claims |= {"nbf": now, "jti": "bench", "client_id": "c", "scope": "orders:read"}
            jwt.encode(claims, key.private_key, algorithm="RS256", headers={"typ": "at+jwt", "kid": key.kid})

        attempts_key = {"client_id": {"S": issued.client.client_id}}

        def same_io() -> None:
            # The handler's I/O without the handler: the throttle read as well (informative only).
            dynamodb.get_item(TableName=tables["AuthAttemptsTable"], Key=attempts_key, ConsistentRead=True)
            bare()

        handler_rate = rate(lambda: app.lambda_handler(event, context))
        bare_rate = rate(bare)
        same_io_rate = rate(same_io)

    print(f"{'handler tokens/s':>17} {'jwt.encode+GetItem/s':>21} {'handler/bare':>13}")
    print(f"{handler_rate:17.0f} {bare_rate:21.0f} {handler_rate / bare_rate:13.2f}")
    print(
        f"informative: jwt.encode + 2 GetItems (the handler's reads) {same_io_rate:.0f}/s; "
        f"handler/that {handler_rate / same_io_rate:.2f}"
    )
    print("(moto DynamoDB in-process, RS256 2048; best of 3 rounds of 300 tokens each)")


if __name__ == "__main__":
    main()
