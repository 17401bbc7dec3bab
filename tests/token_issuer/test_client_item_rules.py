"""The rules of the ClientsTable item codec (partnerauth.client_items), pinned one by one with no AWS.

Issue 19: reading is strict and never crashes (a :class:`MalformedClientItem` naming the attribute, never a
value); an unknown status fails closed; string sets are read as lists; unknown attributes are kept.  The
encoding is pinned attribute by attribute (the table, the audit trail and older CLIs read these names).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from partnerauth.client_items import (
    CHANGED_AT,
    CHANGED_BY,
    CLIENT_CREDENTIALS,
    CLIENT_SECRET,
    KNOWN_ATTRIBUTES,
    LAST_REQUEST,
    PRIVATE_KEY_JWT,
    VERSION,
    Client,
    ClientStatus,
    MalformedClientItem,
    StoredSecret,
    decode_client,
    encode_client,
    item_client_id,
    unknown_attributes,
)
from partnerauth.client_keys import canonical_json, registered_jwks
from partnerauth.client_secrets import HASH_ALGORITHM
from partnerauth.keys import generate_signing_key

PUBLIC_JWK = generate_signing_key("ES256").public_jwk()
JWKS = canonical_json(registered_jwks({"keys": [PUBLIC_JWK]}))
DIGEST = bytes(range(32))
OLD_DIGEST = bytes(range(1, 33))

FULL = Client(
    client_id="pc_full",
    client_name="Acme Logistics",
    scopes=("orders:read", "orders:write"),
    audiences=("partner-api", "https://inventory.example.test"),
    token_lifetime=900,
    status=ClientStatus.ACTIVE,
    created_at=100,
    updated_at=200,
    grant_types=(CLIENT_CREDENTIALS,),
    secrets=(
        StoredSecret("sec_old", OLD_DIGEST, 90, expires_at=300, hash_alg="hmac-sha256"),
        StoredSecret("sec_new", DIGEST, 150),
    ),
    version=7,
    jwks=JWKS,
    jwks_uri=None,
    plan="gold",
    permissions=("introspect",),
    changed_by="arn:aws:iam::123456789012:user/ops",
    changed_at=200,
    last_request="req_0123456789abcdef",
)

FULL_ITEM: dict[str, Any] = {
    "client_id": {"S": "pc_full"},
    "client_name": {"S": "Acme Logistics"},
    "scopes": {"L": [{"S": "orders:read"}, {"S": "orders:write"}]},
    "audiences": {"L": [{"S": "partner-api"}, {"S": "https://inventory.example.test"}]},
    "grant_types": {"L": [{"S": "client_credentials"}]},
    "token_lifetime": {"N": "900"},
    "status": {"S": "active"},
    "created_at": {"N": "100"},
    "updated_at": {"N": "200"},
    "version": {"N": "7"},
    "secrets": {
        "L": [
            {
                "M": {
                    "secret_id": {"S": "sec_old"},
                    "hash": {"B": OLD_DIGEST},
                    "hash_alg": {"S": "hmac-sha256"},
                    "created_at": {"N": "90"},
                    "expires_at": {"N": "300"},
                }
            },
            {
                "M": {
                    "secret_id": {"S": "sec_new"},
                    "hash": {"B": DIGEST},
                    "hash_alg": {"S": "hmac-sha256"},
                    "created_at": {"N": "150"},
                }
            },
        ]
    },
    "jwks": {"S": JWKS},
    "plan": {"S": "gold"},
    "permissions": {"L": [{"S": "introspect"}]},
    "changed_by": {"S": "arn:aws:iam::123456789012:user/ops"},
    "changed_at": {"N": "200"},
    "last_request": {"S": "req_0123456789abcdef"},
}

MINIMAL = Client(
    client_id="pc_min",
    client_name="M",
    scopes=("a",),
    audiences=("b",),
    token_lifetime=60,
    status=ClientStatus.DISABLED,
    created_at=0,
    updated_at=0,
)

MINIMAL_ITEM: dict[str, Any] = {
    "client_id": {"S": "pc_min"},
    "client_name": {"S": "M"},
    "scopes": {"L": [{"S": "a"}]},
    "audiences": {"L": [{"S": "b"}]},
    "grant_types": {"L": [{"S": "client_credentials"}]},
    "token_lifetime": {"N": "60"},
    "status": {"S": "disabled"},
    "created_at": {"N": "0"},
    "updated_at": {"N": "0"},
    "version": {"N": "1"},
    "secrets": {"L": []},
}

# The least a reader accepts: the required attributes only (a hand-written item).
BARE_ITEM: dict[str, Any] = {
    "client_id": {"S": "pc_bare"},
    "client_name": {"S": "Bare"},
    "scopes": {"L": [{"S": "a"}]},
    "audiences": {"L": [{"S": "b"}]},
    "token_lifetime": {"N": "1"},
    "status": {"S": "active"},
}


def with_attribute(item: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(item)
    if value is None:
        changed.pop(name)
    else:
        changed[name] = value
    return changed


def with_secret_field(name: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(FULL_ITEM)
    fields = changed["secrets"]["L"][0]["M"]
    if value is None:
        fields.pop(name)
    else:
        fields[name] = value
    return changed


def malformed_reason(item: Any) -> str:
    with pytest.raises(MalformedClientItem) as caught:
        decode_client(item)
    return caught.value.reason


# -- the names and values other code relies on ----------------------------------------------------------


def test_the_attribute_names_and_auth_method_names_are_the_stored_and_rfc_7591_ones() -> None:
    assert (VERSION, LAST_REQUEST, CHANGED_BY, CHANGED_AT) == (
        "version",
        "last_request",
        "changed_by",
        "changed_at",
    )
    assert (CLIENT_CREDENTIALS, PRIVATE_KEY_JWT, CLIENT_SECRET) == (
        "client_credentials",
        "private_key_jwt",
        "client_secret_basic",
    )
    assert [status.value for status in ClientStatus] == ["active", "disabled"]


# -- encoding ---------------------------------------------------------------------------------------------


def test_a_client_is_encoded_attribute_by_attribute() -> None:
    assert encode_client(FULL) == FULL_ITEM


def test_absent_optional_attributes_are_left_out_of_the_item_and_defaults_are_written() -> None:
    assert encode_client(MINIMAL) == MINIMAL_ITEM


def test_a_jwks_uri_is_stored_as_a_string() -> None:
    item = encode_client(Client(**{**_fields(MINIMAL), "jwks_uri": "https://keys.example.test/jwks.json"}))
    assert item["jwks_uri"] == {"S": "https://keys.example.test/jwks.json"}
    assert decode_client(item).jwks_uri == "https://keys.example.test/jwks.json"


@pytest.mark.parametrize("client", [FULL, MINIMAL], ids=["full", "minimal"])
def test_decoding_an_encoded_client_gives_it_back_exactly(client: Client) -> None:
    assert decode_client(encode_client(client)) == client


def test_a_client_default_grant_is_client_credentials_at_version_1_with_nothing_else() -> None:
    assert MINIMAL.grant_types == ("client_credentials",)
    assert MINIMAL.version == 1
    assert (MINIMAL.secrets, MINIMAL.permissions) == ((), ())
    assert (MINIMAL.jwks, MINIMAL.jwks_uri, MINIMAL.plan) == (None, None, None)
    assert (MINIMAL.changed_by, MINIMAL.changed_at, MINIMAL.last_request) == (None, None, None)


def test_a_stored_secret_defaults_to_no_expiry_and_the_current_hash() -> None:
    secret = StoredSecret("sec", DIGEST, 5)
    assert secret.expires_at is None
    assert secret.hash_alg == HASH_ALGORITHM == "hmac-sha256"


def test_reprs_never_show_a_secrets_hash() -> None:
    assert DIGEST.hex() not in repr(FULL)
    assert repr(DIGEST) not in repr(FULL)
    assert repr(DIGEST) not in repr(StoredSecret("sec", DIGEST, 5))


# -- reading what is tolerated ----------------------------------------------------------------------------


def test_a_bare_hand_written_item_reads_with_the_documented_defaults() -> None:
    client = decode_client(BARE_ITEM)
    assert client == Client(
        client_id="pc_bare",
        client_name="Bare",
        scopes=("a",),
        audiences=("b",),
        token_lifetime=1,
        status=ClientStatus.ACTIVE,
        created_at=0,
        updated_at=0,
        grant_types=("client_credentials",),
        secrets=(),
        version=0,
    )
    assert client.changed_at is None
    assert client.last_request is None
    assert client.changed_by is None


@pytest.mark.parametrize("attribute", ["scopes", "audiences", "grant_types", "permissions"])
def test_a_string_set_is_read_sorted_and_a_list_in_its_order_without_repeats(attribute: str) -> None:
    as_set = decode_client(with_attribute(BARE_ITEM, attribute, {"SS": ["zeta", "introspect", "alpha"]}))
    assert getattr(as_set, attribute) == ("alpha", "introspect", "zeta")
    listed = {"L": [{"S": "zeta"}, {"S": "alpha"}, {"S": "zeta"}]}
    assert getattr(decode_client(with_attribute(BARE_ITEM, attribute, listed)), attribute) == (
        "zeta",
        "alpha",
    )


def test_an_empty_grant_types_list_reads_as_no_grant() -> None:
    assert decode_client(with_attribute(BARE_ITEM, "grant_types", {"L": []})).grant_types == ()


def test_unknown_attributes_are_ignored_when_read_and_returned_for_a_rewrite() -> None:
    item = {**FULL_ITEM, "future_flag": {"BOOL": True}, "rotation_policy": {"S": "90d"}}
    assert decode_client(item) == FULL
    assert unknown_attributes(item) == {"future_flag": {"BOOL": True}, "rotation_policy": {"S": "90d"}}


def test_every_attribute_the_codec_writes_is_a_known_one() -> None:
    assert set(FULL_ITEM) | {"jwks_uri"} == KNOWN_ATTRIBUTES
    assert unknown_attributes({**FULL_ITEM, "jwks_uri": {"S": "x"}}) == {}


def test_a_secret_without_hash_alg_is_read_as_the_current_algorithm_and_bytearray_as_bytes() -> None:
    item = with_secret_field("hash_alg", None)
    item["secrets"]["L"][0]["M"]["hash"] = {"B": bytearray(OLD_DIGEST)}
    secret = decode_client(item).secrets[0]
    assert secret.hash_alg == HASH_ALGORITHM
    assert type(secret.digest) is bytes
    assert secret.digest == OLD_DIGEST


def test_an_older_hash_algorithm_is_read_as_stored() -> None:
    item = with_secret_field("hash_alg", {"S": "sha1-legacy"})
    assert decode_client(item).secrets[0].hash_alg == "sha1-legacy"


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("-5", -5), ("12", 12), ("9" * 20, int("9" * 20)), ("-" + "9" * 19, -int("9" * 19))],
)
def test_integers_are_whole_decimal_numbers_of_at_most_20_characters(text: str, value: int) -> None:
    assert decode_client(with_attribute(BARE_ITEM, "created_at", {"N": text})).created_at == value


def test_a_token_lifetime_of_one_second_is_the_least_read() -> None:
    assert decode_client(with_attribute(BARE_ITEM, "token_lifetime", {"N": "1"})).token_lifetime == 1


# -- reading what is refused (never a crash, never the content) ------------------------------------------

MALFORMED: list[tuple[str, Any, str]] = [
    ("item not a map", ["client_id"], "client_id"),
    ("item None", None, "client_id"),
    ("no client_id", with_attribute(BARE_ITEM, "client_id", None), "client_id"),
    ("client_id empty", with_attribute(BARE_ITEM, "client_id", {"S": ""}), "client_id"),
    ("client_id not a map", with_attribute(BARE_ITEM, "client_id", "pc_x"), "client_id"),
    ("client_id S a number", with_attribute(BARE_ITEM, "client_id", {"S": 5}), "client_id"),
    ("no status", with_attribute(BARE_ITEM, "status", None), "status"),
    ("status unknown", with_attribute(BARE_ITEM, "status", {"S": "suspended"}), "status"),
    ("status ACTIVE", with_attribute(BARE_ITEM, "status", {"S": "ACTIVE"}), "status"),
    ("status a number", with_attribute(BARE_ITEM, "status", {"N": "1"}), "status"),
    ("status S not a string", with_attribute(BARE_ITEM, "status", {"S": True}), "status"),
    ("status not a map", with_attribute(BARE_ITEM, "status", "active"), "status"),
    ("no token_lifetime", with_attribute(BARE_ITEM, "token_lifetime", None), "token_lifetime"),
    ("token_lifetime 0", with_attribute(BARE_ITEM, "token_lifetime", {"N": "0"}), "token_lifetime"),
    ("token_lifetime -1", with_attribute(BARE_ITEM, "token_lifetime", {"N": "-1"}), "token_lifetime"),
    ("token_lifetime 1.5", with_attribute(BARE_ITEM, "token_lifetime", {"N": "1.5"}), "token_lifetime"),
    ("token_lifetime 1e3", with_attribute(BARE_ITEM, "token_lifetime", {"N": "1e3"}), "token_lifetime"),
    ("token_lifetime empty", with_attribute(BARE_ITEM, "token_lifetime", {"N": ""}), "token_lifetime"),
    (
        "token_lifetime a bare minus",
        with_attribute(BARE_ITEM, "token_lifetime", {"N": "-"}),
        "token_lifetime",
    ),
    (
        "token_lifetime two minuses",
        with_attribute(BARE_ITEM, "token_lifetime", {"N": "--5"}),
        "token_lifetime",
    ),
    (
        "token_lifetime superscript",
        with_attribute(BARE_ITEM, "token_lifetime", {"N": "6\u00b2"}),
        "token_lifetime",
    ),
    (
        "token_lifetime arabic-indic digits",
        with_attribute(BARE_ITEM, "token_lifetime", {"N": "\u0661\u0662"}),
        "token_lifetime",
    ),
    (
        "token_lifetime 21 digits",
        with_attribute(BARE_ITEM, "token_lifetime", {"N": "1" * 21}),
        "token_lifetime",
    ),
    ("token_lifetime N a number", with_attribute(BARE_ITEM, "token_lifetime", {"N": 900}), "token_lifetime"),
    ("token_lifetime a string", with_attribute(BARE_ITEM, "token_lifetime", {"S": "900"}), "token_lifetime"),
    ("no scopes", with_attribute(BARE_ITEM, "scopes", None), "scopes"),
    ("scopes empty list", with_attribute(BARE_ITEM, "scopes", {"L": []}), "scopes"),
    ("scopes empty set", with_attribute(BARE_ITEM, "scopes", {"SS": []}), "scopes"),
    ("scopes a string", with_attribute(BARE_ITEM, "scopes", {"S": "a"}), "scopes"),
    ("scopes not a map", with_attribute(BARE_ITEM, "scopes", ["a"]), "scopes"),
    ("scopes two types", with_attribute(BARE_ITEM, "scopes", {"L": [{"S": "a"}], "SS": ["a"]}), "scopes"),
    ("scopes L not a list", with_attribute(BARE_ITEM, "scopes", {"L": "a"}), "scopes"),
    ("scopes SS not a list", with_attribute(BARE_ITEM, "scopes", {"SS": "a"}), "scopes"),
    ("scopes SS a number member", with_attribute(BARE_ITEM, "scopes", {"SS": ["a", 1]}), "scopes"),
    (
        "scopes L a number member",
        with_attribute(BARE_ITEM, "scopes", {"L": [{"S": "a"}, {"N": "1"}]}),
        "scopes",
    ),
    ("scopes L a bare member", with_attribute(BARE_ITEM, "scopes", {"L": [{"S": "a"}, "b"]}), "scopes"),
    ("scopes L member S a number", with_attribute(BARE_ITEM, "scopes", {"L": [{"S": 1}]}), "scopes"),
    ("no audiences", with_attribute(BARE_ITEM, "audiences", None), "audiences"),
    ("audiences empty list", with_attribute(BARE_ITEM, "audiences", {"L": []}), "audiences"),
    ("audiences a map", with_attribute(BARE_ITEM, "audiences", {"M": {}}), "audiences"),
    ("no client_name", with_attribute(BARE_ITEM, "client_name", None), "client_name"),
    ("client_name a number", with_attribute(BARE_ITEM, "client_name", {"N": "7"}), "client_name"),
    ("client_name S a list", with_attribute(BARE_ITEM, "client_name", {"S": ["x"]}), "client_name"),
    ("grant_types a number", with_attribute(BARE_ITEM, "grant_types", {"N": "1"}), "grant_types"),
    ("created_at a string", with_attribute(BARE_ITEM, "created_at", {"S": "x"}), "created_at"),
    ("updated_at a fraction", with_attribute(BARE_ITEM, "updated_at", {"N": "2.5"}), "updated_at"),
    ("version a string", with_attribute(BARE_ITEM, "version", {"S": "3"}), "version"),
    ("changed_at a string", with_attribute(BARE_ITEM, "changed_at", {"S": "now"}), "changed_at"),
    ("changed_by a number", with_attribute(BARE_ITEM, "changed_by", {"N": "1"}), "changed_by"),
    ("last_request a number", with_attribute(BARE_ITEM, "last_request", {"N": "1"}), "last_request"),
    ("jwks_uri a number", with_attribute(BARE_ITEM, "jwks_uri", {"N": "1"}), "jwks_uri"),
    ("plan a number", with_attribute(BARE_ITEM, "plan", {"N": "1"}), "plan"),
    ("permissions a string", with_attribute(BARE_ITEM, "permissions", {"S": "introspect"}), "permissions"),
    ("secrets a string", with_attribute(BARE_ITEM, "secrets", {"S": "s"}), "secrets"),
    ("secrets L not a list", with_attribute(BARE_ITEM, "secrets", {"L": {"M": {}}}), "secrets"),
    ("secret not a map", with_attribute(BARE_ITEM, "secrets", {"L": [{"S": "s"}]}), "secrets"),
    ("secret a bare string", with_attribute(BARE_ITEM, "secrets", {"L": ["s"]}), "secrets"),
    ("secret M not a map", with_attribute(BARE_ITEM, "secrets", {"L": [{"M": ["s"]}]}), "secrets"),
    ("secret without id", with_secret_field("secret_id", None), "secrets"),
    ("secret id a number", with_secret_field("secret_id", {"N": "1"}), "secrets"),
    ("secret without hash", with_secret_field("hash", None), "secrets"),
    ("secret hash a string", with_secret_field("hash", {"S": "00"}), "secrets"),
    ("secret hash B a string", with_secret_field("hash", {"B": "00"}), "secrets"),
    ("secret without created_at", with_secret_field("created_at", None), "secrets"),
    ("secret created_at a string", with_secret_field("created_at", {"S": "x"}), "secrets"),
    ("secret expires_at a fraction", with_secret_field("expires_at", {"N": "1.25"}), "secrets"),
    ("secret hash_alg a number", with_secret_field("hash_alg", {"N": "1"}), "secrets"),
    ("jwks a number", with_attribute(BARE_ITEM, "jwks", {"N": "1"}), "jwks"),
    ("jwks not JSON", with_attribute(BARE_ITEM, "jwks", {"S": "{not json"}), "jwks"),
    ("jwks a list", with_attribute(BARE_ITEM, "jwks", {"S": "[]"}), "jwks"),
    ("jwks without keys", with_attribute(BARE_ITEM, "jwks", {"S": '{"kty": "EC"}'}), "jwks"),
    ("jwks keys not a list", with_attribute(BARE_ITEM, "jwks", {"S": '{"keys": {}}'}), "jwks"),
    ("jwks key not a map", with_attribute(BARE_ITEM, "jwks", {"S": '{"keys": ["k"]}'}), "jwks"),
    ("jwks key without kid", with_attribute(BARE_ITEM, "jwks", {"S": '{"keys": [{"kty": "EC"}]}'}), "jwks"),
    ("jwks kid a number", with_attribute(BARE_ITEM, "jwks", {"S": '{"keys": [{"kid": 1}]}'}), "jwks"),
    (
        "jwks key not describable",
        with_attribute(BARE_ITEM, "jwks", {"S": '{"keys": [{"kid": "k", "kty": "EC"}]}'}),
        "jwks",
    ),
    ("jwks nested too deep", with_attribute(BARE_ITEM, "jwks", {"S": "[" * 100_000 + "]" * 100_000}), "jwks"),
]


@pytest.mark.parametrize(("item", "reason"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_every_malformed_shape_is_refused_with_the_attribute_at_fault(item: Any, reason: str) -> None:
    assert malformed_reason(item) == reason


def test_a_refusal_names_the_items_client_id_when_it_can_be_read_and_never_a_value() -> None:
    item = with_attribute(BARE_ITEM, "status", {"S": "top-secret-status"})
    with pytest.raises(MalformedClientItem) as caught:
        decode_client(item)
    assert caught.value.client_id == "pc_bare"
    assert str(caught.value) == "the client's stored item is malformed (status)"
    assert "top-secret-status" not in str(caught.value)


@pytest.mark.parametrize(
    ("item", "client_id"),
    [
        (with_attribute(BARE_ITEM, "client_id", {"S": ""}), ""),
        (with_attribute(BARE_ITEM, "client_id", {"N": "1"}), None),
        ("not an item", None),
    ],
)
def test_an_unreadable_client_id_is_named_as_far_as_it_can_be_read(item: Any, client_id: str | None) -> None:
    with pytest.raises(MalformedClientItem) as caught:
        decode_client(item)
    assert (caught.value.reason, caught.value.client_id) == ("client_id", client_id)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"client_id": {"S": "pc_1"}}, "pc_1"),
        ({"client_id": {"S": 1}}, None),
        ({"client_id": "pc_1"}, None),
        ({}, None),
        (["client_id"], None),
        (None, None),
    ],
)
def test_item_client_id_is_the_string_client_id_or_none(item: Any, expected: str | None) -> None:
    assert item_client_id(item) == expected


# -- what a decoded client says ----------------------------------------------------------------------


@pytest.mark.parametrize(("now", "live"), [(299, True), (299.999, True), (300, False), (301, False)])
def test_a_secret_is_live_strictly_before_its_expiry(now: float, live: bool) -> None:
    assert StoredSecret("s", DIGEST, 0, expires_at=300).is_live(now) is live


def test_a_secret_without_expiry_is_always_live() -> None:
    assert StoredSecret("s", DIGEST, 0).is_live(10**12)


def test_only_the_active_status_is_active() -> None:
    assert FULL.active is True
    assert MINIMAL.active is False


def _fields(client: Client) -> dict[str, Any]:
    return {name: getattr(client, name) for name in Client.__dataclass_fields__}


@pytest.mark.parametrize(
    ("jwks", "jwks_uri", "now", "methods"),
    [
        (JWKS, None, 299, ("private_key_jwt", "client_secret_basic")),
        (None, "https://keys.example.test/j", 299, ("private_key_jwt", "client_secret_basic")),
        (JWKS, None, 300, ("private_key_jwt",)),
        (None, None, 299, ("client_secret_basic",)),
        (None, None, 300, ()),
    ],
)
def test_auth_methods_are_keys_when_registered_then_secrets_while_one_is_live(
    jwks: str | None, jwks_uri: str | None, now: int, methods: tuple[str, ...]
) -> None:
    client = Client(**{**_fields(FULL), "jwks": jwks, "jwks_uri": jwks_uri, "secrets": FULL.secrets[:1]})
    assert client.has_keys is (jwks is not None or jwks_uri is not None)
    assert client.auth_methods(now) == methods


def test_live_secrets_are_those_not_yet_expired() -> None:
    assert [s.secret_id for s in FULL.live_secrets(299)] == ["sec_old", "sec_new"]
    assert [s.secret_id for s in FULL.live_secrets(300)] == ["sec_new"]


def test_describe_shows_everything_but_hashes() -> None:
    kid = PUBLIC_JWK["kid"]
    described = FULL.describe(300)
    assert described == {
        "client_id": "pc_full",
        "client_name": "Acme Logistics",
        "status": "active",
        "scopes": ["orders:read", "orders:write"],
        "audiences": ["partner-api", "https://inventory.example.test"],
        "grant_types": ["client_credentials"],
        "token_lifetime": 900,
        "created_at": 100,
        "updated_at": 200,
        "token_endpoint_auth_methods": ["private_key_jwt", "client_secret_basic"],
        "jwks_uri": None,
        "plan": "gold",
        "permissions": ["introspect"],
        "keys": described["keys"],
        "secrets": [
            {"secret_id": "sec_old", "created_at": 90, "expires_at": 300, "state": "expired"},
            {"secret_id": "sec_new", "created_at": 150, "expires_at": None, "state": "live"},
        ],
        "changed_by": "arn:aws:iam::123456789012:user/ops",
        "changed_at": 200,
        "last_request": "req_0123456789abcdef",
    }
    assert [key["kid"] for key in described["keys"]] == [kid]
    assert DIGEST.hex() not in json.dumps(described, default=repr)
    assert MINIMAL.describe(0)["keys"] == []
