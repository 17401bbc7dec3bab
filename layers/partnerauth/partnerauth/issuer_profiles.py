"""Issuer profiles: the access-token shapes of the identity providers enterprises already run.

Each profile says, for one vendor, which claim names the client, where scopes are, which claims
tell its access tokens from its ID and refresh tokens, and which ``typ`` header they carry; the
operator adds only what is theirs (issuer, JWKS URI, audiences, client allow-list).  The result is
an ordinary :class:`~partnerauth.verification.IssuerPolicy`, so every check of our own profile still
runs: an issuer matched exactly (RFC 9068 §4 item 3), keys only from that issuer's JWKS URI
(RFC 8725 §3.8, §3.10), an algorithm allow-list without ``none`` or HMAC (RFC 8725 §3.1-3.2), the
signature, ``exp``/``nbf``/``iat`` with the leeway (RFC 7519 §4.1.4-4.1.6), a lifetime cap, scopes by
RFC 6749 §3.3 (:mod:`partnerauth.scopes`), and no nested JWT (``cty``, RFC 7519 §5.2).

**An audience or a client allow-list is never optional.**  Every profile but Cognito's requires
``audiences`` (RFC 9068 §4 item 4); Cognito access tokens carry no ``aud`` at all, so that profile
requires ``client_ids`` instead, refuses a token that has an ``aud`` (Cognito ID tokens do), and
requires ``token_use`` = ``access``.

Sources for the token shapes (header and claims), as the vendors document them:

* Amazon Cognito: "Understanding the access token" (Cognito developer guide) - header ``kid``/``alg``;
  claims ``sub``, ``iss`` ``https://cognito-idp.{region}.amazonaws.com/{userPoolId}``, ``client_id``,
  ``token_use`` (``access``), ``scope``, ``auth_time``, ``exp``, ``iat``, ``jti``, ``origin_jti``,
  ``version``; no ``aud``.
* Microsoft Entra ID: "Access token claims reference" (v2.0) - header ``typ`` ``JWT``, ``alg``, ``kid``;
  claims ``aud``, ``iss`` ``https://login.microsoftonline.com/{tenant}/v2.0``, ``iat``, ``nbf``, ``exp``,
  ``azp`` (the client), ``roles`` (application permissions: what a client-credentials token carries),
  ``scp`` (delegated permissions, space-separated), ``sub``, ``oid``, ``tid``, ``ver`` ``2.0``; no ``jti``
  (``uti`` is its unique id).
* Okta: "Access token" (custom authorization server) - header ``kid``/``alg``; claims ``ver``, ``jti``,
  ``iss`` ``https://{domain}/oauth2/{authServerId}``, ``aud``, ``iat``, ``exp``, ``cid`` (the client),
  ``scp`` (a JSON list), ``sub``.
* Keycloak: access tokens of a realm - header ``alg``, ``typ`` ``JWT``, ``kid``; claims ``exp``, ``iat``,
  ``jti``, ``iss`` ``https://{host}/realms/{realm}``, ``aud`` (with an audience mapper), ``sub``, ``typ``
  ``Bearer`` (ID tokens say ``ID``, refresh tokens ``Refresh``), ``azp`` (the client), ``scope``.
* Auth0: "Access token profiles" (``auth0`` profile) - header ``alg``, ``typ`` ``JWT``, ``kid``; claims
  ``iss`` ``https://{tenant}.auth0.com/``, ``sub``, ``aud``, ``iat``, ``exp``, ``azp`` (the client),
  ``scope``, ``gty``.  (A tenant on Auth0's ``rfc9068_profile`` issues RFC 9068 tokens: use the
  ``rfc9068`` profile for it.)

``max_lifetime`` defaults to the vendor's default access-token lifetime (Entra ID's are 60-90 minutes);
an operator who configured longer-lived tokens sets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from .errors import ConfigurationError
from .verification import IssuerPolicy

RFC9068_PROFILE = "rfc9068"  # our own token shape: EXTERNAL_ISSUERS members spell it out


class VendorProfile(NamedTuple):
    """What one vendor's access tokens look like (module docstring has the sources)."""

    client_id_claim: str
    scope_claim: str | tuple[str, ...]
    required_claims: tuple[str, ...]
    claim_values: tuple[tuple[str, str], ...] = ()  # claims that mark an access token of this vendor
    header_type: str | None = None  # the typ header its access tokens carry
    max_lifetime: int = 3600  # the vendor's default access-token lifetime
    audience: bool = True  # False: the tokens carry no aud; a client allow-list replaces it


