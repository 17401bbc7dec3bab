"""Hostile requests to /oauth2/revoke and /oauth2/introspect: a §5.2 answer or the documented 200, never a
5xx, and nothing stored changes (hypothesis, derandomized, bounded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerauth.client_registry import IssuedSecret
from tests.token_issuer.conftest import FORM, Endpoint

from .conftest import INTROSPECT_PATH, REVOKE_PATH, credentials

PARAMETERS = [
    "token",
    "token_type_hint",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "a.b.c", "eyJ.eyJ.", "%", "%ZZ", "\x00", "a" * 5000, "..", "Bearer x", "%E2%82"]),
)
# a well-formed form whose values are junk (a token is always there: the parsing rules are not all it meets),
# and raw bytes that are no form at all
FORMS = st.tuples(VALUES, st.dictionaries(st.sampled_from(PARAMETERS[1:]), VALUES, max_size=3)).map(
    lambda parts: urlencode({"token": parts[0], **parts[1]})
)
JUNK_BODIES = st.one_of(FORMS, FORMS, st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")))


@pytest.mark.parametrize("path", [REVOKE_PATH, INTROSPECT_PATH])
def test_junk_gets_a_documented_answer_and_changes_nothing(
    endpoint: Endpoint,
    partner: IssuedSecret,
    table_snapshot: Callable[[], dict[str, Any]],
    path: str,
) -> None:
    before = table_snapshot()["RevocationsTable"]
    statuses: set[int] = set()

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(body=JUNK_BODIES, authenticated=st.booleans(), content_type=st.sampled_from([FORM, ()]))
    def check(body: str, authenticated: bool, content_type: tuple[tuple[str, str], ...]) -> None:
        headers = (*content_type, *((credentials(partner),) if authenticated else ()))
        reply = endpoint.request("POST", path, body=body, headers=headers)
        # RFC 7009 §2.2 / RFC 7662 §2.2 (200), RFC 6749 §5.2 (400, 401), the partner's introspection (400)
        assert reply.status in {200, 400, 401}, (reply.status, reply.body)
        assert reply.header("Cache-Control") == "no-store"
        statuses.add(reply.status)

    check()
    # the matrix did reach the refusals, and (revocation) the 200 of an authenticated caller's junk token
    assert statuses >= ({200, 400, 401} if path == REVOKE_PATH else {400, 401})
    assert table_snapshot()["RevocationsTable"] == before
