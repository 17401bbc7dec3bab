"""Instruction counts under ``valgrind --tool=callgrind``: a figure that a noisy machine does not move.

``instructions_per_call(setup, call)`` runs a new interpreter twice under callgrind, once making ``call``
``FEW`` times and once ``MANY`` times after the same ``setup``; the difference divided by
``MANY - FEW`` is the instructions of one call, with the interpreter's start, the imports and the setup
cancelled out.  Both runs see the same code and data, so the count repeats to within a fraction of a
percent from run to run, where CPU time on two shared cores moves by ten.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

FEW, MANY = 20, 120
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
SCRIPT = """
import os, sys
{setup}
def _call():
{call}
for _ in range(int(sys.argv[1])):
    _call()
"""


# Several calls after one setup: each is made FEW times in the base run, and MANY times (the others FEW) in
# a run of its own, so one base run serves every call (N + 1 runs for N calls instead of 2N).
PARTS_SCRIPT = """
import os, sys
{setup}
{functions}
_CALLS = [{names}]
for _call, _count in zip(_CALLS, sys.argv[1:], strict=True):
    for _ in range(int(_count)):
        _call()
"""


def available() -> bool:
    return shutil.which("valgrind") is not None


def skip_line() -> str:
    return "skip  instruction counts: valgrind is not installed (apt-get install valgrind)"


def _instructions(script: Path, calls: int | list[int], env: dict[str, str]) -> int:
    valgrind = shutil.which("valgrind")
    assert valgrind is not None
    result = subprocess.run(  # noqa: S603 - valgrind from PATH on our own script
        [
            valgrind,
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            str(script),
            *(str(count) for count in (calls if isinstance(calls, list) else [calls])),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    found = _COLLECTED.findall(result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"callgrind run failed: {result.stderr[-2000:]}")
    return int(found[-1])


def instructions_per_call(setup: str, call: str, env: dict[str, str] | None = None) -> float:
    """Instructions of one ``call`` (an indented block) after ``setup`` (top-level code)."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "callgrind_probe.py"
        script.write_text(SCRIPT.format(setup=setup, call=call))
        run_env = {**os.environ, **(env or {}), "PYTHONHASHSEED": "0"}
        few = _instructions(script, FEW, run_env)
        many = _instructions(script, MANY, run_env)
    return (many - few) / (MANY - FEW)


def instructions_per_part(
    setup: str, calls: Mapping[str, str], env: dict[str, str] | None = None
) -> dict[str, float]:
    """Instructions of one call of each of ``calls`` (name -> an indented block) after one ``setup``."""
    names = list(calls)
    functions = "\n".join(f"def _call_{index}():\n{calls[name]}" for index, name in enumerate(names))
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "callgrind_parts.py"
        script.write_text(
            PARTS_SCRIPT.format(
                setup=setup, functions=functions, names=", ".join(f"_call_{i}" for i in range(len(names)))
            )
        )
        run_env = {**os.environ, **(env or {}), "PYTHONHASHSEED": "0"}
        base = _instructions(script, [FEW] * len(names), run_env)
        counts = {}
        for index, name in enumerate(names):
            many = _instructions(script, [MANY if i == index else FEW for i in range(len(names))], run_env)
            counts[name] = (many - base) / (MANY - FEW)
    return counts
