"""API profiles: which audience and route map an API behind the authorizer uses, and where they live.

One authorizer function serves many APIs (docs/authorizer.md, "Attaching another API").  Each API
names its profile with the stage variable ``partnerauthApi`` (REQUEST and HTTP API events carry
``stageVariables``); an API without it, and every TOKEN event, uses the ``default`` profile.

A profile is ``(name, audience, route map)``.  Profiles come from two places:

* the authorizer's environment: ``default`` (``AUDIENCE`` + ``ROUTE_SCOPES``) and ``API_PROFILES``
  for the stack's own small APIs - fixed at deploy;
* the API registry, a DynamoDB table written by the admin CLI (``apis put``) - so another team adds
  or changes its API's map without redeploying this stack, and a map may be far larger than the
  4 KB Lambda allows for all environment variables together.

Registry items (low-level DynamoDB JSON; :func:`profile_item` writes them, :func:`profile_from_item`
reads them - the one codec)::

    name S | audience S | routes S (the ROUTE_SCOPES JSON text) | version N | updated_at N | updated_by S

:class:`ApiProfileCache` keeps what the registry said, per name, the way the JWKS cache keeps keys:
fresh for ``max_age``; a failed or malformed read keeps serving the last good copy for ``stale_for``
and is not retried for ``cooldown``; "no such profile" is remembered for ``max_age`` too.  The
authorizer's warm path therefore makes no network call per request.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple, Protocol

from .errors import ConfigurationError, PartnerAuthError
from .route_policy import RoutePolicy

DEFAULT_PROFILE: Final = "default"
STAGE_VARIABLE: Final = "partnerauthApi"
PROFILE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_AUDIENCE: Final = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII, no spaces (as client audiences)
MAX_ROUTES_BYTES: Final = 350_000  # well under DynamoDB's 400 KB item limit
DEFAULT_MAX_AGE: Final = 60
DEFAULT_COOLDOWN: Final = 10
DEFAULT_STALE_FOR: Final = 3600
MAX_PROFILES_CACHED: Final = 256


class ProfileUnavailable(PartnerAuthError):
    """The registry could not be read and no usable copy of the profile is cached."""


class ApiProfile(NamedTuple):
    name: str
    audience: str
    routes: RoutePolicy
    version: int = 0


def check_name(name: object) -> str:
    if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name):
        raise ConfigurationError(
            "API profile names are 1-64 characters of a-z, 0-9 and '-', starting alphanumeric"
        )
    return name


def parse_profile(name: object, audience: object, routes: object, version: int = 0) -> ApiProfile:
    """A validated profile; ``routes`` is the ROUTE_SCOPES JSON text or an already-decoded object."""
    checked = check_name(name)
    if not isinstance(audience, str) or not _AUDIENCE.fullmatch(audience):
        raise ConfigurationError(f"API profile {checked!r}: audience must be printable ASCII without spaces")
    if isinstance(routes, str):
        if len(routes.encode("utf-8")) > MAX_ROUTES_BYTES:
            raise ConfigurationError(
                f"API profile {checked!r}: the route map exceeds {MAX_ROUTES_BYTES} bytes"
            )
        policy = RoutePolicy.from_json(routes)
    elif isinstance(routes, Mapping):
        policy = RoutePolicy.from_mapping(routes)
    else:
        raise ConfigurationError(f"API profile {checked!r}: routes must be a route map object")
    return ApiProfile(checked, audience, policy, version)


def profiles_from_json(text: str) -> dict[str, ApiProfile]:
    """The ``API_PROFILES`` environment variable: ``{"name": {"audience": "...", "routes": {...}}}``."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigurationError("API_PROFILES is not valid JSON") from None
    if not isinstance(document, dict):
        raise ConfigurationError('API_PROFILES must be {"name": {"audience": ..., "routes": {...}}}')
    profiles: dict[str, ApiProfile] = {}
    for name, entry in document.items():
        if not isinstance(entry, dict) or set(entry) != {"audience", "routes"}:
            raise ConfigurationError(f"API_PROFILES: {name!r} must have exactly 'audience' and 'routes'")
        if name == DEFAULT_PROFILE:
            raise ConfigurationError("API_PROFILES: 'default' comes from AUDIENCE and ROUTE_SCOPES")
        profiles[name] = parse_profile(name, entry["audience"], entry["routes"])
    return profiles


