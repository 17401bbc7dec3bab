"""Verifications per second: our verifier vs bare ``jwt.decode`` vs the raw signature check.

Run with ``make bench`` (or ``python benchmarks/bench_verify.py``).  All three are
measured in the same run on the same token, so the ratios hold on any machine.
Target (issue 3): our verifier >= 0.9x bare ``jwt.decode``.
"""

from __future__ import annotations

import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "partnerauth"))

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from partnerauth import base64url
from partnerauth.access_token import AccessTokenRequest, sign_access_token
from partnerauth.algorithms import KeySpec
from partnerauth.jwk import build_jwks
from partnerauth.key_source import StaticKeySource
from partnerauth.keys import generate_signing_key
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

ISSUER, AUDIENCE, JWKS_URI = "https://auth.bench", "https://api.bench", "https://auth.bench/jwks"
NUMBER, REPEAT = 2000, 5  # bounded: at most 3 x 3 x 5 x 2000 calls


def rate(func: object) -> float:
    """Calls per second: best of REPEAT rounds of NUMBER calls (the least disturbed round)."""
    rounds = timeit.repeat(func, number=NUMBER, repeat=REPEAT)  # type: ignore[arg-type]
    return NUMBER / min(rounds)


def main() -> None:
    columns = ("verifier/s", "jwt.decode/s", "raw sig/s", "ours/decode", "ours/raw")
    widths = (11, 13, 10, 12, 9)
    print(f"{'alg':6} " + " ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    ratios = []
    for spec in (KeySpec.RS256, KeySpec.ES256, KeySpec.EDDSA):
        key = generate_signing_key(spec)
        request = AccessTokenRequest(ISSUER, "bench-client", AUDIENCE, ("orders:read",), 300)
        token = sign_access_token(key, request, time.time()).token
        public = key.private_key.public_key()
        policy = IssuerPolicy(ISSUER, JWKS_URI, frozenset({AUDIENCE}), frozenset({key.alg}))
        verifier = AccessTokenVerifier([policy], StaticKeySource({JWKS_URI: build_jwks([key.public_jwk()])}))
        head, payload, sig = token.split(".")
        message, signature = f"{head}.{payload}".encode(), base64url.decode(sig)

        def raw_check(
            public: object = public, message: bytes = message, signature: bytes = signature
        ) -> None:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(public, ec.EllipticCurvePublicKey):
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                public.verify(der, message, ec.ECDSA(hashes.SHA256()))
            else:
                public.verify(signature, message)  # type: ignore[attr-defined]

        ours = rate(lambda verifier=verifier, token=token: verifier.verify(token))
        bare = rate(
            lambda token=token, public=public, alg=key.alg: jwt.decode(
                token, public, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER
            )
        )
        raw = rate(raw_check)
        ratios.append(ours / bare)
        print(f"{key.alg:6} {ours:11.0f} {bare:13.0f} {raw:10.0f} {ours / bare:11.2f}x {ours / raw:8.2f}x")
    worst = min(ratios)
    verdict = "meets" if worst >= 0.9 else "MISSES"
    median = statistics.median(ratios)
    print(f"worst ours/jwt.decode = {worst:.2f}x (target >= 0.90x: {verdict}); median {median:.2f}x")


if __name__ == "__main__":
    main()
