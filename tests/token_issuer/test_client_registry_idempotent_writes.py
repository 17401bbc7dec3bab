"""No admin write is lost to a retry (issue 19 item 2).

The fault: DynamoDB commits a write and its answer is lost (a 5xx after the commit).  Either botocore
retries the same call, whose version condition then fails, or the error reaches the registry.  Every write
must then find its own committed write (``last_request``) and succeed with what it returns - a rolled
secret included - or change nothing.  :class:`CommitThenFail` performs the call for real (moto) and then
fails it once, in one of the two ways.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from partnerauth.client_registry import (
    ClientAlreadyExists,
    ClientAuthenticationFailed,
    ClientRegistry,
    ClientStatus,
    IssuedSecret,
    WriteOutcomeUnknown,
)
from partnerauth.client_secrets import SecretHasher
from tests.support.lost_answers import BOTOCORE_RETRY, LOST_ANSWER, CommitThenFail, server_error

from .assertions import PartnerKey
from .conftest import AUDIENCE, MAX_TOKEN_LIFETIME


@dataclass
class Faulty:
    registry: ClientRegistry
    client: CommitThenFail


@pytest.fixture
def faulty(tables: dict[str, str], dynamodb_client: Any, pepper: str, clock: Any) -> Callable[..., Faulty]:
    def make(operation: str, mode: str, *, reads_fail: bool = False) -> Faulty:
        client = CommitThenFail(dynamodb_client, operation, mode, reads_fail=reads_fail)
        registry = ClientRegistry(
            tables["ClientsTable"],
            client,
            SecretHasher(pepper),
            clock,
            max_token_lifetime=MAX_TOKEN_LIFETIME,
            actor="arn:aws:iam::123456789012:user/operator",
        )
        return Faulty(registry, client)

    return make


def client_item(dynamodb_client: Any, tables: dict[str, str], client_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb_client.get_item(
        TableName=tables["ClientsTable"], Key={"client_id": {"S": client_id}}, ConsistentRead=True
    ).get("Item")
    return item


MODES = [LOST_ANSWER, BOTOCORE_RETRY]
CREATE: dict[str, Any] = {
    "client_name": "Acme",
    "scopes": ["orders:read"],
    "audiences": [AUDIENCE],
    "token_lifetime": 900,
}


@pytest.mark.parametrize("mode", MODES)
def test_create_finds_its_own_write_and_shows_the_secret(
    mode: str, faulty: Callable[..., Faulty], registry: ClientRegistry
) -> None:
    under_fault = faulty("put_item", mode)
    issued = under_fault.registry.create(**CREATE, client_id="acme")
    assert under_fault.client.fired
    # not "already exists" about its own client: success, and the secret shown is the stored one
    assert registry.authenticate("acme", issued.secret).client_id == "acme"
    assert [c.client_id for c in registry.list_clients()] == ["acme"]


@pytest.mark.parametrize("mode", MODES)
def test_create_with_a_generated_id_leaves_no_orphan(
    mode: str, faulty: Callable[..., Faulty], registry: ClientRegistry
) -> None:
    under_fault = faulty("put_item", mode)
    issued = under_fault.registry.create(**CREATE)
    assert [c.client_id for c in registry.list_clients()] == [issued.client.client_id]
    assert registry.authenticate(issued.client.client_id, issued.secret)


def test_create_of_somebody_elses_id_is_still_refused(
    faulty: Callable[..., Faulty], registry: ClientRegistry
) -> None:
    registry.create(**CREATE, client_id="acme")
    with pytest.raises(ClientAlreadyExists):
        faulty("put_item", BOTOCORE_RETRY).registry.create(**CREATE, client_id="acme")


@pytest.mark.parametrize("mode", MODES)
def test_create_with_keys_finds_its_own_write(
    mode: str, faulty: Callable[..., Faulty], registry: ClientRegistry, partner_rsa: PartnerKey
) -> None:
    client = faulty("put_item", mode).registry.create_with_keys(
        **CREATE, client_id="keyed", jwks=partner_rsa.jwks()
    )
    assert registry.get("keyed") == client


@pytest.mark.parametrize("mode", MODES)
def test_roll_secret_never_loses_the_new_secret(
    mode: str,
    faulty: Callable[..., Faulty],
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    dynamodb_client: Any,
    tables: dict[str, str],
) -> None:
    old = new_client(client_id="acme")
    rolled = faulty("put_item", mode).registry.roll_secret("acme", overlap=3600)
    # the secret the operator is shown is the one stored, and only one new secret was added
    assert registry.authenticate("acme", rolled.secret).client_id == "acme"
    assert registry.authenticate("acme", old.secret).client_id == "acme"  # within the overlap
    stored = client_item(dynamodb_client, tables, "acme")
    assert stored is not None
    assert len(stored["secrets"]["L"]) == 2
    assert stored["version"] == {"N": "2"}


@pytest.mark.parametrize("mode", MODES)
def test_roll_secret_with_zero_overlap_cuts_the_old_and_shows_the_new(
    mode: str,
    faulty: Callable[..., Faulty],
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
) -> None:
    old = new_client(client_id="acme")
    rolled = faulty("put_item", mode).registry.roll_secret("acme", overlap=0)
    assert registry.authenticate("acme", rolled.secret).client_id == "acme"
    with pytest.raises(ClientAuthenticationFailed):
        registry.authenticate("acme", old.secret)


ChangeFn = Callable[[ClientRegistry, str, PartnerKey, PartnerKey], Any]
CHANGES: dict[str, tuple[str, ChangeFn]] = {
    "update": ("put_item", lambda r, c, k1, k2: r.update(c, client_name="Renamed")),
    "enable": ("put_item", lambda r, c, k1, k2: r.set_status(c, ClientStatus.ACTIVE)),
    "disable": ("update_item", lambda r, c, k1, k2: r.disable(c)),
    "revoke_secret": ("put_item", lambda r, c, k1, k2: r.revoke_secret(c, r.get(c).secrets[0].secret_id)),
    "use_keys": ("put_item", lambda r, c, k1, k2: r.use_keys(c, jwks=k1.jwks(), secret_overlap=60)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_succeeds_once_when_its_answer_is_lost(
    change: str,
    mode: str,
    faulty: Callable[..., Faulty],
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
    partner_rsa: PartnerKey,
    partner_ec: PartnerKey,
) -> None:
    new_client(client_id="acme")
    operation, run = CHANGES[change]
    under_fault = faulty(operation, mode)
    run(under_fault.registry, "acme", partner_rsa, partner_ec)  # no ClientConflict about its own write
    assert under_fault.client.fired
    stored = registry.get("acme")
    assert stored.version == 2  # exactly one write
    assert stored.changed_by == "arn:aws:iam::123456789012:user/operator"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("change", ["add_key", "remove_key"])
def test_key_changes_succeed_once_when_their_answer_is_lost(
    change: str,
    mode: str,
    faulty: Callable[..., Faulty],
    registry: ClientRegistry,
    partner_rsa: PartnerKey,
    partner_ec: PartnerKey,
) -> None:
    registry.create_with_keys(**CREATE, client_id="keyed", jwks={"keys": [partner_rsa.jwk, partner_ec.jwk]})
    under_fault = faulty("put_item", mode)
    if change == "add_key":
        registry.remove_key("keyed", partner_ec.kid)
        under_fault.registry.add_key("keyed", partner_ec.jwk)
        expected_version = 3
    else:
        under_fault.registry.remove_key("keyed", partner_ec.kid)
        expected_version = 2
    assert under_fault.client.fired
    assert registry.get("keyed").version == expected_version


@pytest.mark.parametrize("mode", MODES)
def test_delete_that_committed_is_done(
    mode: str,
    faulty: Callable[..., Faulty],
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
) -> None:
    new_client(client_id="acme")
    faulty("delete_item", mode).registry.delete("acme")  # not "no such client" about its own delete
    assert registry.find("acme") is None


def test_a_write_that_did_not_commit_changes_nothing_and_says_so(
    tables: dict[str, str],
    dynamodb_client: Any,
    pepper: str,
    clock: Any,
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
) -> None:
    new_client(client_id="acme")
    before = registry.get("acme")

    class Refusing:
        exceptions = dynamodb_client.exceptions

        def __getattr__(self, name: str) -> Any:
            if name == "put_item":

                def refuse(**_: Any) -> Any:
                    raise server_error("PutItem")  # before any commit

                return refuse
            return getattr(dynamodb_client, name)

    failing = ClientRegistry(tables["ClientsTable"], Refusing(), SecretHasher(pepper), clock)
    with pytest.raises(ClientError):
        failing.roll_secret("acme", overlap=60)
    assert registry.get("acme") == before  # the operator's retry is safe: nothing changed


def test_when_neither_answer_nor_read_back_arrive_the_request_id_is_named(
    faulty: Callable[..., Faulty],
    registry: ClientRegistry,
    new_client: Callable[..., IssuedSecret],
) -> None:
    new_client(client_id="acme")
    under_fault = faulty("put_item", LOST_ANSWER, reads_fail=True)
    with pytest.raises(WriteOutcomeUnknown) as unknown:
        under_fault.registry.roll_secret("acme", overlap=60)
    # the operator can look it up: `show` prints the item's last request
    assert registry.get("acme").last_request == unknown.value.request
    assert unknown.value.request in str(unknown.value)


def test_a_rerun_roll_after_a_lost_answer_is_refused_with_the_unshown_secret_named(
    registry: ClientRegistry, new_client: Callable[..., IssuedSecret], clock: Any
) -> None:
    # Given a roll whose process died before the secret was shown (its write committed)
    new_client(client_id="acme")
    clock.advance(10)
    lost = registry.roll_secret("acme", overlap=3600)
    # When the operator runs the same roll again, then it is refused and names the secret to revoke
    from partnerauth.client_registry import TooManySecrets

    with pytest.raises(TooManySecrets) as refused:
        registry.roll_secret("acme", overlap=3600)
    assert f"revoke-secret CLIENT_ID {lost.secret_id}" in str(refused.value)
