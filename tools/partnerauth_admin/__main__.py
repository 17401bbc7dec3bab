"""``python -m tools.partnerauth_admin``: puts the repository's layer on the path, then runs the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

_LAYER = Path(__file__).resolve().parents[2] / "layers" / "partnerauth"
if _LAYER.is_dir() and str(_LAYER) not in sys.path:
    sys.path.insert(0, str(_LAYER))

try:
    from tools.partnerauth_admin.cli import main  # after the layer is on the path
except ModuleNotFoundError as missing:  # e.g. a system python without boto3: one line, no traceback
    sys.stderr.write(
        f"error: {sys.executable} lacks the module {missing.name!r}: run the CLI with the project's venv, "
        "`.venv/bin/python -m tools.partnerauth_admin ...` or `make admin ARGS='...'` (both build .venv)\n"
    )
    raise SystemExit(2) from None

raise SystemExit(main())
