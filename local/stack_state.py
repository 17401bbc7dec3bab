"""The files a running local stack leaves in ``LOCAL_STATE_DIR`` (``.local/``, git-ignored).

``demo-client.json``: what an integrator needs to call the stack (client id and secret of the
throwaway demo client, token and API URLs -- ``api_urls`` names every served API's base URL --, the
AWS endpoint).  ``stack.json``: what ``python -m local.invoke`` needs to run a function against the
running stack (endpoint, parameter values, physical ids) and every API's base URL (``api_urls``); it
holds no secret.  Both are written atomically, readable by the owner only, and removed when the
stack stops.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

DEMO_CLIENT_FILE: Final = "demo-client.json"
STACK_FILE: Final = "stack.json"


@dataclass(frozen=True, slots=True)
class StackState:
    base_url: str
    aws_endpoint_url: str
    template: str
    parameters: Mapping[str, str]
    refs: Mapping[str, str]
    function_log_level: str
    api_urls: Mapping[str, str] = field(default_factory=dict)  # every served API's base URL, by name
    # the partner plans as the admin CLI reads them (USAGE_PLANS: plan -> usage plan id; USAGE_KEY_NAMESPACE)
    usage_plans: Mapping[str, str] = field(default_factory=dict)
    usage_key_namespace: str = ""
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, Mapping) else v for k, v in asdict(self).items()}

    @classmethod
    def read(cls, state_dir: Path) -> StackState:
        """The running stack's state; ``FileNotFoundError`` when no stack has written one."""
        data = json.loads((state_dir / STACK_FILE).read_text(encoding="utf-8"))
        return cls(
            base_url=str(data["base_url"]),
            aws_endpoint_url=str(data["aws_endpoint_url"]),
            template=str(data["template"]),
            parameters={str(k): str(v) for k, v in data["parameters"].items()},
            refs={str(k): str(v) for k, v in data["refs"].items()},
            function_log_level=str(data["function_log_level"]),
            api_urls={str(k): str(v) for k, v in (data.get("api_urls") or {}).items()},
            usage_plans={str(k): str(v) for k, v in (data.get("usage_plans") or {}).items()},
            usage_key_namespace=str(data.get("usage_key_namespace") or ""),
            pid=int(data["pid"]),
        )


def read_demo_client(state_dir: Path) -> dict[str, Any]:
    """The running stack's ``demo-client.json``; ``FileNotFoundError`` when there is none."""
    document = json.loads((state_dir / DEMO_CLIENT_FILE).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not {"client_id", "client_secret", "token_url"} <= set(document):
        raise ValueError(f"{DEMO_CLIENT_FILE} lacks client_id, client_secret or token_url")
    return document


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically (a reader never sees half a file), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    partial.replace(path)


def remove(state_dir: Path, pid: int | None = None) -> None:
    """Remove the files, unless another stack (another ``pid``) has written them since."""
    try:
        if StackState.read(state_dir).pid != (os.getpid() if pid is None else pid):
            return
    except (OSError, ValueError, KeyError):
        pass
    for name in (DEMO_CLIENT_FILE, STACK_FILE):
        (state_dir / name).unlink(missing_ok=True)
