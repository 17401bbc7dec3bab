"""Token request rules, fast (issue 20: the "token_request" mutation group).

* what a token request may look like, each refused shape with its RFC 6749 §5.2 error and reason
  (:mod:`token_issuer.token_request`, no AWS);
* the per-client token rate: exactly the limit per one-minute window, counted by one conditional write that
  holds across instances (:mod:`partnerauth.token_rate`, one module-scoped moto table of template.yaml);
* scope claims by RFC 6749 §3.3's grammar (:mod:`partnerauth.scopes`) and RFC 8707 resource indicators
  (:mod:`partnerauth.resource_indicator`), example by example.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from partnerauth import scopes
from partnerauth.client_assertion import JWT_BEARER
from partnerauth.errors import ClaimInvalid, ConfigurationError, Reason
from partnerauth.resource_indicator import MAX_RESOURCE_LENGTH, is_resource_indicator
from partnerauth.scopes import (
    LIST_SCOPE_CLAIMS,
    MAX_SCOPE_LENGTH,
    MAX_SCOPES,
    SCOPE_CLAIMS,
    STRING_SCOPE_CLAIMS,
    is_scope_token,
    parse_scope_claim,
    parse_scope_claims,
)
from partnerauth.token_rate import (
    MAX_REMEMBERED,
    WINDOW_SECONDS,
    TokenRateExceeded,
    TokenRateLimiter,
    counter_key,
)
from tests.support.clock import FakeClock
from tests.support.template import create_table_from_template
from token_issuer.client_auth import AUTH_FAILED, AssertionCredentials, AuthMethod, ClientCredentials
from token_issuer.oauth_errors import InvalidClient, InvalidRequest, OAuthError
from token_issuer.token_request import TokenRequest, parse_token_request, presented_credentials

FORM = "application/x-www-form-urlencoded"


def event(body: str, *authorization: str) -> dict[str, Any]:
    headers = {"Content-Type": [FORM], **({"Authorization": list(authorization)} if authorization else {})}
    return {"body": body, "multiValueHeaders": headers, "headers": {k: v[-1] for k, v in headers.items()}}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def refusal(call: Any) -> tuple[str, str | None, dict[str, Any]]:
    with pytest.raises(OAuthError) as refused:
        call()
    return refused.value.error, refused.value.description, refused.value.log_fields


# -- token requests (token_issuer.token_request) -------------------------------------------------------------

GRANT = "grant_type=client_credentials"
POST = "client_id=pc_a&client_secret=s"
ASSERTED = f"client_assertion_type={JWT_BEARER.replace(':', '%3A')}&client_assertion=h.p.s"


def test_a_client_secret_post_request_carries_its_grant_scope_and_resource() -> None:
    parsed = parse_token_request(event(f"{GRANT}&{POST}&scope=read+write&resource=https%3A%2F%2Fapi.test"))
    assert parsed == TokenRequest(
        grant_type="client_credentials",
        credentials=ClientCredentials("pc_a", "s", AuthMethod.CLIENT_SECRET_POST),
        scope="read write",
        resource="https://api.test",
        audience=None,
    )
    assert parse_token_request(event(f"{GRANT}&{POST}&audience=x")).audience == "x"
    bare = parse_token_request(event(f"{GRANT}&{POST}"))
    assert (bare.scope, bare.resource, bare.audience) == (None, None, None)


def test_a_basic_request_carries_the_headers_credentials_and_may_repeat_the_same_client_id() -> None:
    expected = ClientCredentials("pc_a", "s", AuthMethod.CLIENT_SECRET_BASIC)
    assert parse_token_request(event(GRANT, basic("pc_a", "s"))).credentials == expected
    assert parse_token_request(event(f"{GRANT}&client_id=pc_a", basic("pc_a", "s"))).credentials == expected


def test_an_assertion_request_carries_the_assertion_and_the_optional_client_id() -> None:
    assert parse_token_request(event(f"{GRANT}&{ASSERTED}")).credentials == AssertionCredentials("h.p.s")
    with_id = parse_token_request(event(f"{GRANT}&{ASSERTED}&client_id=pc_a")).credentials
    assert with_id == AssertionCredentials("h.p.s", client_id="pc_a")


@pytest.mark.parametrize(
    ("body", "authorization", "error", "reason"),
    [
        ("client_id=pc_a&client_secret=s", (), "invalid_request", "grant_type_missing"),
        (f"grant_type=&{POST}", (), "invalid_request", "grant_type_missing"),
        (f"{GRANT}&{POST}&resource=r&audience=a", (), "invalid_request", "resource_and_audience"),
        (GRANT, ("Basic a", "Basic b"), "invalid_request", "authorization_repeated"),
        (f"{GRANT}&{ASSERTED}", (basic("pc_a", "s"),), "invalid_request", "two_auth_methods"),
        (f"{GRANT}&{ASSERTED}&client_secret=s", (), "invalid_request", "two_auth_methods"),
        (f"{GRANT}&client_secret=s", (basic("pc_a", "s"),), "invalid_request", "two_auth_methods"),
        (f"{GRANT}&client_id=pc_b", (basic("pc_a", "s"),), "invalid_request", "client_id_mismatch"),
        (f"{GRANT}&client_secret=s", (), "invalid_request", "client_id_missing"),
        (f"{GRANT}&client_assertion=h.p.s", (), "invalid_request", "assertion_incomplete"),
        (f"{GRANT}&client_assertion_type=x", (), "invalid_request", "assertion_incomplete"),
        (
            f"{GRANT}&client_assertion_type=x&client_assertion=h.p.s",
            (),
            "invalid_client",
            "unsupported_assertion_type",
        ),
        (f"{GRANT}&{ASSERTED}&client_id=a+b", (), "invalid_client", "malformed_credentials"),
        (f"{GRANT}&{ASSERTED}&client_id={'x' * 129}", (), "invalid_client", "malformed_credentials"),
        (f"{GRANT}&client_id=pc_a", (), "invalid_client", "no_credentials"),
        (f"{GRANT}&client_id=pc_a&client_secret=", (), "invalid_client", "no_credentials"),
        (GRANT, (), "invalid_client", "no_credentials"),
        (f"{GRANT}&client_id=a+b&client_secret=s", (), "invalid_client", "malformed_credentials"),
    ],
)
def test_each_refused_request_shape_gets_its_rfc_6749_section_5_2_error(
    body: str, authorization: tuple[str, ...], error: str, reason: str
) -> None:
    code, _, fields = refusal(lambda: parse_token_request(event(body, *authorization)))
    assert (code, fields["reason"]) == (error, reason)


def test_an_assertion_refused_as_a_client_failure_is_the_one_invalid_client_of_private_key_jwt() -> None:
    for body in (
        f"{GRANT}&client_assertion_type=x&client_assertion=h.p.s",
        f"{GRANT}&{ASSERTED}&client_id=a+b",
    ):
        with pytest.raises(InvalidClient) as refused:
            parse_token_request(event(body))
        assert refused.value.description == AUTH_FAILED
        assert refused.value.log_fields["auth_method"] == "private_key_jwt"


def test_a_request_with_no_credentials_says_authentication_is_required() -> None:
    with pytest.raises(InvalidClient) as refused:
        parse_token_request(event(GRANT))
    assert refused.value.description == "client authentication is required"
    assert refused.value.log_fields == {"reason": "no_credentials"}


def test_every_refusal_of_a_request_shape_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse_token_request(event(f"{GRANT}&client_secret=s"))


def test_an_assertion_with_a_valid_client_id_of_128_characters_is_accepted() -> None:
    assertion = parse_token_request(event(f"{GRANT}&{ASSERTED}&client_id={'x' * 128}")).credentials
    assert assertion == AssertionCredentials("h.p.s", client_id="x" * 128)


def test_parameters_sent_without_a_value_are_omitted_for_credentials_too() -> None:
    # RFC 6749 §3.1; presented_credentials is shared by revocation and introspection, which parse forms apart
    header_only = {"multiValueHeaders": {"Authorization": [basic("pc_a", "s")]}}
    form = {"client_secret": "", "client_id": "", "client_assertion": "", "client_assertion_type": ""}
    assert presented_credentials(header_only, form) == ClientCredentials(
        "pc_a", "s", AuthMethod.CLIENT_SECRET_BASIC
    )
    asserted = {"client_assertion_type": JWT_BEARER, "client_assertion": "h.p.s", "client_secret": ""}
    assert presented_credentials({}, asserted) == AssertionCredentials("h.p.s")


# -- the token rate (partnerauth.token_rate) -----------------------------------------------------------------

START = 1_800_000_000.0  # a window start: 30,000,000 minutes since the epoch
SESSION = boto3.session.Session(region_name="us-east-1")  # made at import: a forked worker inherits it
_clients = itertools.count(1)


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """One in-memory account for the module with only the table the counters live in."""
    with mock_aws():
        client = SESSION.client("dynamodb")
        create_table_from_template(client, "AuthAttemptsTable")
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def client_id() -> str:
    return f"pc_rate_{next(_clients)}"


class Recording:
    """Wraps a client: counts ``update_item`` calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.writes = 0

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def update_item(self, **request: Any) -> Any:
        self.writes += 1
        return self._client.update_item(**request)


