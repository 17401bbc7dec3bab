"""What our figures are measured against, built once for every benchmark.

- **The limit**: the raw ``cryptography`` signature check of the same token with the key object in hand
  (``raw_signature_check``).  No verifier written in Python can beat it; its speed does not depend on any
  JWT library's release.
- **The peer**: awslabs/aws-jwt-verify's ``JwtVerifier.verifySync`` (Node), from ``benchmarks/node``
  (installed by ``npm ci`` from the pinned lock file), driven round by round from here (``NodePeer``).
- **PyJWT**, informative only (its speed changes between its releases): its version is printed beside it.

The tokens are signed by our own ``sign_access_token`` with keys generated for this run (never stored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offline_environment import ROOT, use_project_paths

use_project_paths()

import jwt  # noqa: E402
from cpu_rounds import Contender  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

from partnerauth import base64url  # noqa: E402
from partnerauth.access_token import AccessTokenRequest, sign_access_token  # noqa: E402
from partnerauth.algorithms import KeySpec  # noqa: E402
from partnerauth.jwk import build_jwks  # noqa: E402
from partnerauth.keys import SigningKey, generate_signing_key  # noqa: E402

ISSUER = "https://auth.bench.test"
AUDIENCE = "partner-api"
JWKS_URI = f"{ISSUER}/.well-known/jwks.json"
LEEWAY, MAX_LIFETIME = 60, 24 * 3600  # the verifier's defaults; the Node peer is given the same
SPECS = (KeySpec.RS256, KeySpec.ES256, KeySpec.EDDSA)
NODE_DIR = ROOT / "benchmarks" / "node"
# The JSON the Lambda runtime writes of a handler's answer: awslambdaric's marshaller on python3.12+ (the
# template's python3.13) keeps one encoder with ensure_ascii off (lambda_runtime_marshaller.Encoder).
RUNTIME_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=True)


def runtime_json(answer: object) -> str:
    return RUNTIME_ENCODER.encode(answer)


@dataclass(frozen=True, slots=True)
class BenchToken:
    """One signed access token and what verifies it."""

    alg: str
    key: SigningKey
    token: str
    jwks: dict[str, Any]

    @property
    def public_key(self) -> Any:
        return self.key.private_key.public_key()


def bench_token(
    spec: KeySpec, *, lifetime: int = 3600, scopes: tuple[str, ...] = ("orders:read",)
) -> BenchToken:
    key = generate_signing_key(spec)
    request = AccessTokenRequest(ISSUER, "partner-1", AUDIENCE, scopes, lifetime)
    token = sign_access_token(key, request, time.time()).token
    return BenchToken(key.alg, key, token, build_jwks([key.public_jwk()]))


def bench_tokens() -> list[BenchToken]:
    """RS256 (2048), ES256 and EdDSA tokens, one fresh key each."""
    return [bench_token(spec) for spec in SPECS]


def raw_signature_check(sample: BenchToken) -> Callable[[], None]:
    """The signature check alone: key, padding and hash objects built once, the signature decoded once.
    For ES256 the JWS r||s form is converted to DER per call, since ``cryptography`` only takes DER."""
    head, payload, signature_segment = sample.token.split(".")
    message = f"{head}.{payload}".encode("ascii")
    signature = base64url.decode(signature_segment)
    public = sample.public_key
    if isinstance(public, rsa.RSAPublicKey):
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        return lambda: public.verify(signature, message, pkcs1, sha256)
    if isinstance(public, ec.EllipticCurvePublicKey):
        ecdsa = ec.ECDSA(hashes.SHA256())

        def check() -> None:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), message, ecdsa)

        return check
    assert isinstance(public, ed25519.Ed25519PublicKey)
    return lambda: public.verify(signature, message)


def pyjwt_decode(sample: BenchToken) -> Callable[[], object]:
    """Bare ``jwt.decode`` with the public key in hand (informative: PyJWT's speed varies by release)."""
    public, token, alg = sample.public_key, sample.token, sample.alg
    return lambda: jwt.decode(token, public, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)


def pyjwt_version() -> str:
    return f"PyJWT {jwt.__version__}"


class NodePeer:
    """aws-jwt-verify in a Node child process (``benchmarks/node/peer.js``), one contender per token.

    ``NodePeer.start()`` answers ``None`` and prints one line saying why when Node, npm or the install
    (``npm ci`` from the pinned lock file, when ``node_modules`` is missing) is unavailable."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        version = self._ask({"op": "version"})
        self.version = f"aws-jwt-verify {version['peer']} on Node {version['node']}"

    @classmethod
    def start(cls) -> NodePeer | None:
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            print("skip  aws-jwt-verify: node or npm is not installed (Node 18+ compares us with the peer)")
            return None
        if not (NODE_DIR / "node_modules" / "aws-jwt-verify").is_dir():
            install = subprocess.run(  # noqa: S603 - npm from PATH, the pinned lock file
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if install.returncode != 0:
                lines = [line for line in install.stderr.splitlines() if "complete log" not in line]
                reason = (lines or ["no output"])[0]
                print(f"skip  aws-jwt-verify: `npm ci` in benchmarks/node failed (offline?): {reason}")
                return None
        process = subprocess.Popen(  # noqa: S603 - our own script
            [node, str(NODE_DIR / "peer.js")],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("NODE_OPTIONS")},
        )
        return cls(process)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._process.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"aws-jwt-verify peer: {answer['error']}")
        return answer

    def add(self, sample: BenchToken) -> None:
        """Contenders ``<alg>/verifySync`` and ``<alg>/raw`` (Node's own signature check)."""
        self._ask(
            {
                "op": "setup",
                "name": sample.alg,
                "token": sample.token,
                "jwks": sample.jwks,
                "issuer": ISSUER,
                "audience": AUDIENCE,
                "leeway": LEEWAY,
                "maxLifetime": MAX_LIFETIME,
            }
        )

    def contender(self, name: str) -> Contender:
        def run(calls: int) -> float:
            return float(self._ask({"op": "run", "name": name, "calls": calls})["cpu"])

        return run

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=10)
