"""Tokens per second with ``private_key_jwt`` (RFC 7523) vs with a client secret, same handler, same run.

Run with ``make bench`` (or ``python benchmarks/bench_private_key_jwt.py``).  One token handler, imported
under the template's environment over one in-memory AWS (moto); three contenders, interleaved round by
round (``cpu_rounds``), so a machine that slows down hits them alike:

* ``secret``: ``client_secret_basic`` (HMAC of the secret, two constant-time comparisons);
* ``pkjwt RS256`` / ``pkjwt ES256``: an assertion signed by the partner (beforehand: signing is the
  partner's cost, not ours), read strictly, checked, verified against the registered key, and recorded
  once in ClientAssertionsTable with a conditional PutItem.

Both paths read the client and the throttle item and sign the same RS256 access token; the assertion path
adds the signature check and one write.  moto is far slower than DynamoDB, so the absolute rates are
moto's; the ratio is what carries over.  CPU time, median of per-round ratios with the interquartile range.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from offline_environment import use_fake_aws, use_project_paths

use_project_paths("functions/token_issuer")
use_fake_aws()

import boto3  # noqa: E402
from cpu_rounds import interleave, microseconds, python_contender, ratio_text  # noqa: E402
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
from tests.token_issuer.assertions import PartnerKey, assertion_form, sign_assertion  # noqa: E402

ISSUER = "https://auth.bench"
CALLS, ROUNDS, WARMUP = 100, 7, 1
FORM = ("Content-Type", "application/x-www-form-urlencoded")
API = ApiIdentity("b", "dev", "us-east-1", "123456789012", "b.execute-api.us-east-1.amazonaws.com")


def event(body: str, *headers: tuple[str, str]) -> dict[str, Any]:
    request = HttpRequest("POST", "/oauth2/token", headers=(FORM, *headers), body=body.encode("ascii"))
    return rest_proxy_event(request, API, "/oauth2/token", {}, "bench", time.time())


def main() -> None:
    context = SimpleNamespace(
        function_name="TokenFunction",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:TokenFunction",
        aws_request_id="bench",
    )
    with mock_aws(), Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
        dynamodb, kms = boto3.client("dynamodb"), boto3.client("kms")
        secrets = boto3.client("secretsmanager")
        tables = create_all_tables(dynamodb)
        kms_key_id = create_kms_key_from_template(kms)
        pepper_arn = create_secret_from_template(secrets)
        KeyStore(tables["SigningKeysTable"], dynamodb, kms, kms_key_id).bootstrap(
            generate_signing_key(KeySpec.RS256), generate_signing_key(KeySpec.RS256), "RS256", time.time()
        )
        pepper = secrets.get_secret_value(SecretId=pepper_arn)["SecretString"]
        registry = ClientRegistry(tables["ClientsTable"], dynamodb, SecretHasher(pepper))
        metadata: dict[str, Any] = {
            "scopes": ["orders:read"],
            "audiences": ["partner-api"],
            "token_lifetime": 900,
        }
        with_secret = registry.create(client_name="Secret", **metadata)
        partners = {
            "RS256": PartnerKey(generate_signing_key(KeySpec.RS256)),
            "ES256": PartnerKey(generate_signing_key(KeySpec.ES256)),
        }
        keyed = {
            alg: registry.create_with_keys(client_name=f"Keyed {alg}", jwks=key.jwks(), **metadata)
            for alg, key in partners.items()
        }
        refs = {
            **tables,
            "SigningKeyEncryptionKey": kms_key_id,
            "ClientSecretPepper": pepper_arn,
            "AuthApi": "b",
        }
        # Each contender's client asks for CALLS x (ROUNDS + WARMUP) tokens within about a minute: the
        # template's highest per-client token rate, so that what is timed is issuance, never a 429.
        parameters = {"IssuerUrl": ISSUER, "TokenRatePerMinute": "1500"}
        os.environ.update(function_environment("TokenFunction", refs, parameters))
        app = importlib.import_module("token_issuer.app")

        basic = base64.b64encode(f"{with_secret.client.client_id}:{with_secret.secret}".encode()).decode()
        secret_event = event("grant_type=client_credentials", ("Authorization", "Basic " + basic))

        def assertion_events(alg: str) -> Iterator[dict[str, Any]]:
            # every assertion is single use: a fresh one per call, signed before the clock starts
            key, client_id = partners[alg], keyed[alg].client_id
            count = CALLS * (ROUNDS + WARMUP) + 1
            signed = [sign_assertion(key, client_id, ISSUER, time.time(), lifetime=300) for _ in range(count)]
            return iter([event(urlencode(assertion_form(a))) for a in signed])

        streams = {alg: assertion_events(alg) for alg in partners}

        def call(next_event: Any) -> None:
            response = app.lambda_handler(next_event(), context)
            if response["statusCode"] != 200:
                raise SystemExit(f"the handler refused a benchmark request: {response['body']}")

        call(lambda: secret_event)
        for stream in streams.values():
            call(lambda stream=stream: next(stream))
        rounds = interleave(
            {
                "secret": python_contender(lambda: call(lambda: secret_event)),
                "pkjwt RS256": python_contender(lambda: call(lambda: next(streams["RS256"]))),
                "pkjwt ES256": python_contender(lambda: call(lambda: next(streams["ES256"]))),
            },
            calls=CALLS,
            rounds=ROUNDS,
            warmup=WARMUP,
        )

    print(f"{'client authentication':24} {'CPU per token':>18} {'tokens/s':>9} {'CPU vs secret':>22}")
    for name in ("secret", "pkjwt RS256", "pkjwt ES256"):
        spread = rounds.time(name)
        print(
            f"{name:24} {microseconds(spread):>18} {1 / spread.median:9.0f} "
            f"{ratio_text(rounds.ratio(name, 'secret')):>22}"
        )
    print(f"(moto DynamoDB in-process; {ROUNDS} interleaved rounds of {CALLS} tokens each, CPU time)")


if __name__ == "__main__":
    main()