@pytest.fixture
def table(dynamodb: Any) -> Recording:
    return Recording(dynamodb)


def limiter(table: Recording, clock: FakeClock) -> TokenRateLimiter:
    return TokenRateLimiter(table_name(table), table, clock)


def table_name(table: Recording) -> str:
    return str(table._client.list_tables()["TableNames"][0])


def counter(table: Recording, client_id: str, window: int) -> dict[str, str] | None:
    item = table._client.get_item(
        TableName=table_name(table),
        Key={"client_id": {"S": counter_key(client_id, window)}},
        ConsistentRead=True,
    ).get("Item")
    return {name: value.get("N", value.get("S")) for name, value in item.items()} if item else None


def test_a_window_is_one_minute_and_its_counter_key_names_it_and_the_client() -> None:
    assert WINDOW_SECONDS == 60
    assert counter_key("pc_a", 30_000_000) == "issued 30000000 pc_a"


@pytest.mark.parametrize("limit", [0, -1])
def test_a_rate_below_one_token_per_minute_is_a_configuration_error(limit: int) -> None:
    with pytest.raises(ConfigurationError):
        TokenRateLimiter("t", None, FakeClock(START)).count("pc_a", limit)


def test_exactly_the_limit_is_issued_in_a_window_and_the_next_is_refused(
    table: Recording, clock: FakeClock, client_id: str
) -> None:
    rate = limiter(table, clock)
    for _ in range(3):
        rate.count(client_id, 3)
    with pytest.raises(TokenRateExceeded) as refused:
        rate.count(client_id, 3)
    assert (refused.value.client_id, refused.value.limit, refused.value.retry_after) == (client_id, 3, 60)
    window = int(START // 60)
    assert counter(table, client_id, window) == {
        "client_id": f"issued {window} {client_id}",
        "issued": "3",
        "expires_at": str((window + 2) * 60),
    }


def test_a_limit_of_one_issues_one(table: Recording, clock: FakeClock, client_id: str) -> None:
    rate = limiter(table, clock)
    rate.count(client_id, 1)
    with pytest.raises(TokenRateExceeded):
        rate.count(client_id, 1)


def test_the_count_is_per_client_and_starts_again_at_the_next_window(
    table: Recording, clock: FakeClock, client_id: str
) -> None:
    rate = limiter(table, clock)
    rate.count(client_id, 1)
    rate.count(client_id + "b", 1)
    clock.now = START + 59.999
    with pytest.raises(TokenRateExceeded) as refused:
        rate.count(client_id, 1)
    assert refused.value.retry_after == 1  # 0.001 s left: rounded up
    clock.now = START + 60  # the next window starts exactly here
    rate.count(client_id, 1)


@pytest.mark.parametrize(("offset", "retry_after"), [(0.0, 60), (0.5, 60), (1.0, 59), (30.25, 30), (59.0, 1)])
def test_retry_after_is_the_whole_seconds_to_the_next_window_rounded_up(
    table: Recording, clock: FakeClock, client_id: str, offset: float, retry_after: int
) -> None:
    clock.now = START + offset
    rate = limiter(table, clock)
    rate.count(client_id, 1)
    with pytest.raises(TokenRateExceeded) as refused:
        rate.count(client_id, 1)
    assert refused.value.retry_after == retry_after


def test_a_429_for_the_rate_always_asks_to_wait_at_least_one_second() -> None:
    assert TokenRateExceeded("pc_a", 0, 5).retry_after == 1
    assert TokenRateExceeded("pc_a", 2, 5).retry_after == 2


def test_two_instances_share_one_count(table: Recording, clock: FakeClock, client_id: str) -> None:
    first, second = limiter(table, clock), limiter(table, clock)
    first.count(client_id, 2)
    second.count(client_id, 2)
    with pytest.raises(TokenRateExceeded):
        first.count(client_id, 2)
    with pytest.raises(TokenRateExceeded):
        second.count(client_id, 2)


def test_a_full_window_is_remembered_at_its_limit_and_below_but_a_higher_limit_asks_again(
    table: Recording, clock: FakeClock, client_id: str
) -> None:
    rate = limiter(table, clock)
    rate.count(client_id, 1)
    with pytest.raises(TokenRateExceeded):
        rate.count(client_id, 1)
    writes = table.writes
    for limit in (1, 1):  # the same limit: refused by the instance, nothing written
        with pytest.raises(TokenRateExceeded) as refused:
            rate.count(client_id, limit)
        # the same refusal as DynamoDB's: the log names the client and its limit (oauth_errors.as_oauth_error)
        assert (refused.value.client_id, refused.value.limit, refused.value.retry_after) == (client_id, 1, 60)
    assert table.writes == writes
    rate.count(client_id, 2)  # a plan change: asked of DynamoDB at once
    assert table.writes == writes + 1
    with pytest.raises(TokenRateExceeded):
        rate.count(client_id, 2)
    with pytest.raises(TokenRateExceeded):
        rate.count(client_id, 1)  # a lower limit than the remembered one: refused without a write
    assert table.writes == writes + 2


def test_what_an_instance_remembers_is_forgotten_at_the_next_window(
    table: Recording, clock: FakeClock, client_id: str
) -> None:
    rate = limiter(table, clock)
    rate.count(client_id, 1)
    with pytest.raises(TokenRateExceeded):
        rate.count(client_id, 1)
    clock.advance(WINDOW_SECONDS)
    rate.count(client_id, 1)


class AlwaysFull:
    """A table where every conditional write finds the window full."""

    class exceptions:  # noqa: N801 - the shape of a boto3 client's ``exceptions``
        class ConditionalCheckFailedException(Exception):
            pass

    def __init__(self) -> None:
        self.writes = 0

    def update_item(self, **_: Any) -> None:
        self.writes += 1
        raise self.exceptions.ConditionalCheckFailedException


def test_an_instance_remembers_at_most_10000_full_clients_per_window() -> None:
    assert MAX_REMEMBERED == 10_000
    table = AlwaysFull()
    rate = TokenRateLimiter("t", table, FakeClock(START))
    for n in range(MAX_REMEMBERED + 1):
        with pytest.raises(TokenRateExceeded):
            rate.count(f"pc_{n}", 5)
    assert table.writes == MAX_REMEMBERED + 1
    with pytest.raises(TokenRateExceeded):
        rate.count("pc_0", 5)  # remembered
    assert table.writes == MAX_REMEMBERED + 1
    with pytest.raises(TokenRateExceeded):
        rate.count(f"pc_{MAX_REMEMBERED}", 5)  # one past the bound: not remembered, written again
    assert table.writes == MAX_REMEMBERED + 2


class Failing:
    class exceptions:  # noqa: N801
        class ConditionalCheckFailedException(Exception):
            pass

    def update_item(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "UpdateItem")


def test_a_dynamodb_failure_propagates_so_no_token_is_issued_uncounted() -> None:
    with pytest.raises(ClientError):
        TokenRateLimiter("t", Failing(), FakeClock(START)).count("pc_a", 5)


# -- scopes (partnerauth.scopes, RFC 6749 §3.3) --------------------------------------------------------------


@pytest.mark.parametrize(
    "token", ["!", "#", "[", "]", "~", "a", "read:items", "x" * MAX_SCOPE_LENGTH, "\x21\x23\x5b\x5d\x7e"]
)
def test_a_scope_token_is_1_to_128_characters_of_rfc_6749_scope_token(token: str) -> None:
    assert is_scope_token(token)


@pytest.mark.parametrize(
    "token", ["", " ", '"', "\\", "\x7f", "\x20a", "a\tb", "é", "x" * 129, None, 5, ["a"]]
)
def test_anything_else_is_not_a_scope_token(token: object) -> None:
    assert not is_scope_token(token)


def test_the_scope_claims_read_are_scope_and_scp_as_strings_scp_and_roles_as_lists() -> None:
    assert frozenset({"scope", "scp"}) == STRING_SCOPE_CLAIMS
    assert frozenset({"scp", "roles"}) == LIST_SCOPE_CLAIMS
    assert frozenset({"scope", "scp", "roles"}) == SCOPE_CLAIMS
    assert (MAX_SCOPE_LENGTH, MAX_SCOPES) == (128, 256)


@pytest.mark.parametrize("value", [None, "", []])
def test_an_absent_or_empty_scope_claim_holds_no_scope(value: object) -> None:
    for claim in ("scope", "scp", "roles"):
        assert parse_scope_claim(claim, value) == frozenset()


def test_a_scope_string_is_split_on_single_spaces() -> None:
    assert parse_scope_claim("scope", "read write:x") == {"read", "write:x"}
    assert parse_scope_claim("scp", "a b c") == {"a", "b", "c"}
    assert parse_scope_claim("scope", "one") == {"one"}


def test_a_scope_list_holds_one_token_per_item() -> None:
    assert parse_scope_claim("scp", ["read", "write"]) == {"read", "write"}
    assert parse_scope_claim("roles", ["admin"]) == {"admin"}


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("scope", " a"),
        ("scope", "a "),
        ("scope", "a  b"),
        ("scope", "a\tb"),
        ("scope", "a\u00a0b"),
        ("scope", "a\x1cb"),
        ("scope", 'a "b"'),
        ("scope", "a b a"),  # repeated
        ("scope", ["a"]),  # a list where a string belongs
        ("roles", "a"),  # a string where a list belongs
        ("scp", ["a b"]),  # an item is never split
        ("scp", ["a", ""]),
        ("scp", ["a", "a"]),
        ("scp", ["a", 1]),
        ("scope", 5),
        ("scope", {"a": 1}),
        ("other", "a"),
        ("other", ["a"]),
        ("scope", "x" * 129),
    ],
)
def test_a_scope_claim_outside_the_grammar_is_refused_naming_the_claim(claim: str, value: object) -> None:
    with pytest.raises(ClaimInvalid) as refused:
        parse_scope_claim(claim, value)
    assert refused.value.reason is Reason.INVALID_CLAIM
    assert refused.value.fault == ("claim.other" if claim == "other" else f"claim.{claim}")


