"""private_key_jwt authentication's rules, fast (partnerauth.assertion_authentication; RFC 7523 §2.2 and §3,
RFC 7521 §4.2): which client, which keys, in which order, and single use of a jti.

No AWS except the single-use test, which uses one ClientAssertionsTable made from the template's own
definition, once per module: the conditional write is the rule there.  The clock is injected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from partnerauth.assertion_authentication import AssertionAuthenticator
from partnerauth.assertion_replay import AssertionReplayed, AssertionReplayGuard
from partnerauth.client_assertion import (
    AssertionFailure,
    AssertionRejected,
    AssertionRules,
    ClientAssertion,
    read_client_assertion,
)
from partnerauth.client_items import Client, ClientStatus
from partnerauth.client_keys import canonical_json, registered_jwks
from partnerauth.errors import KeyNotFound, KeysUnavailable
from partnerauth.jwk import VerificationKey, parse_jwk
from tests.support.template import create_table_from_template

from .assertions import PartnerKey, sign_assertion

ISSUER = "https://auth.example.test"
CLIENT_ID = "pc_assertion_rules"
JWKS_URI = "https://partner.example.test/jwks.json"
NOW = 1_800_000_000.0
RULES = AssertionRules()


class RecordingGuard:
    """The replay guard's contract in memory: every use recorded, a second use of (client, jti) refused."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, int, float]] = []

    def record(self, client_id: str, jti: str, expires_at: int, now: float) -> None:
        if any((client_id, jti) == (seen[0], seen[1]) for seen in self.records):
            raise AssertionReplayed
        self.records.append((client_id, jti, expires_at, now))


class FakeKeySource:
    """A jwks_uri's keys as JwksCache answers: by (uri, kid), or one error for every lookup."""

    def __init__(self, keys: dict[tuple[str, str], VerificationKey], error: Exception | None = None) -> None:
        self.keys = keys
        self.error = error
        self.asked: list[tuple[str, str]] = []

    def key_for(self, jwks_uri: str, kid: str) -> VerificationKey:
        self.asked.append((jwks_uri, kid))
        if self.error is not None:
            raise self.error
        try:
            return self.keys[(jwks_uri, kid)]
        except KeyError:
            raise KeyNotFound from None


def client_with(*keys: PartnerKey, **changes: Any) -> Client:
    jwks = canonical_json(registered_jwks({"keys": [key.jwk for key in keys]})) if keys else None
    client = Client(
        client_id=CLIENT_ID,
        client_name="Assertion rules",
        scopes=("orders:read",),
        audiences=("https://api.example.test",),
        token_lifetime=300,
        status=ClientStatus.ACTIVE,
        created_at=int(NOW) - 100,
        updated_at=int(NOW) - 100,
        jwks=jwks,
    )
    return replace(client, **changes)


def assertion(key: PartnerKey, **options: Any) -> ClientAssertion:
    return read_client_assertion(sign_assertion(key, CLIENT_ID, ISSUER, NOW, **options))


def authenticator(
    keys: FakeKeySource | None = None, guard: Any = None, rules: AssertionRules = RULES, now: float = NOW
) -> AssertionAuthenticator:
    replay_guard: Any = guard if guard is not None else RecordingGuard()
    return AssertionAuthenticator(keys or FakeKeySource({}), replay_guard, rules, clock=lambda: now)


def refusal(authenticate: Any, *arguments: Any) -> AssertionFailure:
    with pytest.raises(AssertionRejected) as caught:
        authenticate(*arguments)
    return caught.value.reason


# -- who --------------------------------------------------------------------------------------------------
def test_a_signed_assertion_of_an_active_client_authenticates_that_client_and_records_its_jti(
    partner_rsa: PartnerKey,
) -> None:
    guard = RecordingGuard()
    client = client_with(partner_rsa)
    signed = assertion(partner_rsa, lifetime=60)
    assert authenticator(guard=guard).authenticate(signed, ISSUER, client) is client
    # RFC 7523 §3 item 7: the jti is remembered, per client, until the time rules refuse it anyway
    assert guard.records == [(CLIENT_ID, signed.jti, int(NOW) + 60 + 60 + 1, NOW)]