def profile_item(
    name: str, audience: str, routes_text: str, *, version: int, updated_at: int, updated_by: str
) -> dict[str, dict[str, str]]:
    """The registry item for a profile (validated first, so nothing unreadable is ever written)."""
    parse_profile(name, audience, routes_text, version)
    return {
        "name": {"S": name},
        "audience": {"S": audience},
        "routes": {"S": routes_text},
        "version": {"N": str(version)},
        "updated_at": {"N": str(updated_at)},
        "updated_by": {"S": updated_by},
    }


def profile_from_item(item: Mapping[str, Any]) -> ApiProfile:
    """Read a registry item; anything malformed is a ConfigurationError (never a crash)."""

    def attribute(key: str, kind: str) -> str:
        value = item.get(key)
        if not isinstance(value, Mapping) or not isinstance(value.get(kind), str):
            raise ConfigurationError(f"API registry item: {key} must be of type {kind}")
        text: str = value[kind]
        return text

    version_text = attribute("version", "N")
    if not version_text.isdigit():
        raise ConfigurationError("API registry item: version must be a whole number")
    return parse_profile(
        attribute("name", "S"), attribute("audience", "S"), attribute("routes", "S"), int(version_text)
    )


class ProfileSource(Protocol):
    """Reads one registry item (low-level DynamoDB JSON) or ``None``; raises when it cannot tell."""

    def __call__(self, name: str) -> Mapping[str, Any] | None: ...


class _Entry:
    __slots__ = ("failed_at", "fetched_at", "profile")

    def __init__(self, profile: ApiProfile | None, fetched_at: float) -> None:
        self.profile = profile
        self.fetched_at = fetched_at
        self.failed_at: float | None = None


class ApiProfileCache:
    """Registry profiles by name, with max age, cooldown after a failure and stale-if-error."""

    def __init__(
        self,
        source: ProfileSource,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        cooldown: float = DEFAULT_COOLDOWN,
        stale_for: float = DEFAULT_STALE_FOR,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_PROFILES_CACHED,
    ) -> None:
        self._source = source
        self._max_age = max_age
        self._cooldown = cooldown
        self._stale_for = stale_for
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def get(self, name: str) -> ApiProfile | None:
        """The profile called ``name``; ``None`` when the registry has none; ProfileUnavailable when
        the registry cannot be read and no copy is fresh enough to use."""
        now = self._clock()
        entry = self._entries.get(name)
        if entry is not None and now - entry.fetched_at < self._max_age:
            return entry.profile
        if entry is not None and entry.failed_at is not None and now - entry.failed_at < self._cooldown:
            return self._stale(entry, now)
        try:
            item = self._source(name)
            profile = None if item is None else profile_from_item(item)
            if profile is not None and profile.name != name:
                raise ConfigurationError("API registry item: name does not match its key")
        except Exception:  # noqa: BLE001 - a failed or malformed read keeps the last good copy
            if entry is None:
                entry = self._remember(name, _Entry(None, float("-inf")))
            entry.failed_at = now
            return self._stale(entry, now)
        self._remember(name, _Entry(profile, now))
        return profile

    def _stale(self, entry: _Entry, now: float) -> ApiProfile | None:
        if now - entry.fetched_at < self._max_age + self._stale_for:
            return entry.profile
        raise ProfileUnavailable("API registry unavailable")

    def _remember(self, name: str, entry: _Entry) -> _Entry:
        if name not in self._entries and len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[name] = entry
        return entry


class ApiProfiles:
    """Every profile the authorizer can answer for: fixed ones first, then the registry (if any)."""

    def __init__(self, fixed: Mapping[str, ApiProfile], registry: ApiProfileCache | None = None) -> None:
        if DEFAULT_PROFILE not in fixed:
            raise ConfigurationError("the default API profile is required")
        self._fixed = dict(fixed)
        self._registry = registry

    @property
    def default(self) -> ApiProfile:
        return self._fixed[DEFAULT_PROFILE]

    def get(self, name: str) -> ApiProfile | None:
        """The profile called ``name``; ``None`` if there is none; ProfileUnavailable (registry down)."""
        profile = self._fixed.get(name)
        if profile is not None or self._registry is None or not PROFILE_NAME.fullmatch(name):
            return profile
        return self._registry.get(name)
