"""Rolling a client's secret with no downtime: two live secrets during the overlap, then only the new one."""

from __future__ import annotations

from typing import Any

import pytest

from partnerauth.client_registry import ClientRegistry, InvalidClientMetadata, IssuedSecret, TooManySecrets

from .conftest import FORM, Endpoint, Reply, basic, form

DAY = 86_400


def token_with(endpoint: Endpoint, client_id: str, secret: str) -> Reply:
    return endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, basic(client_id, secret)))


def test_both_secrets_work_during_the_overlap_and_the_old_one_is_refused_after(
    token_endpoint: Endpoint, registry: ClientRegistry, partner: IssuedSecret, clock: Any
) -> None:
    client_id = partner.client.client_id
    # Given a roll with a one-day overlap
    rolled = registry.roll_secret(client_id, overlap=DAY)
    assert rolled.secret != partner.secret
    # When both are presented during the overlap, both work
    assert token_with(token_endpoint, client_id, partner.secret).status == 200
    assert token_with(token_endpoint, client_id, rolled.secret).status == 200
    clock.advance(DAY - 1)
    assert token_with(token_endpoint, client_id, partner.secret).status == 200
    # Then once the overlap is over the old secret is invalid_client (RFC 6749 §5.2), the new one still works
    clock.advance(1)
    assert token_with(token_endpoint, client_id, partner.secret).status == 401
    assert token_with(token_endpoint, client_id, rolled.secret).status == 200


def test_roll_with_zero_overlap_cuts_the_old_secret_at_once(
    token_endpoint: Endpoint, registry: ClientRegistry, partner: IssuedSecret
) -> None:
    rolled = registry.roll_secret(partner.client.client_id, overlap=0)
    assert token_with(token_endpoint, partner.client.client_id, partner.secret).status == 401
    assert token_with(token_endpoint, partner.client.client_id, rolled.secret).status == 200


def test_a_third_live_secret_is_refused(registry: ClientRegistry, partner: IssuedSecret) -> None:
    registry.roll_secret(partner.client.client_id, overlap=DAY)
    with pytest.raises(TooManySecrets):
        registry.roll_secret(partner.client.client_id, overlap=DAY)


def test_rolling_again_after_the_overlap_prunes_the_expired_secret(
    registry: ClientRegistry, partner: IssuedSecret, clock: Any
) -> None:
    first = registry.roll_secret(partner.client.client_id, overlap=60)
    clock.advance(61)
    second = registry.roll_secret(partner.client.client_id, overlap=60)
    ids = [s.secret_id for s in second.client.secrets]
    assert partner.secret_id not in ids
    assert ids == [first.secret_id, second.secret_id]


def test_revoking_a_secret_by_id_cuts_it_off(
    token_endpoint: Endpoint, registry: ClientRegistry, partner: IssuedSecret
) -> None:
    rolled = registry.roll_secret(partner.client.client_id, overlap=DAY)
    registry.revoke_secret(partner.client.client_id, partner.secret_id)
    assert token_with(token_endpoint, partner.client.client_id, partner.secret).status == 401
    assert token_with(token_endpoint, partner.client.client_id, rolled.secret).status == 200


def test_secret_with_its_own_expiry_is_refused_after_it(
    token_endpoint: Endpoint, new_client: Any, clock: Any
) -> None:
    issued = new_client(secret_expires_at=int(clock()) + 3600)
    assert token_with(token_endpoint, issued.client.client_id, issued.secret).status == 200
    clock.advance(3600)
    assert token_with(token_endpoint, issued.client.client_id, issued.secret).status == 401


def test_roll_keeps_an_earlier_expiry_of_the_old_secret(
    registry: ClientRegistry, new_client: Any, clock: Any
) -> None:
    issued = new_client(secret_expires_at=int(clock()) + 60)
    rolled = registry.roll_secret(issued.client.client_id, overlap=DAY)
    old = next(s for s in rolled.client.secrets if s.secret_id == issued.secret_id)
    assert old.expires_at == int(clock()) + 60


@pytest.mark.parametrize(("overlap", "expires_in"), [(-1, None), (0, 0), (0, -5)])
def test_roll_refuses_negative_overlap_and_past_expiry(
    overlap: int, expires_in: int | None, registry: ClientRegistry, partner: IssuedSecret, clock: Any
) -> None:
    expires_at = None if expires_in is None else int(clock()) + expires_in
    with pytest.raises(InvalidClientMetadata):
        registry.roll_secret(partner.client.client_id, overlap=overlap, expires_at=expires_at)
