"""mutmut over the security-critical modules (config.toml), one group at a time, in throwaway copies.

mutmut names a mutant after its module as seen from the copy's root, so the copy puts the packages it
mutates there (``partnerauth/`` from the layer, ``authorizer/`` from the function) and removes them
from their usual places: the tests can then import only the mutated copies.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .throwaway_copy import copy_checkout, remove

CONFIG_FILE = Path(__file__).with_name("config.toml")
PACKAGES = {"partnerauth": "layers/partnerauth/partnerauth", "authorizer": "functions/authorizer/authorizer"}
ALSO_COPY = ("functions", "layers", "local", "events", "examples", "tools", "template.yaml")
DETECTED = frozenset({"killed", "timeout", "caught by type check"})
_RESULT = re.compile(r"^\s*(\S+): (.+)$")


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Accepted:
    module: str
    mutated: str
    reason: str

    def matches(self, module: str, mutated: str) -> bool:
        if module != self.module:
            return False
        if self.mutated.endswith("*"):
            return mutated.startswith(self.mutated[:-1])
        return mutated == self.mutated


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


def load(path: Path = CONFIG_FILE) -> Config:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    return Config(
        skip_lines=tuple(document.get("skip_lines", ())),
        groups=tuple(
            Group(entry["name"], tuple(entry["modules"]), tuple(entry["tests"]))
            for entry in document["group"]
        ),
        accepted=tuple(
            Accepted(entry["module"], entry["mutated"].strip(), entry["reason"])
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
    )


def prepare(group: Group, skip_lines: tuple[str, ...]) -> Path:
    tree = copy_checkout(group.name)
    for package, usual_place in PACKAGES.items():
        (tree / usual_place).rename(tree / package)
    (tree / "setup.cfg").write_text(_setup_cfg(group, skip_lines), encoding="utf-8")
    return tree


def _mutmut(tree: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("mutmut")
    return subprocess.run(  # noqa: S603 - the mutation venv's own mutmut, our own arguments
        [str(executable), *arguments], cwd=tree, capture_output=True, text=True, check=False
    )


def mutated_lines(diff: str) -> str:
    return " / ".join(
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    )


def run_group(group: Group, config: Config, *, max_children: int, keep: bool = False) -> GroupResult:
    tree = prepare(group, config.skip_lines)
    result = GroupResult(group)
    try:
        run = _mutmut(tree, "run", "--max-children", str(max_children))
        result.log = run.stdout[-4000:] + run.stderr[-4000:]
        for line in _mutmut(tree, "results", "--all", "true").stdout.splitlines():
            match = _RESULT.match(line)
            if match and "__mutmut_" in match.group(1):
                result.statuses[match.group(1)] = match.group(2).strip()
        for name, status in sorted(result.statuses.items()):
            if status in DETECTED:
                continue
            diff = _mutmut(tree, "show", name).stdout
            mutated = mutated_lines(diff)
            module = name.split(".x")[0]
            reason = next((a.reason for a in config.accepted if a.matches(module, mutated)), "")
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
