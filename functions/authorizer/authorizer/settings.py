"""The authorizer's configuration: read once from the environment at import, validated whole.

A configuration that cannot work raises :class:`~partnerauth.errors.ConfigurationError` here, at
cold start, with a message that names the variable; it never turns into a per-request answer.
Variables (docs/DESIGN.md, docs/authorizer.md):

``ISSUER``, ``AUDIENCE``, ``JWKS_URI``
    our own issuer, the audience its tokens carry for our APIs, where its keys are published.
``ALLOWED_ALGORITHMS``
    comma list for our own issuer (default ``RS256``); ``none`` and HMAC are never accepted.
``ROUTE_SCOPES``
    JSON route map of the ``default`` API profile (:mod:`partnerauth.route_map`), whose audience is
    ``AUDIENCE``.
``API_PROFILES``
    optional JSON ``{"name": {"audience": ..., "routes": {...}}}``: more profiles fixed at deploy, for the
    stack's own APIs (:mod:`partnerauth.api_profiles`).
``APIS_TABLE``, ``API_PROFILE_MAX_AGE``
    optional: the API registry table other teams' profiles live in, and how long a profile read from it
    is used before it is read again (seconds, default 60).
``EXTERNAL_ISSUERS``
    optional JSON list of trusted external issuers (:func:`external_issuer`): each of the ``rfc9068``
    profile (members spelled out) or of a vendor's (:mod:`partnerauth.issuer_profiles`).
``USAGE_KEY_NAMESPACE``
    optional: the stack's name, in which our own clients' API keys are derived
    (:func:`partnerauth.usage_plans.usage_key_value`); unset, answers carry no ``usageIdentifierKey``.
``JWKS_MAX_AGE``, ``JWKS_COOLDOWN``, ``LEEWAY``, ``MAX_TOKEN_LIFETIME``
    seconds (defaults 300, 30, 60, 3600).
``REVOCATIONS_URI``
    optional: where our own issuer publishes its token revocations (:mod:`partnerauth.revocations`,
    beside the JWKS); learned like the JWKS (same max age, cooldown and stale-if-error). Unset, our
    tokens are not checked for revocation.
``HTTP_API_RESPONSE``
    ``simple`` (default) or ``policy``: the response form of HTTP API (payload 2.0) events,
    matching the authorizer's ``EnableSimpleResponses``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from partnerauth.algorithms import allowed_algorithms
from partnerauth.api_profiles import DEFAULT_PROFILE, ApiProfile, profiles_from_json
from partnerauth.errors import ConfigurationError
from partnerauth.issuer_profiles import PROFILE_NAMES, RFC9068_PROFILE, VENDOR_PROFILES, vendor_issuer_policy
from partnerauth.jwks_fetch import is_fetchable_jwks_uri
from partnerauth.route_policy import RoutePolicy
from partnerauth.verification import MAX_LEEWAY, RFC9068_REQUIRED_CLAIMS, IssuerPolicy

DEFAULT_JWKS_MAX_AGE = 300
DEFAULT_JWKS_COOLDOWN = 30
DEFAULT_LEEWAY = 60
DEFAULT_MAX_TOKEN_LIFETIME = 3600
DEFAULT_PROFILE_MAX_AGE = 60
JWKS_FETCH_TIMEOUT = 3.0  # one fetch per cooldown at most; our JWKS function may itself be cold
MAX_EXTERNAL_ISSUERS = 20
MAX_USAGE_KEY_NAMESPACE = 128  # a CloudFormation stack name's limit
HTTP_API_RESPONSES = ("simple", "policy")

# Members of every EXTERNAL_ISSUERS entry; a vendor profile takes these only, the rfc9068 profile
# spells out its token shape with the others.
_COMMON_MEMBERS = frozenset(
    {"profile", "issuer", "jwks_uri", "audiences", "client_ids", "algorithms", "max_lifetime"}
)
_RFC9068_MEMBERS = _COMMON_MEMBERS | {
    "scope_claim",
    "client_id_claim",
    "require_access_token_type",
    "required_claims",
}
_RFC9068_SCOPE_CLAIMS = ("scope", "scp")  # "roles" belongs to the entra profile


class AuthorizerSettings(NamedTuple):
    """Everything the authorizer needs, typed and checked (a NamedTuple: immutable, and cheap to
    define on the cold-start path)."""

    issuers: tuple[IssuerPolicy, ...]
    profiles: Mapping[str, ApiProfile]
    usage_key_namespace: str | None
    jwks_max_age: int
    jwks_cooldown: int
    leeway: int
    http_api_response: str
    apis_table: str | None = None
    profile_max_age: int = DEFAULT_PROFILE_MAX_AGE
    revocations_uri: str | None = None

    @property
    def own_issuer(self) -> IssuerPolicy:
        return self.issuers[0]

    @property
    def routes(self) -> RoutePolicy:
        """The route map of the ``default`` profile."""
        return self.profiles[DEFAULT_PROFILE].routes

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> AuthorizerSettings:
        max_lifetime = _seconds(environ, "MAX_TOKEN_LIFETIME", DEFAULT_MAX_TOKEN_LIFETIME)
        own = _own_issuer(environ, max_lifetime)
        external = _external_issuers(environ.get("EXTERNAL_ISSUERS", ""), max_lifetime)
        issuers = (own, *external)
        seen: set[str] = set()
        for policy in issuers:
            if policy.issuer in seen:
                raise ConfigurationError("EXTERNAL_ISSUERS: an issuer is configured twice")
            seen.add(policy.issuer)
        max_age = _seconds(environ, "JWKS_MAX_AGE", DEFAULT_JWKS_MAX_AGE)
        cooldown = _seconds(environ, "JWKS_COOLDOWN", DEFAULT_JWKS_COOLDOWN)
        if cooldown > max_age:
            raise ConfigurationError("JWKS_COOLDOWN must not exceed JWKS_MAX_AGE")
        leeway = _seconds(environ, "LEEWAY", DEFAULT_LEEWAY, minimum=0)
        if leeway > MAX_LEEWAY:
            raise ConfigurationError(f"LEEWAY must be at most {MAX_LEEWAY} seconds")
        response = environ.get("HTTP_API_RESPONSE", "").strip() or "simple"
        if response not in HTTP_API_RESPONSES:
            raise ConfigurationError("HTTP_API_RESPONSE must be 'simple' or 'policy'")
        default = ApiProfile(
            DEFAULT_PROFILE, _required(environ, "AUDIENCE"), _route_policy(environ.get("ROUTE_SCOPES", ""))
        )
        profiles = {DEFAULT_PROFILE: default}
        if environ.get("API_PROFILES", "").strip():
            profiles.update(profiles_from_json(environ["API_PROFILES"]))
        return cls(
            issuers=issuers,
            profiles=MappingProxyType(profiles),
            usage_key_namespace=_usage_key_namespace(environ.get("USAGE_KEY_NAMESPACE", "")),
            jwks_max_age=max_age,
            jwks_cooldown=cooldown,
            leeway=leeway,
            http_api_response=response,
            apis_table=environ.get("APIS_TABLE", "").strip() or None,
            profile_max_age=_seconds(environ, "API_PROFILE_MAX_AGE", DEFAULT_PROFILE_MAX_AGE),
            revocations_uri=(
                _jwks_uri(environ["REVOCATIONS_URI"].strip(), "REVOCATIONS_URI")
                if environ.get("REVOCATIONS_URI", "").strip()
                else None
            ),
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is required")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= 7 * 24 * 3600:
        raise ConfigurationError(f"{name} must be a whole number of seconds, at least {minimum}")
    return int(raw)


def _jwks_uri(value: object, name: str) -> str:
    # https only (http for loopback: tests and the local stack), RFC 8414 §2 / RFC 8725 §3.10.
    if not isinstance(value, str) or not is_fetchable_jwks_uri(value):
        raise ConfigurationError(f"{name}: the JWKS URI must be https (http only on loopback)")
    return value


def _own_issuer(environ: Mapping[str, str], max_lifetime: int) -> IssuerPolicy:
    return IssuerPolicy(
        issuer=_required(environ, "ISSUER"),
        jwks_uri=_jwks_uri(_required(environ, "JWKS_URI"), "JWKS_URI"),
        audiences=frozenset({_required(environ, "AUDIENCE")}),
        algorithms=allowed_algorithms(environ.get("ALLOWED_ALGORITHMS", "").strip() or "RS256"),
        max_lifetime=max_lifetime,
    )


def _route_policy(text: str) -> RoutePolicy:
    if not text.strip():
        raise ConfigurationError("ROUTE_SCOPES is required")
    return RoutePolicy.from_json(text)


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigurationError(f"{name} is not valid JSON") from None


def _external_issuers(text: str, max_lifetime: int) -> list[IssuerPolicy]:
    if not text.strip():
        return []
    document = _json(text, "EXTERNAL_ISSUERS")
    if not isinstance(document, list) or len(document) > MAX_EXTERNAL_ISSUERS:
        raise ConfigurationError(
            f"EXTERNAL_ISSUERS must be a JSON list of at most {MAX_EXTERNAL_ISSUERS} objects"
        )
    return [external_issuer(entry, max_lifetime) for entry in document]


def external_issuer(entry: object, default_max_lifetime: int) -> IssuerPolicy:
    """One ``EXTERNAL_ISSUERS`` member; unknown members are refused (a typo must not weaken a check).

    ``profile`` names the token shape: ``rfc9068`` (the default; members below describe it) or a
    vendor's (``cognito``, ``entra``, ``okta``, ``keycloak``, ``auth0``: docs/authorizer.md, "Trusted
    issuers").  ``audiences`` or ``client_ids`` is always required."""
    name = "EXTERNAL_ISSUERS"
    profile = entry.get("profile", RFC9068_PROFILE) if isinstance(entry, dict) else None
    if profile not in PROFILE_NAMES:
        raise ConfigurationError(f"{name}: profile must be one of {list(PROFILE_NAMES)}")
    allowed = _RFC9068_MEMBERS if profile == RFC9068_PROFILE else _COMMON_MEMBERS
    if not isinstance(entry, dict) or not entry.keys() <= allowed:
        raise ConfigurationError(f"{name}: profile {profile}: members are {sorted(allowed)}")
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise ConfigurationError(f"{name}: issuer must be a non-empty string")
    audiences = _names(entry, "audiences", required=profile == RFC9068_PROFILE)
    client_ids = _names(entry, "client_ids", required=False)
    algorithms = entry.get("algorithms", ["RS256"])
    if not isinstance(algorithms, list | str):
        raise ConfigurationError(f"{name}: algorithms must be a list or a comma list")
    lifetime = entry.get("max_lifetime")
    if lifetime is not None and (
        isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0
    ):
        raise ConfigurationError(f"{name}: max_lifetime must be a positive number of seconds")
    jwks_uri = _jwks_uri(entry.get("jwks_uri"), name)
    if profile in VENDOR_PROFILES:
        try:
            return vendor_issuer_policy(
                profile,
                issuer=issuer,
                jwks_uri=jwks_uri,
                audiences=audiences,
                client_ids=client_ids,
                algorithms=allowed_algorithms(algorithms),
                max_lifetime=lifetime,
            )
        except ConfigurationError as error:
            raise ConfigurationError(f"{name}: {error}") from None
    scope_claim = entry.get("scope_claim", "scope")
    client_id_claim = entry.get("client_id_claim", "client_id")
    typed = entry.get("require_access_token_type", True)
    required = entry.get("required_claims", list(RFC9068_REQUIRED_CLAIMS))
    if (
        scope_claim not in _RFC9068_SCOPE_CLAIMS
        or not isinstance(client_id_claim, str)
        or not client_id_claim
    ):
        raise ConfigurationError(
            f"{name}: scope_claim must be one of {list(_RFC9068_SCOPE_CLAIMS)}; client_id_claim a claim name"
        )
    if not isinstance(typed, bool):
        raise ConfigurationError(f"{name}: require_access_token_type must be true or false")
    if not isinstance(required, list) or not all(isinstance(c, str) and c for c in required):
        raise ConfigurationError(f"{name}: required_claims must be a list of claim names")
    # The principal is the client id: it must always be there (the verifier insists on a
    # non-empty value only for required claims).
    if client_id_claim not in required:
        raise ConfigurationError(f"{name}: required_claims must include the client_id_claim")
    return IssuerPolicy(
        issuer=issuer,
        jwks_uri=jwks_uri,
        audiences=frozenset(audiences),
        algorithms=allowed_algorithms(algorithms),
        scope_claim=scope_claim,
        client_id_claim=client_id_claim,
        require_access_token_type=typed,
        required_claims=tuple(dict.fromkeys(required)),
        max_lifetime=default_max_lifetime if lifetime is None else lifetime,
        client_ids=frozenset(client_ids),
    )


def _names(entry: dict[str, Any], member: str, *, required: bool) -> list[str]:
    """``audiences`` or ``client_ids``: a list of non-empty strings (non-empty when given or required)."""
    if member not in entry and not required:
        return []
    values = entry.get(member)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigurationError(f"EXTERNAL_ISSUERS: {member} must be a non-empty list of strings")
    return values


def _usage_key_namespace(text: str) -> str | None:
    namespace = text.strip()
    if len(namespace) > MAX_USAGE_KEY_NAMESPACE or not namespace.isprintable():
        raise ConfigurationError(
            f"USAGE_KEY_NAMESPACE must be a stack name (at most {MAX_USAGE_KEY_NAMESPACE})"
        )
    return namespace or None
