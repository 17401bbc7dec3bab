"""Client authentication rules, fast and without AWS (issue 20: the "authentication" mutation group).

* secrets: HMAC-SHA-256 keyed with the pepper and a domain prefix, a length cap, a constant-time compare,
  :data:`DUMMY_DIGEST` for unknown clients (:mod:`partnerauth.client_secrets`);
* credentials from the Basic header or the form (RFC 6749 §2.3.1, :mod:`token_issuer.client_auth`);
* :class:`~token_issuer.client_authentication.ClientAuthenticator` with fakes for its collaborators: every
  failure is the same ``invalid_client`` (RFC 6749 §5.2), counted by the throttle; a success clears it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from aws_lambda_powertools import Metrics

from partnerauth.auth_throttle import AttemptState, ClientThrottled
from partnerauth.client_and_attempts import ClientAndAttempts
from partnerauth.client_assertion import AssertionFailure, AssertionRejected, ClientAssertion
from partnerauth.client_items import Client, ClientStatus, encode_client
from partnerauth.client_registry import AuthFailure, ClientAuthenticationFailed
from partnerauth.client_secrets import (
    DUMMY_DIGEST,
    HASH_ALGORITHM,
    MAX_SECRET_LENGTH,
    MIN_PEPPER_BYTES,
    SECRET_PREFIX,
    LazySecretHasher,
    SecretHasher,
    new_client_secret,
    new_secret_id,
)
from token_issuer.client_auth import (
    AUTH_FAILED,
    MAX_AUTHORIZATION_LENGTH,
    AssertionCredentials,
    AuthMethod,
    ClientCredentials,
    credentials,
    parse_basic,
)
from token_issuer.client_authentication import (
    MALFORMED_CLIENT_ITEMS,
    ClientAuthenticator,
    count_malformed_client_item,
)
from token_issuer.oauth_errors import InvalidClient

from .assertions import compact

PEPPER = b"p" * MIN_PEPPER_BYTES
DOMAIN = b"partnerauth client secret v1\x00"
ISSUER = "https://auth.example.test"


def expected_digest(pepper: bytes, secret: str) -> bytes:
    return hmac.new(pepper, DOMAIN + secret.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


# -- secrets (partnerauth.client_secrets) --------------------------------------------------------------------


def test_a_new_secret_is_the_prefix_and_256_random_bits_in_base64url() -> None:
    first, second = new_client_secret(), new_client_secret()
    assert SECRET_PREFIX == "pacs_"
    assert re.fullmatch(r"pacs_[A-Za-z0-9_-]{43}", first)
    assert first != second


def test_a_new_secret_id_is_sec_and_twelve_hex_digits() -> None:
    assert re.fullmatch(r"sec_[0-9a-f]{12}", new_secret_id())
    assert new_secret_id() != new_secret_id()


def test_the_stored_digest_is_hmac_sha256_keyed_with_the_pepper_over_the_domain_and_the_secret() -> None:
    hasher = SecretHasher(PEPPER)
    assert hasher.digest("pacs_abc") == expected_digest(PEPPER, "pacs_abc")
    assert hasher.digest("é") == expected_digest(PEPPER, "é")  # UTF-8, not another codec
    assert hasher.algorithm == HASH_ALGORITHM == "hmac-sha256"


def test_a_text_pepper_is_its_utf8_bytes() -> None:
    text = "ü" * 8  # 16 bytes in UTF-8, 8 characters
    assert SecretHasher(text).digest("s") == SecretHasher(text.encode("utf-8")).digest("s")
    from_bytearray = SecretHasher(bytearray(PEPPER))  # type: ignore[arg-type]
    assert from_bytearray.digest("s") == SecretHasher(PEPPER).digest("s")


def test_another_pepper_gives_another_digest() -> None:
    assert SecretHasher(PEPPER).digest("s") != SecretHasher(b"q" * MIN_PEPPER_BYTES).digest("s")


@pytest.mark.parametrize("pepper", [b"", b"p" * (MIN_PEPPER_BYTES - 1), "p" * (MIN_PEPPER_BYTES - 1)])
def test_a_pepper_shorter_than_16_bytes_is_refused(pepper: bytes | str) -> None:
    assert MIN_PEPPER_BYTES == 16
    with pytest.raises(ValueError, match="at least 16 bytes"):
        SecretHasher(pepper)


def test_a_pepper_of_exactly_16_bytes_is_accepted() -> None:
    SecretHasher(b"p" * 16)
    SecretHasher("p" * 16)


def test_a_presented_secret_is_hashed_up_to_512_characters_and_no_further() -> None:
    hasher = SecretHasher(PEPPER)
    assert MAX_SECRET_LENGTH == 512
    base = "x" * (MAX_SECRET_LENGTH - 1)
    assert hasher.digest(base + "a") != hasher.digest(base + "b")  # the 512th character counts
    assert hasher.digest(base + "a" + "c") == hasher.digest(base + "a" + "d")  # the 513th does not
    assert hasher.digest(base + "a" + "c" * 10_000) == expected_digest(PEPPER, base + "a")


def test_a_secret_with_a_lone_surrogate_is_hashed_not_refused() -> None:
    assert SecretHasher(PEPPER).digest("\ud800") == expected_digest(PEPPER, "\ud800")


def test_digests_match_only_when_equal() -> None:
    digest = SecretHasher(PEPPER).digest("s")
    assert SecretHasher.matches(digest, bytes(digest)) is True
    assert SecretHasher.matches(digest, digest[:-1] + bytes([digest[-1] ^ 1])) is False
    assert SecretHasher(PEPPER).matches(digest, DUMMY_DIGEST) is False


def test_the_dummy_digest_is_32_zero_bytes_the_size_of_a_real_one() -> None:
    assert DUMMY_DIGEST == b"\x00" * 32
    assert len(SecretHasher(PEPPER).digest("s")) == len(DUMMY_DIGEST)


def test_a_hasher_never_shows_its_pepper() -> None:
    assert repr(SecretHasher(PEPPER)) == "SecretHasher(algorithm='hmac-sha256')"
    lazy = LazySecretHasher(lambda: PEPPER)
    lazy.digest("s")
    assert repr(lazy) == "LazySecretHasher(algorithm='hmac-sha256')"


def test_a_lazy_hasher_fetches_the_pepper_on_first_use_only_then_keeps_it() -> None:
    fetched: list[int] = []

    def fetch() -> bytes:
        fetched.append(1)
        return PEPPER

    lazy = LazySecretHasher(fetch)
    assert lazy.algorithm == HASH_ALGORITHM
    assert fetched == []
    assert lazy.digest("s") == expected_digest(PEPPER, "s")
    assert lazy.digest("t") == expected_digest(PEPPER, "t")
    assert fetched == [1]
    assert lazy.matches(lazy.digest("s"), expected_digest(PEPPER, "s")) is True
    assert lazy.matches(lazy.digest("s"), DUMMY_DIGEST) is False


def test_a_failed_pepper_fetch_raises_and_is_retried_on_the_next_use() -> None:
    calls: list[int] = []

    def fetch() -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("unavailable")
        return PEPPER

    lazy = LazySecretHasher(fetch)
    with pytest.raises(RuntimeError):
        lazy.digest("s")
    assert lazy.digest("s") == expected_digest(PEPPER, "s")


# -- credentials as presented (token_issuer.client_auth, RFC 6749 §2.3.1) ------------------------------------


def basic_header(raw: bytes, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(raw).decode('ascii')}"


def refused_reason(call: Callable[[], Any]) -> tuple[str | None, dict[str, Any]]:
    with pytest.raises(InvalidClient) as refused:
        call()
    return refused.value.description, refused.value.log_fields


def test_auth_methods_carry_their_rfc_7591_names() -> None:
    assert [m.value for m in AuthMethod] == ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def test_presented_credentials_default_to_their_methods_and_never_show_the_secret() -> None:
    posted = ClientCredentials("pc_a", "pacs_secret")
    assert posted.method is AuthMethod.CLIENT_SECRET_POST
    assert "pacs_secret" not in repr(posted)
    asserted = AssertionCredentials("header.payload.signature")
    assert (asserted.client_id, asserted.method) == (None, AuthMethod.PRIVATE_KEY_JWT)
    assert "header.payload.signature" not in repr(asserted)


@pytest.mark.parametrize("client_id", ["a", "!", "~", "x" * 128, "pc_0123"])
def test_a_client_id_of_1_to_128_visible_ascii_characters_is_accepted(client_id: str) -> None:
    assert credentials(client_id, "s", AuthMethod.CLIENT_SECRET_POST) == ClientCredentials(
        client_id, "s", AuthMethod.CLIENT_SECRET_POST
    )


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("", "s"), ("x" * 129, "s"), ("a b", "s"), ("a\x7f", "s"), ("é", "s"), ("a\n", "s"), ("pc_a", "")],
)
def test_malformed_credentials_are_refused_as_invalid_client_before_any_store_work(
    client_id: str, secret: str
) -> None:
    description, fields = refused_reason(
        lambda: credentials(client_id, secret, AuthMethod.CLIENT_SECRET_BASIC)
    )
    assert description == AUTH_FAILED
    assert fields == {"reason": "malformed_credentials", "auth_method": "client_secret_basic"}


def test_basic_credentials_are_form_decoded_after_splitting_at_the_first_literal_colon() -> None:
    raw = f"{quote('pc:a', safe='')}:{quote('se:cr et', safe='')}".encode()
    assert parse_basic(basic_header(raw)) == ClientCredentials(
        "pc:a", "se:cr et", AuthMethod.CLIENT_SECRET_BASIC
    )
    assert parse_basic(basic_header(b"pc_a:x:y+z")).secret == "x:y z"


@pytest.mark.parametrize("scheme", ["Basic", "basic", "BASIC", "bAsIc"])
def test_the_basic_scheme_name_is_case_insensitive(scheme: str) -> None:
    assert parse_basic(basic_header(b"pc_a:s", scheme)).client_id == "pc_a"


def test_spaces_around_the_basic_token_are_ignored() -> None:
    token = base64.b64encode(b"pc_a:s").decode("ascii")
    assert parse_basic(f"Basic   {token}  ").secret == "s"


def test_a_basic_token_that_begins_or_ends_with_any_base64_character_is_read_whole() -> None:
    # only spaces around the token are dropped, never a character of it (here an "X" at either end)
    starts = basic_header(b"_pc:s")
    assert starts.startswith("Basic X")
    assert parse_basic(starts) == ClientCredentials("_pc", "s", AuthMethod.CLIENT_SECRET_BASIC)
    ends = basic_header(b"pc_a:xyzW")
    assert ends.endswith("X")
    assert parse_basic(ends).secret == "xyzW"


def test_a_header_of_exactly_2048_characters_is_read_and_one_more_is_refused() -> None:
    assert MAX_AUTHORIZATION_LENGTH == 2048
    header = basic_header(b"pc_a:" + b"s" * 1400)
    header += " " * (MAX_AUTHORIZATION_LENGTH - len(header))
    assert len(header) == MAX_AUTHORIZATION_LENGTH
    assert parse_basic(header).secret == "s" * 1400
    _, fields = refused_reason(lambda: parse_basic(header + " "))
    assert fields["reason"] == "malformed_basic"


@pytest.mark.parametrize(
    "header",
    [
        basic_header(b"pc_a:s", "Bearer"),
        basic_header(b"pc_a:s", "Basicx"),
        "Basic",
        "Basic ",
        "Basic    ",
        "Basic cGNfYTpz=",  # padding where none belongs
        "Basic cGNfYTpzcw",  # padding left out
        "Basic cGNf*YTpz",  # outside the alphabet
        "Basic cGNfYTpz\n",
        basic_header(b"pc_a"),  # no colon
        basic_header(b"pc%ZZ:s"),  # bad percent-encoding in the id
        basic_header(b"pc_a:%FF"),  # not UTF-8 once decoded
        basic_header(b"pc_a:\x01"),  # not printable
        basic_header(b":s"),  # empty id
        basic_header(b"pc_a:"),  # empty secret
    ],
)
def test_a_basic_header_that_cannot_be_read_is_refused_as_invalid_client(header: str) -> None:
    description, fields = refused_reason(lambda: parse_basic(header))
    assert description == AUTH_FAILED
    assert fields["reason"] in ("malformed_basic", "malformed_credentials")
    assert fields["auth_method"] == "client_secret_basic"


def test_a_basic_header_that_is_not_base64_names_malformed_basic() -> None:
    for header in ("Basic cGNf*YTpz", "Basic cGNfYTpzcw", basic_header(b"pc_a"), basic_header(b"pc%ZZ:s")):
        with pytest.raises(InvalidClient) as refused:
            parse_basic(header)
        assert refused.value.log_fields == {"reason": "malformed_basic", "auth_method": "client_secret_basic"}


# -- ClientAuthenticator with fakes (token_issuer.client_authentication) -------------------------------------

CLIENT = Client(
    client_id="pc_known",
    client_name="Known",
    scopes=("read",),
    audiences=("partner-api",),
    token_lifetime=600,
    status=ClientStatus.ACTIVE,
    created_at=1,
    updated_at=1,
)
STATE = AttemptState(failures=2, last_failure_at=10.0)


class FakeRegistry:
    def __init__(self, failure: AuthFailure | None = None) -> None:
        self.failure = failure
        self.calls: list[tuple[str, Any]] = []

    def presented_digest(self, secret: str) -> bytes:
        self.calls.append(("digest", secret))
        return b"digest:" + secret.encode()

    def authenticate_item(self, item: Any, presented: bytes) -> Client:
        self.calls.append(("authenticate", (item, presented)))
        if self.failure is not None:
            raise ClientAuthenticationFailed(self.failure)
        return CLIENT


class FakeThrottle:
    def __init__(self, refusal: Exception | None = None) -> None:
        self.refusal = refusal
        self.calls: list[tuple[str, str, AttemptState]] = []

    def refuse(self, client_id: str, state: AttemptState) -> None:
        self.calls.append(("refuse", client_id, state))
        if self.refusal is not None:
            raise self.refusal

    def record_success(self, client_id: str, state: AttemptState) -> None:
        self.calls.append(("success", client_id, state))


class FakeReader:
    def __init__(self, item: Any) -> None:
        self.item = item
        self.reads: list[str] = []

    def read(self, client_id: str) -> ClientAndAttempts:
        self.reads.append(client_id)
        return ClientAndAttempts(self.item, STATE)


class FakeAssertions:
    def __init__(self, failure: AssertionFailure | None = None) -> None:
        self.failure = failure
        self.calls: list[tuple[ClientAssertion, str, Client | None]] = []

    def authenticate(self, assertion: ClientAssertion, issuer: str, client: Client | None) -> Client:
        self.calls.append((assertion, issuer, client))
        if self.failure is not None:
            raise AssertionRejected(self.failure)
        return CLIENT


class Parts:
    def __init__(
        self,
        failure: AuthFailure | None = None,
        item: Any = "item",
        refusal: Exception | None = None,
        assertions: FakeAssertions | None = None,
    ) -> None:
        self.registry = FakeRegistry(failure)
        self.throttle = FakeThrottle(refusal)
        self.reader = FakeReader(item)
        self.assertions = assertions
        self.malformed: list[int] = []
        self.authenticator = ClientAuthenticator(
            self.registry,  # type: ignore[arg-type]
            self.throttle,  # type: ignore[arg-type]
            self.reader,  # type: ignore[arg-type]
            assertions,  # type: ignore[arg-type]
            on_malformed_item=lambda: self.malformed.append(1),
        )


SECRET = ClientCredentials("pc_known", "pacs_s", AuthMethod.CLIENT_SECRET_BASIC)


def test_a_valid_secret_is_hashed_then_read_once_then_checked_and_clears_the_counter() -> None:
    parts = Parts()
    assert parts.authenticator.authenticate(SECRET, ISSUER) is CLIENT
    assert parts.registry.calls == [("digest", "pacs_s"), ("authenticate", ("item", b"digest:pacs_s"))]
    assert parts.reader.reads == ["pc_known"]
    assert parts.throttle.calls == [("success", "pc_known", STATE)]
    assert parts.malformed == []


@pytest.mark.parametrize(
    ("failure", "who"),
    [
        (AuthFailure.UNKNOWN_CLIENT, {"client_id_sha256": fingerprint("pc_known")}),
        (AuthFailure.DISABLED_CLIENT, {"client_id": "pc_known"}),
        (AuthFailure.EXPIRED_SECRET, {"client_id": "pc_known"}),
        (AuthFailure.WRONG_SECRET, {"client_id": "pc_known"}),
        (AuthFailure.MALFORMED_CLIENT, {"client_id": "pc_known"}),
    ],
)
def test_every_secret_failure_is_the_same_invalid_client_and_is_counted_by_the_throttle(
    failure: AuthFailure, who: dict[str, str]
) -> None:
    parts = Parts(failure)
    with pytest.raises(InvalidClient) as refused:
        parts.authenticator.authenticate(SECRET, ISSUER)
    assert refused.value.description == AUTH_FAILED
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
    assert refused.value.log_fields == {"reason": failure.value, "auth_method": "client_secret_basic", **who}
    assert parts.throttle.calls == [("refuse", "pc_known", STATE)]
    assert parts.malformed == ([1] if failure is AuthFailure.MALFORMED_CLIENT else [])


def test_a_secret_failure_during_an_open_delay_is_the_throttles_429() -> None:
    parts = Parts(AuthFailure.WRONG_SECRET, refusal=ClientThrottled(7))
    with pytest.raises(ClientThrottled) as throttled:
        parts.authenticator.authenticate(SECRET, ISSUER)
    assert throttled.value.retry_after == 7


def test_an_unknown_client_costs_the_same_hash_and_read_as_a_known_one() -> None:
    known, unknown = Parts(AuthFailure.WRONG_SECRET), Parts(AuthFailure.UNKNOWN_CLIENT, item=None)
    for parts in (known, unknown):
        with pytest.raises(InvalidClient):
            parts.authenticator.authenticate(SECRET, ISSUER)
    assert [c[0] for c in known.registry.calls] == [c[0] for c in unknown.registry.calls]
    assert unknown.registry.calls[1] == ("authenticate", (None, b"digest:pacs_s"))
    assert known.reader.reads == unknown.reader.reads == ["pc_known"]


def assertion_text(claims: dict[str, Any], alg: str = "RS256") -> str:
    return compact({"alg": alg, "typ": "client-authentication+jwt", "kid": "k1"}, claims, lambda _: b"sig")


def claims_of(client_id: str, jti: str = "jti-1") -> dict[str, Any]:
    return {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": 1000, "exp": 1060, "jti": jti}


ASSERTION = AssertionCredentials(assertion_text(claims_of("pc_known")))
ITEM = encode_client(CLIENT)


def test_a_valid_assertion_is_read_once_verified_against_the_decoded_client_and_clears_the_counter() -> None:
    assertions = FakeAssertions()
    parts = Parts(item=ITEM, assertions=assertions)
    credentials_with_id = AssertionCredentials(ASSERTION.assertion, client_id="pc_known")
    for presented in (ASSERTION, credentials_with_id):
        assert parts.authenticator.authenticate(presented, ISSUER) is CLIENT
    assert parts.reader.reads == ["pc_known", "pc_known"]
    assert [(a.client_id, a.jti, issuer, client) for a, issuer, client in assertions.calls] == [
        ("pc_known", "jti-1", ISSUER, CLIENT)
    ] * 2
    assert parts.throttle.calls == [("success", "pc_known", STATE)] * 2
    assert parts.registry.calls == []  # no secret to hash


@pytest.mark.parametrize(
    "assertion", ["", "not-a-jwt", assertion_text({**claims_of("pc_known"), "sub": "pc_b"})]
)
def test_an_assertion_that_cannot_be_read_is_refused_before_any_store_work(assertion: str) -> None:
    parts = Parts(item=ITEM, assertions=FakeAssertions())
    with pytest.raises(InvalidClient) as refused:
        parts.authenticator.authenticate(AssertionCredentials(assertion), ISSUER)
    assert refused.value.description == AUTH_FAILED
    assert set(refused.value.log_fields) == {"reason", "auth_method"}
    assert refused.value.log_fields["reason"] in (AssertionFailure.MALFORMED, AssertionFailure.ISSUER)
    assert refused.value.log_fields["auth_method"] == "private_key_jwt"
    assert (parts.reader.reads, parts.throttle.calls) == ([], [])


def test_a_client_id_sent_beside_an_assertion_must_be_its_issuer() -> None:
    # RFC 7521 §4.2
    parts = Parts(item=ITEM, assertions=FakeAssertions())
    with pytest.raises(InvalidClient) as refused:
        parts.authenticator.authenticate(
            AssertionCredentials(ASSERTION.assertion, client_id="pc_other"), ISSUER
        )
    assert refused.value.description == AUTH_FAILED
    assert refused.value.log_fields == {"reason": "client_id_mismatch", "auth_method": "private_key_jwt"}
    assert (parts.reader.reads, parts.throttle.calls) == ([], [])


@pytest.mark.parametrize(
    ("failure", "who"),
    [
        (AssertionFailure.UNKNOWN_CLIENT, {"client_id_sha256": fingerprint("pc_known")}),
        (AssertionFailure.BAD_SIGNATURE, {"client_id": "pc_known"}),
        (AssertionFailure.REPLAYED, {"client_id": "pc_known"}),
    ],
)
def test_every_assertion_failure_is_the_same_invalid_client_and_is_counted_by_the_throttle(
    failure: AssertionFailure, who: dict[str, str]
) -> None:
    parts = Parts(item=ITEM, assertions=FakeAssertions(failure))
    with pytest.raises(InvalidClient) as refused:
        parts.authenticator.authenticate(ASSERTION, ISSUER)
    assert refused.value.description == AUTH_FAILED
    assert refused.value.__suppress_context__
    assert refused.value.log_fields == {
        "reason": failure.value,
        "auth_method": "private_key_jwt",
        "jti_sha256": fingerprint("jti-1"),
        **who,
    }
    assert parts.throttle.calls == [("refuse", "pc_known", STATE)]


def test_without_assertion_keys_configured_every_assertion_is_refused_as_no_keys() -> None:
    parts = Parts(item=ITEM, assertions=None)
    with pytest.raises(InvalidClient) as refused:
        parts.authenticator.authenticate(ASSERTION, ISSUER)
    assert refused.value.log_fields["reason"] == AssertionFailure.NO_KEYS.value
    assert parts.throttle.calls == [("refuse", "pc_known", STATE)]


def test_an_assertion_failure_during_an_open_delay_is_the_throttles_429() -> None:
    parts = Parts(
        item=ITEM, refusal=ClientThrottled(3), assertions=FakeAssertions(AssertionFailure.BAD_SIGNATURE)
    )
    with pytest.raises(ClientThrottled):
        parts.authenticator.authenticate(ASSERTION, ISSUER)


@pytest.mark.parametrize("item", [None, {"client_id": {"S": "pc_known"}}])
def test_an_absent_or_malformed_client_item_is_nobodys_for_an_assertion(item: Any) -> None:
    assertions = FakeAssertions()
    parts = Parts(item=item, assertions=assertions)
    parts.authenticator.authenticate(ASSERTION, ISSUER)
    assert assertions.calls[0][2] is None
    assert parts.malformed == ([] if item is None else [1])


def test_a_malformed_client_item_is_counted_by_default_as_the_malformed_client_items_metric() -> None:
    metrics = Metrics()
    metrics.clear_metrics()
    assert MALFORMED_CLIENT_ITEMS == "MalformedClientItems"
    count_malformed_client_item()
    assert metrics.metric_set[MALFORMED_CLIENT_ITEMS]["Value"] == [1.0]
    assert metrics.metric_set[MALFORMED_CLIENT_ITEMS]["Unit"] == "Count"
    metrics.clear_metrics()
    registry, throttle, reader = FakeRegistry(AuthFailure.MALFORMED_CLIENT), FakeThrottle(), FakeReader(None)
    authenticator = ClientAuthenticator(registry, throttle, reader)  # type: ignore[arg-type]
    with pytest.raises(InvalidClient):
        authenticator.authenticate(SECRET, ISSUER)
    assert metrics.metric_set[MALFORMED_CLIENT_ITEMS]["Value"] == [1.0]
    metrics.clear_metrics()


def test_a_fingerprint_is_the_first_12_hex_digits_of_the_sha256_and_takes_any_text() -> None:
    parts = Parts(AuthFailure.UNKNOWN_CLIENT)
    with pytest.raises(InvalidClient) as refused:
        parts.authenticator.authenticate(ClientCredentials("\ud800x", "s"), ISSUER)
    assert refused.value.log_fields["client_id_sha256"] == fingerprint("\ud800x")
    assert len(fingerprint("x")) == 12
