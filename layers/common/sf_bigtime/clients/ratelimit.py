"""What the BigTime client needs of a rate limiter, and a blocking in-process token bucket.

The firm-wide budget every function shares is :mod:`sf_bigtime.clients.ratebudget`; this bucket paces one
process (the budget's fallback when DynamoDB cannot be reached, and the CLI). Written by hand on purpose:
it is a dozen lines, it must take an injectable clock and sleep so tests stay deterministic, and the
maintained libraries (pyrate-limiter, limits) bring storage back-ends and async machinery a Lambda does
not need.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Limiter(Protocol):
    """Paces BigTime calls: ``acquire`` before each call, ``throttled`` when BigTime answered 429/503."""

    def acquire(self) -> float:
        """Wait until a call may start; return the seconds waited."""
        ...

    def throttled(self, retry_after: float | None) -> None:
        """BigTime throttled a call (``retry_after``: its Retry-After in seconds, if it sent one)."""
        ...


class RateLimiter:
    """Allow ``per_minute`` acquisitions per minute, with bursts of up to ``burst``."""

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int = 5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, burst))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting (reported in metrics)

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            self._tokens -= 1
            if wait:
                self._last = now + wait
                self._tokens = 0.0
        if wait:
            self._sleep(wait)
            self.waited += wait
        return wait

    def throttled(self, retry_after: float | None) -> None:
        """Spend the bucket and hold the next call until Retry-After (or one token's time) has passed."""
        pause = retry_after if retry_after is not None else 1 / self.rate
        with self._lock:
            # Tokens below one are time owed: the next acquire() waits them off (refill counts from now).
            self._last = max(self._last, self._clock())
            self._tokens = min(self._tokens, 1 - pause * self.rate)
