"""Every token of the hostile corpus is rejected by the layer's verifier, with a reason."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerauth.errors import TokenRejected
from partnerauth.verification import AccessTokenVerifier

from .hostile_tokens import CorpusContext, hostile_tokens, valid_token


def test_the_corpus_is_large_and_its_names_are_unique(corpus_context: CorpusContext) -> None:
    names = [name for name, _ in hostile_tokens(corpus_context)]
    assert len(names) >= 150
    assert not [name for name, count in Counter(names).items() if count > 1]


def test_positive_control_valid_tokens_of_each_key_verify(
    corpus_context: CorpusContext, layer_verifier: AccessTokenVerifier
) -> None:
    # Without this, a verifier that rejects everything would pass the corpus.
    for key in (corpus_context.rsa, corpus_context.ec, corpus_context.ed):
        assert layer_verifier.verify(valid_token(corpus_context, key)).kid == key.kid


def test_every_hostile_token_is_rejected(
    corpus_context: CorpusContext, layer_verifier: AccessTokenVerifier
) -> None:
    accepted, crashed = [], []
    for name, token in hostile_tokens(corpus_context):
        try:
            layer_verifier.verify(token)
        except TokenRejected:
            continue
        except Exception as error:  # noqa: BLE001 - collected and reported below
            crashed.append(f"{name}: {type(error).__name__}")
        else:
            accepted.append(name)
    assert accepted == []
    assert crashed == []


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mutation_is_rejected_or_means_the_same(
    data: st.DataObject, corpus_context: CorpusContext, layer_verifier: AccessTokenVerifier
) -> None:
    """Issue 9: a mutated valid token is either rejected or byte-identical in meaning."""
    key = data.draw(st.sampled_from([corpus_context.rsa, corpus_context.ec, corpus_context.ed]))
    token = valid_token(corpus_context, key)
    original = layer_verifier.verify(token)
    position = data.draw(st.integers(0, len(token) - 1))
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    char = data.draw(st.sampled_from(ALPHABET))
    if kind == "replace":
        mutated = token[:position] + char + token[position + 1 :]
    elif kind == "insert":
        mutated = token[:position] + char + token[position:]
    else:
        mutated = token[:position] + token[position + 1 :]
    try:
        result = layer_verifier.verify(mutated)
    except TokenRejected:
        return
    assert mutated == token  # only the identity "mutation" may pass...
    assert result == original  # ...and it must mean exactly the same
