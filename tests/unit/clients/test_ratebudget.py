"""The firm-wide BigTime rate budget on moto's DynamoDB with a hand-moved clock: several budgets stand for
several Lambda instances (each its own copy of the item), so what they share is only the table."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from sf_bigtime import observability as obs
from sf_bigtime.clients.ratebudget import (
    FALLBACK_SECONDS,
    BudgetExhausted,
    RateBudget,
    rate_budget,
    wait_deadline,
)
from sf_bigtime.clients.ratepolicy import ITEM_ID, US, Caller, Policy
from sf_bigtime.settings import WorkerSettings
from tests.clock import Clock

TABLE = "state"


@pytest.fixture
def ddb(aws: None) -> Any:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    obs.drain_budget_waits()
    return client


@pytest.fixture
def new_budget(ddb: Any, clock: Clock) -> Callable[..., RateBudget]:
    def make(per_minute: float = 60, caller: Caller = "sync", **kwargs: Any) -> RateBudget:
        return RateBudget(
            TABLE, caller, Policy.for_rate(per_minute), client=ddb, clock=clock, sleep=clock.sleep, **kwargs
        )

    return make


def per_call(per_minute: float, factor: float = 1.0) -> float:
    """Seconds between two calls: a minute and the jitter allowance (1 s) shared by the budget less its burst."""
    return Policy.for_rate(per_minute).interval(factor) / US


def starts(budgets: list[RateBudget], count: int, clock: Clock) -> Iterator[float]:
    """``count`` calls, taken in turn by each budget (one process after another); the time each may start."""
    for i in range(count):
        budgets[i % len(budgets)].acquire()
        yield clock.now


def busiest_minute(times: list[float], seconds: float = 60) -> int:
    """The most calls that started within any 60 s (both ends included: stricter than BigTime's window)."""
    times = sorted(times)
    return max(bisect.bisect_right(times, start + seconds) - i for i, start in enumerate(times))


@pytest.mark.parametrize("per_minute", [1, 2, 7, 25, 30, 59, 60, 61, 119, 120, 600, 601, 6000])
def test_the_interval_keeps_every_minute_within_the_budget(per_minute: int) -> None:
    """GCRA with the policy's interval and tolerance, driven as greedily as it allows: the busiest 61 s (a
    minute and the jitter allowance) hold the budget (never more; at most one less, the price of the rounding
    margin), and the sustained rate is the budget less the burst, over 61 s."""
    policy = Policy.for_rate(per_minute)
    interval, tolerance = policy.interval(1.0), policy.tolerance(policy.interval(1.0))
    tat, go, times = 0, 0, []
    for _ in range(3 * per_minute + 2 * policy.burst):
        go = max(go, tat - tolerance)
        tat = max(go, tat) + interval
        times.append(go / US)
    assert per_minute - 1 <= busiest_minute(times, 61) <= per_minute
    sustained = 61 * US / interval
    assert (per_minute - policy.burst) * 0.999 <= sustained < per_minute - policy.burst + 1


def test_burst_then_one_call_per_interval(new_budget: Callable[..., RateBudget], clock: Clock) -> None:
    budget = new_budget(600)
    assert budget.policy.burst == 10
    t0 = clock.now
    times = [t - t0 for t in starts([budget], 30, clock)]
    assert times[:10] == [0.0] * 10
    gaps = [b - a for a, b in itertools.pairwise(times[10:])]
    assert all(gap == pytest.approx(61 / 591, abs=1e-5) for gap in gaps)


@pytest.mark.parametrize(
    ("per_minute", "burst", "expected"), [(25, 8, 8), (25, 20, 10), (6, 8, 3), (1, 5, 1)]
)
def test_a_configured_burst_is_held_to_half_the_minute_and_to_ten(
    per_minute: int, burst: int, expected: int
) -> None:
    assert Policy.for_rate(per_minute, burst).burst == expected


@pytest.mark.parametrize("per_minute", [6, 25, 30, 120])
def test_a_configured_burst_starts_a_sync_at_once_and_keeps_every_minute_within_the_budget(
    new_budget: Callable[..., RateBudget], clock: Clock, per_minute: int
) -> None:
    """BigTimeBurst: a new project's calls go back to back, and the firm's minute still holds."""
    budget = RateBudget(
        TABLE,
        "sync",
        Policy.for_rate(per_minute, 8),
        client=new_budget().client,
        clock=clock,
        sleep=clock.sleep,
    )
    burst = budget.policy.burst
    t0 = clock.now
    times = list(starts([budget], 3 * per_minute + burst, clock))
    assert [t - t0 for t in times[:burst]] == [0.0] * burst
    assert busiest_minute(times, 61) <= per_minute


def test_several_processes_share_one_budget(new_budget: Callable[..., RateBudget], clock: Clock) -> None:
    budgets = [new_budget(60) for _ in range(3)]
    t0 = clock.now
    times = list(starts(budgets, 150, clock))
    # All three together, not 60 each: 60 in any 61 s (a minute and the jitter allowance).
    assert busiest_minute(times, 61) == 60
    assert clock.now - t0 == pytest.approx(149 * per_call(60), abs=0.01)  # and the whole budget is used
    # One write per call when a process guesses right, two when another one moved the item meanwhile.
    writes = sum(b.stats.writes for b in budgets)
    refused = sum(b.stats.refused for b in budgets)
    assert sum(b.stats.grants for b in budgets) == 150
    assert writes == 150 + refused and refused <= 150


def test_one_process_alone_spends_one_write_per_call(
    new_budget: Callable[..., RateBudget], clock: Clock
) -> None:
    budget = new_budget(60)
    list(starts([budget], 20, clock))
    clock.advance(300)  # idle: the next call starts at once, still one write
    list(starts([budget], 5, clock))
    assert (budget.stats.grants, budget.stats.writes, budget.stats.refused) == (25, 25, 0)


def test_the_pull_alone_spends_one_write_per_call(
    new_budget: Callable[..., RateBudget], clock: Clock
) -> None:
    """It waits out its own pace (half the budget) before writing, instead of being refused first."""
    pull = new_budget(60, "pull")
    times = list(starts([pull], 20, clock))
    assert (pull.stats.grants, pull.stats.writes, pull.stats.refused) == (20, 20, 0)
    assert times[-1] - times[0] == pytest.approx(19 * 2 * per_call(60), abs=0.01)


def test_the_item_is_small_and_readable(
    new_budget: Callable[..., RateBudget], ddb: Any, clock: Clock
) -> None:
    list(starts([new_budget(60), new_budget(60, "pull")], 3, clock))
    item = ddb.get_item(TableName=TABLE, Key={"id": {"S": ITEM_ID}})["Item"]
    assert set(item) == {"id", "tat", "pace_pull"}
    assert float(item["tat"]["N"]) == pytest.approx(
        clock.now + per_call(60), abs=0.001
    )  # seconds, to the microsecond


def test_the_pull_gets_at_most_half(new_budget: Callable[..., RateBudget], clock: Clock) -> None:
    pull = new_budget(60, "pull")
    times = list(starts([pull], 61, clock))
    assert busiest_minute(times) <= 31
    assert times[-1] - times[0] == pytest.approx(60 * 2 * per_call(60), abs=0.01)


def test_other_callers_wait_while_syncs_are_queued(
    new_budget: Callable[..., RateBudget], clock: Clock
) -> None:
    # Five sync slots reserved by instances that are now asleep until theirs come (their sleep is elsewhere).
    asleep = RateBudget(
        TABLE, "sync", Policy.for_rate(60), client=new_budget().client, clock=clock, sleep=lambda s: None
    )
    t0 = clock.now
    for _ in range(5):
        asleep.acquire()
    pull = new_budget(60, "pull")
    pull.acquire()
    # The pull waited until the syncs were down to one slot ahead, then took the one after theirs.
    assert clock.now - t0 == pytest.approx(5 * per_call(60), abs=0.01)
    assert pull.stats.refused >= 1
    # A sync arriving now is not queued behind a pull that keeps asking.
    sync = new_budget(60)
    sync.acquire()
    assert clock.now - t0 == pytest.approx(6 * per_call(60), abs=0.01)


def test_a_caller_that_would_wait_too_long_is_told_to_retry_later(
    new_budget: Callable[..., RateBudget], clock: Clock
) -> None:
    budget = new_budget(60, max_wait=10)
    budget.throttled(retry_after=120)
    t0 = clock.now
    with pytest.raises(BudgetExhausted) as info:
        budget.acquire()
    assert clock.now == t0  # refused without waiting
    assert info.value.code == "bigtime_budget" and info.value.retry_after == pytest.approx(120, abs=0.01)
    # Inside the worker's invocation: the deadline is the time left, whatever max_wait says.
    other = new_budget(60)
    clock.advance(115)
    with wait_deadline(3, clock=clock), pytest.raises(BudgetExhausted):
        other.acquire()
    with wait_deadline(10, clock=clock):
        assert other.acquire() == pytest.approx(5, abs=0.01)


def test_throttling_halves_everyones_rate_once_per_episode(
    new_budget: Callable[..., RateBudget], clock: Clock
) -> None:
    a, b = new_budget(60), new_budget(60)
    list(starts([a, b], 4, clock))
    a.throttled(retry_after=None)
    b.throttled(retry_after=None)  # the same episode, seen by another instance: no second cut
    assert (a.stats.cuts, b.stats.cuts) == (1, 0)
    t0 = clock.now
    times = [t - t0 for t in starts([b, a], 4, clock)]
    # Paused one interval at half the rate, then one call per such interval, a little less as it recovers.
    halved = per_call(60, 0.5)
    assert halved == pytest.approx(2 * per_call(60), abs=1e-5)
    assert times[0] == pytest.approx(halved, abs=0.01)
    assert all(0.97 * halved < later - earlier <= halved for earlier, later in itertools.pairwise(times))
    clock.advance(10)
    b.throttled(retry_after=None)  # a new episode: halved again, down to the floor at most
    for _ in range(5):
        clock.advance(10)
        a.throttled(retry_after=None)
    assert a.policy.factor(a._state, math.ceil(clock.now * US)) == pytest.approx(0.1)


def test_retry_after_holds_every_process_and_the_rate_recovers_slowly(
    new_budget: Callable[..., RateBudget], clock: Clock
) -> None:
    a, b = new_budget(60), new_budget(60)
    a.acquire()
    a.throttled(retry_after=30)
    t0 = clock.now
    assert b.acquire() == pytest.approx(30, abs=0.01)  # b never saw the 503: the table told it
    assert clock.now - t0 == pytest.approx(30, abs=0.01)
    factor = b.policy.factor(b._state, math.ceil(clock.now * US))
    assert factor == pytest.approx(0.5 + 0.1 * 30 / 60, abs=1e-3)  # regaining a tenth per minute
    clock.advance(5 * 60)
    t1 = clock.now
    list(starts([a, b], 11, clock))
    assert clock.now - t1 == pytest.approx(10 * per_call(60), abs=0.01)  # back to the full rate


def test_retry_after_is_capped(new_budget: Callable[..., RateBudget], clock: Clock) -> None:
    budget = new_budget(60, max_wait=10)
    budget.throttled(retry_after=86_400)
    with pytest.raises(BudgetExhausted) as info:
        budget.acquire()
    assert info.value.retry_after == pytest.approx(900, abs=1)


def test_an_unreachable_table_falls_back_to_a_local_share_then_tries_again(
    ddb: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    budget = RateBudget(
        "no-such-table", "sync", Policy.for_rate(60), instances=2, client=ddb, clock=clock, sleep=clock.sleep
    )
    t0 = clock.now
    times = [t - t0 for t in starts([budget], 4, clock)]
    assert budget.local_per_minute == 20  # its share of 60/min next to one other instance and one pull
    assert times == pytest.approx([0, 3, 6, 9])
    assert budget.stats.fallbacks == 4 and budget.stats.writes == 1  # the table was tried once
    assert "cannot be used (ResourceNotFoundException" in caplog.text
    assert [w.fallback for w in obs.drain_budget_waits()] == [True] * 4
    budget.table_name = TABLE  # the table is back: after the fallback period the budget uses it again
    clock.advance(FALLBACK_SECONDS)
    budget.acquire()
    assert budget.stats.fallbacks == 4 and budget.stats.writes == 2
    assert obs.drain_budget_waits()[0].fallback is False


def test_throttling_during_the_fallback_pauses_the_local_bucket(ddb: Any, clock: Clock) -> None:
    budget = RateBudget(
        "no-such-table", "sync", Policy.for_rate(60), client=ddb, clock=clock, sleep=clock.sleep
    )
    budget.acquire()
    budget.throttled(retry_after=12)
    t0 = clock.now
    budget.acquire()
    assert clock.now - t0 == pytest.approx(12)


def test_every_grant_is_logged_for_the_metrics(new_budget: Callable[..., RateBudget], clock: Clock) -> None:
    budget = new_budget(60)
    list(starts([budget], 3, clock))
    waits = obs.drain_budget_waits()
    assert [w.waited_ms for w in waits] == pytest.approx(
        [0, 1000 * per_call(60), 1000 * per_call(60)], abs=0.1
    )
    assert {round(w.rate_per_minute, 2) for w in waits} == {round(60 / per_call(60), 2)} == {59.02}


def test_the_factory_reads_the_settings_and_knows_the_callers(ddb: Any) -> None:
    settings = WorkerSettings(
        table_name=TABLE,
        queue_url="q",
        salesforce_secret_arn="sf",
        bigtime_secret_arn="bt",
        bigtime_calls_per_minute=120,
        worker_max_concurrency=5,
    )
    budget = rate_budget(settings, "pull", client=ddb)
    assert (budget.table_name, budget.share, budget.policy.per_minute, budget.policy.burst) == (
        TABLE,
        0.5,
        120,
        2,
    )
    assert budget.local_per_minute == pytest.approx(120 * 0.5 / 6)
    with pytest.raises(ValueError, match="unknown BigTime budget caller 'nightly'"):
        rate_budget(settings, "nightly", client=ddb)  # type: ignore[arg-type]
