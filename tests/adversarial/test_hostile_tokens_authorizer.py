"""Hostile tokens and hostile Authorization headers through the deployed authorizer handler (issue 9).

The handler is imported as Lambda runs it (template environment, JWKS prefetched at import from a
loopback issuer by its own ``JwksCache`` over ``HttpJwksFetcher``); only its clock is fixed, so the
corpus's timestamps mean what they say.  Every answer is classified as API Gateway would act on it
(:mod:`.authorizer_harness`): 401 means exactly ``Exception("Unauthorized")``; anything else that is
raised would be a 500.

tests/authorizer/test_handler.py runs the corpus over static keys; here it runs over the production
key path (real cache, real fetcher, unknown kids trying the loopback endpoint) and also through the
policy form of HTTP API answers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizer.decision import build_authorizer

from .authorizer_harness import (
    ABSENT,
    EVENT_FORMATS,
    UNAUTHORIZED,
    Answer,
    answer,
    http_event,
    request_event,
    rest_arn,
    token_event,
)
from .conftest import NOW
from .hostile_tokens import CorpusContext, hostile_tokens, valid_token


def at_now(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's authorizer, built by its own factory over its own JWKS cache, the clock at NOW."""
    monkeypatch.setattr(app, "authorizer", build_authorizer(app.settings, app.jwks_cache, clock=lambda: NOW))


