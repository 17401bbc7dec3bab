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
    scope_claim: str = "scope"  # "scope": space-delimited string (RFC 9068 §2.2.3); "scp": list or string
    client_id_claim: str = "client_id"
    require_access_token_type: bool = True  # RFC 9068 §4: typ must be at+jwt
    required_claims: tuple[str, ...] = RFC9068_REQUIRED_CLAIMS
    max_lifetime: int = 24 * 3600

    def __post_init__(self) -> None:
        if not self.issuer or not self.jwks_uri:
            raise ConfigurationError("issuer and jwks_uri are required")
        if not self.audiences or not all(isinstance(a, str) and a for a in self.audiences):
            raise ConfigurationError("at least one audience is required")
        object.__setattr__(self, "algorithms", allowed_algorithms(tuple(self.algorithms)))
        if self.scope_claim not in ("scope", "scp"):
            raise ConfigurationError("scope_claim must be 'scope' or 'scp'")
        if self.max_lifetime <= 0:
            raise ConfigurationError("max_lifetime must be positive")


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
            raise ClaimInvalid(Reason.MISSING_CLAIM, "iss is required")
        policy = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if policy is None:  # RFC 9068 §4 item 3: exact match with a trusted issuer
            raise ClaimInvalid(Reason.WRONG_ISSUER, "issuer not trusted")
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
            raise ClaimInvalid(Reason.MISSING_CLAIM, f"{missing} is required")  # names come from the policy
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
            raise ClaimInvalid(Reason.EXPIRED, "token expired")
        if not_before is not None and now + leeway < not_before:  # RFC 7519 §4.1.5
            raise ClaimInvalid(Reason.NOT_YET_VALID, "token not valid yet")
        if now + leeway < issued_at:
            raise ClaimInvalid(Reason.NOT_YET_VALID, "token issued in the future")
        if expires_at - issued_at > policy.max_lifetime:
            raise ClaimInvalid(Reason.LIFETIME_TOO_LONG, "token lifetime exceeds the maximum")
        aud = payload.get("aud")
        audience = (aud,) if type(aud) is str else _audience(payload)
        if policy.audiences.isdisjoint(audience):  # RFC 9068 §4 item 4, RFC 7519 §4.1.3
            raise ClaimInvalid(Reason.WRONG_AUDIENCE, "audience not accepted")
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
        scope = payload.get(policy.scope_claim)
        scopes = frozenset(scope.split()) if type(scope) is str else _scopes(payload, policy.scope_claim)
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
        raise HeaderRejected(Reason.DISALLOWED_ALGORITHM, "algorithm not allowed")
    if "crit" in header:  # RFC 7515 §4.1.11
        critical = header["crit"]
        if (
            not isinstance(critical, list)
            or not critical
            or not all(isinstance(name, str) and name in UNDERSTOOD_CRITICAL_HEADERS for name in critical)
        ):
            raise HeaderRejected(Reason.UNSUPPORTED_HEADER, "critical header not understood")
    if "b64" in header or "zip" in header:  # RFC 7797 unencoded payloads; zip is JWE-only
        raise HeaderRejected(Reason.UNSUPPORTED_HEADER, "header parameter not supported")
    # jku, x5u, jwk and x5c are never followed or used (RFC 8725 §3.10): keys come only
    # from the issuer's configured JWKS URI.
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise HeaderRejected(Reason.UNKNOWN_KEY, "kid header required")
    return alg, kid


def _is_access_token_type(header: Mapping[str, Any]) -> bool:
    typ = header.get("typ")
    # RFC 9068 §4 item 1; media types compare case-insensitively (RFC 7515 §4.1.9).
    return isinstance(typ, str) and typ.lower() in ACCESS_TOKEN_TYPES


def _check_access_token_type(header: Mapping[str, Any]) -> None:
    if not _is_access_token_type(header):
        raise HeaderRejected(Reason.WRONG_TYPE, "typ must be at+jwt")


def _check_signature(jws: CompactJws, alg: str, key: VerificationKey) -> None:
    # The key's own check, built once per key (jwk.VerificationKey); malformed signatures are bad signatures.
    if not key.verify_signature(alg, jws.signing_input, jws.signature):
        raise SignatureInvalid()


def _required_date(payload: Mapping[str, Any], name: str) -> float:
    value = _numeric_date(payload, name)
    if value is None:
        raise ClaimInvalid(Reason.MISSING_CLAIM, f"{name} is required")
    return value


def _numeric_date(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    # bool is an int subclass in Python; true/false are not NumericDates (RFC 7519 §2).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimInvalid(Reason.INVALID_CLAIM, f"{name} must be a number")
    if not (math.isfinite(value) and 0 <= value <= MAX_NUMERIC_DATE):
        raise ClaimInvalid(Reason.INVALID_CLAIM, f"{name} out of range")
    return float(value)


def _audience(payload: Mapping[str, Any]) -> tuple[str, ...]:
    value = payload.get("aud")
    if value is None:
        raise ClaimInvalid(Reason.MISSING_CLAIM, "aud is required")
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ClaimInvalid(Reason.INVALID_CLAIM, "aud must be a string or a list of strings")


def _string_claim(payload: Mapping[str, Any], name: str, required: tuple[str, ...]) -> str:
    """A string claim; "" when absent and optional.  A required one must not be empty."""
    value = payload.get(name, "")
    if not isinstance(value, str) or (name in required and not value):
        raise ClaimInvalid(Reason.INVALID_CLAIM, "string claim has the wrong type")
    return value


def _scopes(payload: Mapping[str, Any], claim: str) -> frozenset[str]:
    value = payload.get(claim)
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if claim == "scp" and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise ClaimInvalid(Reason.INVALID_CLAIM, "scope has the wrong type")
