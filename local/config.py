"""The local stack's settings: environment variables with defaults that work on a fresh clone.

======================  =========  ==============================================================
variable                default    meaning
======================  =========  ==============================================================
``PORT``                3000       port of the template's REST APIs on 127.0.0.1 (0: any free port)
``AWS_PORT``            PORT + 1   port of the local AWS endpoint (moto) on 127.0.0.1 (0: any free;
                                   any free port too when ``PORT`` is 0)
``EXTRA_API_PORT``      PORT + 2   first port of the other APIs (the template's HTTP APIs, then the
                                   example stacks' APIs), one port each, consecutive (0: any free)
``ROTATION_INTERVAL``   60         seconds between runs of the rotation function's schedule (0: off)
``PARAMETER_OVERRIDES`` (none)     ``Name=Value Name='a value'``: template parameters, as ``sam deploy``
``FUNCTION_LOG_LEVEL``  WARNING    ``POWERTOOLS_LOG_LEVEL`` of every function (the template says INFO)
``LOCAL_STATE_DIR``     ``.local`` where ``demo-client.json`` and ``stack.json`` are written
======================  =========  ==============================================================

Local parameter values (:data:`LOCAL_PARAMETERS`) shorten the key and token timings so that a
developer sees keys published, activated and retired within minutes; they keep every relation the
rotation function checks (``RotationSchedule.validate``: publish lead >= JWKS max-age + its
stale-if-error + authorizer cache TTL; grace >= max token lifetime + issuer key cache + authorizer
cache TTL + leeway; period > publish lead).  The authorizer cache TTL and the leeway stay as the
template says.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
LOOPBACK: Final = "127.0.0.1"
STACK_NAME: Final = "partnerauth-local"
REGION: Final = "us-east-1"
ACCOUNT_ID: Final = "123456789012"

# Template parameter values for the local stack (seconds).  IssuerUrl is added at start: it is
# http://127.0.0.1:<port>, which the functions accept for loopback only.
LOCAL_PARAMETERS: Final[Mapping[str, str]] = {
    "TokenLifetime": "300",
    "MaxTokenLifetime": "300",
    "JwksMaxAge": "60",
    "RotationPeriod": "900",  # a new key signs every 15 minutes (> PublishLead)
    "PublishLead": "720",  # >= JwksMaxAge 60 + stale-if-error (6 x 60) + AuthorizerCacheTtl 300
    "Grace": "720",  # >= MaxTokenLifetime 300 + issuer key cache 60 + AuthorizerCacheTtl 300 + Leeway 60
    "DeletionProtection": "false",
}
LOG_LEVELS: Final = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class ConfigError(ValueError):
    """A setting that cannot work; the message names the variable."""


class PortInUseError(ConfigError):
    """A port the stack needs is taken: which one, and which variable chooses it."""

    def __init__(self, port: int, variable: str) -> None:
        super().__init__(
            f"port {port} is in use ({variable}): stop what holds it or choose another, "
            f"e.g. `make dev {variable}={_suggested(port)}`"
        )
        self.port = port
        self.variable = variable


def _suggested(port: int) -> int:
    return port + 100 if 0 < port <= 65435 else 0


@dataclass(frozen=True, slots=True)
class LocalConfig:
    port: int = 3000
    aws_port: int = 3001
    extra_api_port: int | None = None  # None: PORT + 2, or any free port when PORT is 0
    rotation_interval: float = 60.0
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    function_log_level: str = "WARNING"
    state_dir: Path = REPO_ROOT / ".local"
    template_path: Path = REPO_ROOT / "template.yaml"
    examples_dir: Path | None = REPO_ROOT / "examples"  # every examples/*/template.yaml is served too

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> LocalConfig:
        env = os.environ if environ is None else environ
        level = env.get("FUNCTION_LOG_LEVEL", "WARNING").strip().upper()
        if level not in LOG_LEVELS:
            raise ConfigError(f"FUNCTION_LOG_LEVEL must be one of {', '.join(sorted(LOG_LEVELS))}")
        state_dir = Path(env.get("LOCAL_STATE_DIR") or REPO_ROOT / ".local")
        port = _port(env, "PORT", 3000)
        return cls(
            port=port,
            aws_port=_port(env, "AWS_PORT", port + 1 if 0 < port < 65535 else 0),
            extra_api_port=_port(env, "EXTRA_API_PORT", port + 2 if 0 < port < 65534 else 0),
            rotation_interval=_seconds(env, "ROTATION_INTERVAL", 60.0),
            parameter_overrides=parse_parameter_overrides(env.get("PARAMETER_OVERRIDES", "")),
            function_log_level=level,
            state_dir=state_dir if state_dir.is_absolute() else REPO_ROOT / state_dir,
        )

    def example_templates(self) -> list[Path]:
        """The example stacks' templates, in a stable order."""
        if self.examples_dir is None or not self.examples_dir.is_dir():
            return []
        return sorted(self.examples_dir.glob("*/template.yaml"))

    def extra_port(self, index: int) -> int:
        """The port of the ``index``-th API beyond the template's REST APIs (0: any free)."""
        first = self.extra_api_port
        if first is None:
            first = self.port + 2 if 0 < self.port < 65534 else 0
        return first + index if first else 0

    def parameters(self, issuer_url: str) -> dict[str, str]:
        """The template parameter values of the local stack (overrides win over local defaults)."""
        return {**LOCAL_PARAMETERS, "IssuerUrl": issuer_url, **self.parameter_overrides}


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """``"A=1 B='two words'"`` -> ``{"A": "1", "B": "two words"}``: the ``sam deploy --parameter-overrides``
    shape, with shell quoting (single or double quotes, backslash escapes) for values holding spaces,
    such as JSON: ``ExternalIssuers='[{"issuer": "https://idp.example"}]'``."""
    try:
        pairs = shlex.split(text)
    except ValueError as error:  # an unbalanced quote
        raise ConfigError(
            f"PARAMETER_OVERRIDES: {error} (quote a value with spaces as a whole: Name='a value')"
        ) from None
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.isidentifier():
            raise ConfigError(
                f"PARAMETER_OVERRIDES must be Name=Value pairs separated by spaces, not {pair[:40]!r} "
                "(quote a value with spaces: Name='a value')"
            )
        overrides[name] = value
    return overrides


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"{name} must be a port number (0-65535)")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds") from None
    if not 0 <= value <= 86400 or value != value:  # noqa: PLR0124 - NaN check
        raise ConfigError(f"{name} must be between 0 and 86400 seconds")
    return value
