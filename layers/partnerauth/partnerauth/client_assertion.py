"""JWT client assertions (``private_key_jwt``): reading and checking one, with no I/O.

RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID Connect Core §9, and the update of their audience rules
(draft-ietf-oauth-rfc7523bis, in the RFC Editor queue; FAPI 2.0 §5.3.2.1 says the same).  The pipeline:

1. :func:`read_client_assertion`: the verifier's strict compact parsing
   (:func:`partnerauth.compact.parse_compact`), then the header and the shape of every claim;
2. :meth:`AssertionRules.check`: audience and time, against our issuer and clock;
3. :func:`verify_assertion_signature`: against the client's registered keys (selected elsewhere).

Rules (each failure is one :class:`AssertionFailure`, for logs only: the caller always gets
``invalid_client``, RFC 7521 §4.2.1 / RFC 6749 §5.2):

* ``alg``: the verifier's asymmetric allow-list only (:data:`partnerauth.algorithms.ALGORITHMS`: no ``none``,
  no HMAC, RFC 8725 §3.1-3.2); bound to the key's type when the signature is checked;
* ``jwk``, ``jku``, ``x5u``, ``x5c`` headers are refused outright: keys come from the registration alone
  (RFC 8725 §3.10); so are ``crit``, ``b64`` and ``zip`` (RFC 7515 §4.1.11, RFC 7797);
* ``typ``: absent, ``JWT`` or ``client-authentication+jwt`` (rfc7523bis explicit typing); any other explicit
  type is another kind of JWT and refused (RFC 8725 §3.11);
* ``iss`` = ``sub`` = the client id (RFC 7523 §3 items 1-2);
* ``aud``: our issuer identifier as the *sole* value, a string or a one-member array (rfc7523bis; RFC 7523 §3
  item 3 compares by simple string comparison).  The token endpoint URL is refused on purpose: a client that
  addresses assertions to token endpoint URLs can be tricked by a malicious authorization server into
  signing one for ours (CVE-2025-27370/27371, "audience injection");
* ``exp`` required (§3 item 4); ``nbf`` and ``iat`` honoured with the verifier's leeway (RFC 7519 §4.1.4-6);
* freshness: an assertion is usable for at most ``max_age`` seconds (default 300) after its ``iat``,
  whatever its ``exp`` says, and ``exp`` may be at most ``max_span`` (an hour) after ``iat``; without
  ``iat``, ``exp`` itself must be at most ``max_age`` ahead.  (authlib's ``PrivateKeyJWT`` signs
  ``exp = iat + 3600``: accepted, and usable for five minutes);
* ``jti`` required (§3 item 7); single use is :mod:`partnerauth.assertion_replay`'s business, for exactly
  :meth:`AssertionRules.check`'s answer: the time after which the assertion is refused anyway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from jwt import get_algorithm_by_name
from jwt.algorithms import Algorithm as JwsAlgorithm

from .algorithms import ALGORITHMS
from .compact import CompactJws, parse_compact
from .errors import MalformedToken, PartnerAuthError
from .jwk import MAX_KID_LENGTH, VerificationKey
from .verification import DEFAULT_LEEWAY, MAX_LEEWAY, MAX_NUMERIC_DATE

JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
MAX_ASSERTION_BYTES: Final = 8192
DEFAULT_MAX_AGE: Final = 300
MAX_SPAN: Final = 3600
MAX_JTI_LENGTH: Final = 256
ACCEPTED_TYPES: Final = frozenset(
    {"jwt", "client-authentication+jwt", "application/client-authentication+jwt"}
)
REFUSED_HEADERS: Final = frozenset({"jwk", "jku", "x5u", "x5c", "crit", "b64", "zip"})
_CLIENT_ID_CHARS = range(0x21, 0x7F)
_JWS: dict[str, JwsAlgorithm] = {name: get_algorithm_by_name(name) for name in ALGORITHMS}


class AssertionFailure(StrEnum):
    """Why an assertion was refused: for the operator's logs and metrics, never for the caller."""

    MALFORMED = "assertion_malformed"
    ALGORITHM = "assertion_algorithm"
    HEADER = "assertion_header"
    TYPE = "assertion_type"
    ISSUER = "assertion_iss_sub"
    AUDIENCE = "assertion_audience"
    CLAIM = "assertion_claim"
    EXPIRED = "assertion_expired"
    NOT_YET_VALID = "assertion_not_yet_valid"
    TOO_LONG = "assertion_lifetime"
    STALE = "assertion_stale"
    UNKNOWN_CLIENT = "unknown_client"
    DISABLED_CLIENT = "disabled_client"
    NO_KEYS = "no_registered_keys"
    UNKNOWN_KEY = "assertion_unknown_key"
    KEYS_UNAVAILABLE = "client_keys_unavailable"
    BAD_SIGNATURE = "assertion_signature"
    REPLAYED = "assertion_replayed"


class AssertionRejected(PartnerAuthError):
    """The one failure of client-assertion authentication; ``reason`` is for logs only."""

    def __init__(self, reason: AssertionFailure) -> None:
        self.reason = reason
        super().__init__("client authentication failed")


@dataclass(frozen=True, slots=True)
class ClientAssertion:
    """A structurally valid assertion whose signature has not been checked yet."""

    client_id: str  # iss = sub
    jti: str
    alg: str
    kid: str | None
    audience: tuple[str, ...]
    expires_at: float
    issued_at: float | None
    not_before: float | None
    jws: CompactJws = field(repr=False)


