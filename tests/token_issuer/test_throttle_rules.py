"""Failure throttle and the one read, rule by rule and fast (issue 20: the "authentication" mutation group).

* :mod:`partnerauth.auth_throttle`: where a delay starts, how it grows and ends, the compare-and-set count
  (against moto's DynamoDB: one module-scoped account with only the AuthAttemptsTable and ClientsTable of
  template.yaml; each test uses its own client id), no write while a delay is open, a success clears only
  the count it read;
* :mod:`partnerauth.client_and_attempts`: one consistent ``BatchGetItem`` for both items, unprocessed keys
  asked for again a bounded number of times (a scripted fake client: no AWS needed to replay throttling).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from partnerauth.auth_throttle import (
    MAX_CONTENDED_WRITES,
    PROJECTION,
    AttemptState,
    AuthThrottle,
    ClientThrottled,
    ThrottlePolicy,
    _number,
)
from partnerauth.client_and_attempts import (
    FIRST_PAUSE,
    MAX_BATCH_CALLS,
    ClientAndAttempts,
    ClientAndAttemptsReader,
    ClientReadUnavailable,
)
from partnerauth.client_registry import ClientRegistry
from partnerauth.client_secrets import SecretHasher
from partnerauth.errors import ConfigurationError
from tests.support.clock import FakeClock
from tests.support.template import create_table_from_template

NOW = 1_800_000_000.0
POLICY = ThrottlePolicy()
_ids = itertools.count(1)
# One session for the module (made at import, so a forked mutation worker inherits its loaded service
# models): a client made from it costs milliseconds, a new session ~0.2 s.
SESSION = boto3.session.Session(region_name="us-east-1")


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """One in-memory account for the module, with only the two tables these rules read and write."""
    with mock_aws():
        client = SESSION.client("dynamodb")
        create_table_from_template(client, "AuthAttemptsTable")
        create_table_from_template(client, "ClientsTable")
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def throttle(dynamodb: Any, clock: FakeClock) -> AuthThrottle:
    return AuthThrottle(attempts_table(dynamodb), dynamodb, POLICY, clock)


@pytest.fixture
def client_id() -> str:
    return f"pc_rule_{next(_ids)}"


def attempts_table(dynamodb: Any) -> str:
    return next(name for name in dynamodb.list_tables()["TableNames"] if "Attempt" in name)


def clients_table(dynamodb: Any) -> str:
    return next(name for name in dynamodb.list_tables()["TableNames"] if "Client" in name)


def stored(throttle: AuthThrottle, dynamodb: Any, client_id: str) -> dict[str, str] | None:
    item = dynamodb.get_item(
        TableName=throttle.table_name, Key=throttle.item_key(client_id), ConsistentRead=True
    )
    return (
        {name: value["N"] for name, value in item["Item"].items() if "N" in value} if "Item" in item else None
    )


def put(
    dynamodb: Any, throttle: AuthThrottle, client_id: str, failures: int, last: float, expires: float
) -> None:
    dynamodb.put_item(
        TableName=throttle.table_name,
        Item={
            "client_id": {"S": client_id},
            "failures": {"N": str(failures)},
            "last_failure_at": {"N": repr(last)},
            "expires_at": {"N": repr(expires)},
        },
    )


def record(failures: int, last: float, expires: float) -> dict[str, Any]:
    return {
        "failures": {"N": str(failures)},
        "last_failure_at": {"N": repr(last)},
        "expires_at": {"N": repr(expires)},
    }


# -- the policy ----------------------------------------------------------------------------------------------


def test_the_default_policy_is_five_free_failures_then_1s_doubling_to_15_minutes_forgotten_in_an_hour() -> (
    None
):
    assert (POLICY.free_failures, POLICY.base_delay, POLICY.max_delay, POLICY.reset_after) == (
        5,
        1,
        900,
        3600,
    )


def test_a_delay_starts_at_the_failure_that_uses_up_the_free_ones() -> None:
    policy = ThrottlePolicy(free_failures=3, base_delay=2, max_delay=60, reset_after=600)
    assert [policy.delay_after(n) for n in range(6)] == [0, 0, 0, 2, 4, 8]
    assert POLICY.delay_after(4) == 0
    assert POLICY.delay_after(5) == 1


def test_a_delay_is_capped_and_its_exponent_bounded_whatever_the_count() -> None:
    assert POLICY.delay_after(5 + 9) == 512
    assert POLICY.delay_after(5 + 10) == 900
    huge = ThrottlePolicy(free_failures=1, base_delay=1, max_delay=2**40, reset_after=2**40)
    assert huge.delay_after(1 + 31) == 2**31
    assert huge.delay_after(1 + 32) == 2**32
    assert huge.delay_after(1 + 33) == 2**32  # the exponent stops at 32
    assert huge.delay_after(10**9) == 2**32
    assert type(huge.delay_after(10**9)) is int


@pytest.mark.parametrize(
    "options",
    [
        {"free_failures": 1},
        {"base_delay": 1},
        {"base_delay": 7, "max_delay": 7, "reset_after": 7},
        {"max_delay": 900, "reset_after": 900},
    ],
)
def test_a_policy_at_the_edge_of_every_setting_is_accepted(options: dict[str, int]) -> None:
    ThrottlePolicy(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"free_failures": 0},
        {"base_delay": 0, "max_delay": 900},
        {"base_delay": 8, "max_delay": 7, "reset_after": 3600},
        {"max_delay": 900, "reset_after": 899},
    ],
)
def test_a_policy_past_the_edge_of_any_setting_is_refused(options: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        ThrottlePolicy(**options)


def test_a_429_always_asks_to_wait_at_least_one_second() -> None:
    assert ClientThrottled(0).retry_after == 1
    assert ClientThrottled(-3).retry_after == 1
    assert ClientThrottled(1).retry_after == 1
    assert ClientThrottled(7).retry_after == 7
    assert AttemptState() == AttemptState(failures=0, last_failure_at=0.0, retry_after=0)


# -- what a stored record means now (state_of: no AWS) -------------------------------------------------------


def test_no_record_or_an_expired_one_is_no_failure(clock: FakeClock) -> None:
    throttle = AuthThrottle("t", None, POLICY, clock)
    assert throttle.state_of(None) == AttemptState()
    assert throttle.state_of({}) == AttemptState()
    assert throttle.state_of(record(9, NOW - 1, NOW)) == AttemptState()  # expiring exactly now: gone
    assert throttle.state_of({"failures": {"N": "9"}, "last_failure_at": {"N": repr(NOW)}}) == AttemptState()


def test_a_live_record_counts_until_it_expires(clock: FakeClock) -> None:
    throttle = AuthThrottle("t", None, POLICY, clock)
    assert throttle.state_of(record(3, NOW - 10, NOW + 0.001)) == AttemptState(3, NOW - 10, 0)
    assert throttle.state_of({"expires_at": {"N": repr(NOW + 1)}}) == AttemptState(0, 0.0, 0)


def test_free_failures_never_open_a_delay(clock: FakeClock) -> None:
    throttle = AuthThrottle("t", None, POLICY, clock)
    assert throttle.state_of(record(POLICY.free_failures - 1, NOW, NOW + 60)).retry_after == 0


def test_a_delay_is_open_in_whole_seconds_rounded_up_until_it_exactly_ends(clock: FakeClock) -> None:
    policy = ThrottlePolicy(free_failures=2, base_delay=4, max_delay=8, reset_after=60)
    throttle = AuthThrottle("t", None, policy, clock)
    last = NOW
    stored_record = record(2, last, last + 60)  # delay 4 s after the failure at `last`
    expected = {0.0: 4, 0.5: 4, 1.0: 3, 2.5: 2, 3.0: 1, 3.5: 1, 3.999: 1, 4.0: 0, 4.5: 0}
    for elapsed, retry_after in expected.items():
        clock.now = last + elapsed
        assert throttle.state_of(stored_record).retry_after == retry_after, elapsed
    clock.now = last + 1
    assert throttle.state_of(record(3, last, last + 60)).retry_after == 7  # 8 s after three failures


def test_a_failure_stamped_later_than_now_still_never_delays_while_it_is_free(clock: FakeClock) -> None:
    # Lambdas' clocks differ: a record stamped by one running ahead must not turn a free failure into a 429
    throttle = AuthThrottle("t", None, POLICY, clock)
    assert throttle.state_of(record(POLICY.free_failures - 1, NOW + 2, NOW + 3600)).retry_after == 0
    assert throttle.state_of(record(POLICY.free_failures, NOW + 2, NOW + 3600)).retry_after == 3


class RecordingReads:
    """Answers ``get_item`` with nothing and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def get_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {}