def test_every_hostile_token_is_401_through_every_event_format(
    load_authorizer: Callable[..., ModuleType],
    authorizer_corpus: CorpusContext,
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = authorizer_corpus
    keys = (corpus.rsa, corpus.ec, corpus.ed)
    for http_answers in ("simple", "policy"):  # HTTP_API_RESPONSE: the two forms of HTTP API answers
        app = load_authorizer(HTTP_API_RESPONSE=http_answers)
        at_now(app, monkeypatch)
        formats = EVENT_FORMATS if http_answers == "simple" else {"http-v2": EVENT_FORMATS["http-v2"]}
        # Positive control: a valid token of each key is allowed, with its claims as context
        for key, (name, event_for) in itertools.product(keys, formats.items()):
            allowed = answer(app, event_for("Bearer " + valid_token(corpus, key)), authorizer_context)
            assert allowed.outcome == "allow", (name, key.alg)
            assert allowed.context is not None
            assert allowed.context["client_id"] == "partner-1"
        # RFC 6750 §3.1 invalid_token: every hostile token is a 401, never an Allow, never a 500
        wrong = [
            f"{token_name} via {name} ({http_answers}): {result.outcome}"
            for (token_name, hostile), (name, event_for) in itertools.product(
                hostile_tokens(corpus), formats.items()
            )
            if (result := answer(app, event_for("Bearer " + hostile), authorizer_context)) != UNAUTHORIZED
        ]
        assert wrong == []


# -- the Authorization header: spelling and spacing -------------------------------------------------------
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; RFC 9110 §11.1: the scheme is case-insensitive.
# The authorizer accepts exactly one space (stricter than 1*SP, and the same rule as the TOKEN
# authorizer's ValidationExpression in template.yaml, so every event format agrees).
HEADER_SPELLINGS: list[tuple[str, Callable[[str], str], str]] = [
    ("canonical", lambda t: f"Bearer {t}", "allow"),
    ("lower-case-scheme", lambda t: f"bearer {t}", "allow"),
    ("upper-case-scheme", lambda t: f"BEARER {t}", "allow"),
    ("mixed-case-scheme", lambda t: f"bEaReR {t}", "allow"),
    ("two-spaces", lambda t: f"Bearer  {t}", "401"),
    ("tab", lambda t: f"Bearer\t{t}", "401"),
    ("no-break-space", lambda t: f"Bearer\u00a0{t}", "401"),
    ("no-space", lambda t: f"Bearer{t}", "401"),
    ("leading-space", lambda t: f" Bearer {t}", "401"),
    ("trailing-space", lambda t: f"Bearer {t} ", "401"),
    ("trailing-newline", lambda t: f"Bearer {t}\n", "401"),
    ("header-injection", lambda t: f"Bearer {t}\r\nX-Injected: 1", "401"),
    ("trailing-nul", lambda t: f"Bearer {t}\x00", "401"),
    ("two-tokens", lambda t: f"Bearer {t} {t}", "401"),
    ("comma-joined", lambda t: f"Bearer {t},Bearer {t}", "401"),  # how HTTP APIs join repeated headers
    ("comma-space-joined", lambda t: f"Bearer {t}, Bearer {t}", "401"),
    ("trailing-comma", lambda t: f"Bearer {t},", "401"),
    ("token-with-padding", lambda t: f"Bearer {t}=", "401"),  # b64token allows '=': the token is then wrong
    ("token-with-extra-dot", lambda t: f"Bearer {t}.", "401"),
    ("empty", lambda t: "", "401"),
    ("scheme-only", lambda t: "Bearer", "401"),
    ("scheme-and-space", lambda t: "Bearer ", "401"),
    ("no-scheme", lambda t: t, "401"),
    ("basic-scheme", lambda t: f"Basic {t}", "401"),
    ("token-scheme", lambda t: f"Token {t}", "401"),
    ("jwt-scheme", lambda t: f"JWT {t}", "401"),
    ("dpop-scheme", lambda t: f"DPoP {t}", "401"),
    ("equals-separator", lambda t: f"Bearer={t}", "401"),
    ("colon-separator", lambda t: f"Bearer:{t}", "401"),
    ("cyrillic-scheme", lambda t: f"\u0412earer {t}", "401"),  # U+0412 looks like a Latin B
    ("bearer-twice", lambda t: f"Bearer Bearer {t}", "401"),
    ("quoted-token", lambda t: f'Bearer "{t}"', "401"),
    ("over-16-kib", lambda t: f"Bearer {t}" + "A" * 16_384, "401"),
]


@pytest.mark.parametrize(
    ("name", "spell", "expected"), HEADER_SPELLINGS, ids=[s[0] for s in HEADER_SPELLINGS]
)
def test_each_authorization_header_spelling_has_one_defined_outcome_in_every_event_format(
    name: str,
    spell: Callable[[str], str],
    expected: str,
    authorizer_app: ModuleType,
    authorizer_corpus: CorpusContext,
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_now(authorizer_app, monkeypatch)
    header = spell(valid_token(authorizer_corpus))
    outcomes = {
        event_format: answer(authorizer_app, event_for(header), authorizer_context).outcome
        for event_format, event_for in EVENT_FORMATS.items()
    }
    assert outcomes == dict.fromkeys(EVENT_FORMATS, expected)


AUTH = "Authorization"


def _rest_request_with(headers: object, multi: object) -> dict[str, Any]:
    event = request_event([])
    event["headers"] = headers
    event["multiValueHeaders"] = multi
    return event


# Where the header sits in the event, and what API Gateway could (or could never) put there.
EVENT_SHAPES: list[tuple[str, Callable[[str], Any], str]] = [
    ("request-lower-case-name", lambda h: request_event([("authorization", h)]), "allow"),
    ("request-upper-case-name", lambda h: request_event([("AUTHORIZATION", h)]), "allow"),
    ("request-header-repeated", lambda h: request_event([("Authorization", h), ("Authorization", h)]), "401"),
    ("request-two-spellings", lambda h: request_event([("Authorization", h), ("authorization", h)]), "401"),
    ("request-no-header", lambda h: request_event([]), "401"),
    ("request-single-value-only", lambda h: _rest_request_with({"Authorization": h}, None), "allow"),
    ("request-value-a-list", lambda h: _rest_request_with({"Authorization": [h]}, None), "401"),
    ("request-value-a-number", lambda h: _rest_request_with({"Authorization": 7}, None), "401"),
    ("request-value-null", lambda h: _rest_request_with({"Authorization": None}, None), "401"),
    ("request-headers-a-string", lambda h: _rest_request_with(h, None), "401"),
    ("request-multi-two-values", lambda h: _rest_request_with({AUTH: h}, {AUTH: [h, h]}), "401"),
    ("request-multi-a-string", lambda h: _rest_request_with({AUTH: h}, {AUTH: h}), "401"),
    ("http-upper-case-name", lambda h: http_event({"Authorization": h}), "allow"),
    ("http-two-spellings", lambda h: http_event({"authorization": h, "Authorization": h}), "401"),
    ("http-no-header", lambda h: http_event({}), "401"),
    ("http-value-a-list", lambda h: http_event({"authorization": [h]}), "401"),
    ("token-missing", lambda h: token_event(ABSENT), "401"),
    ("token-null", lambda h: token_event(None), "401"),
    ("token-a-number", lambda h: token_event(42), "401"),
    ("token-a-list", lambda h: token_event([h]), "401"),
    ("token-an-object", lambda h: token_event({"Authorization": h}), "401"),
    # The ARN is API Gateway's, but a '*' copied from it into the policy would be a wildcard: refused.
    ("arn-wildcard-stage", lambda h: token_event(h, rest_arn().replace("/dev/", "/*/")), "401"),
    ("arn-wildcard-method", lambda h: token_event(h, rest_arn().replace("/GET/", "/*/")), "401"),
    ("arn-wildcard-path", lambda h: token_event(h, rest_arn("GET", "/orders/*")), "401"),
    ("arn-wildcard-api", lambda h: token_event(h, rest_arn().replace("sampleapi1", "*")), "401"),
    ("arn-not-execute-api", lambda h: token_event(h, "arn:aws:s3:::bucket/GET/orders/42"), "401"),
    ("arn-missing", lambda h: {"type": "TOKEN", "authorizationToken": h}, "401"),
    ("arn-a-number", lambda h: token_event(h, 5), "401"),
    ("arn-over-4-kib", lambda h: token_event(h, rest_arn("GET", "/" + "a" * 5000)), "401"),
    ("event-type-unknown", lambda h: {**token_event(h), "type": "COGNITO"}, "401"),
    ("event-not-an-object", lambda h: [token_event(h)], "401"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "build", "expected"), EVENT_SHAPES, ids=[s[0] for s in EVENT_SHAPES])
def test_each_event_shape_has_one_defined_outcome(
    name: str,
    build: Callable[[str], Any],
    expected: str,
    authorizer_app: ModuleType,
    authorizer_corpus: CorpusContext,
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_now(authorizer_app, monkeypatch)
    event = build("Bearer " + valid_token(authorizer_corpus))
    assert answer(authorizer_app, event, authorizer_context).outcome == expected


# -- mutations, through the handler ---------------------------------------------------------------------
MUTATION_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ,\t\"'\\\x00é"


def test_any_mutation_of_a_valid_header_is_refused_or_means_exactly_the_same(
    authorizer_app: ModuleType,
    authorizer_corpus: CorpusContext,
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 9: a mutated valid token is either rejected or byte-identical in meaning - here the whole
    header, through every event format: an Allow needs the very same token (the scheme's case may vary,
    RFC 9110 §11.1) and carries the very same context."""
    app, corpus = authorizer_app, authorizer_corpus
    at_now(app, monkeypatch)
    keys = [corpus.rsa, corpus.ec, corpus.ed]
    originals = {key.kid: "Bearer " + valid_token(corpus, key) for key in keys}
    meaning = {
        kid: answer(app, EVENT_FORMATS["rest-token"](header), authorizer_context)
        for kid, header in originals.items()
    }
    assert {m.outcome for m in meaning.values()} == {"allow"}

    @settings(max_examples=300, deadline=None)
    @given(
        kid=st.sampled_from(sorted(originals)),
        event_format=st.sampled_from(sorted(EVENT_FORMATS)),
        edits=st.lists(
            st.tuples(
                st.sampled_from(["replace", "insert", "delete"]),
                st.integers(0, 2000),
                st.sampled_from(MUTATION_ALPHABET),
            ),
            min_size=1,
            max_size=3,
        ),
    )
    def mutated(kid: str, event_format: str, edits: list[tuple[str, int, str]]) -> None:
        header = original = originals[kid]
        for kind, position, char in edits:
            at = position % (len(header) + 1)
            if kind == "replace" and at < len(header):
                header = header[:at] + char + header[at + 1 :]
            elif kind == "insert":
                header = header[:at] + char + header[at:]
            elif at < len(header):
                header = header[:at] + header[at + 1 :]
        result = answer(app, EVENT_FORMATS[event_format](header), authorizer_context)
        assert result.outcome in {"401", "allow"}, result.outcome  # never a crash; the route is in scope
        if result.outcome == "allow":
            assert header[:6].lower() == "bearer"
            assert header[6:] == original[6:]
            assert result.context == meaning[kid].context

    mutated()


def test_the_answer_never_depends_on_what_was_cached_for_another_token(
    authorizer_app: ModuleType,
    authorizer_corpus: CorpusContext,
    authorizer_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Interleaving hostile and valid tokens changes no answer: warm state (the JWKS cache, Powertools'
    buffers) carries nothing from one invocation to the next."""
    app, corpus = authorizer_app, authorizer_corpus
    at_now(app, monkeypatch)
    valid = "Bearer " + valid_token(corpus)
    expected = answer(app, token_event(valid), authorizer_context)
    for name, hostile in hostile_tokens(corpus):
        assert answer(app, token_event("Bearer " + hostile), authorizer_context) == UNAUTHORIZED, name
        assert answer(app, token_event(valid), authorizer_context) == expected, name
    assert expected == Answer("allow", expected.context)
