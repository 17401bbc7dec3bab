"""Hostile scope claims and ``cty`` headers through the deployed authorizer handler (issue 18): 0 Allow.

RFC 6749 §3.3: ``scope = scope-token *( SP scope-token )``, ``scope-token = 1*( %x21 / %x23-5B /
%x5D-7E )``.  Scopes are split on SP (U+0020) alone; a scope holding any other whitespace or a control
character, an empty token, a duplicate or a token longer than any route map accepts is refused (401),
in the ``scope`` string of our own tokens, in Okta's ``scp`` list and in Entra ID's ``roles``.  Before
issue 18, ``str.split()`` turned ``"orders:read\\tadmin"`` into two scopes and an ``scp`` item
``"orders:read admin"`` reached the backend as two scopes in ``context.scope``.

RFC 7519 §5.2: ``cty`` announces a nested JWT (or another content); an access token is never one (401).

The handler runs as Lambda runs it (the template's environment, keys fetched from a loopback JWKS
server by its own cache); the request is ``GET /orders/42`` (``GET /orders/{id}``: ``orders:read``),
through the REST REQUEST, REST TOKEN and HTTP API formats.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from authorizer.decision import build_authorizer

from .authorizer_harness import EVENT_FORMATS, UNAUTHORIZED, Answer, answer
from .conftest import NOW, PARTNER_AUDIENCE
from .hostile_tokens import CorpusContext, _claims, _header, sign

OKTA_ISSUER = "https://okta.adversarial.test/oauth2/default"
ENTRA_ISSUER = "https://login.microsoftonline.com/adversarial-tenant/v2.0"
READ = "orders:read"  # what GET /orders/{id} needs


def _hostile_characters() -> list[str]:
    """Every Unicode whitespace (``str.isspace`` and categories Zs/Zl/Zp), every control character
    (Cc), every format character (Cf: zero-width spaces, BOM, bidi controls) and the two ASCII
    characters RFC 6749 §3.3 leaves out of scope tokens (``"`` and ``\\``)."""
    found = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf"):
            found.append(char)
    return [*found, '"', "\\"]


HOSTILE_CHARACTERS = _hostile_characters()


def hostile_scope_strings() -> Iterator[tuple[str, str]]:
    """(name, value) of ``scope`` strings that must be refused; each holds ``orders:read`` somewhere."""
    for char in HOSTILE_CHARACTERS:
        name = f"U+{ord(char):04X}"
        if char != " ":
            yield f"{name} as a separator", f"{READ}{char}admin"
            yield f"{name} at the end", f"{READ}{char}"
            yield f"{name} at the start", f"{char}{READ}"
            yield f"{name} inside a token", f"{READ} inv{char}entory:read"
    yield "leading space", f" {READ}"
    yield "trailing space", f"{READ} "
    yield "two spaces", f"{READ}  inventory:read"
    yield "only a space", " "
    yield "duplicate", f"{READ} {READ}"
    yield "duplicate among others", f"inventory:read {READ} admin {READ}"
    yield "token of 129 characters", f"{READ} {'a' * 129}"
    yield "token of 4,000 characters", f"{READ} {'a' * 4000}"
    yield "257 tokens", " ".join([READ, *(f"s{i}" for i in range(256))])
    yield "non-ASCII letter", f"{READ} ordérs:write"


def hostile_scope_lists() -> Iterator[tuple[str, list[Any]]]:
    """(name, value) of ``scp``/``roles`` lists that must be refused."""
    for char in HOSTILE_CHARACTERS:
        yield f"U+{ord(char):04X} inside an item", [READ, f"admin{char}x"]
    yield "space inside an item", [f"{READ} admin"]
    yield "space inside a second item", [READ, "inventory:read admin"]
    yield "item with a trailing space", [f"{READ} "]
    yield "empty item", [READ, ""]
    yield "duplicate items", [READ, READ]
    yield "item of 129 characters", [READ, "a" * 129]
    yield "257 items", [READ, *(f"s{i}" for i in range(256))]
    yield "number item", [READ, 7]
    yield "null item", [READ, None]
    yield "nested list", [READ, [READ]]
    yield "object item", [READ, {"scope": READ}]


CTY_VALUES = ("JWT", "jwt", "at+jwt", "application/jwt", "application/json", "", None, 0, ["JWT"])


@pytest.fixture
def hostile_app(
    load_authorizer: Callable[..., ModuleType],
    authorizer_corpus: CorpusContext,
    monkeypatch: pytest.MonkeyPatch,
) -> ModuleType:
    """The deployed handler, trusting also an Okta and an Entra ID issuer (scopes in lists), at NOW."""
    base = authorizer_corpus.issuer  # the loopback JWKS server serves the corpus's keys at any path
    external = [
        {
            "profile": "okta",
            "issuer": OKTA_ISSUER,
            "jwks_uri": f"{base}/oauth2/default/v1/keys",
            "audiences": [PARTNER_AUDIENCE],
            "algorithms": ["RS256"],
        },
        {
            "profile": "entra",
            "issuer": ENTRA_ISSUER,
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "audiences": [PARTNER_AUDIENCE],
            "algorithms": ["RS256"],
        },
    ]
    app = load_authorizer(EXTERNAL_ISSUERS=json.dumps(external))
    monkeypatch.setattr(app, "authorizer", build_authorizer(app.settings, app.jwks_cache, clock=lambda: NOW))
    return app


def own_token(ctx: CorpusContext, scope: Any, **header: Any) -> str:
    return sign(ctx.rsa, _header(ctx.rsa, **header), _claims(ctx, scope=scope))


def okta_token(ctx: CorpusContext, scp: Any) -> str:
    claims = {
        "ver": 1,
        "jti": "AT.hostile",
        "iss": OKTA_ISSUER,
        "aud": PARTNER_AUDIENCE,
        "iat": NOW,
        "exp": NOW + 300,
        "cid": "0oaHostile",
        "sub": "0oaHostile",
        "scp": scp,
    }
    return sign(
        ctx.rsa, {"alg": "RS256", "kid": ctx.rsa.kid}, {k: v for k, v in claims.items() if v is not ...}
    )


def entra_token(ctx: CorpusContext, roles: Any) -> str:
    claims = {
        "aud": PARTNER_AUDIENCE,
        "iss": ENTRA_ISSUER,
        "iat": NOW,
        "exp": NOW + 300,
        "azp": "hostile-app",
        "sub": "hostile-app",
        "tid": "adversarial-tenant",
        "ver": "2.0",
        "roles": roles,
    }
    header = {"alg": "RS256", "typ": "JWT", "kid": ctx.rsa.kid}
    return sign(ctx.rsa, header, {k: v for k, v in claims.items() if v is not ...})


def answers(app: ModuleType, token: str, context: Any) -> dict[str, Answer]:
    return {
        fmt: answer(app, event_for(f"Bearer {token}"), context) for fmt, event_for in EVENT_FORMATS.items()
    }


def test_the_positive_controls_are_allowed(
    hostile_app: ModuleType, authorizer_corpus: CorpusContext, authorizer_context: Any
) -> None:
    ctx = authorizer_corpus
    for token in (own_token(ctx, READ), okta_token(ctx, [READ, "inventory:read"]), entra_token(ctx, [READ])):
        assert {a.outcome for a in answers(hostile_app, token, authorizer_context).values()} == {"allow"}


def test_hostile_scope_strings_are_refused(
    hostile_app: ModuleType, authorizer_corpus: CorpusContext, authorizer_context: Any
) -> None:
    cases = list(hostile_scope_strings())
    assert len(HOSTILE_CHARACTERS) > 60  # C0, DEL, C1, NBSP, the Zs spaces, LS/PS, ZWSP, BOM, ...
    not_refused = {}
    for name, value in cases:
        found = answers(hostile_app, own_token(authorizer_corpus, value), authorizer_context)
        if set(found.values()) != {UNAUTHORIZED}:
            not_refused[name] = found
    assert not_refused == {}  # every one a 401: 0 Allow, 0 crashes


def test_hostile_scope_lists_are_refused(
    hostile_app: ModuleType, authorizer_corpus: CorpusContext, authorizer_context: Any
) -> None:
    ctx = authorizer_corpus
    not_refused = {}
    for name, value in hostile_scope_lists():
        for issuer, token in (("okta scp", okta_token(ctx, value)), ("entra roles", entra_token(ctx, value))):
            found = answers(hostile_app, token, authorizer_context)
            if set(found.values()) != {UNAUTHORIZED}:
                not_refused[f"{issuer}: {name}"] = found
    assert not_refused == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [("empty string", ""), ("empty list", []), ("absent", ...)],
)
def test_an_empty_scope_holds_no_scope_and_is_never_allowed_a_scoped_route(
    hostile_app: ModuleType, authorizer_corpus: CorpusContext, authorizer_context: Any, name: str, value: Any
) -> None:
    ctx = authorizer_corpus
    for token in (own_token(ctx, value), okta_token(ctx, value), entra_token(ctx, value)):
        found = answers(hostile_app, token, authorizer_context)
        # RFC 6750 §3.1: a valid token without the route's scope is 403 (never an Allow)
        assert {a.outcome for a in found.values()} == {"deny"}, (name, found)


@pytest.mark.parametrize("cty", CTY_VALUES, ids=repr)
def test_a_token_with_a_cty_header_is_refused(
    hostile_app: ModuleType, authorizer_corpus: CorpusContext, authorizer_context: Any, cty: Any
) -> None:
    # RFC 7519 §5.2: nested JWTs are not access tokens
    found = answers(hostile_app, own_token(authorizer_corpus, READ, cty=cty), authorizer_context)
    assert set(found.values()) == {UNAUTHORIZED}


def test_a_nested_jwt_is_refused(
    hostile_app: ModuleType, authorizer_corpus: CorpusContext, authorizer_context: Any
) -> None:
    # A valid access token wrapped as the payload of another JWS signed by a trusted key (RFC 7519 §5.2
    # step 8 would have a verifier unwrap it): the payload is not a JSON object, and cty is refused.
    ctx = authorizer_corpus
    inner = own_token(ctx, READ)
    outer = sign(ctx.rsa, {"alg": "RS256", "kid": ctx.rsa.kid, "cty": "JWT"}, inner.encode())
    assert set(answers(hostile_app, outer, authorizer_context).values()) == {UNAUTHORIZED}