def test_look_is_one_consistent_read_of_the_three_attributes_a_record_needs(clock: FakeClock) -> None:
    # A counted failure must be seen by the very next attempt (an eventually consistent read may miss it)
    reads = RecordingReads()
    AuthThrottle("Attempts", reads, POLICY, clock).look("pc_a")
    assert reads.requests == [
        {
            "TableName": "Attempts",
            "Key": {"client_id": {"S": "pc_a"}},
            "ConsistentRead": True,
            "ProjectionExpression": "failures, last_failure_at, expires_at",
        }
    ]


def test_look_reads_the_live_record_of_the_presented_id(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    assert throttle.look(client_id) == AttemptState()
    put(dynamodb, throttle, client_id, 5, NOW, NOW + 3600)
    assert throttle.look(client_id) == AttemptState(5, NOW, 1)
    assert throttle.look(client_id + "x") == AttemptState()


def test_check_refuses_during_an_open_delay_and_returns_the_state_otherwise(
    throttle: AuthThrottle, dynamodb: Any, client_id: str, clock: FakeClock
) -> None:
    put(dynamodb, throttle, client_id, 6, NOW, NOW + 3600)  # 2 s
    with pytest.raises(ClientThrottled) as refused:
        throttle.check(client_id)
    assert refused.value.retry_after == 2
    clock.advance(2)
    assert throttle.check(client_id) == AttemptState(6, NOW, 0)


def test_the_projection_reads_the_three_attributes_of_a_record() -> None:
    assert PROJECTION == "failures, last_failure_at, expires_at"
    assert AuthThrottle.item_key("pc_a") == {"client_id": {"S": "pc_a"}}


# -- counting (refuse, record_failure) against moto ----------------------------------------------------------


def test_a_failure_with_no_live_record_stores_one_failure_now_forgotten_after_reset_after(
    throttle: AuthThrottle, dynamodb: Any, client_id: str, clock: FakeClock
) -> None:
    clock.now = NOW + 0.25
    throttle.refuse(client_id, AttemptState())
    assert stored(throttle, dynamodb, client_id) == {
        "failures": "1",
        "last_failure_at": "1800000000.25",
        "expires_at": str(math.ceil(NOW + 0.25 + POLICY.reset_after)),
    }


def test_a_failure_counts_on_top_of_the_live_count_it_read(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 3, NOW - 5, NOW + 100)
    throttle.refuse(client_id, throttle.look(client_id))
    assert stored(throttle, dynamodb, client_id)["failures"] == "4"  # type: ignore[index]


def test_an_expired_record_is_replaced_by_a_count_of_one(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    for expires in (NOW - 1, NOW):  # expired, or expiring exactly now
        put(dynamodb, throttle, client_id, 9, NOW - 3600, expires)
        throttle.refuse(client_id, throttle.look(client_id))
        assert stored(throttle, dynamodb, client_id)["failures"] == "1"  # type: ignore[index]


def test_a_live_count_of_zero_is_counted_as_one(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 0, NOW - 5, NOW + 100)
    throttle.refuse(client_id, AttemptState())
    assert stored(throttle, dynamodb, client_id)["failures"] == "1"  # type: ignore[index]


def test_during_an_open_delay_a_failure_is_refused_and_nothing_is_written(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 5, NOW, NOW + 3600)
    before = stored(throttle, dynamodb, client_id)
    with pytest.raises(ClientThrottled) as refused:
        throttle.refuse(client_id, throttle.look(client_id))
    assert refused.value.retry_after == 1
    assert stored(throttle, dynamodb, client_id) == before


def test_the_failure_that_uses_up_the_free_ones_is_counted_and_answered_401_not_429(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, POLICY.free_failures - 1, NOW - 1, NOW + 3600)
    throttle.refuse(client_id, throttle.look(client_id))  # no exception: this one is counted
    assert throttle.look(client_id).retry_after == 1


def test_a_count_that_lost_the_race_to_an_open_delay_is_refused_without_another_write(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    read = AttemptState(POLICY.free_failures - 1, NOW - 1)
    put(dynamodb, throttle, client_id, POLICY.free_failures, NOW, NOW + 3600)  # another attempt counted first
    with pytest.raises(ClientThrottled) as refused:
        throttle.refuse(client_id, read)
    assert refused.value.retry_after == 1
    assert stored(throttle, dynamodb, client_id)["failures"] == str(POLICY.free_failures)  # type: ignore[index]


def test_a_count_that_lost_the_race_during_the_free_failures_counts_on_top(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 2, NOW - 1, NOW + 3600)
    throttle.refuse(client_id, AttemptState(1, NOW - 2))  # read 1, but 2 are stored now
    assert stored(throttle, dynamodb, client_id)["failures"] == "3"  # type: ignore[index]


def test_a_count_read_live_that_expired_before_the_write_starts_again_at_one(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 3, NOW - 10, NOW)  # the record expires exactly now
    throttle.refuse(client_id, AttemptState(3, NOW - 10))
    assert stored(throttle, dynamodb, client_id)["failures"] == "1"  # type: ignore[index]


def test_record_failure_counts_whatever_the_delay_and_returns_the_new_count(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    assert [throttle.record_failure(client_id) for _ in range(POLICY.free_failures + 2)] == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    ]
    assert stored(throttle, dynamodb, client_id)["failures"] == "7"  # type: ignore[index]


class Outraced:
    """A table where every conditional write loses to another attempt, which leaves ``stored`` behind."""

    class exceptions:  # noqa: N801 - the shape of a boto3 client's ``exceptions``
        class ConditionalCheckFailedException(Exception):
            def __init__(self, item: dict[str, Any] | None) -> None:
                super().__init__("lost")
                self.response = {"Item": item} if item is not None else {}

    def __init__(self, stored_item: dict[str, Any] | None) -> None:
        self.stored_item = stored_item
        self.writes: list[dict[str, Any]] = []

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def update_item(self, **request: Any) -> None:
        self.writes.append(request)
        raise self.exceptions.ConditionalCheckFailedException(self.stored_item)


def test_a_free_failure_outraced_every_time_ends_in_429_after_free_failures_plus_one_writes(
    clock: FakeClock,
) -> None:
    for policy in (POLICY, ThrottlePolicy(free_failures=2, base_delay=3, max_delay=9, reset_after=60)):
        table = Outraced(None)
        with pytest.raises(ClientThrottled) as refused:
            AuthThrottle("t", table, policy, clock).refuse("pc_a", AttemptState())
        assert refused.value.retry_after == policy.base_delay
        assert len(table.writes) == policy.free_failures + 1


def test_a_lost_write_is_answered_by_the_delay_the_winner_stored(clock: FakeClock) -> None:
    table = Outraced(record(6, NOW, NOW + 3600))
    with pytest.raises(ClientThrottled) as refused:
        AuthThrottle("t", table, POLICY, clock).refuse("pc_a", AttemptState(4, NOW - 1))
    assert refused.value.retry_after == 2
    assert len(table.writes) == 1
    table = Outraced(record(6, NOW, NOW + 3600))
    with pytest.raises(ClientThrottled) as refused:
        AuthThrottle("t", table, POLICY, clock).record_failure("pc_a")
    assert refused.value.retry_after == 2
    assert len(table.writes) == MAX_CONTENDED_WRITES == 16


def test_record_failure_gives_up_after_16_lost_writes_with_the_base_delay(clock: FakeClock) -> None:
    table = Outraced(None)
    with pytest.raises(ClientThrottled) as refused:
        AuthThrottle("t", table, ThrottlePolicy(base_delay=4), clock).record_failure("pc_a")
    assert refused.value.retry_after == 4
    assert len(table.writes) == 16


# -- a success (record_success) ------------------------------------------------------------------------------


def test_a_success_clears_the_count_it_read(throttle: AuthThrottle, dynamodb: Any, client_id: str) -> None:
    put(dynamodb, throttle, client_id, 3, NOW - 1, NOW + 3600)
    throttle.record_success(client_id, throttle.look(client_id))
    assert stored(throttle, dynamodb, client_id) is None


def test_a_success_leaves_a_count_that_changed_since_it_read(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 4, NOW - 1, NOW + 3600)
    throttle.record_success(client_id, AttemptState(3, NOW - 2))
    assert stored(throttle, dynamodb, client_id)["failures"] == "4"  # type: ignore[index]


def test_a_success_during_an_open_delay_leaves_the_count(
    throttle: AuthThrottle, dynamodb: Any, client_id: str
) -> None:
    put(dynamodb, throttle, client_id, 5, NOW, NOW + 3600)
    throttle.record_success(client_id, throttle.look(client_id))
    assert stored(throttle, dynamodb, client_id)["failures"] == "5"  # type: ignore[index]


class NoWrites:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} called")


def test_a_success_with_nothing_counted_or_a_delay_open_writes_nothing(clock: FakeClock) -> None:
    throttle = AuthThrottle("t", NoWrites(), POLICY, clock)
    throttle.record_success("pc_a", AttemptState())
    throttle.record_success("pc_a", AttemptState(6, NOW, 2))


def test_a_stored_time_is_in_milliseconds_rounded_down_without_trailing_zeros() -> None:
    assert [_number(v) for v in (1.2349, 2.0, 1.5, 10.0, 0.0001, 1800000000.1239)] == [
        "1.234",
        "2",
        "1.5",
        "10",
        "0",
        "1800000000.123",
    ]


# -- the one read (client_and_attempts) ----------------------------------------------------------------------


class ScriptedBatch:
    """Answers each ``batch_get_item`` with the next scripted response; keeps every request."""

    def __init__(self, *responses: dict[str, Any]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return self.responses.pop(0)


CLIENT_ITEM = {"client_id": {"S": "pc_a"}, "client_name": {"S": "A"}}
ATTEMPTS_ITEM = {"client_id": {"S": "pc_a"}, **record(6, NOW, NOW + 60)}


def reader_for(batch: Any, clock: FakeClock) -> tuple[ClientAndAttemptsReader, list[float]]:
    pauses: list[float] = []
    registry = ClientRegistry("Clients", batch, SecretHasher(b"p" * 16), clock)
    throttle = AuthThrottle("Attempts", batch, POLICY, clock)
    return ClientAndAttemptsReader(registry, throttle, batch, pause=pauses.append), pauses


def test_one_consistent_batch_reads_the_client_and_its_failure_record(clock: FakeClock) -> None:
    batch = ScriptedBatch({"Responses": {"Clients": [CLIENT_ITEM], "Attempts": [ATTEMPTS_ITEM]}})
    reader, pauses = reader_for(batch, clock)
    assert reader.read("pc_a") == ClientAndAttempts(CLIENT_ITEM, AttemptState(6, NOW, 2))
    assert batch.requests == [
        {
            "RequestItems": {
                "Clients": {"Keys": [{"client_id": {"S": "pc_a"}}], "ConsistentRead": True},
                "Attempts": {
                    "Keys": [{"client_id": {"S": "pc_a"}}],
                    "ConsistentRead": True,
                    "ProjectionExpression": PROJECTION,
                },
            }
        }
    ]
    assert pauses == []


def test_an_unknown_id_reads_as_no_client_and_no_failures(clock: FakeClock) -> None:
    responses: tuple[dict[str, Any], ...] = (
        {"Responses": {}},
        {},
        {"Responses": {"Clients": [], "Attempts": []}, "UnprocessedKeys": {}},
    )
    for response in responses:
        reader, _ = reader_for(ScriptedBatch(response), clock)
        assert reader.read("pc_nobody") == ClientAndAttempts(None, AttemptState())


def test_unprocessed_keys_are_asked_for_again_after_a_doubling_pause(clock: FakeClock) -> None:
    attempts_left = {"Attempts": {"Keys": [{"client_id": {"S": "pc_a"}}], "ConsistentRead": True}}
    batch = ScriptedBatch(
        {"Responses": {"Clients": [CLIENT_ITEM]}, "UnprocessedKeys": attempts_left},
        {"Responses": {}, "UnprocessedKeys": attempts_left},
        {"Responses": {"Attempts": [ATTEMPTS_ITEM]}},
    )
    reader, pauses = reader_for(batch, clock)
    assert reader.read("pc_a") == ClientAndAttempts(CLIENT_ITEM, AttemptState(6, NOW, 2))
    assert [request["RequestItems"] for request in batch.requests[1:]] == [attempts_left, attempts_left]
    assert (FIRST_PAUSE, MAX_BATCH_CALLS) == (0.025, 3)
    assert pauses == [0.025, 0.05]


def test_keys_still_unprocessed_after_three_calls_are_a_dependency_failure(clock: FakeClock) -> None:
    left = {"Clients": {"Keys": [{"client_id": {"S": "pc_a"}}], "ConsistentRead": True}}
    batch = ScriptedBatch(*({"Responses": {}, "UnprocessedKeys": left} for _ in range(4)))
    reader, pauses = reader_for(batch, clock)
    with pytest.raises(ClientReadUnavailable):
        reader.read("pc_a")
    assert len(batch.requests) == 3
    assert pauses == [0.025, 0.05]


def test_the_one_read_against_dynamodb_finds_both_items(
    dynamodb: Any, clock: FakeClock, client_id: str
) -> None:
    registry = ClientRegistry(clients_table(dynamodb), dynamodb, SecretHasher(b"p" * 16), clock)
    throttle = AuthThrottle(attempts_table(dynamodb), dynamodb, POLICY, clock)
    item = {"client_id": {"S": client_id}, "client_name": {"S": "A"}}
    dynamodb.put_item(TableName=registry.table_name, Item=item)
    put(dynamodb, throttle, client_id, 5, NOW, NOW + 60)
    read = ClientAndAttemptsReader(registry, throttle, dynamodb).read(client_id)
    assert read == ClientAndAttempts(item, AttemptState(5, NOW, 1))
    assert ClientAndAttemptsReader(registry, throttle, dynamodb).read(client_id + "x") == ClientAndAttempts(
        None, AttemptState()
    )
