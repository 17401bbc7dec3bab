"""``revoke-tokens`` and ``disable`` cut a partner's live tokens and print the bound (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from partnerauth.client_registry import ClientRegistry
from partnerauth.revocations import RevocationStore

from .conftest import Run


def live(tables: dict[str, str], dynamodb_client: Any) -> dict[str, Any]:
    store = RevocationStore(tables["RevocationsTable"], dynamodb_client, max_token_lifetime=0, leeway=0)
    return dict(store.live())


def test_revoke_tokens_writes_a_client_cut_and_prints_both_figures_of_the_bound(
    cli: Callable[..., Run], tables: dict[str, str], dynamodb_client: Any
) -> None:
    run = cli("revoke-tokens", "pc_acme", "--revocations-table", tables["RevocationsTable"])
    assert run.code == 0, run.err
    # the bound and both of its parts are shown (JwksMaxAge 600 s + AuthorizerCacheTtl 300 s by default)
    assert "within 900 s: JWKS max age 600 s + authorizer cache TTL 300 s" in run.out
    assert "up to 4500 s" in run.out  # while the endpoint fails: + stale-if-error 3600 s
    assert set(live(tables, dynamodb_client)) == {"client:pc_acme"}


def test_revoke_tokens_json_has_the_cut_and_the_figures(
    cli: Callable[..., Run], tables: dict[str, str], dynamodb_client: Any
) -> None:
    run = cli("revoke-tokens", "pc_acme", "--revocations-table", tables["RevocationsTable"], json_output=True)
    document = run.json()
    assert document["client_id"] == "pc_acme"
    assert (document["jwks_max_age"], document["authorizer_cache_ttl"], document["bound"]) == (600, 300, 900)
    assert live(tables, dynamodb_client)["client:pc_acme"].issued_before == document["issued_before"]


def test_disable_also_cuts_the_tokens_already_issued(
    cli: Callable[..., Run], registry: ClientRegistry, tables: dict[str, str], dynamodb_client: Any
) -> None:
    client = registry.create(
        client_name="Acme", scopes=["orders:read"], audiences=["partner-api"], token_lifetime=900
    ).client
    run = cli("disable", client.client_id, "--revocations-table", tables["RevocationsTable"])
    assert run.code == 0, run.err
    assert f"Revoked every token of {client.client_id}" in run.out
    assert set(live(tables, dynamodb_client)) == {f"client:{client.client_id}"}


def test_without_a_revocations_table_revoke_tokens_says_what_to_pass(cli: Callable[..., Run]) -> None:
    run = cli("revoke-tokens", "pc_acme")
    assert run.code == 1
    assert run.err.startswith("error: no revocations table: pass --stack-name or --revocations-table")
    assert "Traceback" not in run.err


def test_the_cut_names_who_made_it_for_the_audit_trail(
    cli: Callable[..., Run], tables: dict[str, str], dynamodb_client: Any
) -> None:
    run = cli("revoke-tokens", "pc_acme", "--revocations-table", tables["RevocationsTable"])
    assert run.code == 0, run.err
    item = dynamodb_client.get_item(
        TableName=tables["RevocationsTable"], Key={"member": {"S": "client:pc_acme"}}, ConsistentRead=True
    )["Item"]
    # the caller's AWS identity (STS GetCallerIdentity; moto's default user here), never a secret
    assert item["changed_by"]["S"].startswith("arn:aws:")
    assert item["changed_by"]["S"].endswith(":user/moto")
