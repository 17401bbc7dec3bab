"""Single use of a client assertion's jti (partnerauth.assertion_replay; RFC 7523 §3 item 7): the record's key
and attributes, a replay refused until the record expires, to the second.

One ClientAssertionsTable made from the template's own definition, once per module (the conditional write is
the rule); each test uses its own client id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from partnerauth.assertion_replay import AssertionReplayed, AssertionReplayGuard, assertion_id
from tests.support.template import create_table_from_template

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def table() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        yield dynamodb, create_table_from_template(dynamodb, "ClientAssertionsTable", "replay-rules")


@pytest.fixture
def guard(table: tuple[Any, str]) -> AssertionReplayGuard:
    return AssertionReplayGuard(table[1], table[0])


def stored(table: tuple[Any, str], client_id: str, jti: str) -> dict[str, Any] | None:
    dynamodb, name = table
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=name, Key={"assertion_id": {"S": assertion_id(client_id, jti)}}, ConsistentRead=True
    ).get("Item")
    return item


# -- the key ------------------------------------------------------------------------------------------------
def test_the_key_is_sha256_of_the_length_prefixed_client_id_and_the_jti() -> None:
    expected = hashlib.sha256(b"\x00\x02pc" + b"jti-1").hexdigest()
    assert assertion_id("pc", "jti-1") == expected


def test_a_jti_is_unique_per_client_and_the_boundary_between_them_cannot_be_shifted() -> None:
    assert assertion_id("pc_a", "bc") != assertion_id("pc_ab", "c")
    assert assertion_id("pc_a", "x") != assertion_id("pc_b", "x")


def test_a_long_or_unusual_jti_still_gives_a_fixed_size_key() -> None:
    # whatever the client chose, the key is 64 hex characters; a lone surrogate is kept, not refused
    for jti in ("j" * 256, "\ud800", "é"):
        key = assertion_id("pc", jti)
        assert len(key) == 64
        assert key == hashlib.sha256(b"\x00\x02pc" + jti.encode("utf-8", "surrogatepass")).hexdigest()


# -- the record ----------------------------------------------------------------------------------------------
def test_a_use_is_recorded_with_its_client_and_expiry(
    guard: AssertionReplayGuard, table: tuple[Any, str]
) -> None:
    guard.record("pc_record", "jti-1", int(NOW) + 421, NOW)
    assert stored(table, "pc_record", "jti-1") == {
        "assertion_id": {"S": assertion_id("pc_record", "jti-1")},
        "client_id": {"S": "pc_record"},
        "expires_at": {"N": str(int(NOW) + 421)},
    }


def test_a_second_use_is_refused_until_the_record_expires_and_allowed_from_that_second(
    guard: AssertionReplayGuard,
) -> None:
    expires_at = int(NOW) + 100
    guard.record("pc_replay", "jti-1", expires_at, NOW)
    with pytest.raises(AssertionReplayed):
        guard.record("pc_replay", "jti-1", expires_at, NOW)
    with pytest.raises(AssertionReplayed):
        guard.record(
            "pc_replay", "jti-1", expires_at + 100, expires_at - 0.5
        )  # read as the whole second before
    # TTL deletion is late, never early: a record past its expiry counts as gone
    guard.record("pc_replay", "jti-1", expires_at + 100, expires_at)


def test_the_same_jti_of_another_client_is_its_own(guard: AssertionReplayGuard) -> None:
    guard.record("pc_one", "shared-jti", int(NOW) + 100, NOW)
    guard.record("pc_two", "shared-jti", int(NOW) + 100, NOW)
