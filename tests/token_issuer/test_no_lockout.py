"""No lockout by strangers (issue 14 item 6).

A client id is not a secret (RFC 6749 §2.2; it is in every token), so whatever anybody sends for it must
never stop a caller that presents a valid credential.  Floods still cost the attacker, not us: during an
open delay a failed attempt is a 429 and writes nothing, so a flood makes at most ``free_failures``
writes per delay (the last free one opens it), whatever its size.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from partnerauth.auth_throttle import AuthThrottle, ClientThrottled, ThrottlePolicy
from partnerauth.client_registry import ClientRegistry, IssuedSecret
from token_issuer.client_auth import AuthMethod, credentials
from token_issuer.oauth_errors import InvalidClient
from token_issuer.token_request import TokenRequest

from .conftest import FORM, ISSUER, Endpoint, RecordingClient, Reply, basic, form

POLICY = ThrottlePolicy()
FLOOD = 1000


def attempt(endpoint: Endpoint, client_id: str, secret: str) -> Reply:
    return endpoint.post(form(grant_type="client_credentials"), headers=(*FORM, basic(client_id, secret)))


def attempt_writes(dynamodb: RecordingClient, table: str) -> int:
    return sum(dynamodb.count(op, table) for op in ("update_item", "put_item", "delete_item"))


def test_a_flood_of_1000_wrong_secrets_never_stops_the_right_one(
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    tables: dict[str, str],
) -> None:
    client_id = partner.client.client_id
    # Given a stranger sends 1,000 wrong secrets for the partner's (public) client id, all at once
    statuses = [attempt(token_endpoint, client_id, "pacs_wrong").status for _ in range(FLOOD)]
    # Then the free failures are 401 (RFC 6749 §5.2 invalid_client), then 429 (RFC 6585 §4) for the rest
    assert statuses[: POLICY.free_failures] == [401] * POLICY.free_failures
    assert set(statuses[POLICY.free_failures :]) == {429}
    # When the partner presents its secret in the middle of the open delay, it gets its token
    reply = attempt(token_endpoint, client_id, partner.secret)
    assert reply.status == 200
    assert reply.json()["token_type"] == "Bearer"
    # And the flood cost a bounded number of writes: one per counted failure, none during the delay
    # (and the partner's token its one issuance count, issue 15 item 2)
    assert attempt_writes(recording_dynamodb, tables["AuthAttemptsTable"]) == POLICY.free_failures + 1


def test_during_an_open_delay_a_failure_writes_nothing_and_a_success_does_not_clear_the_delay(
    token_endpoint: Endpoint,
    partner: IssuedSecret,
    recording_dynamodb: RecordingClient,
    tables: dict[str, str],
    throttle: AuthThrottle,
) -> None:
    client_id = partner.client.client_id
    for _ in range(POLICY.free_failures):
        attempt(token_endpoint, client_id, "pacs_wrong")
    writes = attempt_writes(recording_dynamodb, tables["AuthAttemptsTable"])
    # the partner's success does not hand the flood its free failures back (no delete while a delay is open)
    assert attempt(token_endpoint, client_id, partner.secret).status == 200
    assert attempt(token_endpoint, client_id, "pacs_wrong").status == 429
    # one write: the token's issuance count (issue 15 item 2); none for the throttle
    assert attempt_writes(recording_dynamodb, tables["AuthAttemptsTable"]) == writes + 1
    assert throttle.look(client_id).retry_after > 0


def test_unknown_and_wrong_are_alike_during_a_delay(token_endpoint: Endpoint, partner: IssuedSecret) -> None:
    for client_id in ("pc_nobody", partner.client.client_id):
        for _ in range(POLICY.free_failures):
            attempt(token_endpoint, client_id, "pacs_wrong")
    unknown = attempt(token_endpoint, "pc_nobody", "pacs_wrong")
    known = attempt(token_endpoint, partner.client.client_id, "pacs_wrong")
    # RFC 6749 §5.2: nothing tells a registered id from an unknown one
    assert (unknown.status, unknown.headers, unknown.body) == (known.status, known.headers, known.body)
    assert known.status == 429


def issue(token_module: Any, client_id: str, secret: str) -> str:
    """One token request straight to the grant (the resolver's current event is not thread-safe)."""
    request = TokenRequest(
        "client_credentials", credentials(client_id, secret, AuthMethod.CLIENT_SECRET_BASIC)
    )
    try:
        token_module.grant.issue(request, issuer=ISSUER)
    except ClientThrottled:
        return "429"
    except InvalidClient:
        return "401"
    return "200"


def test_parallel_requests_during_roll_secret_with_both_secrets_all_get_tokens(
    token_endpoint: Endpoint, token_module: Any, partner: IssuedSecret, registry: ClientRegistry
) -> None:
    client_id = partner.client.client_id
    # Given a roll with an overlap: both secrets are live (docs/token-endpoint.md, "Rolling ...")
    rolled = registry.roll_secret(client_id, overlap=3600)
    registry.update(client_id, plan="silver")  # 80 tokens in a minute: within its issuance limit
    jobs = [partner.secret, rolled.secret, "pacs_wrong"] * 40
    # When old-secret instances, new-secret instances and a stranger send at the same time
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda secret: (secret, issue(token_module, client_id, secret)), jobs))
    # Then every request with either live secret got a token, whatever the stranger's failures opened
    assert {answer for secret, answer in answers if secret != "pacs_wrong"} == {"200"}
    assert {answer for secret, answer in answers if secret == "pacs_wrong"} <= {"401", "429"}


def test_after_a_leak_the_old_secret_floods_and_the_new_one_still_gets_tokens(
    token_endpoint: Endpoint, token_module: Any, partner: IssuedSecret, registry: ClientRegistry
) -> None:
    client_id = partner.client.client_id
    # Given the leak procedure of SECURITY.md: roll-secret --overlap 0, and the leaked secret keeps coming
    rolled = registry.roll_secret(client_id, overlap=0)
    jobs = [partner.secret] * 100 + [rolled.secret] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda secret: (secret, issue(token_module, client_id, secret)), jobs))
    # Then the leaked secret is refused and the new one is never locked out
    assert {answer for secret, answer in answers if secret == partner.secret} <= {"401", "429"}
    assert {answer for secret, answer in answers if secret == rolled.secret} == {"200"}
    assert issue(token_module, client_id, rolled.secret) == "200"
