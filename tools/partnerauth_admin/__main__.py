"""``python -m tools.partnerauth_admin``: puts the repository's layer on the path, then runs the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

_LAYER = Path(__file__).resolve().parents[2] / "layers" / "partnerauth"
if _LAYER.is_dir() and str(_LAYER) not in sys.path:
    sys.path.insert(0, str(_LAYER))

from tools.partnerauth_admin.cli import main  # noqa: E402 - needs the layer on the path first

raise SystemExit(main())
