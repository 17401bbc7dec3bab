"""Verification of JWT access tokens: a pipeline of named steps.

parse (``compact``) -> header -> issuer -> key -> algorithm against key -> signature -> claims

Rules come from RFC 8725 (JWT BCP) and RFC 9068 §4 (validating JWT access tokens).
Every failure raises a :class:`~partnerauth.errors.TokenRejected` with a fixed
reason; no other exception leaves :meth:`AccessTokenVerifier.verify`, whatever the
input.  Nothing here imports boto3.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from .algorithms import ALGORITHMS, allowed_algorithms
from .compact import MAX_TOKEN_BYTES, CompactJws, parse_compact
from .errors import (
    ClaimInvalid,
    ConfigurationError,
    HeaderRejected,
    InsufficientScope,
    KeyNotFound,
    KeysUnavailable,
    MalformedToken,
    Reason,
    SignatureInvalid,
    TokenRejected,
)
from .jwk import MAX_KID_LENGTH, VerificationKey
from .key_source import KeySource
from .scopes import SCOPE_CLAIMS, parse_scope_claim, parse_scope_claims

DEFAULT_LEEWAY = 60
MAX_LEEWAY = 300
# Timestamps beyond year 9999 are not dates (RFC 7519 §2 NumericDate); refusing them
# keeps arithmetic and logging sane.
MAX_NUMERIC_DATE = 253_402_300_799
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §4 item 1
# RFC 9068 §2.2: claims every access token carries.
RFC9068_REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
MAX_KNOWN_HEADERS = 32  # parsed headers of accepted tokens kept (one per signing key and header form)
# Headers whose semantics we implement when they appear in ``crit`` (RFC 7515 §4.1.11): none.
UNDERSTOOD_CRITICAL_HEADERS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class IssuerPolicy:
    """What we accept from one trusted issuer.  ``algorithms`` comes from configuration,
    never from a token (RFC 8725 §3.1); keys are looked up per issuer (§3.8)."""

    issuer: str
    jwks_uri: str
    audiences: frozenset[str]
    algorithms: frozenset[str] = frozenset({"RS256"})
    # the claim(s) scopes are read from (partnerauth.scopes): "scope" (RFC 9068 §2.2.3), "scp", "roles"
    scope_claim: str | tuple[str, ...] = "scope"
    client_id_claim: str = "client_id"
    require_access_token_type: bool = True  # RFC 9068 §4: typ must be at+jwt
    required_claims: tuple[str, ...] = RFC9068_REQUIRED_CLAIMS
    max_lifetime: int = 24 * 3600
    # Vendor profiles (partnerauth.issuer_profiles): an allow-list of client ids (required when there is
    # no audience: Cognito access tokens carry none), claims that must hold one exact string
    # (``token_use`` = ``access``), and the ``typ`` header a vendor's access tokens carry.
    client_ids: frozenset[str] = frozenset()
    claim_values: tuple[tuple[str, str], ...] = ()
    header_type: str | None = None

    def __post_init__(self) -> None:
        if not self.issuer or not self.jwks_uri:
            raise ConfigurationError("issuer and jwks_uri are required")
        # RFC 9068 §4 item 4: a token is checked against whom it is for; never optional
        if not self.audiences and not self.client_ids:
            raise ConfigurationError("an audience or a client allow-list is required")
        if not all(isinstance(a, str) and a for a in (*self.audiences, *self.client_ids)):
            raise ConfigurationError("audiences and client ids must be non-empty strings")
        object.__setattr__(self, "algorithms", allowed_algorithms(tuple(self.algorithms)))
        if not self.scope_claims or not set(self.scope_claims) <= SCOPE_CLAIMS:
            raise ConfigurationError(f"scope_claim must be among {sorted(SCOPE_CLAIMS)}")
        if self.max_lifetime <= 0:
            raise ConfigurationError("max_lifetime must be positive")

    @property
    def scope_claims(self) -> tuple[str, ...]:
        return (self.scope_claim,) if isinstance(self.scope_claim, str) else self.scope_claim


class VerifiedToken(NamedTuple):
    """A token that passed every check: immutable, and ``claims`` is read-only.

    A named tuple rather than a frozen dataclass: one is built per verification, and a frozen
    dataclass's ``__init__`` (``object.__setattr__`` per field) cost 2 us of the verifier's
    ~20 us of own work (benchmarks/bench_verify.py); the tuple costs a fifth of that."""

    issuer: str
    subject: str
    client_id: str
    audience: tuple[str, ...]
    scopes: frozenset[str]
    jti: str
    kid: str
    alg: str
    issued_at: int
    expires_at: int
    claims: Mapping[str, Any]

    def __repr__(self) -> str:  # the claims stay out of logs and tracebacks
        return (
            f"VerifiedToken(issuer={self.issuer!r}, client_id={self.client_id!r}, jti={self.jti!r}, "
            f"kid={self.kid!r}, alg={self.alg!r})"
        )

    @property
    def scope(self) -> str:
        return " ".join(sorted(self.scopes))

    def require_scopes(self, required: Iterable[str]) -> None:
        """RFC 6750 §3.1 ``insufficient_scope`` when any required scope is missing."""
        if not self.scopes.issuperset(required):
            raise InsufficientScope()


class AccessTokenVerifier:
    """Verifies access tokens from a fixed set of trusted issuers."""

    def __init__(
        self,
        issuers: Iterable[IssuerPolicy],
        keys: KeySource,
        *,
        leeway: int = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.time,
        max_token_bytes: int = MAX_TOKEN_BYTES,
    ) -> None:
        self._issuers = {policy.issuer: policy for policy in issuers}
        if not self._issuers:
            raise ConfigurationError("at least one trusted issuer is required")
        # per issuer, built once: the claims its tokens must carry, as a set one comparison can check
        self._required_sets = {
            issuer: frozenset(policy.required_claims) for issuer, policy in self._issuers.items()
        }
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigurationError("leeway must be between 0 and 300 seconds")
        self._keys = keys
        # header segment -> its parse, and -> (alg, kid, typ is at+jwt): see _remember_header
        self._known_headers: dict[bytes, dict[str, Any]] = {}
        self._header_checks: dict[bytes, tuple[str, str, bool]] = {}
        self._leeway = leeway
        self._clock = clock
        self._max_token_bytes = max_token_bytes

    def verify(self, token: object) -> VerifiedToken:
        try:
            return self._verify(token)
        except TokenRejected:
            raise
        except Exception:  # noqa: BLE001 - the contract: nothing but TokenRejected escapes
            raise MalformedToken(detail="token could not be processed") from None

    # -- the pipeline -------------------------------------------------------------------

    def _verify(self, token: object) -> VerifiedToken:
        jws = parse_compact(token, self._max_token_bytes, known_headers=self._known_headers)
        # A remembered header passed these checks before, byte for byte: its answers are kept with it.
        known = self._header_checks.get(jws.header_segment)
        alg, kid, typed = known if known is not None else (*_check_header(jws.header), False)
        policy = self._policy_for(jws.payload)
        if alg not in policy.algorithms:
            raise HeaderRejected(Reason.DISALLOWED_ALGORITHM, "algorithm not allowed for this issuer")
        if policy.require_access_token_type and not typed:
            _check_access_token_type(jws.header)
        if policy.header_type is not None:
            _check_header_type(jws.header, policy.header_type)
        key = self._key_for(policy, kid)
        if not key.accepts(alg):  # RFC 8725 §3.1: the algorithm must fit the key
            raise HeaderRejected(Reason.DISALLOWED_ALGORITHM, "algorithm does not fit the key")
        _check_signature(jws, alg, key)
        verified = self._check_claims(jws.payload, policy, alg=alg, kid=kid)
        if known is None:
            self._remember_header(jws, alg, kid)
        return verified

    def _remember_header(self, jws: CompactJws, alg: str, kid: str) -> None:
        """Keep the parsed header of an accepted token and the answers of its checks: the next token
        of the same key sends the same bytes.  Only accepted tokens are remembered, so what fills this
        comes from trusted issuers' keys; the bound is there all the same (and is reached only after
        many key rotations)."""
        if len(self._known_headers) >= MAX_KNOWN_HEADERS:
            self._known_headers.clear()
            self._header_checks.clear()
        self._known_headers[jws.header_segment] = jws.header
        self._header_checks[jws.header_segment] = (alg, kid, _is_access_token_type(jws.header))

    def _policy_for(self, payload: Mapping[str, Any]) -> IssuerPolicy:
        issuer = payload.get("iss")
        if issuer is None:
            raise ClaimInvalid(Reason.MISSING_CLAIM, "iss is required", claim="iss")
        policy = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if policy is None:  # RFC 9068 §4 item 3: exact match with a trusted issuer
            raise ClaimInvalid(Reason.WRONG_ISSUER, "issuer not trusted", claim="iss")
        return policy

    def _key_for(self, policy: IssuerPolicy, kid: str) -> VerificationKey:
        try:
            return self._keys.key_for(policy.jwks_uri, kid)
        except (KeyNotFound, KeysUnavailable):
            raise
        except Exception:  # noqa: BLE001 - a broken key source is "keys unavailable", not a crash
            raise KeysUnavailable() from None

    def _check_claims(
        self, payload: dict[str, Any], policy: IssuerPolicy, *, alg: str, kid: str
    ) -> VerifiedToken:
        required = policy.required_claims
        if not payload.keys() >= self._required_sets[policy.issuer]:
            missing = next(name for name in required if name not in payload)  # the first, in policy order
            raise ClaimInvalid(
                Reason.MISSING_CLAIM, f"{missing} is required", claim=missing
            )  # names: the policy's
        exp, iat, nbf = payload.get("exp"), payload.get("iat"), payload.get("nbf")
        expires_at: float
        issued_at: float
        not_before: float | None
        # The common case, integer dates in range, without a call per claim; anything else takes the
        # general path below, which gives every defect its exact reason.  ``type(x) is int`` keeps
        # bool out, as RFC 7519 §2 does (true/false are not NumericDates).
        if (
            type(exp) is int
            and type(iat) is int
            and (nbf is None or (type(nbf) is int and 0 <= nbf <= MAX_NUMERIC_DATE))
            and 0 <= exp <= MAX_NUMERIC_DATE
            and 0 <= iat <= MAX_NUMERIC_DATE
        ):
            expires_at, issued_at, not_before = exp, iat, nbf
            whole_expires_at, whole_issued_at = exp, iat
        else:
            expires_at = _required_date(payload, "exp")
            issued_at = _required_date(payload, "iat")
            not_before = _numeric_date(payload, "nbf")
            whole_expires_at, whole_issued_at = math.floor(expires_at), math.floor(issued_at)
        now = self._clock()
        leeway = self._leeway
        if now - leeway >= expires_at:  # RFC 7519 §4.1.4
            raise ClaimInvalid(Reason.EXPIRED, "token expired", claim="exp")
        if not_before is not None and now + leeway < not_before:  # RFC 7519 §4.1.5
            raise ClaimInvalid(Reason.NOT_YET_VALID, "token not valid yet", claim="nbf")
        if now + leeway < issued_at:
            raise ClaimInvalid(Reason.NOT_YET_VALID, "token issued in the future", claim="iat")
        if expires_at - issued_at > policy.max_lifetime:
            raise ClaimInvalid(Reason.LIFETIME_TOO_LONG, "token lifetime exceeds the maximum", claim="exp")
        aud = payload.get("aud")
        audience = (aud,) if type(aud) is str and policy.audiences else _audience(payload, policy)
        if policy.audiences.isdisjoint(audience) and policy.audiences:  # RFC 9068 §4 item 4, RFC 7519 §4.1.3
            raise ClaimInvalid(Reason.WRONG_AUDIENCE, "audience not accepted", claim="aud")
        subject, client_id, jti = payload.get("sub"), payload.get(policy.client_id_claim), payload.get("jti")
        # Common case: three non-empty strings, which every rule accepts; otherwise the exact rules.
        if not (
            type(subject) is str
            and subject
            and type(client_id) is str
            and client_id
            and type(jti) is str
            and jti
        ):
            subject = _string_claim(payload, "sub", required)
            client_id = _string_claim(payload, policy.client_id_claim, required)
            jti = _string_claim(payload, "jti", required)
        if policy.client_ids or policy.claim_values:
            _check_profile_claims(payload, policy, client_id)
        scope_claim = policy.scope_claim
        if type(scope_claim) is str:  # RFC 6749 §3.3: split on SP only; anything else in a scope is refused
            scopes = parse_scope_claim(scope_claim, payload.get(scope_claim))
        else:
            scopes = parse_scope_claims(policy.scope_claims, payload)
        return VerifiedToken(
            policy.issuer,
            subject,
            client_id,
            audience,
            scopes,
            jti,
            kid,
            alg,
            whole_issued_at,
            whole_expires_at,
            # ``payload`` is this call's own dict (parse_compact built it, nothing else holds it): a
            # read-only view of it is enough, no copy.
            MappingProxyType(payload),
        )


def _check_header(header: Mapping[str, Any]) -> tuple[str, str]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:  # RFC 8725 §2.1, §3.1: no "none", no HMAC
        raise HeaderRejected(Reason.DISALLOWED_ALGORITHM, "algorithm not allowed", header="alg")
    if "crit" in header:  # RFC 7515 §4.1.11
        critical = header["crit"]
        if (
            not isinstance(critical, list)
            or not critical
            or not all(isinstance(name, str) and name in UNDERSTOOD_CRITICAL_HEADERS for name in critical)
        ):
            raise HeaderRejected(Reason.UNSUPPORTED_HEADER, "critical header not understood", header="crit")
    if "b64" in header or "zip" in header:  # RFC 7797 unencoded payloads; zip is JWE-only
        raise HeaderRejected(
            Reason.UNSUPPORTED_HEADER,
            "header parameter not supported",
            header="b64" if "b64" in header else "zip",
        )
    if "cty" in header:  # RFC 7519 §5.2: a nested JWT (or any content type) is not an access token
        raise HeaderRejected(Reason.UNSUPPORTED_HEADER, "content type not accepted", header="cty")
    # jku, x5u, jwk and x5c are never followed or used (RFC 8725 §3.10): keys come only
    # from the issuer's configured JWKS URI.
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise HeaderRejected(Reason.UNKNOWN_KEY, "kid header required", header="kid")
    return alg, kid


def _is_access_token_type(header: Mapping[str, Any]) -> bool:
    typ = header.get("typ")
    # RFC 9068 §4 item 1; media types compare case-insensitively (RFC 7515 §4.1.9).
    return isinstance(typ, str) and typ.lower() in ACCESS_TOKEN_TYPES


def _check_access_token_type(header: Mapping[str, Any]) -> None:
    if not _is_access_token_type(header):
        raise HeaderRejected(Reason.WRONG_TYPE, "typ must be at+jwt", header="typ")


def _check_header_type(header: Mapping[str, Any], expected: str) -> None:
    typ = header.get("typ")
    # media types compare case-insensitively (RFC 7515 §4.1.9)
    if not isinstance(typ, str) or typ.lower() != expected.lower():
        raise HeaderRejected(Reason.WRONG_TYPE, "typ is not this issuer's access token type", header="typ")


def _check_signature(jws: CompactJws, alg: str, key: VerificationKey) -> None:
    # The key's own check, built once per key (jwk.VerificationKey); malformed signatures are bad signatures.
    if not key.verify_signature(alg, jws.signing_input, jws.signature):
        raise SignatureInvalid()


def _required_date(payload: Mapping[str, Any], name: str) -> float:
    value = _numeric_date(payload, name)
    if value is None:
        raise ClaimInvalid(Reason.MISSING_CLAIM, f"{name} is required", claim=name)
    return value


def _numeric_date(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    # bool is an int subclass in Python; true/false are not NumericDates (RFC 7519 §2).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimInvalid(Reason.INVALID_CLAIM, f"{name} must be a number", claim=name)
    if not (math.isfinite(value) and 0 <= value <= MAX_NUMERIC_DATE):
        raise ClaimInvalid(Reason.INVALID_CLAIM, f"{name} out of range", claim=name)
    return float(value)


def _check_profile_claims(payload: Mapping[str, Any], policy: IssuerPolicy, client_id: str) -> None:
    """A vendor profile's own checks (partnerauth.issuer_profiles): its client allow-list and the
    claims that tell its access tokens from its other tokens (Cognito's ``token_use``)."""
    if policy.client_ids and client_id not in policy.client_ids:
        raise ClaimInvalid(Reason.WRONG_AUDIENCE, "client not accepted", claim=policy.client_id_claim)
    for name, expected in policy.claim_values:
        if payload.get(name) != expected:
            raise ClaimInvalid(Reason.WRONG_TYPE, "not an access token of this issuer", claim=name)


def _audience(payload: Mapping[str, Any], policy: IssuerPolicy) -> tuple[str, ...]:
    value = payload.get("aud")
    if (
        not policy.audiences
    ):  # a client allow-list instead (Cognito): a token with an audience is someone else's
        if value is not None:
            raise ClaimInvalid(Reason.WRONG_AUDIENCE, "audience not accepted", claim="aud")
        return ()
    if value is None:
        raise ClaimInvalid(Reason.MISSING_CLAIM, "aud is required", claim="aud")
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ClaimInvalid(Reason.INVALID_CLAIM, "aud must be a string or a list of strings", claim="aud")


def _string_claim(payload: Mapping[str, Any], name: str, required: tuple[str, ...]) -> str:
    """A string claim; "" when absent and optional.  A required one must not be empty."""
    value = payload.get(name, "")
    if not isinstance(value, str) or (name in required and not value):
        raise ClaimInvalid(Reason.INVALID_CLAIM, "string claim has the wrong type", claim=name)
    return value