def test_at_most_256_scopes_are_read_from_a_string_or_a_list() -> None:
    many = [f"s{n}" for n in range(MAX_SCOPES + 1)]
    assert len(parse_scope_claim("scope", " ".join(many[:MAX_SCOPES]))) == MAX_SCOPES
    assert len(parse_scope_claim("scp", many[:MAX_SCOPES])) == MAX_SCOPES
    for claim, value in (("scope", " ".join(many)), ("scp", many)):
        with pytest.raises(ClaimInvalid):
            parse_scope_claim(claim, value)


def test_a_scope_string_parsed_again_gives_the_same_scopes_and_a_bad_one_is_never_remembered() -> None:
    assert (
        parse_scope_claim("scope", "again once")
        == parse_scope_claim("scope", "again once")
        == {"again", "once"}
    )
    for _ in range(2):
        with pytest.raises(ClaimInvalid):
            parse_scope_claim("scope", "again again")
    with pytest.raises(ClaimInvalid):
        parse_scope_claim(
            "roles", "again once"
        )  # remembered for a string claim, still refused for a list one


def test_the_remembered_scope_strings_are_bounded() -> None:
    for n in range(scopes.MAX_REMEMBERED + 5):
        parse_scope_claim("scope", f"bounded{n}")
    assert len(scopes._parsed) <= scopes.MAX_REMEMBERED
    assert parse_scope_claim("scope", "bounded0") == {"bounded0"}