VENDOR_PROFILES: Mapping[str, VendorProfile] = MappingProxyType(
    {
        "cognito": VendorProfile(
            client_id_claim="client_id",
            scope_claim="scope",
            required_claims=("iss", "exp", "iat", "sub", "jti", "client_id", "token_use"),
            claim_values=(("token_use", "access"),),
            max_lifetime=3600,
            audience=False,
        ),
        "entra": VendorProfile(
            client_id_claim="azp",
            scope_claim=("roles", "scp"),
            required_claims=("iss", "exp", "iat", "aud", "sub", "azp", "tid", "ver"),
            claim_values=(("ver", "2.0"),),
            header_type="JWT",
            max_lifetime=90 * 60,
        ),
        "okta": VendorProfile(
            client_id_claim="cid",
            scope_claim="scp",
            required_claims=("iss", "exp", "iat", "aud", "sub", "jti", "cid"),
            max_lifetime=3600,
        ),
        "keycloak": VendorProfile(
            client_id_claim="azp",
            scope_claim="scope",
            required_claims=("iss", "exp", "iat", "aud", "sub", "jti", "azp", "typ"),
            claim_values=(("typ", "Bearer"),),
            header_type="JWT",
            max_lifetime=300,
        ),
        "auth0": VendorProfile(
            client_id_claim="azp",
            scope_claim="scope",
            required_claims=("iss", "exp", "iat", "aud", "sub", "azp"),
            header_type="JWT",
            max_lifetime=24 * 3600,
        ),
    }
)
PROFILE_NAMES = (RFC9068_PROFILE, *VENDOR_PROFILES)


def vendor_issuer_policy(
    profile_name: str,
    *,
    issuer: str,
    jwks_uri: str,
    audiences: Iterable[str] = (),
    client_ids: Iterable[str] = (),
    algorithms: Iterable[str] = ("RS256",),
    max_lifetime: int | None = None,
) -> IssuerPolicy:
    """The policy for one issuer of vendor ``profile_name``; refuses a configuration without the
    audience or client allow-list the profile needs."""
    profile = VENDOR_PROFILES.get(profile_name)
    if profile is None:
        raise ConfigurationError(f"profile must be one of {list(PROFILE_NAMES)}")
    audiences, client_ids = frozenset(audiences), frozenset(client_ids)
    if profile.audience and not audiences:
        raise ConfigurationError(f"profile {profile_name}: audiences are required")
    if not profile.audience:
        if audiences:
            raise ConfigurationError(
                f"profile {profile_name}: its access tokens carry no aud; use client_ids"
            )
        if not client_ids:
            raise ConfigurationError(f"profile {profile_name}: client_ids are required")
    return IssuerPolicy(
        issuer=issuer,
        jwks_uri=jwks_uri,
        audiences=audiences,
        algorithms=frozenset(algorithms),
        scope_claim=profile.scope_claim,
        client_id_claim=profile.client_id_claim,
        require_access_token_type=False,  # vendor tokens are not typ at+jwt; header_type says what they are
        required_claims=profile.required_claims,
        max_lifetime=profile.max_lifetime if max_lifetime is None else max_lifetime,
        client_ids=client_ids,
        claim_values=profile.claim_values,
        header_type=profile.header_type,
    )
