"""The one test clock: moved by hand, so claim ages, sessions, expiries and rate windows need no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """Epoch seconds that move only when a test (or code calling :meth:`sleep`) moves them.

    Call it for the time (it fits every ``clock: Callable[[], float]`` in the code), pass ``sleep`` where
    code would sleep (the time moves on and the pause is recorded in ``slept``), ``datetime`` where code
    wants an aware datetime."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)