def test_several_scope_claims_give_the_union_of_their_scopes() -> None:
    payload: dict[str, object] = {"scp": "a b", "roles": ["c", "a"], "scope": "z"}
    assert parse_scope_claims(("scp", "roles"), payload) == {"a", "b", "c"}
    assert parse_scope_claims(("roles",), payload) == {"c", "a"}
    assert parse_scope_claims(("scope",), payload) == {"z"}
    assert parse_scope_claims(("scp", "roles", "scope"), {"roles": ["c"]}) == {"c"}
    with pytest.raises(ClaimInvalid):
        parse_scope_claims(("scp", "roles"), {"scp": "a", "roles": "b"})


# -- resource indicators (partnerauth.resource_indicator, RFC 8707 §2) ---------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "https://api.example.test",
        "https://api.example.test/",
        "HTTPS://API.example.test:443/v1/items?x=1&y=/?",
        "urn+x-y.z://host",
        "https://user:pw%41@host",
        "https://host:",
        "https://a.b/p%2F;x=1/@:",
        "https://[::1]/x",
        "https://[2001:db8::7]:8443",
        "https://[v7.a:b]/",
        "https://[V1A.x]",
        "https://h/" + "a" * (MAX_RESOURCE_LENGTH - len("https://h/")),
    ],
)
def test_an_absolute_uri_with_an_authority_and_no_fragment_is_a_resource_indicator(value: str) -> None:
    assert is_resource_indicator(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "https://h/" + "a" * (MAX_RESOURCE_LENGTH - len("https://h/") + 1),
        "https://api.example.test/#frag",
        "https://api.example.test#",
        "/relative",
        "api.example.test",
        "https:api.example.test",
        "https://",
        "1https://host",
        "https://ho st",
        "https://hé",
        "https://h/%zz",
        "https://h:8a",
        "https://[::1",
        "https://[]",
        "https://[zz]",
        "https://[::1%25eth0]",
        "https://[fe80::1%eth0]",
        "https://[v.x]",
        "https://[vg.x]",
        "https://[v1.]",
        "https://[1.2.3.4]",
        "https://a[::1]",
    ],
)
def test_anything_else_is_not_a_resource_indicator(value: str) -> None:
    assert not is_resource_indicator(value)


def test_the_longest_resource_indicator_is_2048_characters() -> None:
    assert MAX_RESOURCE_LENGTH == 2048
