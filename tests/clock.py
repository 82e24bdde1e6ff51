"""The one test clock: moved by hand, so claim ages, sessions, expiries and rate windows need no sleeping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


class SharedClock(Clock):
    """The same hand-moved clock for code running on several threads (workers as the local stack runs them).

    Threads that take part enter :meth:`joined`. Time moves only when every joined thread is asleep on the
    clock, and then straight to the earliest wake-up: work takes no time, a wait takes exactly what it
    asked, and no thread's sleep is lost or added to another's. Threads that never sleep on it (HTTP
    servers) just read it."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        super().__init__(now)
        self._changed = threading.Condition()
        self._joined = 0
        self._wakes: list[float] = []

    @contextmanager
    def joined(self) -> Iterator[None]:
        with self._changed:
            self._joined += 1
        try:
            yield
        finally:
            with self._changed:
                self._joined -= 1
                self._advance()

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self.slept.append(seconds)
            wake = self.now + max(0.0, seconds)
            self._wakes.append(wake)
            self._advance()
            while self.now < wake:
                self._changed.wait()
            self._wakes.remove(wake)

    def _advance(self) -> None:
        if self._wakes and len(self._wakes) >= self._joined:
            self.now = max(self.now, min(self._wakes))
            self._changed.notify_all()
