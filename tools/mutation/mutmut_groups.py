"""mutmut over the security-critical modules (config.toml), one group at a time, in throwaway copies.

mutmut names a mutant after its module as seen from the copy's root, so the copy puts the packages it
mutates there (``partnerauth/`` from the layer, ``authorizer/`` from the function) and removes them
from their usual places: the tests can then import only the mutated copies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import hypothesis_cap
from .mutant_diff import MutantsModule, is_message_text
from .throwaway_copy import copy_checkout, remove

CONFIG_FILE = Path(__file__).with_name("config.toml")
# More groups, each with its own accepted survivors, one file per group (so each is owned on its own).
GROUP_FILES = Path(__file__).with_name("groups")
PACKAGES = {
    "partnerauth": "layers/partnerauth/partnerauth",
    "authorizer": "functions/authorizer/authorizer",
    "token_issuer": "functions/token_issuer/token_issuer",
}
ALSO_COPY = ("functions", "layers", "local", "events", "examples", "tools", "template.yaml")
DETECTED = frozenset({"killed", "timeout", "caught by type check"})
# Survivors that changed only the text of an exception's message (mutant_diff.is_message_text): what a
# rejection means is its type, its Reason and its fault, which tests check; the text is for people.
MESSAGE_TEXT = "the text of an exception's message: callers and tests see its type, Reason and fault"
_RESULT = re.compile(r"^\s*(\S+): (.+)$")


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    skip_by_default: str = ""  # why `make mutate` leaves this group out unless it is asked for by name


@dataclass(frozen=True)
class Accepted:
    """Survivors accepted for one reason: in ``module`` (and, when given, in ``function``), whose
    mutated lines are one of ``mutated`` (exactly; an entry ending in "*" is a prefix) and, when
    ``removed`` is given, whose removed lines are one of those (a mutant that only deletes a line has no
    mutated line: ``mutated = ""`` alone would accept every deletion in the function)."""

    module: str
    mutated: tuple[str, ...]
    reason: str
    function: str = ""
    removed: tuple[str, ...] = ()

    def matches(self, module: str, mutated: str, function: str = "", removed: str = "") -> bool:
        if module != self.module or (self.function and function != self.function):
            return False
        if self.removed and removed not in self.removed:
            return False
        return any(
            mutated.startswith(text[:-1]) if text.endswith("*") else mutated == text for text in self.mutated
        )


def function_of(mutant: str) -> str:
    """The mutated function's name: ``pkg.mod.xǁClassǁname__mutmut_3`` -> ``name``, ``x_name`` -> ``name``."""
    function = mutant.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    return function.rsplit("ǁ", 1)[-1] if "ǁ" in function else function.removeprefix("x_")


@dataclass(frozen=True)
class Survivor:
    name: str
    status: str
    diff: str
    mutated: str
    reason: str = ""  # the accepted reason, or "" when nobody accepted this survivor


@dataclass
class GroupResult:
    group: Group
    statuses: dict[str, str] = field(default_factory=dict)
    survivors: list[Survivor] = field(default_factory=list)
    log: str = ""

    @property
    def detected(self) -> int:
        return sum(status in DETECTED for status in self.statuses.values())


@dataclass(frozen=True)
class Config:
    skip_lines: tuple[str, ...]
    groups: tuple[Group, ...]
    accepted: tuple[Accepted, ...]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def load(path: Path = CONFIG_FILE, group_files: Path = GROUP_FILES) -> Config:
    """config.toml, then every ``groups/*.toml`` (by name): their groups and accepted survivors added."""
    config = _parse(tomllib.loads(path.read_text(encoding="utf-8")))
    for extra in sorted(group_files.glob("*.toml")) if group_files.is_dir() else ():
        more = _parse(tomllib.loads(extra.read_text(encoding="utf-8")))
        config = Config(config.skip_lines, config.groups + more.groups, config.accepted + more.accepted)
    return config


