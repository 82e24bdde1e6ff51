"""The pull's politeness: half the stack's BigTime rate, throttling waited out and then a stop, a deadline,
and 401/405 ending the run with a message that says what to fix."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sf_bigtime.clients.bigtime import BigTimeCallError
from sf_bigtime.errors import PermanentError, TransientError
from sf_bigtime.pull.bigtime import BigTimeRefused, Guard, Stop, pull_limiter
from sf_bigtime.settings import PullSettings
from tests.clock import Clock


def throttled(retry_after: float | None = None) -> BigTimeCallError:
    return BigTimeCallError(
        "throttled (HTTP 503)", maybe_applied=False, retry_after=retry_after, throttled=True
    )


def scripted(answers: list[object]) -> Callable[[], str]:
    """A BigTime call that gives ``answers`` in turn: an exception is raised, anything else returned."""

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    return call


def test_the_pull_takes_its_share_of_the_firms_bigtime_budget() -> None:
    settings = PullSettings(
        table_name="t", salesforce_secret_arn="s", bigtime_secret_arn="b", bigtime_calls_per_minute=15
    )
    budget = pull_limiter(settings)
    # the firm-wide budget in the state table, as the pull: at most half, and after any waiting sync
    assert (budget.caller, budget.share) == ("pull", 0.5)
    assert budget.table_name == "t"


def test_throttling_is_waited_out_honouring_retry_after(clock: Clock) -> None:
    call = scripted([throttled(7), throttled(None), "ok"])
    guard = Guard(clock=clock, sleep=clock.sleep)
    assert guard.call("x", call) == "ok"
    assert clock.slept == [7, 10.0]  # Retry-After, then our own backoff (5 s x the second in a row)
    assert guard.throttles == 2


def test_three_throttles_in_a_row_stop_the_run(clock: Clock) -> None:
    guard = Guard(clock=clock, sleep=clock.sleep)

    def call() -> str:
        raise throttled(0)

    with pytest.raises(Stop, match="throttled 3 calls in a row"):
        guard.call("the project list", call)
    assert guard.throttles == 3 and clock.slept == [0, 0]


def test_a_success_resets_the_count_and_the_deadline_stops_before_a_call(clock: Clock) -> None:
    guard = Guard(clock=clock, sleep=clock.sleep, deadline=clock() + 30)
    call = scripted([throttled(1), "a", throttled(1), throttled(1), "b"])
    assert guard.call("x", call) == "a"
    assert guard.call("x", call) == "b"  # two in a row, not three
    clock.advance(30)
    with pytest.raises(Stop, match="time was up"):
        guard.call("x", lambda: "c")
    waiting = Guard(clock=clock, sleep=clock.sleep, deadline=clock() + 5)
    with pytest.raises(Stop, match="time is up"):  # a wait that would outlast the run is not waited
        waiting.call("x", lambda: (_ for _ in ()).throw(throttled(60)))


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (TransientError("BigTime GET /project: not authorised (HTTP 401)", code="bigtime_auth"), "API key"),
        (PermanentError("BigTime refused permission (HTTP 405)", code="bigtime_forbidden"), "staffer"),
    ],
)
def test_401_and_405_end_the_run_saying_what_to_fix(error: Exception, fix: str) -> None:
    def call() -> str:
        raise error

    with pytest.raises(BigTimeRefused, match=fix) as info:
        Guard().call("x", call)
    assert info.value.code == error.code


def test_other_errors_pass_through() -> None:
    error = BigTimeCallError("server error (HTTP 500)", maybe_applied=False)
    with pytest.raises(BigTimeCallError):
        Guard().call("x", lambda: (_ for _ in ()).throw(error))
