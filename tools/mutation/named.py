"""Hand-written mutants (named_mutants.toml), each applied alone to a throwaway copy, with its tests.

A mutant is KILLED when its tests fail (pytest exit 1), SURVIVED when they pass, STALE when its text
no longer occurs exactly once in the file (the code moved on: re-derive the mutant), and ERROR for any
other pytest exit (collection or usage errors: not a kill).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .throwaway_copy import CHECKOUT, copy_checkout, remove

MUTANTS_FILE = Path(__file__).with_name("named_mutants.toml")
_FAILED = re.compile(r"^FAILED (.+?)(?: - .*)?$", re.MULTILINE)


class Status(StrEnum):
    KILLED = "killed"
    SURVIVED = "survived"
    STALE = "stale"
    ERROR = "error"


@dataclass(frozen=True)
class NamedMutant:
    id: str
    file: str
    why: str
    tests: tuple[str, ...]
    edits: tuple[tuple[str, str], ...]
    expect: str = "kill"
    accepted: str = ""


@dataclass(frozen=True)
class Outcome:
    mutant: NamedMutant
    status: Status
    failed_test: str = ""

    @property
    def as_expected(self) -> bool:
        if self.mutant.expect == "survive":
            return self.status is Status.SURVIVED
        return self.status is Status.KILLED


def load(path: Path = MUTANTS_FILE) -> list[NamedMutant]:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        NamedMutant(
            id=entry["id"],
            file=entry["file"],
            why=entry["why"],
            tests=tuple(entry["tests"]),
            edits=tuple((find, replace) for find, replace in entry["edits"]),
            expect=entry.get("expect", "kill"),
            accepted=entry.get("accepted", ""),
        )
        for entry in document["mutant"]
    ]


def mutated_text(original: str, edits: tuple[tuple[str, str], ...]) -> str | None:
    """``original`` with every edit applied, or ``None`` when some ``find`` is not there exactly once."""
    text = original
    for find, replace in edits:
        if text.count(find) != 1:
            return None
        text = text.replace(find, replace)
    return text


def run_one(tree: Path, mutant: NamedMutant) -> Outcome:
    target = tree / mutant.file
    original = target.read_text(encoding="utf-8")
    text = mutated_text(original, mutant.edits)
    if text is None:
        return Outcome(mutant, Status.STALE)
    target.write_text(text, encoding="utf-8")
    try:
        result = subprocess.run(  # noqa: S603 - our own interpreter, our own arguments
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutant.tests],
            cwd=tree,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        target.write_text(original, encoding="utf-8")
    if result.returncode == 1:
        failed = _FAILED.search(result.stdout)
        return Outcome(mutant, Status.KILLED, failed.group(1) if failed else "")
    if result.returncode == 0:
        return Outcome(mutant, Status.SURVIVED)
    return Outcome(mutant, Status.ERROR, result.stdout[-2000:] + result.stderr[-2000:])


def run(only: set[str] | None = None) -> list[Outcome]:
    mutants = [m for m in load() if only is None or m.id in only]
    tree = copy_checkout("named")
    try:
        outcomes = []
        for mutant in mutants:
            outcome = run_one(tree, mutant)
            print(f"  {outcome.status.value:8} {mutant.id}  {outcome.failed_test}", flush=True)
            outcomes.append(outcome)
        return outcomes
    finally:
        remove(tree)
        _untouched()


def _untouched() -> None:
    """The checkout must be as it was: no file of it ever holds a mutant (checked, not assumed)."""
    for mutant in load():
        text = (CHECKOUT / mutant.file).read_text(encoding="utf-8")
        for find, replace in mutant.edits:
            if replace not in find and replace in text and find not in text:
                raise RuntimeError(f"{mutant.file} holds mutant {mutant.id}")
