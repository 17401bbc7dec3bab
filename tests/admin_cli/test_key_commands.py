"""The admin CLI for private_key_jwt clients (issue 13): create with keys, show, add/remove-key, use-keys.

Keys are the partner's public keys in a JSON file; a private key, a symmetric key or a weak RSA key is
refused with a one-line error and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from partnerauth import base64url
from partnerauth.algorithms import KeySpec
from partnerauth.client_registry import ClientRegistry
from partnerauth.jwk import jwk_thumbprint
from partnerauth.keys import SigningKey, generate_signing_key

from .conftest import TOKEN_URL, Run


@pytest.fixture(scope="module")
def partner_key() -> SigningKey:
    return generate_signing_key(KeySpec.RS256)


@pytest.fixture(scope="module")
def next_key() -> SigningKey:
    return generate_signing_key(KeySpec.ES256)


def write(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def create_keyed(cli: Callable[..., Run], jwks_file: str, *extra: str) -> dict[str, Any]:
    run = cli(
        "create", "--name", "Keyed", "--scope", "orders:read", "--auth-method", "private_key_jwt",
        "--jwks-file", jwks_file, *extra, json_output=True,
    )  # fmt: skip
    assert run.code == 0, run.err
    document: dict[str, Any] = run.json()
    return document


def test_create_with_a_jwks_file_prints_the_client_and_no_secret(
    cli: Callable[..., Run], tmp_path: Path, partner_key: SigningKey, registry: ClientRegistry
) -> None:
    document = create_keyed(cli, write(tmp_path, "keys.json", {"keys": [partner_key.public_jwk()]}))
    client = document["client"]
    assert "client_secret" not in document
    assert document["token_endpoint"] == TOKEN_URL
    assert client["token_endpoint_auth_methods"] == ["private_key_jwt"]
    assert client["audiences"] == ["partner-api"]  # the stack's DefaultAudience when --audience is omitted
    assert client["keys"] == [
        {
            "kid": partner_key.kid,
            "kty": "RSA",
            "alg": "RS256",
            "thumbprint": jwk_thumbprint(partner_key.public_jwk()),
        }
    ]
    assert registry.get(client["client_id"]).secrets == ()


def test_create_with_a_jwks_uri(cli: Callable[..., Run]) -> None:
    uri = "https://partner.example/.well-known/jwks.json"
    run = cli("create", "--name", "By URI", "--scope", "orders:read", "--jwks-uri", uri, json_output=True)
    assert run.code == 0, run.err
    assert run.json()["client"]["jwks_uri"] == uri
    refused = cli(
        "create", "--name", "Plain", "--scope", "orders:read", "--jwks-uri", "http://partner.example/j"
    )
    assert (refused.code, refused.err) == (
        1,
        "error: jwks_uri must be an https URL without user info or fragment\n",
    )


def test_show_lists_key_ids_and_thumbprints(
    cli: Callable[..., Run], tmp_path: Path, partner_key: SigningKey
) -> None:
    client_id = create_keyed(cli, write(tmp_path, "k.json", partner_key.public_jwk()))["client"]["client_id"]
    run = cli("show", client_id)
    assert run.code == 0, run.err
    assert "auth:        private_key_jwt" in run.out
    assert f"{partner_key.kid}  RSA RS256  thumbprint {jwk_thumbprint(partner_key.public_jwk())}" in run.out
    assert partner_key.public_jwk()["n"] not in run.out


def weak_rsa() -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the key to refuse
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": base64url.encode_uint(numbers.n), "e": base64url.encode_uint(numbers.e)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("private_jwk", "the key set holds private key material: register only the public key"),
        ("private_pem", "the key file holds a private key: register only the public key"),
        ("symmetric", "symmetric keys (kty oct) are refused: register an RSA, EC or Ed25519 public key"),
        ("weak_rsa", "RSA keys must be at least 2048 bits"),
        ("not_json", "the key file must be JSON: a JWK Set or a single JWK"),
        ("missing", "cannot read the key file"),
    ],
)
def test_create_refuses_unfit_key_files_with_one_line_and_writes_nothing(
    cli: Callable[..., Run],
    tmp_path: Path,
    partner_key: SigningKey,
    registry: ClientRegistry,
    content: str,
    message: str,
) -> None:
    pem = partner_key.private_pem().decode()
    private_jwk = {**partner_key.public_jwk(), "d": "AQAB", "p": "AQAB", "q": "AQAB"}
    files = {
        "private_jwk": {"keys": [private_jwk]},
        "private_pem": pem,
        "symmetric": {"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0"}]},
        "weak_rsa": {"keys": [weak_rsa()]},
        "not_json": "kty: RSA",
    }
    path = write(tmp_path, "keys.json", files[content]) if content in files else str(tmp_path / "absent.json")
    run = cli(
        "create",
        "--name",
        "Bad",
        "--scope",
        "orders:read",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        path,
    )
    assert (run.code, run.err) == (1, f"error: {message}\n")
    assert run.out == ""
    assert pem.splitlines()[1] not in run.err
    assert registry.list_clients() == []


def test_private_key_jwt_without_keys_is_refused(cli: Callable[..., Run]) -> None:
    run = cli("create", "--name", "No keys", "--scope", "orders:read", "--auth-method", "private_key_jwt")
    assert (run.code, run.err) == (
        1,
        "error: private_key_jwt needs --jwks-file or --jwks-uri (and only with it)\n",
    )


def test_add_key_then_remove_key_rolls_without_downtime(
    cli: Callable[..., Run], tmp_path: Path, partner_key: SigningKey, next_key: SigningKey
) -> None:
    client_id = create_keyed(cli, write(tmp_path, "k.json", partner_key.public_jwk()))["client"]["client_id"]
    added = cli(
        "add-key", client_id, "--jwk-file", write(tmp_path, "n.json", next_key.public_jwk()), json_output=True
    )
    assert added.code == 0, added.err
    assert [k["kid"] for k in added.json()["client"]["keys"]] == [partner_key.kid, next_key.kid]
    removed = cli("remove-key", client_id, partner_key.kid, json_output=True)
    assert [k["kid"] for k in removed.json()["client"]["keys"]] == [next_key.kid]
    last = cli("remove-key", client_id, next_key.kid)
    assert (last.code, last.err) == (
        1,
        "error: refusing to remove the last key: register another key first\n",
    )


def test_use_keys_switches_a_secret_client_with_an_overlap(
    cli: Callable[..., Run], tmp_path: Path, partner_key: SigningKey, registry: ClientRegistry
) -> None:
    created = cli("create", "--name", "Secretive", "--scope", "orders:read", json_output=True).json()
    client_id, secret = created["client"]["client_id"], created["client_secret"]
    keys = write(tmp_path, "k.json", {"keys": [partner_key.public_jwk()]})
    switched = cli("use-keys", client_id, "--jwks-file", keys, "--overlap", "3600", json_output=True)
    assert switched.code == 0, switched.err
    assert switched.json()["client"]["token_endpoint_auth_methods"] == [
        "private_key_jwt",
        "client_secret_basic",
    ]
    assert registry.authenticate(client_id, secret).client_id == client_id  # the overlap
    assert secret not in switched.out
    cut = cli("use-keys", client_id, "--jwks-file", keys, "--overlap", "0", json_output=True)
    assert cut.json()["client"]["token_endpoint_auth_methods"] == ["private_key_jwt"]


def test_key_commands_never_need_the_pepper(
    cli: Callable[..., Run],
    tmp_path: Path,
    partner_key: SigningKey,
    secretsmanager_client: Any,
    pepper_secret_arn: str,
) -> None:
    # create/add/remove/show of a keyed client hash nothing: the pepper secret may even be gone
    secretsmanager_client.delete_secret(SecretId=pepper_secret_arn, ForceDeleteWithoutRecovery=True)
    client_id = create_keyed(cli, write(tmp_path, "k.json", partner_key.public_jwk()))["client"]["client_id"]
    assert cli("show", client_id).code == 0
    pem = partner_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert b"PUBLIC KEY" in pem  # (a PEM public key is not JSON: refused like any non-JSON file)
    run = cli("add-key", client_id, "--jwk-file", write(tmp_path, "p.pem", pem.decode()))
    assert (run.code, run.err) == (1, "error: the key file must be JSON: a JWK Set or a single JWK\n")


@pytest.mark.parametrize("separator", [[], ["--"]])
def test_remove_key_takes_a_kid_that_begins_with_a_dash(
    cli: Callable[..., Run], tmp_path: Path, partner_key: SigningKey, separator: list[str]
) -> None:
    """One RFC 7638 thumbprint in 64 begins with ``-``: it is still the kid operand, not an option
    (CI once drew such a key and argparse refused the command)."""
    client_id = create_keyed(cli, write(tmp_path, "k.json", partner_key.public_jwk()))["client"]["client_id"]
    run = cli("remove-key", client_id, *separator, "-NpkO_7vDwuEg_g4wJcJ1XP8arxak9QTgIPYMc81frw")
    assert run.code == 1
    assert "kid" in run.err
    assert "usage:" not in run.err
