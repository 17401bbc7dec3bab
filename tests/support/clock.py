"""The injected clock every test uses: time moves only when a test moves it, nothing sleeps."""

from __future__ import annotations


class FakeClock:
    """Callable like ``time.time``/``time.monotonic``; ``now`` is set or advanced by hand."""

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
