"""The firm's BigTime rate budget, kept in the state table and shared by every function that calls BigTime
(docs/decisions.md#one-bigtime-rate-budget-for-the-firm).

BigTime limits the firm, not a Lambda instance; one item, ``budget#bigtime``, paces every instance.

**Algorithm.** GCRA (the "generic cell rate algorithm", a token bucket kept as one timestamp): ``tat`` is the
theoretical arrival time of the next call. A caller at time t goes at ``max(t, tat - tolerance)`` and moves
``tat`` to ``max(t, tat) + interval``. Both cases are one conditional UpdateItem: ``tat = t + interval`` when
``tat <= t`` (idle), ``tat = tat + interval`` when it is ahead (busy: DynamoDB adds, so concurrent callers
line up one interval apart without reading first). The new item comes back with the write, and a refused
write returns the current one (``ReturnValuesOnConditionCheckFailure``), so a call costs one write, two when
this process guessed the branch from a stale copy (a caller other than syncs first waits out its own
pace as its last write left it, which would only be refused). The interval is chosen so that at most
``BigTimeCallsPerMinute`` calls start in any 61 seconds, bursts included (the extra second absorbs the
jitter between a slot and BigTime counting the call). No reads, no locks, no TTL.

**Shares.** ``sync`` may use the whole budget. Other callers are paced to their share (``pace_<caller>``,
one call per ``interval / share``) and also yield to syncs: they take a slot only while syncs have at most
one call waiting. Syncs of reconcile and backfill requests run in the worker, under ``sync``.

**Throttling.** A 429/503 reported through :meth:`RateBudget.throttled` halves the rate for every caller
(``factor``, ``cut_at``: one cut per episode, however many callers saw it), moves ``tat`` past Retry-After
(so nobody calls before it), and the rate climbs back by a tenth of the budget per minute.

**Waiting.** A caller sleeps until its slot, at most ``max_wait`` seconds and never past the deadline of
:func:`wait_deadline` (the worker's Lambda time left); beyond that :class:`BudgetExhausted`, a transient
error whose ``retry_after`` the queue backoff honours.

**Fallback.** If the table cannot be reached (network, throttling, permissions), the process paces itself
with a local bucket at ``share / (WorkerMaxConcurrency + 1)`` of the budget for a minute, then tries the
table again: the worker instances and a pull together stay under the firm's rate, and syncs go on.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sf_bigtime import observability as obs
from sf_bigtime.clients.ratelimit import RateLimiter
from sf_bigtime.clients.ratepolicy import ITEM_ID, SHARES, US, Caller, Policy, State, number, parse_state
from sf_bigtime.errors import TransientError

__all__ = [
    "SHARES",
    "BudgetExhausted",
    "BudgetSettings",
    "Caller",
    "RateBudget",
    "rate_budget",
    "wait_deadline",
]

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 60.0  # the longest one call waits for its slot before the message is retried later
MAX_RETRY_AFTER = 900.0  # a longer Retry-After is capped: the queue's own backoff takes over
FALLBACK_SECONDS = 60.0
_MAX_CONFLICTS = 10  # stale guesses in a row before giving up (each is one refused write)
# Short timeouts and one retry: a slow table must not hold BigTime calls up; the fallback takes over.
_DDB_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})

# (clock, deadline on that clock) of the current invocation, set by wait_deadline().
_deadline: ContextVar[tuple[Callable[[], float], float] | None] = ContextVar(
    "sf_bigtime_budget_deadline", default=None
)


class BudgetSettings(Protocol):
    """What :func:`rate_budget` reads from a function's settings."""

    @property
    def table_name(self) -> str: ...
    @property
    def bigtime_calls_per_minute(self) -> float: ...
    @property
    def worker_max_concurrency(self) -> int: ...
    @property
    def bigtime_burst(self) -> int | None: ...


class BudgetExhausted(TransientError):
    """No slot within the time this call may wait: retry the work later (``retry_after`` seconds)."""

    def __init__(self, reason: str, *, retry_after: float) -> None:
        super().__init__(reason, code="bigtime_budget", retry_after=retry_after)


