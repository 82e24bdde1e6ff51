from __future__ import annotations

import pytest

from sf_bigtime.clients.ratelimit import RateLimiter
from sf_bigtime.sync.worker import MAX_VISIBILITY_SECONDS, backoff_seconds
from tests.clock import Clock


def test_burst_then_steady_rate() -> None:
    t = Clock(0.0)
    limiter = RateLimiter(30, burst=3, clock=t, sleep=t.sleep)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([2.0, 2.0, 2.0])  # 30/min = one every 2 s
    assert t.now == pytest.approx(6.0)


def test_tokens_refill_while_idle() -> None:
    t = Clock(0.0)
    limiter = RateLimiter(60, burst=2, clock=t, sleep=t.sleep)
    limiter.acquire(), limiter.acquire()
    t.now += 10
    assert limiter.acquire() == 0 and limiter.acquire() == 0


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_backoff_grows_honours_retry_after_and_stays_within_sqs_limits() -> None:
    first = backoff_seconds(1, None, base=30, cap=900)
    third = backoff_seconds(3, None, base=30, cap=900)
    assert 24 <= first <= 36 and 96 <= third <= 144
    assert backoff_seconds(20, None, base=30, cap=900) <= 1080
    assert backoff_seconds(1, 600, base=30, cap=900) >= 600
    assert backoff_seconds(1, 10**9, base=30, cap=900) == MAX_VISIBILITY_SECONDS


def test_a_throttled_call_holds_the_next_one_for_retry_after_or_one_token() -> None:
    t = Clock(0.0)
    limiter = RateLimiter(60, burst=5, clock=t, sleep=t.sleep)
    limiter.acquire()
    limiter.throttled(retry_after=7)
    assert limiter.acquire() == pytest.approx(7)  # the burst left is not spent during Retry-After
    limiter.throttled(retry_after=None)
    assert limiter.acquire() == pytest.approx(1)  # one token's time at 60/min
