"""What one audit record holds: who, when, which item, what changed - and never a secret (issue 14 item 4).

Stream records are built by hand here (the exact Lambda shape, tests/audit/stream_events.py); the tests that
drive the real registry, CLI and rotation through moto's streams are in test_admin_actions_are_recorded.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from partnerauth.audit_trail import (
    BINARY,
    CHANGES_LEFT_OUT,
    NOT_RECORDED,
    Action,
    Attribution,
    AuditedTable,
    MalformedStreamRecord,
    record_from_stream,
)
from tests.audit.stream_events import lambda_record

TABLES = {
    "clients-t": AuditedTable.CLIENTS,
    "keys-t": AuditedTable.SIGNING_KEYS,
    "revs-t": AuditedTable.REVOCATIONS,
}
OPERATOR = "arn:aws:sts::123456789012:assumed-role/Operators/alice"
OTHER = "arn:aws:sts::123456789012:assumed-role/Operators/bob"
HASH = b"\x01" * 32


def client_item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "client_id": {"S": "acme"},
        "client_name": {"S": "Acme"},
        "status": {"S": "active"},
        "scopes": {"L": [{"S": "orders:read"}]},
        "version": {"N": "1"},
        "secrets": {"L": [{"M": {"secret_id": {"S": "s1"}, "hash": {"B": HASH}, "hash_alg": {"S": "hmac"},
                                 "created_at": {"N": "1800000000"}}}]},
        "changed_by": {"S": OPERATOR},
        "changed_at": {"N": "1800000000"},
    }  # fmt: skip
    item.update(changes)
    return item


def test_a_created_client_is_recorded_with_who_when_and_its_values() -> None:
    record = record_from_stream(
        lambda_record(
            "clients-t", "INSERT", {"client_id": {"S": "acme"}}, new=client_item(), at=1_800_000_123.4
        ),
        TABLES,
    )
    assert (record.table, record.item_key, record.action) == (AuditedTable.CLIENTS, "acme", Action.CREATED)
    assert (record.changed_by, record.attribution) == (OPERATOR, Attribution.STAMPED)
    assert record.at == 1_800_000_123
    assert record.client_id == "acme"
    assert record.changes["status"] == {"new": "active"}
    assert record.changes["scopes"] == {"new": ["orders:read"]}


def test_a_secret_is_recorded_by_id_and_dates_never_its_hash() -> None:
    record = record_from_stream(
        lambda_record("clients-t", "INSERT", {"client_id": {"S": "acme"}}, new=client_item()), TABLES
    )
    assert record.changes["secrets"] == {
        "new": [{"secret_id": "s1", "hash_alg": "hmac", "created_at": 1_800_000_000}]
    }
    assert "hash" not in json.dumps(record.as_dict()).replace("hash_alg", "")


def test_any_binary_value_is_left_out_whatever_its_name() -> None:
    new = client_item(extra_blob={"B": HASH}, nested={"M": {"k": {"B": HASH}}})
    record = record_from_stream(
        lambda_record("clients-t", "INSERT", {"client_id": {"S": "acme"}}, new=new), TABLES
    )
    assert record.changes["extra_blob"] == {"new": NOT_RECORDED}  # unknown attribute: named, value left out
    assert record.changes["nested"] == {"new": NOT_RECORDED}
    assert HASH.hex() not in json.dumps(record.as_dict())


def test_a_change_is_the_attributes_that_changed_old_and_new() -> None:
    old = client_item()
    new = client_item(status={"S": "disabled"}, version={"N": "2"}, changed_at={"N": "1800000500"})
    record = record_from_stream(
        lambda_record("clients-t", "MODIFY", {"client_id": {"S": "acme"}}, old=old, new=new), TABLES
    )
    assert record.action is Action.CHANGED
    assert record.changes == {
        "status": {"old": "active", "new": "disabled"},
        "version": {"old": 1, "new": 2},
    }
    assert record.attribution is Attribution.STAMPED


def test_a_hash_replaced_in_place_is_noted_without_either_value() -> None:
    old = client_item()
    replaced = client_item(changed_at={"N": "1800000500"})
    replaced["secrets"]["L"][0]["M"]["hash"] = {"B": b"\x02" * 32}
    record = record_from_stream(
        lambda_record("clients-t", "MODIFY", {"client_id": {"S": "acme"}}, old=old, new=replaced), TABLES
    )
    assert record.changes == {"secrets": {"note": CHANGES_LEFT_OUT}}


def test_a_write_that_did_not_restamp_is_not_credited_to_the_earlier_writer() -> None:
    # Given an item last stamped by alice, changed by a tool that does not stamp
    old = client_item()
    new = client_item(status={"S": "disabled"})
    record = record_from_stream(
        lambda_record("clients-t", "MODIFY", {"client_id": {"S": "acme"}}, old=old, new=new), TABLES
    )
    assert record.attribution is Attribution.NOT_RESTAMPED
    assert record.changed_by == f"unknown (last stamp: {OPERATOR})"


def test_a_different_writer_is_credited() -> None:
    old = client_item()
    new = client_item(status={"S": "disabled"}, changed_by={"S": OTHER})
    record = record_from_stream(
        lambda_record("clients-t", "MODIFY", {"client_id": {"S": "acme"}}, old=old, new=new), TABLES
    )
    assert (record.changed_by, record.attribution) == (OTHER, Attribution.STAMPED)


@pytest.mark.parametrize(
    ("stamp", "attribution"),
    [
        (None, Attribution.UNSTAMPED),
        ({"N": "7"}, Attribution.MALFORMED_STAMP),
        ({"S": ""}, Attribution.MALFORMED_STAMP),
        ({"S": "evil\nline"}, Attribution.MALFORMED_STAMP),
        ({"S": "x" * 513}, Attribution.MALFORMED_STAMP),
    ],
)
def test_a_missing_or_malformed_stamp_is_recorded_as_unknown(stamp: Any, attribution: Attribution) -> None:
    new = client_item()
    del new["changed_by"]
    if stamp is not None:
        new["changed_by"] = stamp
    record = record_from_stream(
        lambda_record("clients-t", "INSERT", {"client_id": {"S": "acme"}}, new=new), TABLES
    )
    assert (record.changed_by, record.attribution) == ("unknown", attribution)


def test_a_deletion_is_recorded_with_the_old_values_and_no_claimed_author() -> None:
    record = record_from_stream(
        lambda_record("clients-t", "REMOVE", {"client_id": {"S": "acme"}}, old=client_item()), TABLES
    )
    assert (record.action, record.attribution, record.changed_by) == (
        Action.REMOVED,
        Attribution.DELETION,
        "unknown",
    )
    assert record.changes["status"] == {"old": "active"}


def test_a_ttl_deletion_is_credited_to_dynamodb() -> None:
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    item = {"member": {"S": "client:acme"}, "client_id": {"S": "acme"}, "expires_at": {"N": "1800003660"}}
    record = record_from_stream(
        lambda_record("revs-t", "REMOVE", {"member": {"S": "client:acme"}}, old=item, user_identity=ttl),
        TABLES,
    )
    assert record.attribution is Attribution.TTL
    assert record.client_id == "acme"


def test_a_signing_key_is_recorded_by_kid_state_and_dates_only() -> None:
    key = {
        "kid": {"S": "abc"},
        "alg": {"S": "EdDSA"},
        "state": {"S": "next"},
        "created_at": {"N": "1800000000"},
        "public_jwk": {"S": '{"kty":"OKP"}'},
        "private_key_ciphertext": {"B": b"ciphertext"},
        "kms_key_arn": {"S": "arn:aws:kms:us-east-1:123456789012:key/x"},
        "changed_by": {"S": OPERATOR},
    }
    record = record_from_stream(lambda_record("keys-t", "INSERT", {"kid": {"S": "abc"}}, new=key), TABLES)
    assert set(record.changes) == {"kid", "alg", "state", "created_at"}
    assert record.client_id is None
    assert "ciphertext" not in json.dumps(record.as_dict())


def test_a_huge_string_is_cut() -> None:
    new = client_item(client_name={"S": "n" * 10_000})
    record = record_from_stream(
        lambda_record("clients-t", "INSERT", {"client_id": {"S": "acme"}}, new=new), TABLES
    )
    assert len(record.changes["client_name"]["new"]) == 512


def test_binary_is_rendered_as_a_marker() -> None:
    from partnerauth.audit_trail import plain

    assert plain({"B": HASH}) == BINARY


def malformed(**changes: Any) -> dict[str, Any]:
    record = lambda_record(
        "clients-t", "MODIFY", {"client_id": {"S": "acme"}}, old=client_item(), new=client_item()
    )
    for name, value in changes.items():
        if name in ("SequenceNumber", "ApproximateCreationDateTime", "Keys", "NewImage", "OldImage"):
            if value is None:
                del record["dynamodb"][name]
            else:
                record["dynamodb"][name] = value
        elif value is None:
            del record[name]
        else:
            record[name] = value
    return record


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("not a record", "not_a_record"),
        (
            malformed(eventSourceARN="arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/x"),
            "unknown_table",
        ),
        (malformed(eventSourceARN=None), "unknown_table"),
        (malformed(eventName="UPSERT"), "unknown_event"),
        (malformed(dynamodb="x"), "missing_stream_data"),
        (malformed(SequenceNumber=None), "bad_sequence_number"),
        (malformed(SequenceNumber="12a"), "bad_sequence_number"),
        (malformed(ApproximateCreationDateTime="yesterday"), "bad_time"),
        (malformed(ApproximateCreationDateTime=True), "bad_time"),
        (malformed(NewImage=None), "missing_image"),
        (malformed(OldImage=None), "missing_image"),  # a KEYS_ONLY / NEW_IMAGE stream
        (malformed(NewImage=["x"]), "bad_image"),
        (malformed(NewImage={"status": {"Q": "x"}}), "bad_image"),
        (malformed(NewImage={"status": "active"}), "bad_image"),
        (malformed(Keys=None), "missing_key"),
        (malformed(Keys={"client_id": {"N": "1"}}), "missing_key"),
    ],
)
def test_a_record_that_cannot_be_read_is_refused_with_a_fixed_reason(record: Any, reason: str) -> None:
    with pytest.raises(MalformedStreamRecord) as refused:
        record_from_stream(record, TABLES)
    assert refused.value.reason == reason


def test_one_actor_writing_twice_within_a_second_is_credited_by_the_write_id() -> None:
    # Given two writes by alice stamped with the same second, each with its own request id (client_registry)
    old = client_item(last_request={"S": "req_1"})
    new = client_item(last_request={"S": "req_2"}, status={"S": "disabled"})
    record = record_from_stream(
        lambda_record("clients-t", "MODIFY", {"client_id": {"S": "acme"}}, old=old, new=new), TABLES
    )
    assert (record.changed_by, record.attribution) == (OPERATOR, Attribution.STAMPED)
    assert record.changes["last_request"] == {"old": "req_1", "new": "req_2"}
    # and the signing-key head's write id does the same
    head = {"kid": {"S": "#current"}, "changed_by": {"S": OPERATOR}, "changed_at": {"N": "1800000000.5"}}
    record = record_from_stream(
        lambda_record(
            "keys-t",
            "MODIFY",
            {"kid": {"S": "#current"}},
            old={**head, "last_write": {"S": "w1"}},
            new={**head, "last_write": {"S": "w2"}},
        ),
        TABLES,
    )
    assert record.attribution is Attribution.STAMPED


def test_an_api_profile_is_credited_to_its_updated_by_and_its_route_map_to_a_digest() -> None:
    tables = {**TABLES, "apis-t": AuditedTable.APIS}
    routes = json.dumps({f"GET /r{i}": ["a:b"] for i in range(100)})
    profile = {
        "name": {"S": "inventory"},
        "audience": {"S": "inventory-api"},
        "routes": {"S": routes},
        "version": {"N": "1"},
        "updated_at": {"N": "1800000000"},
        "updated_by": {"S": OPERATOR},
    }
    record = record_from_stream(
        lambda_record("apis-t", "INSERT", {"name": {"S": "inventory"}}, new=profile), tables
    )
    assert (record.changed_by, record.attribution) == (OPERATOR, Attribution.STAMPED)
    assert set(record.changes) == {"name", "audience", "routes", "version"}
    assert len(record.changes["routes"]["new"]["text"]) == 512  # cut; the digest covers the whole map
    changed = {**profile, "routes": {"S": routes.replace("r99", "r98")}, "version": {"N": "2"}}
    record = record_from_stream(
        lambda_record("apis-t", "MODIFY", {"name": {"S": "inventory"}}, old=profile, new=changed), tables
    )
    assert record.changes["routes"]["old"]["sha256"] != record.changes["routes"]["new"]["sha256"]
    assert record.attribution is Attribution.STAMPED  # same actor, same second: the version moved


def test_a_stored_value_that_is_not_typed_is_a_malformed_record() -> None:
    tables = {**TABLES, "apis-t": AuditedTable.APIS}
    with pytest.raises(MalformedStreamRecord, match="bad_image"):
        record_from_stream(
            lambda_record(
                "apis-t", "INSERT", {"name": {"S": "x"}}, new={"name": {"S": "x"}, "routes": "text"}
            ),
            tables,
        )