@contextmanager
def wait_deadline(seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Within this block no budget wait ends later than ``seconds`` from now (None: only ``max_wait``).
    The worker passes what is left of its invocation, so a wait never runs into the Lambda timeout;
    ``clock`` measures that time (a budget's own clock may be another one)."""
    token = _deadline.set(None if seconds is None else (clock, clock() + seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


@dataclass
class Stats:
    """What this process spent: grants, DynamoDB writes (refused ones included), seconds waited."""

    grants: int = 0
    writes: int = 0
    refused: int = 0
    waited: float = 0.0
    throttles: int = 0
    cuts: int = 0
    fallbacks: int = 0


class _Unreachable(Exception):
    pass


@dataclass(frozen=True)
class _Refused:
    state: State


@lru_cache(maxsize=1)
def _client() -> Any:
    return boto3.client("dynamodb", config=_DDB_CONFIG)


class RateBudget:
    """One caller's handle on the firm's budget; thread-safe, one per process (warm Lambda) and caller."""

    def __init__(
        self,
        table_name: str,
        caller: Caller,
        policy: Policy,
        *,
        instances: int = 2,
        client: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        if caller not in SHARES:
            raise ValueError(f"unknown BigTime budget caller {caller!r}; one of {', '.join(SHARES)}")
        self.table_name = table_name
        self.caller = caller
        self.share = SHARES[caller]
        self.policy = policy
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self.stats = Stats()
        self._client = client
        self._state = State()
        self._lock = threading.Lock()
        self._local_until = float("-inf")
        # Fallback: every worker instance and one other caller, each at its share, stay under the budget.
        self.local_per_minute = policy.per_minute * self.share / (max(1, instances) + 1)
        self._local = RateLimiter(self.local_per_minute, burst=1, clock=clock, sleep=sleep)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client()
        return self._client

    # -- acquire ------------------------------------------------------------------------------------
    def acquire(self) -> float:
        """Wait for this caller's next slot; return the seconds waited. Raises :class:`BudgetExhausted`."""
        started = self.clock()
        if self._is_local(started):
            return self._acquire_local()
        deadline = math.floor((started + self._allowed_wait()) * US)
        conflicts = 0
        while True:
            now = self._now()
            state = self._state
            pace = state.pace.get(self.caller) if self.caller != "sync" else None
            if pace is not None and pace > now:
                # Our own pace, as our last write left it (it only moves forward): a write now would be
                # refused, so wait first and spend one write per call, not two.
                self._pause_until(self._retry_at(state, now, deadline))
                continue
            interval = self.policy.interval(self.policy.factor(state, now))
            try:
                outcome = self._reserve(state, now, interval, deadline)
            except _Unreachable as exc:
                self._fall_back(str(exc))
                return self.clock() - started + self._acquire_local()
            if not isinstance(outcome, _Refused):
                self._pause_until(outcome)
                waited = self.clock() - started
                self._granted(waited, 60 * US / interval)
                return waited
            self._remember(outcome.state)
            retry_at = self._retry_at(outcome.state, now, deadline)
            if retry_at > now:
                self._pause_until(retry_at)
                continue
            conflicts += 1
            if conflicts >= _MAX_CONFLICTS:
                raise TransientError(
                    "BigTime's rate budget is contended (its DynamoDB item kept changing); retried later",
                    code="bigtime_budget",
                )

    def _reserve(self, state: State, now: int, interval: int, deadline: int) -> int | _Refused:
        """One conditional write for a slot; returns when to go (microseconds) or the refusal."""
        tolerance = self.policy.tolerance(interval)
        names = {"#t": "tat", "#c": "cut_at"}
        values: dict[str, Any] = {":now": number(now)}
        idle = state.tat is None or state.tat <= now
        if idle:
            sets, conds = ["#t = :next"], ["(attribute_not_exists(#t) OR #t <= :now)"]
            values[":next"] = number(now + interval)
        else:
            # Go no later than the deadline; callers other than syncs only while syncs wait at most one slot.
            latest = deadline if self.caller == "sync" else min(deadline, now + interval)
            sets, conds = ["#t = #t + :i"], ["#t > :now AND #t <= :latest"]
            values[":i"] = number(interval)
            values[":latest"] = number(latest + tolerance)
        # The rate used here must be the item's current one (a cut changes cut_at).
        if state.cut_at is None:
            conds.append("attribute_not_exists(#c)")
        else:
            conds.append("#c = :cut")
            values[":cut"] = number(state.cut_at)
        if self.caller != "sync":
            names["#p"] = f"pace_{self.caller}"
            sets.append("#p = :pace")
            conds.append("(attribute_not_exists(#p) OR #p <= :now)")
            values[":pace"] = number(now + math.ceil(interval / self.share))
        outcome = self._update("SET " + ", ".join(sets), " AND ".join(conds), names, values)
        if isinstance(outcome, _Refused):
            return outcome
        self._remember(outcome)
        if idle or outcome.tat is None:
            return now
        return max(now, outcome.tat - interval - tolerance)

    def _retry_at(self, state: State, now: int, deadline: int) -> int:
        """When to ask again after a refusal (``now``: at once, our guess was stale), or BudgetExhausted."""
        retry_at = now
        if state.tat is not None and state.tat > now:
            interval = self.policy.interval(self.policy.factor(state, now))
            if self.caller == "sync":
                retry_at = state.tat - self.policy.tolerance(interval)
                if retry_at <= deadline:
                    return now  # a slot in time exists: the refusal was a stale guess
            elif state.tat > now + interval:
                retry_at = state.tat - interval  # syncs are queued: look again when they are down to one
        pace = state.pace.get(self.caller) if self.caller != "sync" else None
        if pace is not None and pace > retry_at:
            retry_at = pace
        if retry_at > deadline:
            waited = (retry_at - now) / US
            raise BudgetExhausted(
                f"BigTime's rate budget has no slot for {self.caller} within {(deadline - now) / US:.0f} s "
                f"(the firm's {self.policy.per_minute:g} calls/min are taken, or BigTime asked us to wait); "
                "retried later",
                retry_after=waited,
            )
        return retry_at

    # -- throttling ---------------------------------------------------------------------------------
    def throttled(self, retry_after: float | None) -> None:
        """BigTime answered 429/503: lower everyone's rate (once per episode) and hold calls until
        Retry-After (capped at 15 minutes), or for one interval at the lowered rate without one."""
        with self._lock:
            self.stats.throttles += 1
        if self._is_local(self.clock()):
            self._local.throttled(retry_after)
            return
        now = self._now()
        try:
            state = self._cut(self._state, now)
            factor = self.policy.factor(state, now)
            interval = self.policy.interval(factor)
            pause = interval if retry_after is None else round(min(retry_after, MAX_RETRY_AFTER) * US)
            end = now + pause + self.policy.tolerance(interval)  # the first call after the pause, no burst
            outcome = self._update(
                "SET #t = :end",
                "attribute_not_exists(#t) OR #t < :end",
                {"#t": "tat"},
                {":end": number(end)},
            )
        except _Unreachable as exc:
            self._fall_back(str(exc))
            self._local.throttled(retry_after)
            return
        self._remember(outcome.state if isinstance(outcome, _Refused) else outcome)

    def _cut(self, state: State, now: int) -> State:
        cooldown = round(self.policy.cut_cooldown * US)
        for _ in range(2):  # once more if our copy was stale
            if state.cut_at is not None and state.cut_at > now - cooldown:
                return state  # this episode has been cut already, by us or another caller
            factor = max(self.policy.floor, self.policy.factor(state, now) * self.policy.cut_to)
            outcome = self._update(
                "SET #f = :f, #c = :now",
                "attribute_not_exists(#c)" if state.cut_at is None else "#c = :cut",
                {"#f": "factor", "#c": "cut_at"},
                {":f": {"N": f"{factor:.6f}"}, ":now": number(now)}
                | ({} if state.cut_at is None else {":cut": number(state.cut_at)}),
            )
            if not isinstance(outcome, _Refused):
                with self._lock:
                    self.stats.cuts += 1
                log.warning(
                    "BigTime throttled us: the firm's budget is lowered to %.0f calls/min and recovers slowly",
                    60 * US / self.policy.interval(factor),
                )
                return outcome
            state = outcome.state
        return state

    # -- DynamoDB, state, fallback -----------------------------------------------------------------
    def _update(
        self, update: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> State | _Refused:
        with self._lock:
            self.stats.writes += 1
        try:
            reply = self.client.update_item(
                TableName=self.table_name,
                Key={"id": {"S": ITEM_ID}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConditionalCheckFailedException":
                with self._lock:
                    self.stats.refused += 1
                item: Mapping[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
                return _Refused(parse_state(item))
            raise _Unreachable(f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()) from None
        except BotoCoreError as exc:
            raise _Unreachable(type(exc).__name__) from None
        return parse_state(reply.get("Attributes") or {})

    def _remember(self, state: State) -> None:
        with self._lock:
            self._state = state

    def _now(self) -> int:
        return math.ceil(self.clock() * US)

    def _allowed_wait(self) -> float:
        deadline = _deadline.get()
        allowed = self.max_wait if deadline is None else min(self.max_wait, deadline[1] - deadline[0]())
        return max(0.0, allowed)

    def _pause_until(self, at: int) -> None:
        wait = at / US - self.clock()
        if wait > 0:
            self.sleep(wait)

    def _granted(self, waited: float, per_minute: float, *, fallback: bool = False) -> None:
        with self._lock:
            self.stats.grants += 1
            self.stats.waited += waited
            self.stats.fallbacks += int(fallback)
        obs.record_budget_wait(waited * 1000, per_minute, fallback=fallback)

    def _is_local(self, now: float) -> bool:
        with self._lock:
            return now < self._local_until

    def _fall_back(self, reason: str) -> None:
        with self._lock:
            self._local_until = self.clock() + FALLBACK_SECONDS
        log.warning(
            "the BigTime rate budget's item in table %s cannot be used (%s): this process paces itself alone at "
            "%.1f calls/min for %.0f s. Check DynamoDB and that the function's role may UpdateItem %r.",
            self.table_name,
            reason,
            self.local_per_minute,
            FALLBACK_SECONDS,
            ITEM_ID,
        )

    def _acquire_local(self) -> float:
        waited = self._local.acquire()
        self._granted(waited, self.local_per_minute, fallback=True)
        return waited


def rate_budget(
    settings: BudgetSettings,
    caller: Caller,
    *,
    client: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> RateBudget:
    """The budget for one kind of caller (``sync``: the worker; ``pull``: BigTime figures back to
    Salesforce, at most half; ``reconcile``, ``backfill``: a quarter and a half, for code of theirs that
    calls BigTime itself). ``BigTimeCallsPerMinute`` is the firm's total across all of them."""
    return RateBudget(
        settings.table_name,
        caller,
        Policy.for_rate(settings.bigtime_calls_per_minute, settings.bigtime_burst),
        instances=settings.worker_max_concurrency,
        client=client,
        clock=clock,
        sleep=sleep,
    )
