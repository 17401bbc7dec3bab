"""Hostile ``private_key_jwt`` assertions against the deployed token endpoint (issue 13).

A generated matrix: every principal a request can claim to be (a keyed client, a second keyed client, a
disabled keyed client, a client with a secret only, an unknown id) x every way to forge, bend or reuse an
assertion (wrong ``aud``, reused ``jti``, ``alg`` swaps, HMAC keyed with the public key, expired, far-future
``exp``, stale ``iat``, embedded ``jwk`` / ``jku`` / ``x5u`` / ``x5c``, a key of another client, a foreign
``typ``, missing claims, spliced signatures, non-canonical encodings, oversize).  Expected of every case:
``invalid_client`` (401, RFC 7521 §4.2.1 / RFC 6749 §5.2) with the one constant body, no token, no 5xx, no
stack trace, nothing logged of the assertion; over the whole matrix every table is unchanged but the replay
record of the one legitimate use (ClientAssertionsTable) and the failure counters (AuthAttemptsTable).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerauth.algorithms import KeySpec
from partnerauth.client_registry import Client, ClientStatus
from partnerauth.keys import generate_signing_key
from tests.token_issuer.assertions import (
    PartnerKey,
    assertion_claims,
    assertion_form,
    compact,
    hmac_assertion,
    sign_assertion,
)

from .conftest import ISSUER, PARTNER_AUDIENCE, PARTNER_SCOPES, UNKNOWN_CLIENT_ID, TokenWorld
from .token_endpoint import FORM_TYPE, Reply

FORM = (("Content-Type", FORM_TYPE),)
TOKEN_URL = ISSUER + "/oauth2/token"
INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


@pytest.fixture(scope="module")
def keys() -> dict[str, PartnerKey]:
    return {
        "rsa": PartnerKey(generate_signing_key(KeySpec.RS256)),
        "ec": PartnerKey(generate_signing_key(KeySpec.ES256)),
        "other": PartnerKey(generate_signing_key(KeySpec.RS256)),  # the second client's
        "attacker": PartnerKey(generate_signing_key(KeySpec.RS256)),
    }


@dataclass
class KeyedWorld:
    world: TokenWorld
    keys: dict[str, PartnerKey]
    clients: dict[str, Client]

    def now(self) -> float:
        return self.world.clock()

    def key_named(self, name: str, own: PartnerKey) -> PartnerKey:
        """``foreign``: a key registered to another client than the one whose ``own`` key this is."""
        if name == "foreign":
            return self.keys["rsa"] if own is self.keys["other"] else self.keys["other"]
        return self.keys[name]

    def post(self, params: dict[str, str], headers: tuple[tuple[str, str], ...] = FORM) -> Reply:
        return self.world.endpoint.post(urlencode(params), headers=headers)


@pytest.fixture
def keyed_world(token_world: TokenWorld, keys: dict[str, PartnerKey]) -> KeyedWorld:
    registry = token_world.registry

    def create(jwks: dict[str, Any]) -> Client:
        return registry.create_with_keys(
            client_name="Keyed Partner",
            scopes=list(PARTNER_SCOPES),
            audiences=[PARTNER_AUDIENCE],
            token_lifetime=900,
            jwks=jwks,
        )

    keyed = create({"keys": [keys["rsa"].jwk, keys["ec"].jwk]})
    second = create(keys["other"].jwks())
    disabled = create(keys["rsa"].jwks())
    registry.set_status(disabled.client_id, ClientStatus.DISABLED)
    return KeyedWorld(token_world, keys, {"keyed": keyed, "second": second, "disabled": disabled})


def public_pem(key: PartnerKey) -> bytes:
    return key.signing.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def b64(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


Forge = Callable[[KeyedWorld, str, PartnerKey], str]


def _signed(**kwargs: Any) -> Forge:
    def forge(kw: KeyedWorld, client_id: str, key: PartnerKey) -> str:
        options = dict(kwargs)
        audience = options.pop("audience", ISSUER)
        at = kw.now() + options.pop("shift", 0)
        use = kw.key_named(options.pop("key"), key) if "key" in options else key
        return sign_assertion(use, client_id, audience, at, **options)

    return forge


def _splice(kw: KeyedWorld, client_id: str, key: PartnerKey) -> str:
    a = sign_assertion(key, client_id, ISSUER, kw.now())
    b = sign_assertion(key, client_id, ISSUER, kw.now(), claims={"scope": "admin"})
    return ".".join([*b.split(".")[:2], a.split(".")[2]])


def _duplicate_member(kw: KeyedWorld, client_id: str, key: PartnerKey) -> str:
    token = sign_assertion(key, client_id, ISSUER, kw.now())
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "==").decode()
    doubled = raw[:-1] + f',"iss":"{client_id}"}}'
    return ".".join([header, base64.urlsafe_b64encode(doubled.encode()).rstrip(b"=").decode(), signature])


FORGERIES: dict[str, Forge] = {
    # aud (draft-ietf-oauth-rfc7523bis: the issuer identifier as the sole value)
    "aud token endpoint": _signed(audience=TOKEN_URL),
    "aud token endpoint + issuer": _signed(audience=[ISSUER, TOKEN_URL]),
    "aud attacker": _signed(audience="https://attacker.example"),
    "aud issuer with slash": _signed(audience=ISSUER + "/"),
    "aud resource": _signed(audience=PARTNER_AUDIENCE),
    # alg swaps and key confusion (RFC 8725 §2.1, §3.1)
    "alg none": lambda kw, cid, key: compact(
        {"alg": "none"}, assertion_claims(cid, ISSUER, kw.now()), lambda _: b"x"
    ),
    "alg none empty signature": lambda kw, cid, key: ".".join(
        [b64({"alg": "none"}), b64(assertion_claims(cid, ISSUER, kw.now())), ""]
    ),
    "HS256 keyed with the public PEM": lambda kw, cid, key: hmac_assertion(
        public_pem(key), cid, ISSUER, kw.now()
    ),
    "HS512 keyed with the public JWK": lambda kw, cid, key: hmac_assertion(
        json.dumps(key.jwk).encode(), cid, ISSUER, kw.now(), "HS512"
    ),
    "PS256 header, RS256-only key": _signed(alg="PS256"),
    "ES256 header on the RSA key's kid": lambda kw, cid, key: sign_assertion(
        kw.keys["ec"], cid, ISSUER, kw.now(), headers={"kid": kw.keys["rsa"].kid}
    ),
    "RS256 header, EC kid": lambda kw, cid, key: sign_assertion(
        kw.keys["rsa"], cid, ISSUER, kw.now(), headers={"kid": kw.keys["ec"].kid}
    ),
    "EdDSA header, RSA signature": lambda kw, cid, key: ".".join(
        [b64({"alg": "EdDSA", "kid": key.kid}), *sign_assertion(key, cid, ISSUER, kw.now()).split(".")[1:]]
    ),
    # time (RFC 7523 §3 items 4-6)
    "expired": _signed(shift=-3600),
    "far-future exp": _signed(lifetime=86_400 * 365),
    "exp year 9999": _signed(claims={"exp": 253_402_300_799}),
    "stale iat, long exp": _signed(shift=-900, lifetime=3600),
    "iat in the future": _signed(shift=600),
    "nbf in the future": lambda kw, cid, key: sign_assertion(
        key, cid, ISSUER, kw.now(), claims={"nbf": kw.now() + 900}
    ),
    "no exp": _signed(claims={"exp": None}),
    "exp as string": _signed(claims={"exp": "9999999999"}),
    "exp NaN-ish float": _signed(claims={"exp": 1e300}),
    # identity (RFC 7523 §3 items 1-2, 7)
    "no jti": _signed(claims={"jti": None}),
    "empty jti": _signed(claims={"jti": ""}),
    "sub another client": _signed(claims={"sub": UNKNOWN_CLIENT_ID}),
    "no sub": _signed(claims={"sub": None}),
    # keys from the token itself (RFC 8725 §3.10)
    "embedded jwk, attacker key": lambda kw, cid, key: sign_assertion(
        kw.keys["attacker"], cid, ISSUER, kw.now(), headers={"jwk": kw.keys["attacker"].jwk, "kid": None}
    ),
    "embedded jwk, our kid": lambda kw, cid, key: sign_assertion(
        kw.keys["attacker"], cid, ISSUER, kw.now(), headers={"jwk": kw.keys["attacker"].jwk, "kid": key.kid}
    ),
    "jku attacker": _signed(key="attacker", headers={"jku": "https://attacker.example/jwks.json"}),
    "x5u attacker": _signed(key="attacker", headers={"x5u": "https://attacker.example/cert.pem"}),
    "x5c attacker": _signed(
        key="attacker", headers={"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}
    ),
    "crit": _signed(headers={"crit": ["exp"]}),
    # somebody else's key
    "another client's key": _signed(key="foreign"),
    "another client's key, our kid": lambda kw, cid, key: sign_assertion(
        kw.key_named("foreign", key), cid, ISSUER, kw.now(), headers={"kid": key.kid}
    ),
    "attacker key, no kid": _signed(key="attacker", headers={"kid": None}),
    "unknown kid": _signed(headers={"kid": "rotated-away"}),
    # other kinds of JWT (RFC 8725 §3.11)
    "typ at+jwt": _signed(headers={"typ": "at+jwt"}),
    "typ dpop+jwt": _signed(headers={"typ": "dpop+jwt"}),
    # encodings
    "spliced signature": _splice,
    "duplicate JSON member": _duplicate_member,
    "signature stripped": lambda kw, cid, key: (
        sign_assertion(key, cid, ISSUER, kw.now()).rsplit(".", 1)[0] + "."
    ),
    "padded segment": lambda kw, cid, key: sign_assertion(key, cid, ISSUER, kw.now()) + "==",
    "JWE shape": lambda kw, cid, key: "a.b.c.d.e",
    "oversize": _signed(claims={"pad": "x" * 9000}),
    "not a JWT": lambda kw, cid, key: "client-authentication",
}


def principals(kw: KeyedWorld) -> dict[str, tuple[str, PartnerKey]]:
    """Who the assertion claims to be, and the key the forger holds for it."""
    return {
        "keyed": (kw.clients["keyed"].client_id, kw.keys["rsa"]),
        "second client": (kw.clients["second"].client_id, kw.keys["other"]),
        "disabled": (kw.clients["disabled"].client_id, kw.keys["rsa"]),
        "secret-only": (kw.world.principals["valid"].client_id, kw.keys["rsa"]),
        "unknown": (UNKNOWN_CLIENT_ID, kw.keys["rsa"]),
    }


@dataclass(frozen=True)
class Case:
    """``params`` is built when the case is sent, so that its assertion is made at the clock of that moment
    (the suite moves the clock past the throttle's memory between cases)."""

    name: str
    params: Callable[[], dict[str, str]]
    error: str = "invalid_client"


Params = Callable[[], dict[str, str]]


def generated_cases(kw: KeyedWorld) -> Iterator[Case]:
    saml = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"

    def forged(forge: Forge, client_id: str, key: PartnerKey) -> Params:
        return lambda: assertion_form(forge(kw, client_id, key))

    def around(client_id: str, key: PartnerKey, edit: Callable[[str], dict[str, str]]) -> Params:
        # request-level confusion around a well-signed assertion
        return lambda: edit(sign_assertion(key, client_id, ISSUER, kw.now()))

    for who, (client_id, key) in principals(kw).items():
        for name, forge in FORGERIES.items():
            # RFC 6749 §5.2: a body over 4 KiB is refused as a request before any assertion is read
            error = "invalid_request" if name == "oversize" else "invalid_client"
            yield Case(f"{who} / {name}", forged(forge, client_id, key), error)
        yield Case(
            f"{who} / body client_id differs",
            around(client_id, key, lambda a: assertion_form(a, client_id="pc_somebody")),
        )
        yield Case(
            f"{who} / saml assertion type",
            around(client_id, key, lambda a: {**assertion_form(a), "client_assertion_type": saml}),
        )
        yield Case(
            f"{who} / assertion and secret",
            around(client_id, key, lambda a: {**assertion_form(a), "client_secret": "x"}),
            "invalid_request",
        )
        yield Case(
            f"{who} / assertion without type",
            around(client_id, key, lambda a: {"grant_type": "client_credentials", "client_assertion": a}),
            "invalid_request",
        )


def problems_with(reply: Reply, error: str) -> list[str]:
    found: list[str] = []
    if reply.status >= 500:
        found.append(f"{reply.status}")
    body = reply.json()
    if "access_token" in body:
        found.append("a token was issued")
    if body.get("error") != error:
        found.append(f"error {body.get('error')!r}, expected {error!r}")
    if error == "invalid_client" and (reply.status, body) != (401, INVALID_CLIENT):
        found.append(f"not the one invalid_client answer: {reply.status} {body}")
    if reply.header("Cache-Control") != "no-store":
        found.append("no Cache-Control: no-store")
    if b"Traceback" in reply.body:
        found.append("a stack trace")
    return found


def test_the_matrix_is_generated_and_holds_every_attack_of_the_issue(keyed_world: KeyedWorld) -> None:
    cases = list(generated_cases(keyed_world))
    assert len(cases) >= 200
    assert len({c.name for c in cases}) == len(cases)
    for attack in ("aud token endpoint", "HS256 keyed with the public PEM", "expired", "far-future exp"):
        assert attack in FORGERIES
    assert {
        "embedded jwk, attacker key",
        "jku attacker",
        "another client's key",
        "PS256 header, RS256-only key",
    } <= set(FORGERIES)


def test_every_hostile_assertion_is_refused_and_only_the_replay_record_is_written(
    keyed_world: KeyedWorld,
) -> None:
    kw, world = keyed_world, keyed_world.world
    # A legitimate use first (the positive control), whose record is the one change allowed
    legitimate = sign_assertion(kw.keys["rsa"], kw.clients["keyed"].client_id, ISSUER, kw.now())
    first = kw.post(assertion_form(legitimate))
    assert first.status == 200, first.body
    before = world.snapshot()
    # the same assertion again, while it is still fresh: refused for its jti alone (RFC 7523 §3 item 7)
    replayed = kw.post(assertion_form(legitimate))
    wrong = [f"reused jti: {problem}" for problem in problems_with(replayed, "invalid_client")]
    for case in generated_cases(kw):
        world.forget_failures()  # the throttle (429) has its own tests
        reply = kw.post(case.params())
        wrong += [f"{case.name}: {problem}" for problem in problems_with(reply, case.error)]
    assert wrong == []
    after = world.snapshot()
    changed = {table for table in before if before[table] != after[table]}
    # only the failure counters moved (by design); no replay record was written by any hostile case
    assert changed <= {"AuthAttemptsTable"}
    # and nothing of any assertion reached a log line (signatures are unique to each assertion)
    logged = "\n".join(world.logs.lines)
    assert legitimate.split(".")[2] not in logged


def test_any_one_character_change_of_a_valid_assertion_gets_no_token(keyed_world: KeyedWorld) -> None:
    kw = keyed_world
    client_id = kw.clients["keyed"].client_id

    @settings(max_examples=60)
    @given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw_-.=xyz0"))
    def mutate(position: int, replacement: str) -> None:
        kw.world.forget_failures()
        token = sign_assertion(kw.keys["ec"], client_id, ISSUER, kw.now())
        index = position % len(token)
        mutated = token[:index] + replacement + token[index + 1 :]
        reply = kw.post(assertion_form(mutated))
        if mutated == token:
            assert reply.status == 200
        else:
            assert problems_with(reply, "invalid_client") == []

    mutate()
