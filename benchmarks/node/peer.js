// aws-jwt-verify as a benchmark peer: a child process driven over stdin/stdout, one JSON object a line.
//
// The Python side (benchmarks/baselines.py) sends {"op": "setup", ...} once per token, then
// {"op": "run", "name": ..., "calls": n} for each round, interleaved with its own rounds. Each "run"
// answers the CPU time (user + system, process.cpuUsage) that n calls took in this process, so both
// sides are measured the same way. "verifySync" is aws-jwt-verify's JwtVerifier.verifySync with the
// JWKS cached (no network) and a customJwtCheck carrying the checks ours makes that it does not make by
// default (RFC 9068 typ, required claims, lifetime cap, iat not in the future). "raw" is the signature
// check alone with a KeyObject built once: Node's crypto limit, as `cryptography` is Python's.
"use strict";

const crypto = require("node:crypto");
const readline = require("node:readline");
const fs = require("node:fs");
const path = require("node:path");
const { JwtVerifier } = require("aws-jwt-verify");

// The package's "exports" hide its package.json: read the installed version from disk.
const PEER_VERSION = JSON.parse(
  fs.readFileSync(path.join(__dirname, "node_modules", "aws-jwt-verify", "package.json"), "utf8"),
).version;

const REQUIRED = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];
const TYPES = new Set(["at+jwt", "application/at+jwt"]);
const HASHES = { RS256: "RSA-SHA256", ES256: "SHA256" };
const contenders = new Map();

function setup({ name, token, jwks, issuer, audience, leeway, maxLifetime }) {
  const verifier = JwtVerifier.create({
    issuer,
    audience,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    graceSeconds: leeway,
    customJwtCheck: ({ header, payload }) => {
      if (typeof header.typ !== "string" || !TYPES.has(header.typ.toLowerCase())) {
        throw new Error("typ must be at+jwt");
      }
      for (const claim of REQUIRED) {
        if (payload[claim] === undefined) throw new Error(`${claim} is required`);
      }
      if (payload.exp - payload.iat > maxLifetime) throw new Error("lifetime too long");
      if (payload.iat > Date.now() / 1000 + leeway) throw new Error("issued in the future");
    },
  });
  verifier.cacheJwks(jwks);
  verifier.verifySync(token); // throws if the peer would reject the token: never time a failure path
  const [head, body, signature] = token.split(".");
  const jwk = jwks.keys[0];
  const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
  const input = Buffer.from(`${head}.${body}`);
  const sig = Buffer.from(signature, "base64url");
  const raw =
    jwk.alg === "EdDSA"
      ? () => crypto.verify(null, input, key, sig)
      : () => crypto.verify(HASHES[jwk.alg], input, { key, dsaEncoding: "ieee-p1363" }, sig);
  if (!raw()) throw new Error("raw signature check failed");
  contenders.set(`${name}/verifySync`, () => verifier.verifySync(token));
  contenders.set(`${name}/raw`, raw);
}

function run({ name, calls }) {
  const call = contenders.get(name);
  if (call === undefined) throw new Error(`unknown contender ${name}`);
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) call();
  const used = process.cpuUsage(before);
  return { cpu: (used.user + used.system) / 1e6 };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let answer;
  try {
    const request = JSON.parse(line);
    if (request.op === "setup") answer = (setup(request), { ok: true });
    else if (request.op === "run") answer = run(request);
    else if (request.op === "version") answer = { node: process.version, peer: PEER_VERSION };
    else throw new Error("unknown op");
  } catch (error) {
    answer = { error: String(error && error.message) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
