"""``private_key_jwt`` clients (RFC 7523 §2.2): registering public keys, rolling them, switching from secrets.

Commands (registered by :func:`add_commands`):

* ``create ... --auth-method private_key_jwt --jwks-file keys.json`` (or ``--jwks-uri URL``): handled by
  :func:`create_with_keys`, called from ``create`` in :mod:`.cli`;
* ``add-key CLIENT_ID --jwk-file key.json`` / ``remove-key CLIENT_ID KID``: an inline key rollover (add
  the new key, let the partner switch, remove the old one);
* ``use-keys CLIENT_ID --jwks-file F | --jwks-uri U [--overlap S]``: switch a client from secrets to keys
  (or replace its keys); its live secrets keep working for ``--overlap`` seconds.

The key file is JSON: a JWK Set or a single JWK.  A private key, a symmetric key or an RSA key under 2048
bits is refused with a one-line error (the registry's messages, which never quote the file).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from partnerauth.client_registry import PRIVATE_KEY_JWT, Client, ClientRegistry, InvalidClientMetadata

MAX_KEY_FILE_BYTES = 64 * 1024
KEY_COMMANDS = ("add-key", "remove-key", "use-keys")
HELP_FLAGS = ("-h", "--help")


def operands_after_options_end(argv: Sequence[str]) -> list[str]:
    """``remove-key CLIENT_ID KID`` with ``--`` put in front of its operands.

    A kid is an RFC 7638 thumbprint in base64url, so one in 64 begins with ``-``; argparse would read it
    as an unknown option.  ``remove-key`` has no options but ``-h``, so its operands always follow ``--``.
    """
    argv = list(argv)
    if "remove-key" not in argv or "--" in argv:
        return argv
    at = argv.index("remove-key") + 1
    if any(flag in argv[at:] for flag in HELP_FLAGS):
        return argv
    return [*argv[:at], "--", *argv[at:]]


def add_key_source_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument(
        "--jwks-file", type=Path, help="the partner's public keys: a JWK Set (or one JWK), JSON"
    )
    source.add_argument("--jwks-uri", help="https URL where the partner publishes its JWK Set")


def add_commands(commands: Any, default_overlap: int) -> None:
    add = commands.add_parser("add-key", help="register one more public key (a key rollover)")
    add.add_argument("client_id")
    add.add_argument(
        "--jwk-file", type=Path, required=True, help="the new public key: a JWK (or a set of one)"
    )

    remove = commands.add_parser("remove-key", help="remove a registered public key by kid")
    remove.add_argument("client_id")
    remove.add_argument("kid")

    use = commands.add_parser(
        "use-keys", help="authenticate the client with private_key_jwt; its secrets end after --overlap"
    )
    use.add_argument("client_id")
    add_key_source_options(use, required=True)
    use.add_argument(
        "--overlap",
        type=int,
        default=default_overlap,
        help=f"seconds the client's live secrets keep working (default {default_overlap}; 0 = end them now)",
    )


def read_key_file(path: Path) -> Any:
    """The JSON document in ``path``; :class:`InvalidClientMetadata` (one line) for anything else."""
    try:
        raw = path.read_bytes()[: MAX_KEY_FILE_BYTES + 1]
    except OSError:
        raise InvalidClientMetadata("cannot read the key file") from None
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise InvalidClientMetadata("the key file is too large for a JWK Set")
    if b"PRIVATE KEY" in raw:
        raise InvalidClientMetadata("the key file holds a private key: register only the public key")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidClientMetadata("the key file must be JSON: a JWK Set or a single JWK") from None


def key_source(args: argparse.Namespace) -> dict[str, Any]:
    if args.jwks_file is not None:
        return {"jwks": read_key_file(args.jwks_file)}
    return {"jwks_uri": args.jwks_uri}


def create_with_keys(args: argparse.Namespace, registry: ClientRegistry, **metadata: Any) -> Client:
    if args.auth_method not in (None, PRIVATE_KEY_JWT) or (args.jwks_file is None and args.jwks_uri is None):
        raise InvalidClientMetadata("private_key_jwt needs --jwks-file or --jwks-uri (and only with it)")
    return registry.create_with_keys(**metadata, **key_source(args))


def run(args: argparse.Namespace, registry: ClientRegistry) -> Client:
    if args.command == "add-key":
        return registry.add_key(args.client_id, read_key_file(args.jwk_file))
    if args.command == "remove-key":
        return registry.remove_key(args.client_id, args.kid)
    return registry.use_keys(args.client_id, secret_overlap=args.overlap, **key_source(args))


def key_lines(client: Client, now: float) -> list[str]:
    """The ``show`` lines about authentication: methods, jwks_uri, each key's kid, type and thumbprint."""
    described = client.describe(now)
    lines = [f"auth:        {' '.join(described['token_endpoint_auth_methods']) or '(none)'}"]
    if client.jwks_uri is not None:
        lines.append(f"jwks_uri:    {client.jwks_uri}")
    if described["keys"]:
        lines.append("keys:")
        lines.extend(
            f"  {key['kid']}  {key['kty']:3} {key['alg'] or '-':6} thumbprint {key['thumbprint']}"
            for key in described["keys"]
        )
    return lines
