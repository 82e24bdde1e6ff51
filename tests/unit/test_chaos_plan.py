"""The chaos run's plan is a function of its seed and size: a failure replays with the same data, the same
repeated deliveries and the same crashes."""

from __future__ import annotations

from chaos.plan import BOUNDED, CRASH_POINTS, DEFAULT, FORMATS, make_plan
from sf_bigtime.sync.worker import BUDGET_DEADLINE_MARGIN_SECONDS


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert make_plan(7, DEFAULT) == make_plan(7, DEFAULT)
    assert make_plan(7, DEFAULT) != make_plan(8, DEFAULT)


def test_the_default_plan_has_the_sizes_and_shares_it_promises() -> None:
    plan = make_plan(1, DEFAULT)
    assert len(plan.opportunities) == 300 and len(plan.accounts) == 60
    assert {o.account for o in plan.opportunities} == {a.key for a in plan.accounts}  # every Account wins one
    assert plan.duplicated == 90  # 30 % of the Opportunities come more than once
    assert {d.format for d in plan.extra} == set(FORMATS)
    assert any(d.stale for d in plan.extra)  # older change events after newer ones
    assert 0 < sum(a.existing_client for a in plan.accounts) < 60
    assert any(o.line_items for o in plan.opportunities) and any(not o.line_items for o in plan.opportunities)
    assert [c.point for c in plan.crashes] == list(CRASH_POINTS)


def test_the_bounded_plan_keeps_every_kind_at_a_smaller_size() -> None:
    plan = make_plan(13, BOUNDED)
    assert len(plan.opportunities) == 40 and plan.duplicated == 12
    assert [c.point for c in plan.crashes] == ["anywhere", "after create_project"]


def test_both_sizes_keep_the_timeouts_the_worker_relies_on() -> None:
    for size in (DEFAULT, BOUNDED):
        assert size.visibility_timeout >= size.worker_timeout  # as AWS requires of an SQS event source
        # rate-budget waits end this long before the invocation's timeout: some time must be left for them
        assert size.worker_timeout > BUDGET_DEADLINE_MARGIN_SECONDS
        assert size.http_timeout < size.worker_timeout