def test_no_client_is_unknown_client(partner_rsa: PartnerKey) -> None:
    guard = RecordingGuard()
    found = refusal(authenticator(guard=guard).authenticate, assertion(partner_rsa), ISSUER, None)
    assert found is AssertionFailure.UNKNOWN_CLIENT
    assert guard.records == []


def test_a_client_other_than_the_one_iss_names_is_unknown_client(partner_rsa: PartnerKey) -> None:
    # RFC 7523 §3 item 1: the assertion's issuer is the client; a mix-up never lends it another's keys
    other = client_with(partner_rsa, client_id="pc_someone_else")
    found = refusal(authenticator().authenticate, assertion(partner_rsa), ISSUER, other)
    assert found is AssertionFailure.UNKNOWN_CLIENT


def test_a_disabled_client_is_refused_even_with_a_good_signature(partner_rsa: PartnerKey) -> None:
    guard = RecordingGuard()
    disabled = client_with(partner_rsa, status=ClientStatus.DISABLED)
    found = refusal(authenticator(guard=guard).authenticate, assertion(partner_rsa), ISSUER, disabled)
    assert found is AssertionFailure.DISABLED_CLIENT
    assert guard.records == []


def test_audience_and_time_are_checked_before_the_client_is_looked_at(partner_rsa: PartnerKey) -> None:
    # the rules use the authenticator's issuer and clock, and come first: no client needed to refuse
    late = authenticator(now=NOW + 3600)
    assert refusal(late.authenticate, assertion(partner_rsa), ISSUER, None) is AssertionFailure.EXPIRED
    found = refusal(authenticator().authenticate, assertion(partner_rsa), ISSUER + "/oauth2/token", None)
    assert found is AssertionFailure.AUDIENCE


def test_the_authenticators_rules_are_the_ones_applied(partner_rsa: PartnerKey) -> None:
    strict = authenticator(rules=AssertionRules(max_age=60, leeway=0))
    signed = read_client_assertion(sign_assertion(partner_rsa, CLIENT_ID, ISSUER, NOW - 60, lifetime=600))
    found = refusal(strict.authenticate, signed, ISSUER, client_with(partner_rsa))
    assert found is AssertionFailure.STALE
    assert authenticator().authenticate(signed, ISSUER, client_with(partner_rsa)).client_id == CLIENT_ID


# -- which keys: inline -----------------------------------------------------------------------------------
def test_a_client_with_no_registered_keys_is_refused(partner_rsa: PartnerKey) -> None:
    secret_only = client_with()
    found = refusal(authenticator().authenticate, assertion(partner_rsa), ISSUER, secret_only)
    assert found is AssertionFailure.NO_KEYS


def test_a_kid_the_client_did_not_register_is_unknown_key(
    partner_rsa: PartnerKey, partner_ec: PartnerKey
) -> None:
    client = client_with(partner_ec)
    found = refusal(authenticator().authenticate, assertion(partner_rsa), ISSUER, client)
    assert found is AssertionFailure.UNKNOWN_KEY


def test_a_kid_selects_that_key_alone(partner_rsa: PartnerKey, stranger_rsa: PartnerKey) -> None:
    # signed by one registered key but naming the other registered key: only the named one is tried
    client = client_with(partner_rsa, stranger_rsa)
    misnamed = assertion(partner_rsa, headers={"kid": stranger_rsa.kid})
    assert refusal(authenticator().authenticate, misnamed, ISSUER, client) is AssertionFailure.BAD_SIGNATURE
    assert authenticator().authenticate(assertion(stranger_rsa), ISSUER, client) is client


def test_without_a_kid_every_registered_key_of_a_fitting_type_is_tried(
    partner_rsa: PartnerKey, partner_ec: PartnerKey, stranger_rsa: PartnerKey
) -> None:
    # authlib's PrivateKeyJWT names no kid: the second RSA key signed, and it is found
    client = client_with(partner_ec, partner_rsa, stranger_rsa)
    unnamed = assertion(stranger_rsa, headers={"kid": None})
    assert authenticator().authenticate(unnamed, ISSUER, client) is client


