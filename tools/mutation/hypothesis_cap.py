"""A pytest plugin for mutation runs only: caps every hypothesis test at ``MUTATION_MAX_EXAMPLES``.

mutmut runs a function's tests once per mutant of it; a property test of 600 examples, run for each of
a hundred mutants, is most of a group's time.  Most mutants fall to the first few examples, so the
cap (``python -m tools.mutation --max-examples N``; 0 = no cap) trades a little strength for time,
and a survivor is re-run with ``--max-examples 0`` before it is called equivalent.  ``make
test`` never loads this plugin.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

ENVIRONMENT = "MUTATION_MAX_EXAMPLES"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    cap = int(os.environ.get(ENVIRONMENT, "0") or 0)
    if cap <= 0:
        return
    for item in items:
        test = getattr(item, "obj", None)
        if getattr(test, "hypothesis", None) is None:
            continue
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(current, settings) and current.max_examples > cap:
            test._hypothesis_internal_use_settings = settings(current, max_examples=cap)  # type: ignore[union-attr]
