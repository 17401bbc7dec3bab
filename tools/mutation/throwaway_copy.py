"""A throwaway copy of the checkout to mutate: the checkout itself is never touched.

Other sessions run tests against the checkout while mutants run, so every mutant is applied to a copy
under the system's temporary directory, made from the working tree as it is (uncommitted edits
included), without virtual environments, git data or caches.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
LEFT_OUT = (
    ".git",
    ".venv*",
    ".hypothesis",
    ".*_cache",
    "__pycache__",
    ".local",
    ".aws-sam",
    "mutants",
    "htmlcov",
)


def copy_checkout(label: str) -> Path:
    """A fresh copy of the checkout in a new temporary directory; the caller removes it."""
    parent = Path(tempfile.mkdtemp(prefix=f"partnerauth-mutation-{label}-"))
    tree = parent / "tree"
    shutil.copytree(CHECKOUT, tree, ignore=shutil.ignore_patterns(*LEFT_OUT), symlinks=True)
    return tree


def remove(tree: Path) -> None:
    shutil.rmtree(tree.parent, ignore_errors=True)
