"""The client-side rate limiter keeps a worker's BigTime calls under the configured rate: measured on a fake
BigTime that throttles on the same (fake) clock, so the test is exact and never sleeps."""

from __future__ import annotations

from sf_bigtime.clients.ratelimit import RateLimiter
from sf_bigtime.errors import TransientError
from sf_bigtime.sync.run import sync_opportunity
from tests.clock import Clock
from tests.integration.conftest import World, new_fake_bigtime

PER_MINUTE, BURST = 10, 2


def run_syncs(world: World, limiter: RateLimiter | None) -> list[str]:
    account = world.account("Initech")
    ctx = world.context(bigtime=world.bigtime_client(limiter=limiter))
    statuses = []
    for i in range(4):
        opp = world.won_opportunity(account, name=f"Initech – {i}")
        try:
            statuses.append(sync_opportunity(world.request(opp), ctx).status)
        except TransientError as exc:  # the control run records what a throttled sync does
            statuses.append(type(exc).__name__)
    return statuses


def test_limiter_keeps_bigtime_calls_under_the_rate(world: World) -> None:
    clock = Clock()
    # BigTime's own limit: what the limiter promises, `per_minute` plus a burst, in any 60 s window.
    fake = world.use_bigtime(new_fake_bigtime(clock=clock, rate_limit_per_minute=PER_MINUTE + BURST))
    limiter = RateLimiter(PER_MINUTE, burst=BURST, clock=clock, sleep=clock.sleep)
    assert run_syncs(world, limiter) == ["Synced"] * 4
    calls = fake.calls
    # list + create client, the staff list once (cached), then per Opportunity a project, two contacts and
    # the owner onto the team (read, write)
    assert len(calls) == 2 + 1 + 4 * (3 + 2)
    assert all(c.status == 200 for c in calls)  # never throttled
    times = [c.time for c in calls]
    assert all(sum(1 for t in times if start <= t < start + 60) <= PER_MINUTE + BURST for start in times)
    # the limiter waited instead: after the burst, one call every 6 s
    assert clock.now - 1_800_000_000.0 >= (len(calls) - BURST) * 60 / PER_MINUTE - 1e-6
    assert limiter.waited == sum(clock.slept)


def test_without_the_limiter_the_same_work_is_throttled(world: World) -> None:
    clock = Clock()
    fake = world.use_bigtime(new_fake_bigtime(clock=clock, rate_limit_per_minute=PER_MINUTE + BURST))
    statuses = run_syncs(world, None)
    assert "BigTimeCallError" in statuses
    assert any(c.status == 503 for c in fake.calls)
