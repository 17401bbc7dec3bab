"""The timing rule, checked by counting: unknown client, disabled client, expired secret, wrong secret and
success do the same hash and store work, so response time says nothing about which one it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from partnerauth.client_registry import ClientAuthenticationFailed, ClientRegistry, ClientStatus, IssuedSecret

from .conftest import FORM, CountingHasher, Endpoint, RecordingClient, basic, form


@pytest.fixture
def cases(
    registry: ClientRegistry, new_client: Callable[..., IssuedSecret], clock: Any
) -> dict[str, tuple[str, str]]:
    live = new_client()
    rolled = new_client()
    registry.roll_secret(rolled.client.client_id, overlap=3600)  # two stored secrets
    disabled = new_client()
    registry.set_status(disabled.client.client_id, ClientStatus.DISABLED)
    expiring = new_client(secret_expires_at=int(clock()) + 10)
    clock.advance(11)
    return {
        "success": (live.client.client_id, live.secret),
        "success with two secrets": (rolled.client.client_id, rolled.secret),
        "unknown client": ("pc_0000000000000000", live.secret),
        "disabled client": (disabled.client.client_id, disabled.secret),
        "expired secret": (expiring.client.client_id, expiring.secret),
        "wrong secret": (live.client.client_id, "pacs_" + "A" * 43),
    }


def work_for(
    endpoint: Endpoint, hasher: CountingHasher, dynamodb: RecordingClient, client_id: str, secret: str
) -> tuple[int, int, list[tuple[str, str]]]:
    hasher.reset()
    dynamodb.calls.clear()
    endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, basic(client_id, secret)))
    reads = [call for call in dynamodb.calls if call[0] in ("get_item", "batch_get_item")]
    return hasher.digests, hasher.comparisons, reads


def test_every_authentication_path_does_the_same_hash_and_read_work(
    token_endpoint: Endpoint,
    hasher: CountingHasher,
    recording_dynamodb: RecordingClient,
    cases: dict[str, tuple[str, str]],
    tables: dict[str, str],
) -> None:
    work = {name: work_for(token_endpoint, hasher, recording_dynamodb, *case) for name, case in cases.items()}
    both = " ".join(sorted((tables["ClientsTable"], tables["AuthAttemptsTable"])))
    for name, (digests, comparisons, reads) in work.items():
        # One HMAC, two constant-time comparisons (dummy digests fill empty slots), and one round trip
        # that reads the client and its failure record together (issue 16 item 5), nothing else of either
        assert digests == 1, name
        assert comparisons == 2, name
        assert [read for read in reads if read[1] != tables["SigningKeysTable"]] == [
            ("batch_get_item", both)
        ], name


def test_every_failure_path_writes_the_attempts_table_once_and_nothing_else(
    token_endpoint: Endpoint,
    hasher: CountingHasher,
    recording_dynamodb: RecordingClient,
    cases: dict[str, tuple[str, str]],
    tables: dict[str, str],
) -> None:
    for name, case in cases.items():
        if name.startswith("success"):
            continue
        work_for(token_endpoint, hasher, recording_dynamodb, *case)
        writes = [c for c in recording_dynamodb.calls if c[0] in ("put_item", "update_item", "delete_item")]
        assert writes == [("update_item", tables["AuthAttemptsTable"])], name


def test_success_without_earlier_failures_writes_only_the_issued_token_count(
    token_endpoint: Endpoint,
    hasher: CountingHasher,
    recording_dynamodb: RecordingClient,
    cases: dict[str, tuple[str, str]],
    tables: dict[str, str],
) -> None:
    work_for(token_endpoint, hasher, recording_dynamodb, *cases["success"])
    writes = [c for c in recording_dynamodb.calls if c[0] in ("put_item", "update_item", "delete_item")]
    # The issuance limit's one conditional UpdateItem (issue 15 item 2); nothing for the throttle
    assert writes == [("update_item", tables["AuthAttemptsTable"])]


def test_hash_is_computed_even_when_the_client_does_not_exist(
    tables: dict[str, str], dynamodb_client: Any, hasher: CountingHasher
) -> None:
    # Given a registry whose hasher counts; when an unknown id authenticates
    registry = ClientRegistry(tables["ClientsTable"], dynamodb_client, hasher)
    with pytest.raises(ClientAuthenticationFailed) as failure:
        registry.authenticate("pc_nobody", "pacs_whatever")
    counting = hasher
    # Then the same hash and comparison work was done as for a real client
    assert failure.value.reason.value == "unknown_client"
    assert (counting.digests, counting.comparisons) == (1, 2)
