"""A generated corpus of hostile access tokens (issue 9), shared by the layer and handler tests.

Each entry is ``(name, token)``; every one must be rejected (401 at the authorizer).
The corpus is built from the trusted keys of a test run, so its tokens are real
signatures where that matters (HS256 with our public key, an attacker's key in ``jwk``,
a revoked key), not strings that fail for a trivial reason.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
from jwt import get_algorithm_by_name

from partnerauth import base64url
from partnerauth.keys import SigningKey

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class CorpusContext:
    """What the corpus needs to know about the system under attack."""

    rsa: SigningKey  # trusted, published
    ec: SigningKey  # trusted, published
    ed: SigningKey  # trusted, published
    attacker: SigningKey  # never published anywhere
    revoked: SigningKey  # was published, is no longer
    issuer: str
    audience: str
    now: int
    leeway: int
    max_lifetime: int


def _segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return base64url.encode(raw)


def _claims(ctx: CorpusContext, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "sub": "partner-1",
        "aud": ctx.audience,
        "exp": ctx.now + 300,
        "iat": ctx.now,
        "nbf": ctx.now,
        "jti": "hostile-0001",
        "client_id": "partner-1",
        "scope": "orders:read orders:write inventory:read",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


def _header(key: SigningKey, **overrides: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
    header.update(overrides)
    return {k: v for k, v in header.items() if v is not ...}


def _other_scheme(url: str) -> str:
    """The same issuer over the other scheme (https <-> http): not the same issuer (RFC 8414 §2)."""
    if url.startswith("https://"):
        return "http://" + url.removeprefix("https://")
    return "https://" + url.removeprefix("http://")


def sign(key: SigningKey, header: Any, payload: Any) -> str:
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    signature = get_algorithm_by_name(key.alg).sign(signing_input.encode(), key.private_key)
    return f"{signing_input}.{base64url.encode(signature)}"


def _hmac(secret: bytes, header: Any, payload: Any, digest: str = "sha256") -> str:
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{base64url.encode(signature)}"


def valid_token(ctx: CorpusContext, key: SigningKey | None = None, **claims: Any) -> str:
    key = key or ctx.rsa
    return sign(key, _header(key), _claims(ctx, **claims))


def hostile_tokens(ctx: CorpusContext) -> Iterator[tuple[str, str]]:  # noqa: C901, PLR0912 - a catalogue
    rsa, claims = ctx.rsa, _claims(ctx)
    good = valid_token(ctx)
    head, body, sig = good.split(".")

    # alg "none" in every spelling, with and without a signature (RFC 8725 §2.1)
    for spelling in ("none", "None", "NONE", "nOnE", "none ", " none", "none\x00"):
        unsigned = f"{_segment({'alg': spelling, 'typ': 'at+jwt', 'kid': rsa.kid})}.{_segment(claims)}"
        yield f"alg-{spelling!r}-empty-sig", unsigned + "."
        yield f"alg-{spelling!r}-with-sig", f"{unsigned}.{sig}"

    # HS256/384/512 keyed with our public key in every form (RFC 8725 §2.1 key confusion)
    public = rsa.private_key.public_key()
    if not isinstance(public, rsa_keys.RSAPublicKey):
        raise TypeError("the corpus needs an RSA key as ctx.rsa")
    forms = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pem-pkcs1": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": json.dumps(rsa.public_jwk()).encode(),
        "jwk-json-sorted": json.dumps(rsa.public_jwk(), sort_keys=True, separators=(",", ":")).encode(),
        "raw-modulus": public.public_numbers().n.to_bytes(256, "big"),
        "kid": rsa.kid.encode(),
    }
    for form, secret in forms.items():
        for alg, digest in (("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")):
            yield f"{alg}-keyed-with-public-{form}", _hmac(secret, _header(rsa, alg=alg), claims, digest)

    # an algorithm from another family than the key the kid names
    for signer, alg in ((ctx.ec, "ES256"), (ctx.ed, "EdDSA")):
        yield f"{alg}-signature-under-rsa-kid", sign(signer, _header(signer, kid=rsa.kid), claims)
    yield "rs256-signature-under-ec-kid", sign(rsa, _header(rsa, kid=ctx.ec.kid), claims)
    yield "ps256-header-for-rs256-key", good.replace(head, _segment(_header(rsa, alg="PS256")), 1)
    yield "es384-header-for-es256-key", sign(ctx.ec, _header(ctx.ec, alg="ES384"), claims)

    # keys nobody trusts: another issuer's key, a revoked key
    yield "attacker-key-own-kid", valid_token(ctx, ctx.attacker)
    yield "attacker-key-our-kid", sign(ctx.attacker, _header(ctx.attacker, kid=rsa.kid), claims)
    yield "revoked-key", valid_token(ctx, ctx.revoked)

    # kid: missing, unknown, hostile strings, huge
    for name, kid in {
        "missing": ...,
        "empty": "",
        "null": None,
        "number": 1,
        "list": [rsa.kid],
        "unknown": "no-such-key",
        "path": "../../../../etc/passwd",
        "sql": "' OR '1'='1' --",
        "crlf": "k\r\nX-Injected: 1",
        "nul": "k\x00",
        "huge": "k" * 5000,
        "our-kid-with-space": rsa.kid + " ",
    }.items():
        yield f"kid-{name}", sign(rsa, _header(rsa, kid=kid), claims)

    # key-carrying headers: the signature is by the attacker's key they advertise (RFC 8725 §3.10)
    attacker_jwk = ctx.attacker.public_jwk()
    carriers: dict[str, dict[str, Any]] = {
        "jku": {"jku": "https://attacker.test/jwks.json"},
        "x5u": {"x5u": "https://attacker.test/cert.pem"},
        "jwk": {"jwk": attacker_jwk},
        "x5c": {"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]},
    }
    for name, extra in carriers.items():
        yield f"{name}-attacker-kid", sign(ctx.attacker, _header(ctx.attacker, **extra), claims)
        yield f"{name}-our-kid", sign(ctx.attacker, _header(ctx.attacker, kid=rsa.kid, **extra), claims)

    # crit, b64, zip: headers we do not implement (RFC 7515 §4.1.11, RFC 7797)
    unsupported: dict[str, dict[str, Any]] = {
        "crit-unknown": {"crit": ["urn:attacker:ext"], "urn:attacker:ext": True},
        "crit-exp": {"crit": ["exp"]},
        "crit-empty": {"crit": []},
        "crit-b64": {"crit": ["b64"], "b64": False},
        "b64-false": {"b64": False},
        "zip": {"zip": "DEF"},
    }
    for name, extra in unsupported.items():
        yield name, sign(rsa, _header(rsa, **extra), claims)

    # other serialisations
    yield "jwe-five-segments", f"{head}.{body}.{sig}.AAAA.BBBB"
    yield "four-segments", f"{head}.{body}.{sig}.AAAA"
    yield "json-serialised-jws", json.dumps({"payload": body, "protected": head, "signature": sig})
    yield (
        "flattened-json-jws",
        json.dumps({"payload": body, "signatures": [{"protected": head, "signature": sig}]}),
    )

    # signatures: stripped, truncated, zeros, extended
    raw = base64url.decode(sig)
    yield "signature-stripped", f"{head}.{body}."
    yield "signature-and-dot-stripped", f"{head}.{body}"
    yield "signature-truncated", f"{head}.{body}.{base64url.encode(raw[:-1])}"
    yield "signature-zeros", f"{head}.{body}.{base64url.encode(bytes(len(raw)))}"
    yield "signature-doubled", f"{head}.{body}.{base64url.encode(raw + raw)}"
    yield "signature-bit-flip", f"{head}.{body}.{base64url.encode(bytes([raw[0] ^ 1]) + raw[1:])}"
    ec_token = valid_token(ctx, ctx.ec)
    ec_head, ec_body, ec_sig = ec_token.split(".")
    r, s = base64url.decode(ec_sig)[:32], base64url.decode(ec_sig)[32:]
    for name, forged in {
        "r-zero": bytes(32) + s,
        "s-zero": r + bytes(32),
        "r-and-s-zero": bytes(64),
        "r-equals-order": P256_ORDER.to_bytes(32, "big") + s,
        "s-equals-order": r + P256_ORDER.to_bytes(32, "big"),
        "s-above-order": r + b"\xff" * 32,
        "der-encoded": b"\x30\x44\x02\x20" + r + b"\x02\x20" + s,
    }.items():
        yield f"ecdsa-{name}", f"{ec_head}.{ec_body}.{base64url.encode(forged)}"
    # a signature over the same claims by the same key is valid; flip s to n - s (malleability)
    high_s = r + (P256_ORDER - int.from_bytes(s, "big")).to_bytes(32, "big")
    other_message = _segment(_claims(ctx, jti="other"))
    yield "ecdsa-high-s-of-other-message", f"{ec_head}.{other_message}.{base64url.encode(high_s)}"

    # non-canonical base64url
    yield "padding", f"{head}.{body}.{sig}=="
    yield "padding-in-header", f"{head}=.{body}.{sig}"
    for urlsafe, standard in (("-", "+"), ("_", "/")):  # the same bytes in the standard alphabet
        position = good.find(urlsafe)
        if position >= 0:
            yield f"standard-alphabet-{standard}", good[:position] + standard + good[position + 1 :]
    yield "whitespace-inside", f"{head}. {body}.{sig}"
    yield "newline-inside", f"{head}.{body[:10]}\n{body[10:]}.{sig}"
    yield "trailing-newline", good + "\n"
    yield "leading-space", " " + good
    last = sig[-1]
    bumped = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    yield "trailing-bits-set", f"{head}.{body}.{sig[:-1]}{bumped[(bumped.index(last) + 1) % 64]}"
    yield "non-ascii", f"{head}.{body}.{sig[:-1]}é"

    # JSON that is not a strict UTF-8 object
    text = json.dumps(_header(rsa)).encode()
    for name, raw_header in {
        "utf16-header": json.dumps(_header(rsa)).encode("utf-16"),
        "utf16le-header": json.dumps(_header(rsa)).encode("utf-16-le"),
        "bom-header": b"\xef\xbb\xbf" + text,
        "duplicate-alg": b'{"alg":"none","alg":"RS256","typ":"at+jwt","kid":"' + rsa.kid.encode() + b'"}',
        "duplicate-kid": b'{"alg":"RS256","typ":"at+jwt","kid":"x","kid":"' + rsa.kid.encode() + b'"}',
        "array-header": b"[" + text + b"]",
        "deep-header": b'{"alg":"RS256","typ":"at+jwt","kid":"'
        + rsa.kid.encode()
        + b'","x":'
        + b"[" * 1500
        + b"]" * 1500
        + b"}",
        "nan-header": text[:-1] + b',"x":NaN}',
        "latin1-header": text[:-1] + b',"x":"\xe9"}',
    }.items():
        yield name, sign(rsa, raw_header, claims)
    payload_text = json.dumps(claims).encode()
    for name, raw_payload in {
        "utf16-payload": json.dumps(claims).encode("utf-16"),
        "bom-payload": b"\xef\xbb\xbf" + payload_text,
        "duplicate-exp": payload_text[:-1] + b',"exp":99999999999}',
        "duplicate-aud": payload_text[:-1] + b',"aud":"https://attacker.test"}',
        "duplicate-iss": payload_text[:-1] + b',"iss":"https://attacker.test"}',
        "deep-payload": payload_text[:-1] + b',"x":' + b'{"a":' * 1200 + b"1" + b"}" * 1200 + b"}",
        "huge-int": payload_text[:-1] + b',"x":' + b"9" * 5000 + b"}",
        "nan-exp": payload_text.replace(str(ctx.now + 300).encode(), b"NaN"),
        "infinity-exp": payload_text.replace(str(ctx.now + 300).encode(), b"Infinity"),
        "minus-infinity-iat": payload_text.replace(str(ctx.now).encode(), b"-Infinity", 1),
        "overflow-float-exp": payload_text.replace(str(ctx.now + 300).encode(), b"1e400"),
        "string-payload": b'"just a string"',
        "null-payload": b"null",
        "empty-payload": b"",
    }.items():
        yield name, sign(rsa, _header(rsa), raw_payload)

    # claims of the wrong type
    wrong_types: dict[str, tuple[str, Any]] = {
        "exp-string": ("exp", str(ctx.now + 300)),
        "exp-bool": ("exp", True),
        "exp-null": ("exp", None),
        "exp-list": ("exp", [ctx.now + 300]),
        "exp-object": ("exp", {"$numberLong": ctx.now + 300}),
        "exp-huge": ("exp", 10**18),
        "exp-negative": ("exp", -1),
        "exp-float-huge": ("exp", 1e300),
        "iat-string": ("iat", str(ctx.now)),
        "iat-bool": ("iat", False),
        "nbf-string": ("nbf", "0"),
        "aud-number": ("aud", 1),
        "aud-empty-list": ("aud", []),
        "aud-nested": ("aud", [[ctx.audience]]),
        "aud-object": ("aud", {"aud": ctx.audience}),
        "iss-list": ("iss", [ctx.issuer]),
        "sub-number": ("sub", 1),
        "client-id-object": ("client_id", {"id": "partner-1"}),
        "jti-number": ("jti", 7),
        "scope-list": ("scope", ["orders:read"]),
        "scope-object": ("scope", {"orders:read": True}),
    }
    for label, (claim, value) in wrong_types.items():
        yield f"claim-{label}", valid_token(ctx, None, **{claim: value})

    # required claims missing (RFC 9068 §2.2)
    for claim in ("iss", "exp", "aud", "sub", "client_id", "iat", "jti"):
        yield f"missing-{claim}", valid_token(ctx, None, **{claim: ...})

    # time at the leeway boundaries (RFC 7519 §4.1.4, §4.1.5)
    now, leeway = ctx.now, ctx.leeway
    yield "expired-at-leeway-boundary", valid_token(ctx, exp=now - leeway, iat=now - leeway - 300, nbf=...)
    yield "expired-long-ago", valid_token(ctx, exp=now - 86400, iat=now - 86700, nbf=...)
    yield "expired-epoch", valid_token(ctx, exp=0, iat=0, nbf=...)
    yield "nbf-beyond-leeway", valid_token(ctx, nbf=now + leeway + 1)
    yield "iat-beyond-leeway", valid_token(ctx, iat=now + leeway + 1, nbf=..., exp=now + leeway + 301)
    yield "lifetime-over-maximum", valid_token(ctx, exp=now + ctx.max_lifetime + 1)
    yield "lifetime-centuries", valid_token(ctx, exp=now + 100 * 365 * 86400)

    # wrong issuer, audience, type
    for name, iss in {
        "other": "https://attacker.test",
        "trailing-slash": ctx.issuer + "/",
        "case": ctx.issuer.upper(),
        "other-scheme": _other_scheme(ctx.issuer),
        "empty": "",
    }.items():
        yield f"iss-{name}", valid_token(ctx, iss=iss)
    for name, aud in {
        "other": "https://attacker.test",
        "trailing-slash": ctx.audience + "/",
        "list-without-ours": ["https://a.test", "https://b.test"],
        "empty": "",
    }.items():
        yield f"aud-{name}", valid_token(ctx, aud=aud)
    for typ in ("JWT", "jwt", "at+jwt+x", "application/jwt", "", "at+JWT ", None, 1):
        yield f"typ-{typ!r}", sign(rsa, _header(rsa, typ=typ), claims)
    yield "typ-missing", sign(rsa, _header(rsa, typ=...), claims)

    # size
    yield "oversize-token", valid_token(ctx, padding="x" * 20_000)
    yield "oversize-header", sign(rsa, _header(rsa, pad="x" * 20_000), claims)
    yield "oversize-garbage", "a" * 100_000
    yield "empty", ""
    yield "dots-only", ".."
    yield "not-a-token", "Bearer"
