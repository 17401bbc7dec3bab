"""The local stand-in for the rotation function's EventBridge schedule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from local.rotation_scheduler import RotationScheduler


def ticks(count: int, seen: list[float]) -> Callable[[float], bool]:
    """A wait that lets ``count`` intervals pass, then says stop (no real time passes)."""
    remaining = [count]

    def wait(seconds: float) -> bool:
        seen.append(seconds)
        remaining[0] -= 1
        return remaining[0] < 0

    return wait


def test_the_function_runs_once_per_interval() -> None:
    runs: list[int] = []
    waited: list[float] = []
    scheduler = RotationScheduler(lambda: runs.append(1), 60, print, wait=ticks(3, waited))
    scheduler.run_until_stopped()
    assert len(runs) == 3
    assert waited == [60, 60, 60, 60]


def test_a_failed_run_is_reported_and_the_schedule_goes_on() -> None:
    reported: list[BaseException] = []
    runs: list[int] = []

    def run() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("store unavailable")

    RotationScheduler(run, 1, reported.append, wait=ticks(2, [])).run_until_stopped()
    assert len(runs) == 2
    assert [str(e) for e in reported] == ["store unavailable"]


def test_stop_ends_a_waiting_schedule_at_once() -> None:
    runs: list[int] = []
    scheduler = RotationScheduler(lambda: runs.append(1), 3600, print)
    scheduler.start()
    scheduler.stop(timeout=10)
    assert runs == []


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RotationScheduler(lambda: None, 0, print)
