"""The rotation function's schedule, run locally: every ``interval`` seconds on a daemon thread.

In AWS an EventBridge schedule (the template's ``ScheduleV2`` event, ``rate(1 hour)``) sends the
event's ``Input`` to the function; locally the same input is sent every ``ROTATION_INTERVAL``
seconds so developers can watch keys move.  A failing run is reported and the next one happens on
time, as a scheduler's retry would.  :meth:`stop` wakes the thread at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class RotationScheduler:
    """``wait(seconds)`` returns True when the schedule should end (tests pass their own)."""

    def __init__(
        self,
        run: Callable[[], None],
        interval: float,
        report: Callable[[BaseException], None],
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self._run = run
        self._interval = interval
        self._report = report
        self._stopped = threading.Event()
        self._wait = wait or self._stopped.wait
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_until_stopped, name="rotation-schedule", daemon=True)
        self._thread.start()

    def run_until_stopped(self) -> None:
        """The schedule, in the calling thread: one run after every interval, until ``wait`` says stop."""
        while not self._wait(self._interval):
            try:
                self._run()
            except Exception as error:  # noqa: BLE001 - one failed run must not end the schedule
                self._report(error)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)