def _parse(document: dict[str, Any]) -> Config:
    return Config(
        skip_lines=tuple(document.get("skip_lines", ())),
        groups=tuple(
            Group(
                entry["name"],
                tuple(entry["modules"]),
                tuple(entry["tests"]),
                entry.get("skip_by_default", ""),
            )
            for entry in document.get("group", ())
        ),
        accepted=tuple(
            Accepted(
                entry["module"],
                tuple(text.strip() for text in _as_list(entry["mutated"])),
                entry["reason"],
                entry.get("function", ""),
                tuple(text.strip() for text in _as_list(entry.get("removed", []))),
            )
            for entry in document.get("accepted", ())
        ),
    )


def _setup_cfg(group: Group, skip_lines: tuple[str, ...]) -> str:
    def listing(values: tuple[str, ...] | list[str]) -> str:
        return "".join(f"\n    {value}" for value in values)

    return (
        "[mutmut]\n"
        f"source_paths ={listing(list(PACKAGES))}\n"
        f"only_mutate ={listing(group.modules)}\n"
        f"also_copy ={listing(ALSO_COPY)}\n"
        f"pytest_add_cli_args_test_selection ={listing(group.tests)}\n"
        f"do_not_mutate_patterns ={listing(skip_lines)}\n"
        f"pytest_add_cli_args ={listing(('-p', 'tools.mutation.hypothesis_cap'))}\n"
    )


def prepare(group: Group, skip_lines: tuple[str, ...]) -> Path:
    tree = copy_checkout(group.name)
    for package, usual_place in PACKAGES.items():
        (tree / usual_place).rename(tree / package)
    (tree / "setup.cfg").write_text(_setup_cfg(group, skip_lines), encoding="utf-8")
    return tree


def _mutmut(tree: Path, *arguments: str, max_examples: int = 0) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("mutmut")
    environment = {**os.environ, hypothesis_cap.ENVIRONMENT: str(max_examples)}
    return subprocess.run(  # noqa: S603 - the mutation venv's own mutmut, our own arguments
        [str(executable), *arguments], cwd=tree, capture_output=True, text=True, check=False, env=environment
    )


def mutated_lines(diff: str, sign: str = "+") -> str:
    """The lines a mutant added (``sign="+"``) or removed (``"-"``), trimmed, joined by " / "."""
    return " / ".join(
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith(sign) and not line.startswith(sign * 3)
    )


def run_group(
    group: Group, config: Config, *, max_children: int, keep: bool = False, max_examples: int = 0
) -> GroupResult:
    tree = prepare(group, config.skip_lines)
    result = GroupResult(group)
    try:
        run = _mutmut(tree, "run", "--max-children", str(max_children), max_examples=max_examples)
        result.log = run.stdout[-4000:] + run.stderr[-4000:]
        for line in _mutmut(tree, "results", "--all", "true").stdout.splitlines():
            match = _RESULT.match(line)
            if match and "__mutmut_" in match.group(1):
                result.statuses[match.group(1)] = match.group(2).strip()
        modules: dict[str, MutantsModule] = {}
        for name, status in sorted(result.statuses.items()):
            if status in DETECTED:
                continue
            module = name.split(".x")[0]
            if module not in modules:
                modules[module] = MutantsModule(tree / "mutants" / (module.replace(".", "/") + ".py"))
            diff = modules[module].diff(name)
            mutated = mutated_lines(diff)
            change = modules[module].change(name)
            if change is not None and is_message_text(change):
                reason = MESSAGE_TEXT
            else:
                function = function_of(name)
                removed = mutated_lines(diff, "-")
                reason = next(
                    (a.reason for a in config.accepted if a.matches(module, mutated, function, removed)), ""
                )
            result.survivors.append(Survivor(name, status, diff, mutated, reason))
    finally:
        if keep:
            print(f"  (kept {tree})", flush=True)
        else:
            remove(tree)
    return result


def summary(results: list[GroupResult]) -> dict[str, object]:
    return {
        "mutants": sum(len(r.statuses) for r in results),
        "detected": sum(r.detected for r in results),
        "survivors": [
            {"name": s.name, "status": s.status, "mutated": s.mutated, "accepted": s.reason}
            for r in results
            for s in r.survivors
        ],
    }


def dump(results: list[GroupResult], path: Path) -> None:
    path.write_text(json.dumps(summary(results), indent=2), encoding="utf-8")
