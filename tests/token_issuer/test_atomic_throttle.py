"""One try per delay, under concurrency too (issue 19 item 5), and still no lockout (issue 14 item 6).

Concurrent failures that read the same throttle state race for one conditional write (compare and set on the
stored count); exactly one is counted, the others are answered 429 without another write once its delay is
open.  A valid credential in the middle of the race still gets its token.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from partnerauth.auth_throttle import (
    MAX_CONTENDED_WRITES,
    AttemptState,
    AuthThrottle,
    ClientThrottled,
    ThrottlePolicy,
)
from partnerauth.client_registry import IssuedSecret
from tests.support.clock import FakeClock
from token_issuer.client_auth import AuthMethod, credentials
from token_issuer.grant import ClientCredentialsGrant, build_grant
from token_issuer.oauth_errors import InvalidClient
from token_issuer.token_request import TokenRequest

from .conftest import ISSUER, CountingHasher, RecordingClient

POLICY = ThrottlePolicy()
RACERS = 12  # concurrent requests per race (threads; each waits for all the others to have read)
WAIT = 30.0  # seconds a racer waits for the others at the barrier before the test fails (never reached)


def stored_failures(dynamodb: Any, table: str, client_id: str) -> int:
    item = dynamodb.get_item(TableName=table, Key={"client_id": {"S": client_id}}, ConsistentRead=True)[
        "Item"
    ]
    return int(item["failures"]["N"])


def counted_writes(dynamodb: RecordingClient, table: str) -> int:
    return dynamodb.count("update_item", table)


# -- interleaved by hand: two instances, one stored state ---------------------------------------------------


def test_of_two_failures_that_read_the_same_state_exactly_one_is_counted(
    tables: dict[str, str], dynamodb_client: Any, clock: FakeClock
) -> None:
    table = tables["AuthAttemptsTable"]
    first, second = (
        AuthThrottle(table, dynamodb_client, clock=clock),
        AuthThrottle(table, dynamodb_client, clock=clock),
    )
    # Given the free failures are used up and their delay is over
    for _ in range(POLICY.free_failures):
        first.record_failure("pc_target")
    clock.advance(POLICY.delay_after(POLICY.free_failures))
    # When two instances read the same state (no delay open) and then both fail
    seen_first, seen_second = first.look("pc_target"), second.look("pc_target")
    assert seen_first == seen_second
    assert seen_first.retry_after == 0
    first.refuse("pc_target", seen_first)
    # Then the second loses the claim: 429 with the delay the first one opened, and nothing more is counted
    with pytest.raises(ClientThrottled) as refused:
        second.refuse("pc_target", seen_second)
    assert refused.value.retry_after == POLICY.delay_after(POLICY.free_failures + 1)
    assert stored_failures(dynamodb_client, table, "pc_target") == POLICY.free_failures + 1


def test_a_free_failure_that_loses_the_race_counts_on_top(
    tables: dict[str, str], dynamodb_client: Any, clock: FakeClock
) -> None:
    table = tables["AuthAttemptsTable"]
    first, second = (
        AuthThrottle(table, dynamodb_client, clock=clock),
        AuthThrottle(table, dynamodb_client, clock=clock),
    )
    seen = first.look("pc_target")
    first.refuse("pc_target", seen)
    second.refuse("pc_target", seen)  # stale read of 0: the write is refused, the stored 1 becomes 2
    assert stored_failures(dynamodb_client, table, "pc_target") == 2


def test_a_success_does_not_clear_a_count_that_changed_since_it_read(
    tables: dict[str, str], dynamodb_client: Any, clock: FakeClock
) -> None:
    table = tables["AuthAttemptsTable"]
    throttle = AuthThrottle(table, dynamodb_client, clock=clock)
    throttle.record_failure("pc_target")
    seen = throttle.look("pc_target")
    throttle.record_failure("pc_target")  # a concurrent failure counted after the success read
    throttle.record_success("pc_target", seen)
    assert stored_failures(dynamodb_client, table, "pc_target") == 2
    throttle.record_success("pc_target", throttle.look("pc_target"))  # an up-to-date success clears it
    assert throttle.look("pc_target") == AttemptState()


def test_an_expired_record_is_replaced_by_one_conditional_write(
    tables: dict[str, str], recording_dynamodb: RecordingClient, clock: FakeClock
) -> None:
    table = tables["AuthAttemptsTable"]
    throttle = AuthThrottle(table, recording_dynamodb, clock=clock)
    for _ in range(POLICY.free_failures + 2):
        throttle.record_failure("pc_target")
    clock.advance(POLICY.reset_after + 1)  # expired, not yet swept by DynamoDB's TTL
    recording_dynamodb.calls.clear()
    throttle.refuse("pc_target", throttle.look("pc_target"))
    assert [call[0] for call in recording_dynamodb.calls] == ["get_item", "update_item"]
    assert throttle.look("pc_target").failures == 1


# -- real threads on moto: every racer reads before any writes --------------------------------------------


class ReadBarrier:
    """The DynamoDB client of the racing requests: each waits after its read until all have read, so that
    they all decide from the same state (the interleaving that broke "one try per delay").

    Each request reaches moto alone (a lock): DynamoDB applies every request atomically, condition and write
    together, but in-process moto checks a condition and writes in separate steps, so two threads could both
    pass one condition there, which DynamoDB never allows."""

    def __init__(self, client: Any, parties: int) -> None:
        self._client = client
        self._barrier = threading.Barrier(parties, timeout=WAIT)
        self._one_request_at_a_time = threading.Lock()

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def batch_get_item(self, **kwargs: Any) -> Any:
        with self._one_request_at_a_time:
            response = self._client.batch_get_item(**kwargs)
        self._barrier.wait()
        return response

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._client, name)

        def atomic(**kwargs: Any) -> Any:
            with self._one_request_at_a_time:
                return operation(**kwargs)

        return atomic


def racing_grant(token_module: Any, dynamodb: Any, kms: Any, hasher: CountingHasher, clock: FakeClock) -> Any:
    return build_grant(
        token_module.settings, dynamodb=dynamodb, kms=kms, fetch_pepper=lambda: "", clock=clock, hasher=hasher
    )


def race(grant: ClientCredentialsGrant, client_id: str, secrets: list[str]) -> list[str]:
    def one(secret: str) -> str:
        request = TokenRequest(
            "client_credentials", credentials(client_id, secret, AuthMethod.CLIENT_SECRET_POST)
        )
        try:
            grant.issue(request, issuer=ISSUER)
        except ClientThrottled:
            return "429"
        except InvalidClient:
            return "401"
        return "200"

    with ThreadPoolExecutor(max_workers=len(secrets)) as pool:
        return list(pool.map(one, secrets))


def test_concurrent_wrong_guesses_count_one_try_per_delay(
    token_module: Any,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    kms_client: Any,
    hasher: CountingHasher,
    clock: FakeClock,
    tables: dict[str, str],
) -> None:
    client_id, table = partner.client.client_id, tables["AuthAttemptsTable"]
    # Given RACERS wrong guesses that all read the throttle state before any of them writes
    grant = racing_grant(token_module, ReadBarrier(recording_dynamodb, RACERS), kms_client, hasher, clock)
    answers = race(grant, client_id, ["pacs_wrong"] * RACERS)
    # Then the free failures are counted and no more: the one that opens the delay wins, the rest are 429
    assert sorted(answers) == ["401"] * POLICY.free_failures + ["429"] * (RACERS - POLICY.free_failures)
    assert stored_failures(recording_dynamodb, table, client_id) == POLICY.free_failures
    # When the delay is over and another race of wrong guesses comes
    clock.advance(POLICY.delay_after(POLICY.free_failures))
    grant = racing_grant(token_module, ReadBarrier(recording_dynamodb, RACERS), kms_client, hasher, clock)
    writes = counted_writes(recording_dynamodb, table)
    answers = race(grant, client_id, ["pacs_wrong"] * RACERS)
    # Then exactly one try was counted for this delay; every other racer got 429 after one lost write
    assert sorted(answers) == ["401"] + ["429"] * (RACERS - 1)
    assert stored_failures(recording_dynamodb, table, client_id) == POLICY.free_failures + 1
    assert (
        counted_writes(recording_dynamodb, table) - writes == RACERS
    )  # one conditional write each, no retry


def test_a_valid_secret_in_the_middle_of_a_racing_flood_gets_its_token(
    token_module: Any,
    partner: IssuedSecret,
    dynamodb_client: Any,
    kms_client: Any,
    hasher: CountingHasher,
    clock: FakeClock,
) -> None:
    client_id = partner.client.client_id
    secrets = ["pacs_wrong"] * (RACERS - 1)
    secrets.insert(RACERS // 2, partner.secret)
    grant = racing_grant(token_module, ReadBarrier(dynamodb_client, RACERS), kms_client, hasher, clock)
    answers = race(grant, client_id, secrets)
    # issue 14 item 6: the throttle never refuses a valid credential, whatever races beside it
    assert answers[RACERS // 2] == "200"
    assert set(answers[: RACERS // 2] + answers[RACERS // 2 + 1 :]) <= {"401", "429"}


class AlwaysOutraced:
    """A DynamoDB whose every conditional count is lost to another attempt that left no delay open (the
    state it hands back is always a fresh one): the most contended table there can be."""

    class exceptions:  # noqa: N801 - the shape of a boto3 client's ``exceptions``
        class ConditionalCheckFailedException(Exception):
            response: dict[str, Any] = {}  # noqa: RUF012 - no Item: nothing live is stored

    def __init__(self) -> None:
        self.writes = 0

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def update_item(self, **_: Any) -> None:
        self.writes += 1
        raise self.exceptions.ConditionalCheckFailedException


def test_a_count_lost_again_and_again_ends_in_429_after_a_bounded_number_of_writes(clock: FakeClock) -> None:
    table = AlwaysOutraced()
    throttle = AuthThrottle("AuthAttemptsTable", table, clock=clock)
    # The loop is bounded: each loss is another attempt's count, so past the free failures the answer is 429
    with pytest.raises(ClientThrottled) as refused:
        throttle.refuse("pc_target", AttemptState())
    assert refused.value.retry_after == POLICY.base_delay
    assert table.writes == POLICY.free_failures + 1


def test_record_failure_also_gives_up_after_a_bounded_number_of_lost_writes(clock: FakeClock) -> None:
    table = AlwaysOutraced()
    with pytest.raises(ClientThrottled):
        AuthThrottle("AuthAttemptsTable", table, clock=clock).record_failure("pc_target")
    assert table.writes == MAX_CONTENDED_WRITES
