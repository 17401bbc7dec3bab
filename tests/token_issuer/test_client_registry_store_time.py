"""Secret ends are decided by the store's clock, not the operator's (issue 19, "Clocks").

The operator's laptop runs 10 minutes fast.  ``roll-secret --overlap 0`` (the leak procedure) must cut the
old secret at once for the token endpoint, whose clock is the store's; a positive overlap ends ``overlap``
seconds after DynamoDB's ``Date`` header of the read the roll is based on.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest

from partnerauth.client_registry import ClientAuthenticationFailed, ClientRegistry, IssuedSecret
from partnerauth.client_secrets import SecretHasher
from partnerauth.store_time import response_date
from tests.support.clock import FakeClock

from .conftest import MAX_TOKEN_LIFETIME

SKEW = 600  # the operator's clock is 10 minutes fast


class DatedBy:
    """A DynamoDB client whose answers carry ``clock``'s time in their ``Date`` header (the store's clock)."""

    def __init__(self, client: Any, clock: FakeClock) -> None:
        self._client = client
        self._clock = clock

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def dated(**kwargs: Any) -> Any:
            response = attribute(**kwargs)
            response["ResponseMetadata"]["HTTPHeaders"]["date"] = formatdate(self._clock(), usegmt=True)
            return response

        return dated


@pytest.fixture
def operator(tables: dict[str, str], dynamodb_client: Any, pepper: str, clock: FakeClock) -> ClientRegistry:
    """The admin CLI's registry on a laptop SKEW seconds fast; the store's clock is ``clock``."""
    laptop = FakeClock(clock() + SKEW)
    return ClientRegistry(
        tables["ClientsTable"],
        DatedBy(dynamodb_client, clock),
        SecretHasher(pepper),
        laptop,
        max_token_lifetime=MAX_TOKEN_LIFETIME,
        store_time=True,
    )


def test_zero_overlap_cuts_the_leaked_secret_at_once_whatever_the_operators_clock(
    operator: ClientRegistry, registry: ClientRegistry, new_client: Callable[..., IssuedSecret]
) -> None:
    # Given a leaked secret, and the token endpoint's view (registry: the store's clock)
    leaked = new_client(client_id="acme")
    # When the operator rolls with --overlap 0 from a fast laptop
    rolled = operator.roll_secret("acme", overlap=0)
    # Then the leaked secret is refused at once (it left the item: no clock compares anything)
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate("acme", leaked.secret)
    assert [s.secret_id for s in registry.get("acme").secrets] == [rolled.secret_id]
    assert registry.authenticate("acme", rolled.secret).client_id == "acme"


def test_a_positive_overlap_ends_by_the_stores_clock(
    operator: ClientRegistry,
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    clock: FakeClock,
) -> None:
    old = new_client(client_id="acme")
    operator.roll_secret("acme", overlap=3600)
    ends = {s.secret_id: s.expires_at for s in registry.get("acme").secrets}
    assert ends[old.secret_id] == int(clock()) + 3600  # not the laptop's + 3600
    clock.advance(3600)
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate("acme", old.secret)


def test_a_new_secrets_expiry_is_dated_by_the_store(
    operator: ClientRegistry,
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    clock: FakeClock,
) -> None:
    new_client(client_id="acme")
    rolled = operator.roll_secret("acme", overlap=0, expires_in=86_400)
    assert rolled.expires_at == int(clock()) + 86_400
    created = operator.create(
        client_name="B", scopes=["a"], audiences=["partner-api"], token_lifetime=900, secret_expires_in=60
    )
    assert created.expires_at == int(clock()) + 60


def test_use_keys_with_zero_overlap_removes_every_secret(
    operator: ClientRegistry,
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    partner_rsa: Any,
) -> None:
    leaked = new_client(client_id="acme")
    operator.use_keys("acme", jwks=partner_rsa.jwks(), secret_overlap=0)
    assert registry.get("acme").secrets == ()
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate("acme", leaked.secret)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"date": "Sat, 05 Dec 2026 23:20:08 GMT"}, 1796512808.0),
        ({"date": "not a date"}, None),
        ({"date": "Sat, 05 Dec 2026 23:20:08"}, None),  # RFC 9110 §5.6.7: an HTTP-date is GMT
        ({}, None),
    ],
)
def test_the_response_date_is_read_from_the_http_header(
    headers: dict[str, str], expected: float | None
) -> None:
    assert response_date({"ResponseMetadata": {"HTTPHeaders": headers}}) == expected
