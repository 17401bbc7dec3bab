"""``make mutate``: the hand-written mutants of issue 20, then mutmut over the security-critical modules.

    python -m tools.mutation                   # everything (named mutants, every mutmut group)
    python -m tools.mutation --named           # the hand-written mutants only (about a minute)
    python -m tools.mutation --group routes    # one mutmut group of tools/mutation/config.toml

Prints mutants run, killed and every survivor with its reason (accepted ones) or its diff (the others),
and exits 1 when a named mutant did not end as expected or a mutmut survivor is not accepted.  Nothing
is ever written to the checkout: each run mutates its own throwaway copy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import mutmut_groups, named

# Property tests run once per mutant of the functions they call: capped (tools/mutation/hypothesis_cap.py).
DEFAULT_MAX_EXAMPLES = 30


def _named() -> bool:
    print("Hand-written mutants (tools/mutation/named_mutants.toml):", flush=True)
    outcomes = named.run()
    unexpected = [o for o in outcomes if not o.as_expected]
    killed = sum(o.status is named.Status.KILLED for o in outcomes)
    print(f"  {len(outcomes)} run, {killed} killed, {len(outcomes) - killed} not killed")
    for outcome in outcomes:
        if outcome.mutant.expect == "survive" and outcome.as_expected:
            print(f"  accepted survivor {outcome.mutant.id}: {outcome.mutant.accepted}")
    for outcome in unexpected:
        print(f"  UNEXPECTED {outcome.status.value}: {outcome.mutant.id} ({outcome.mutant.why})")
        if outcome.status is named.Status.ERROR:
            print(outcome.failed_test)
    return not unexpected


def _mutmut(
    groups: list[str] | None, max_children: int, keep: bool, report: Path | None, max_examples: int
) -> bool:
    config = mutmut_groups.load()
    results = []
    for group in config.groups:
        if groups and group.name not in groups:
            continue
        if not groups and group.skip_by_default:
            reason = group.skip_by_default
            print(f"mutmut, group {group.name}: left out ({reason}); --group {group.name} runs it")
            continue
        started = time.monotonic()
        print(f"mutmut, group {group.name}: {', '.join(group.modules)}", flush=True)
        result = mutmut_groups.run_group(
            group, config, max_children=max_children, keep=keep, max_examples=max_examples
        )
        if not result.statuses:
            print(result.log)
            raise SystemExit(f"mutmut ran no mutant in group {group.name}")
        accepted = [s for s in result.survivors if s.reason]
        print(
            f"  {len(result.statuses)} mutants, {result.detected} killed, {len(accepted)} accepted "
            f"survivors, {len(result.survivors) - len(accepted)} others ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        results.append(result)
    mutants = sum(len(r.statuses) for r in results)
    detected = sum(r.detected for r in results)
    survivors = [s for r in results for s in r.survivors]
    unaccepted = [s for s in survivors if not s.reason]
    print(f"\nmutmut: {mutants} mutants, {detected} killed, {len(survivors)} survived")
    if mutants:
        print(f"score: {100 * detected / mutants:.1f}% killed")
    for survivor in survivors:
        if survivor.reason:
            print(f"  accepted {survivor.name} [{survivor.mutated}]: {survivor.reason}")
    for survivor in unaccepted:
        print(f"\n  SURVIVOR {survivor.name} ({survivor.status})\n{survivor.diff}")
    if report is not None:
        mutmut_groups.dump(results, report)
    return not unaccepted


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__)
    parser.add_argument("--named", action="store_true", help="the hand-written mutants only")
    parser.add_argument("--group", action="append", help="mutmut group(s) of config.toml (default: all)")
    parser.add_argument("--no-named", action="store_true", help="skip the hand-written mutants")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutmut workers (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway copies (to inspect them)")
    parser.add_argument("--report", type=Path, help="also write the mutmut results as JSON here")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"cap on each hypothesis test's examples per mutant (default {DEFAULT_MAX_EXAMPLES}; 0 = none)",
    )
    arguments = parser.parse_args()
    ok = True
    if not arguments.no_named and not arguments.group:
        ok = _named() and ok
    if not arguments.named:
        options = (arguments.max_children, arguments.keep, arguments.report, arguments.max_examples)
        ok = _mutmut(arguments.group, *options) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