def read_client_assertion(token: object) -> ClientAssertion:
    """Parse ``token`` and check its header and the shape of its claims (no clock, no keys)."""
    try:
        jws = parse_compact(token, MAX_ASSERTION_BYTES)
    except MalformedToken:
        raise AssertionRejected(AssertionFailure.MALFORMED) from None
    alg, kid = _header(jws.header)
    claims = jws.payload
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not _is_client_id(issuer) or subject != issuer:  # RFC 7523 §3 items 1-2
        raise AssertionRejected(AssertionFailure.ISSUER)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:  # RFC 7523 §3 item 7
        raise AssertionRejected(AssertionFailure.CLAIM)
    expires_at = _date(claims, "exp")
    if expires_at is None:  # RFC 7523 §3 item 4
        raise AssertionRejected(AssertionFailure.CLAIM)
    return ClientAssertion(
        client_id=str(issuer),
        jti=jti,
        alg=alg,
        kid=kid,
        audience=_audience(claims.get("aud")),
        expires_at=expires_at,
        issued_at=_date(claims, "iat"),
        not_before=_date(claims, "nbf"),
        jws=jws,
    )


@dataclass(frozen=True, slots=True)
class AssertionRules:
    """Audience and time rules; ``max_age`` is configurable (``CLIENT_ASSERTION_MAX_AGE``)."""

    max_age: int = DEFAULT_MAX_AGE
    leeway: int = DEFAULT_LEEWAY
    max_span: int = MAX_SPAN

    def __post_init__(self) -> None:
        if not 0 < self.max_age <= self.max_span:
            raise ValueError("the client assertion max age must be positive and at most an hour")
        if not 0 <= self.leeway <= MAX_LEEWAY:
            raise ValueError("leeway must be between 0 and 300 seconds")

    def check(self, assertion: ClientAssertion, issuer: str, now: float) -> int:
        """Audience and time checks; the answer is the epoch second after which the assertion would be
        refused anyway (how long its ``jti`` must be remembered)."""
        if assertion.audience != (issuer,):  # rfc7523bis: the issuer identifier as the sole value
            raise AssertionRejected(AssertionFailure.AUDIENCE)
        leeway = self.leeway
        if now - leeway >= assertion.expires_at:  # RFC 7519 §4.1.4
            raise AssertionRejected(AssertionFailure.EXPIRED)
        if assertion.not_before is not None and now + leeway < assertion.not_before:  # RFC 7519 §4.1.5
            raise AssertionRejected(AssertionFailure.NOT_YET_VALID)
        issued_at = assertion.issued_at
        if issued_at is None:
            if assertion.expires_at > now + self.max_age + leeway:
                raise AssertionRejected(AssertionFailure.TOO_LONG)
            usable_until = assertion.expires_at
        else:
            if now + leeway < issued_at:  # issued in the future
                raise AssertionRejected(AssertionFailure.NOT_YET_VALID)
            if assertion.expires_at - issued_at > self.max_span:
                raise AssertionRejected(AssertionFailure.TOO_LONG)
            if now - leeway >= issued_at + self.max_age:
                raise AssertionRejected(AssertionFailure.STALE)
            usable_until = min(assertion.expires_at, issued_at + self.max_age)
        return math.ceil(usable_until) + leeway + 1


def verify_assertion_signature(
    assertion: ClientAssertion, candidates: Iterable[VerificationKey]
) -> VerificationKey:
    """The registered key that signed ``assertion``.  Keys whose type does not fit ``alg`` are never tried
    (RFC 8725 §3.1); :class:`AssertionRejected` when none verifies."""
    jws = assertion.jws
    algorithm = _JWS[assertion.alg]
    for key in candidates:
        if not key.accepts(assertion.alg):
            continue
        try:
            valid = algorithm.verify(jws.signing_input, key.key, jws.signature)
        except Exception:  # noqa: BLE001 - a malformed signature (bad ECDSA length) is a bad signature
            valid = False
        if valid:
            return key
    raise AssertionRejected(AssertionFailure.BAD_SIGNATURE)


def _header(header: Mapping[str, Any]) -> tuple[str, str | None]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:  # RFC 8725 §3.1-3.2
        raise AssertionRejected(AssertionFailure.ALGORITHM)
    if REFUSED_HEADERS.intersection(header):  # RFC 8725 §3.10; RFC 7515 §4.1.11
        raise AssertionRejected(AssertionFailure.HEADER)
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES):
        raise AssertionRejected(AssertionFailure.TYPE)  # RFC 8725 §3.11
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH):
        raise AssertionRejected(AssertionFailure.HEADER)
    return alg, kid


def _is_client_id(value: object) -> bool:
    # RFC 6749 Appendix A.1 (VSCHAR), without space: the registry's rule for client ids.
    return isinstance(value, str) and 0 < len(value) <= 128 and all(ord(c) in _CLIENT_ID_CHARS for c in value)


def _audience(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise AssertionRejected(AssertionFailure.AUDIENCE)


def _date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int in Python; true/false are not NumericDates (RFC 7519 §2).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssertionRejected(AssertionFailure.CLAIM)
    if not (math.isfinite(value) and 0 <= value <= MAX_NUMERIC_DATE):
        raise AssertionRejected(AssertionFailure.CLAIM)
    return float(value)
