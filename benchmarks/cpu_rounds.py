"""How every benchmark measures: interleaved rounds of CPU time, summarised as median and spread.

A *contender* is a callable ``run(calls) -> cpu_seconds`` that makes ``calls`` calls and answers the CPU
time they took (``python_contender`` wraps a plain function with ``time.process_time``; the Node peer
answers its own ``process.cpuUsage``).  ``interleave`` runs one round of each contender in turn, ``rounds``
times, rotating who goes first, so a machine that speeds up or slows down (two shared cores, turbo, other
sessions) hits every contender alike.  CPU time, not wall time: time spent waiting for the core while
another process runs is not ours.

Ratios are taken round by round (the contenders of one round ran within milliseconds of each other) and
reported as the median of those per-round ratios, with the interquartile range as the spread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Contender = Callable[[int], float]


def python_contender(call: Callable[[], object]) -> Contender:
    """``calls`` calls of ``call``, timed in this process's CPU time."""

    def run(calls: int) -> float:
        started = time.process_time()
        for _ in range(calls):
            call()
        return time.process_time() - started

    return run


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and interquartile range of a sample."""

    median: float
    low: float  # first quartile
    high: float  # third quartile

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if len(values) < 4:
            return cls(statistics.median(values), min(values), max(values))
        low, _, high = statistics.quantiles(values, n=4, method="inclusive")
        return cls(statistics.median(values), low, high)

    @property
    def relative(self) -> float:
        """Half the interquartile range as a fraction of the median (0.02 = +/-2 %)."""
        return (self.high - self.low) / 2 / self.median if self.median else 0.0


@dataclass(frozen=True, slots=True)
class Rounds:
    """Per-call CPU seconds of each contender, one value per round."""

    per_call: Mapping[str, list[float]]

    def time(self, name: str) -> Spread:
        return Spread.of(self.per_call[name])

    def ratio(self, numerator: str, denominator: str) -> Spread:
        """``numerator``'s time over ``denominator``'s, round by round.  With a slower peer as the
        numerator and ours as the denominator, > 1.0 means we are faster."""
        pairs = zip(self.per_call[numerator], self.per_call[denominator], strict=True)
        return Spread.of([top / bottom for top, bottom in pairs])


def interleave(contenders: Mapping[str, Contender], *, calls: int, rounds: int, warmup: int = 1) -> Rounds:
    """``rounds`` rounds of ``calls`` calls per contender, interleaved, after ``warmup`` untimed rounds."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name](calls)
    per_call: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            per_call[name].append(contenders[name](calls) / calls)
    return Rounds(per_call)


def microseconds(spread: Spread) -> str:
    """``48.8 us +/-2%``."""
    return f"{spread.median * 1e6:8.1f} us \u00b1{spread.relative * 100:3.0f}%"


def ratio_text(spread: Spread) -> str:
    """``1.23x [1.20-1.25]``: median of the per-round ratios and their interquartile range."""
    return f"{spread.median:5.2f}x [{spread.low:.2f}-{spread.high:.2f}]"


def verdict(value: float, target: float, *, at_least: bool = True) -> str:
    met = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    return f"target {sign} {target:.2f}x: {'meets' if met else 'MISSES'}"