def test_without_a_kid_a_key_nobody_registered_is_a_bad_signature(
    partner_rsa: PartnerKey, stranger_rsa: PartnerKey
) -> None:
    guard = RecordingGuard()
    unnamed = assertion(stranger_rsa, headers={"kid": None})
    found = refusal(authenticator(guard=guard).authenticate, unnamed, ISSUER, client_with(partner_rsa))
    assert found is AssertionFailure.BAD_SIGNATURE
    assert guard.records == []  # only a fully verified assertion spends its jti


# -- which keys: jwks_uri ---------------------------------------------------------------------------------
def public_key(key: PartnerKey) -> VerificationKey:
    return parse_jwk(key.jwk)


def test_a_jwks_uri_client_is_verified_with_the_key_its_kid_names_there(partner_rsa: PartnerKey) -> None:
    source = FakeKeySource({(JWKS_URI, partner_rsa.kid): public_key(partner_rsa)})
    client = client_with(jwks_uri=JWKS_URI)
    assert authenticator(source).authenticate(assertion(partner_rsa), ISSUER, client) is client
    assert source.asked == [(JWKS_URI, partner_rsa.kid)]


def test_a_jwks_uri_client_is_never_verified_with_inline_keys(partner_rsa: PartnerKey) -> None:
    # the uri decides where keys come from: a kid missing there is unknown, whatever else is stored
    client = client_with(partner_rsa, jwks_uri=JWKS_URI)
    found = refusal(authenticator().authenticate, assertion(partner_rsa), ISSUER, client)
    assert found is AssertionFailure.UNKNOWN_KEY


def test_a_jwks_uri_client_must_name_its_key(partner_rsa: PartnerKey) -> None:
    # a kid is required there, so that an unknown one costs at most one fetch per cooldown
    source = FakeKeySource({(JWKS_URI, partner_rsa.kid): public_key(partner_rsa)})
    unnamed = assertion(partner_rsa, headers={"kid": None})
    found = refusal(authenticator(source).authenticate, unnamed, ISSUER, client_with(jwks_uri=JWKS_URI))
    assert found is AssertionFailure.UNKNOWN_KEY
    assert source.asked == []


def test_a_kid_missing_from_the_jwks_uri_is_unknown_key(partner_rsa: PartnerKey) -> None:
    source = FakeKeySource({(JWKS_URI, "another-kid"): public_key(partner_rsa)})
    found = refusal(
        authenticator(source).authenticate, assertion(partner_rsa), ISSUER, client_with(jwks_uri=JWKS_URI)
    )
    assert found is AssertionFailure.UNKNOWN_KEY


def test_an_unreachable_jwks_uri_is_keys_unavailable(partner_rsa: PartnerKey) -> None:
    source = FakeKeySource({}, error=KeysUnavailable())
    found = refusal(
        authenticator(source).authenticate, assertion(partner_rsa), ISSUER, client_with(jwks_uri=JWKS_URI)
    )
    assert found is AssertionFailure.KEYS_UNAVAILABLE


def test_a_key_from_the_jwks_uri_that_did_not_sign_is_a_bad_signature(
    partner_rsa: PartnerKey, stranger_rsa: PartnerKey
) -> None:
    source = FakeKeySource({(JWKS_URI, partner_rsa.kid): public_key(stranger_rsa)})
    found = refusal(
        authenticator(source).authenticate, assertion(partner_rsa), ISSUER, client_with(jwks_uri=JWKS_URI)
    )
    assert found is AssertionFailure.BAD_SIGNATURE


# -- single use (RFC 7523 §3 item 7), against the table's own definition -----------------------------------
@pytest.fixture(scope="module")
def assertions_table() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        yield dynamodb, create_table_from_template(dynamodb, "ClientAssertionsTable", "assertion-rules")


def test_a_jti_is_spent_once_and_a_replay_is_refused(
    partner_rsa: PartnerKey, assertions_table: tuple[Any, str]
) -> None:
    dynamodb, table = assertions_table
    guarded = authenticator(guard=AssertionReplayGuard(table, dynamodb))
    client = client_with(partner_rsa)
    signed = assertion(partner_rsa)
    assert guarded.authenticate(signed, ISSUER, client) is client
    assert refusal(guarded.authenticate, signed, ISSUER, client) is AssertionFailure.REPLAYED
    # the next assertion, with its own jti, is fine
    assert guarded.authenticate(assertion(partner_rsa), ISSUER, client) is client
