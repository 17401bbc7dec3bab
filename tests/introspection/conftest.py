"""Fixtures for RFC 7662 introspection: the revocation endpoint's (tests/token_revocation/conftest.py), and a
resource server registered as a client with the ``introspect`` permission."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from partnerauth.client_registry import IssuedSecret
from tests.token_issuer.conftest import AUDIENCE
from tests.token_revocation import conftest as revocation_fixtures

globals().update(
    {
        name: getattr(revocation_fixtures, name)
        for name in (*revocation_fixtures.SHARED_FIXTURES, "endpoint", "revocation_store")
    }
)


@pytest.fixture
def resource_server(new_client: Callable[..., IssuedSecret]) -> IssuedSecret:
    """The API partners' tokens are for (its identifier: its registered audience), allowed to introspect."""
    return new_client(
        client_name="Partner API", scopes=["orders:read"], audiences=[AUDIENCE], permissions=["introspect"]
    )
