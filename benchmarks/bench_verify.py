"""Our verifier against the limit (raw ``cryptography``) and the peer (aws-jwt-verify ``verifySync``).

Run with ``make bench`` (or ``python benchmarks/bench_verify.py``).  Same tokens, same keys, every
contender in every round (``cpu_rounds.interleave``), CPU time, median of the rounds and the spread.

Targets (issue 16, item 2), each printed beside its figure:
- ``peer/ours`` >= 1.00x on RS256, ES256 and EdDSA: aws-jwt-verify's time over ours, so above 1 we are
  faster, with every strictness check of ours kept (the Node side gets a ``customJwtCheck`` doing the
  checks it does not do by default: typ, required claims, lifetime cap).
- ``of limit`` >= 0.60 on RS256: raw signature check time over our verifier's time.

Then, when valgrind is installed, the instructions of one verification and of one raw signature check.
"""

from __future__ import annotations

import json
import os
import sys
from functools import partial

import callgrind
import cryptography
from baselines import (
    AUDIENCE,
    ISSUER,
    JWKS_URI,
    LEEWAY,
    MAX_LIFETIME,
    BenchToken,
    NodePeer,
    bench_tokens,
    pyjwt_decode,
    pyjwt_version,
    raw_signature_check,
)
from cpu_rounds import Contender, interleave, microseconds, python_contender, ratio_text, verdict
from offline_environment import ROOT

from partnerauth.key_source import StaticKeySource
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy

CALLS, ROUNDS = 400, 21  # per contender: 21 rounds x 400 calls, after one warm-up round
PEER_TARGET, LIMIT_TARGET = 1.0, 0.60


def our_verifier(sample: BenchToken) -> AccessTokenVerifier:
    policy = IssuerPolicy(
        ISSUER, JWKS_URI, frozenset({AUDIENCE}), frozenset({sample.alg}), max_lifetime=MAX_LIFETIME
    )
    return AccessTokenVerifier([policy], StaticKeySource({JWKS_URI: sample.jwks}), leeway=LEEWAY)


def main() -> int:
    samples = bench_tokens()
    peer = NodePeer.start()
    print(
        f"== verifier: CPU per verification (median \u00b1 half IQR, {ROUNDS} interleaved rounds x {CALLS}); "
        f"limit: raw cryptography {cryptography.__version__}; {pyjwt_version()}; "
        f"{peer.version if peer else 'aws-jwt-verify skipped'}"
    )
    columns = ("ours", "raw crypto", "aws-jwt-verify", "node raw", "jwt.decode")
    print(f"{'alg':6} " + " ".join(f"{name:>16}" for name in columns))
    missed = []
    results = []
    try:
        for sample in samples:
            verifier = our_verifier(sample)
            verifier.verify(sample.token)  # a rejection here would make every figure meaningless
            contenders: dict[str, Contender] = {
                "ours": python_contender(partial(verifier.verify, sample.token)),
                "raw": python_contender(raw_signature_check(sample)),
                "jwt.decode": python_contender(pyjwt_decode(sample)),
            }
            if peer is not None:
                peer.add(sample)
                contenders["peer"] = peer.contender(f"{sample.alg}/verifySync")
                contenders["node raw"] = peer.contender(f"{sample.alg}/raw")
            rounds = interleave(contenders, calls=CALLS, rounds=ROUNDS)
            results.append((sample.alg, rounds))
            cells = [
                microseconds(rounds.time(name)) if name in contenders else f"{'-':>16}"
                for name in ("ours", "raw", "peer", "node raw", "jwt.decode")
            ]
            print(f"{sample.alg:6} " + " ".join(cells))
    finally:
        if peer is not None:
            peer.close()
    print(f"{'alg':6} {'of limit (raw/ours)':>34} {'peer/ours':>34} {'node raw/raw':>14} {'decode/ours':>12}")
    for alg, rounds in results:
        limit = rounds.ratio("raw", "ours")
        limit_text = ratio_text(limit) + (
            f" ({verdict(limit.median, LIMIT_TARGET)})" if alg == "RS256" else ""
        )
        if alg == "RS256" and limit.median < LIMIT_TARGET:
            missed.append(f"RS256 of limit {limit.median:.2f}x")
        if peer is not None:
            versus = rounds.ratio("peer", "ours")
            if versus.median < PEER_TARGET:
                missed.append(f"{alg} peer/ours {versus.median:.2f}x")
            peer_text = f"{ratio_text(versus)} ({verdict(versus.median, PEER_TARGET)})"
            node_text = f"{rounds.ratio('node raw', 'raw').median:13.2f}x"
        else:
            peer_text, node_text = f"{'skipped':>34}", f"{'-':>14}"
        decode = rounds.ratio("jwt.decode", "ours").median
        print(f"{alg:6} {limit_text:>34} {peer_text:>34} {node_text} {decode:11.2f}x")
    print("(ratios: median of per-round ratios [interquartile range]; jwt.decode is informative only)")
    instruction_counts(samples)
    print("verifier targets: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
    return 0


CALLGRIND_SETUP = """
import json
from partnerauth import base64url
from partnerauth.key_source import StaticKeySource
from partnerauth.verification import AccessTokenVerifier, IssuerPolicy
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
sample = json.loads(os.environ["BENCH_SAMPLE"])
token = sample["token"]
audiences, algorithms = frozenset({sample["audience"]}), frozenset({sample["alg"]})
policy = IssuerPolicy(sample["issuer"], "https://jwks", audiences, algorithms)
verifier = AccessTokenVerifier([policy], StaticKeySource({"https://jwks": sample["jwks"]}))
public = StaticKeySource({"j": sample["jwks"]}).key_for("j", sample["jwks"]["keys"][0]["kid"]).key
head, payload, sig = token.split(".")
message, signature = f"{head}.{payload}".encode(), base64url.decode(sig)
pkcs1, sha256, ecdsa = padding.PKCS1v15(), hashes.SHA256(), ec.ECDSA(hashes.SHA256())
"""
CALLGRIND_CALLS = {
    "ours": "    verifier.verify(token)",
    "RS256": "    public.verify(signature, message, pkcs1, sha256)",
    "ES256": "    public.verify(encode_dss_signature(int.from_bytes(signature[:32], 'big'), "
    "int.from_bytes(signature[32:], 'big')), message, ecdsa)",
    "EdDSA": "    public.verify(signature, message)",
}


def instruction_counts(samples: list[BenchToken]) -> None:
    if not callgrind.available():
        print(callgrind.skip_line())
        return
    if os.environ.get("BENCH_SKIP_CALLGRIND"):
        print("skip  instruction counts: BENCH_SKIP_CALLGRIND is set")
        return
    print("== verifier: instructions per call (valgrind --tool=callgrind, difference of 120 and 20 calls)")
    print(f"{'alg':6} {'ours':>12} {'raw crypto':>12} {'ours - raw':>12} {'raw/ours':>9}")
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "partnerauth")])}
    for sample in samples:
        document = {"token": sample.token, "jwks": sample.jwks, "alg": sample.alg}
        document |= {"issuer": ISSUER, "audience": AUDIENCE}
        env["BENCH_SAMPLE"] = json.dumps(document)
        ours = callgrind.instructions_per_call(CALLGRIND_SETUP, CALLGRIND_CALLS["ours"], env)
        raw = callgrind.instructions_per_call(CALLGRIND_SETUP, CALLGRIND_CALLS[sample.alg], env)
        print(f"{sample.alg:6} {ours:12,.0f} {raw:12,.0f} {ours - raw:12,.0f} {raw / ours:8.2f}x")


if __name__ == "__main__":
    sys.exit(main())
