"""The firm-wide BigTime rate budget end to end: four worker instances on threads (as the local stack runs
them), each with its own Worker, BigTime client and budget handle, draining a FIFO queue with a DLQ on moto,
against a fake BigTime that throttles above N calls a minute. All of them and the fake read one
:class:`SharedClock`, so minutes pass without anyone sleeping for real."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from sf_bigtime.clients.bigtime import BigTimeCallError
from sf_bigtime.clients.ratebudget import RateBudget, rate_budget
from sf_bigtime.clients.ratelimit import RateLimiter
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.settings import WorkerSettings
from sf_bigtime.sync.worker import Worker
from sf_bigtime_local.fake_bigtime import FakeBigTime
from sf_bigtime_local.poller import Poller
from tests.clock import SharedClock
from tests.integration.conftest import ORG, TABLE, World, new_fake_bigtime

PER_MINUTE = 30  # BigTime's limit in the fake, and the firm's budget
WORKERS = 4
# 7 BigTime calls each (list and create client, project, two contacts, the owner's team: read and write),
# plus one staff list per worker (cached): about 6 minutes' worth
OPPORTUNITIES = 24
REAL_SECONDS = 60  # the whole drain must finish well within this (it takes a few seconds)


class Queues:
    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        attributes = {"FifoQueue": "true", "VisibilityTimeout": "30"}
        self.dlq_url = self.sqs.create_queue(QueueName="budget-dlq.fifo", Attributes=attributes)["QueueUrl"]
        dlq_arn = self._arn(self.dlq_url)
        redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}'
        self.url = self.sqs.create_queue(
            QueueName="budget-events.fifo", Attributes={**attributes, "RedrivePolicy": redrive}
        )["QueueUrl"]
        self.arn = self._arn(self.url)

    def _arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def send(self, request: SyncRequest) -> None:
        self.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=request.model_dump_json(),
            MessageGroupId=request.group_id,
            MessageDeduplicationId=request.deduplication_id,
        )

    def depth(self, url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attributes[n]) for n in names)


def drain(
    world: World, clock: SharedClock, limiter_for: Callable[[int], Any], count: int = OPPORTUNITIES
) -> Queues:
    """Enqueue ``count`` Opportunities, then run WORKERS pollers (one Worker each) until the queue is empty."""
    queues = Queues()
    for i in range(count):
        opp = world.won_opportunity(world.account(f"Client {i}"), name=f"Deal {i}")
        queues.send(
            SyncRequest(
                org_id=ORG,
                opportunity_id=opp,
                source="json",
                delivery_id=f"d-{i}",
                received_at=clock.datetime(),
            )
        )
    settings = WorkerSettings(
        table_name=TABLE,
        queue_url=queues.url,
        salesforce_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:sf",
        bigtime_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:bt",
        bigtime_calls_per_minute=PER_MINUTE,
        worker_max_concurrency=WORKERS,
        retry_backoff_base_seconds=1,
        retry_backoff_max_seconds=2,
    )
    errors: list[BaseException] = []

    def instance(i: int) -> None:
        limiter = limiter_for(i)
        worker = Worker(
            settings,
            context_factory=lambda _s, m: world.context(
                mapping=m, bigtime=world.bigtime_client(limiter=limiter)
            ),
            mappings=MappingSource(overrides=None),
            sqs=queues.sqs,
        )
        poller = Poller(
            queues.sqs,
            queues.url,
            queues.arn,
            worker.handle,
            function_name=f"worker-{i}",
            timeout_seconds=300,
            batch_size=3,  # small batches: all four instances get work and compete for the budget
            wait_seconds=0,
        )
        stop = time.monotonic() + REAL_SECONDS
        with clock.joined():
            try:
                while time.monotonic() < stop:
                    if poller.poll_once() == 0:
                        if queues.depth(queues.url) == 0:
                            return
                        clock.sleep(1.0)  # an empty receive is a second of long polling
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=instance, args=(i,), name=f"worker-{i}") for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REAL_SECONDS + 10)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads), "the drain did not finish"
    return queues


def busiest_minute(times: list[float]) -> int:
    """Most calls BigTime accepted in any 60 s, both ends included (BigTime's own window is half-open)."""
    times = sorted(times)
    return max((bisect.bisect_right(times, t + 60) - i for i, t in enumerate(times)), default=0)


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


@pytest.fixture
def limited_bigtime(world: World, clock: SharedClock) -> FakeBigTime:
    return world.use_bigtime(new_fake_bigtime(clock=clock, rate_limit_per_minute=PER_MINUTE))


def test_four_workers_share_the_budget_and_stay_under_bigtime_s_limit(
    world: World, serialized_aws: None, clock: SharedClock, limited_bigtime: FakeBigTime
) -> None:
    budgets: list[RateBudget] = []
    lock = threading.Lock()

    def budget(_i: int) -> RateBudget:
        handle = rate_budget(
            WorkerSettings(
                table_name=TABLE,
                queue_url="q",
                salesforce_secret_arn="sf",
                bigtime_secret_arn="bt",
                bigtime_calls_per_minute=PER_MINUTE,
                worker_max_concurrency=WORKERS,
            ),
            "sync",
            client=boto3.client("dynamodb"),
            clock=clock,
            sleep=clock.sleep,
        )
        with lock:
            budgets.append(handle)
        return handle

    started = clock.now
    queues = drain(world, clock, budget)

    calls = limited_bigtime.calls
    accepted = [c.time for c in calls if c.status < 300]
    assert len(calls) == len(accepted) == OPPORTUNITIES * 7 + WORKERS  # every call accepted: none throttled
    assert busiest_minute(accepted) <= PER_MINUTE
    assert queues.depth(queues.dlq_url) == 0  # nothing dead-lettered
    assert len(limited_bigtime.projects) == OPPORTUNITIES
    # The four shared one budget and used it: the drain took as long as N a minute allows, no longer.
    minutes = (max(accepted) - started) / 60
    assert (len(accepted) - 1) / PER_MINUTE <= minutes <= (len(accepted) - 1) / PER_MINUTE * 1.05
    assert len(budgets) == WORKERS and all(b.stats.grants > 0 for b in budgets)
    assert sum(b.stats.grants for b in budgets) == len(accepted)
    assert sum(b.stats.fallbacks + b.stats.throttles for b in budgets) == 0


def test_the_same_workers_with_a_bucket_each_overrun_bigtime(
    world: World, serialized_aws: None, clock: SharedClock, limited_bigtime: FakeBigTime
) -> None:
    """The control: what the per-instance buckets did before (N a minute each) gets throttled."""
    buckets = {i: RateLimiter(PER_MINUTE, burst=1, clock=clock, sleep=clock.sleep) for i in range(WORKERS)}
    drain(world, clock, buckets.__getitem__, count=12)
    assert any(c.status == 503 for c in limited_bigtime.calls)


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.throttles: list[float | None] = []

    def acquire(self) -> float:
        self.acquired += 1
        return 0.0

    def throttled(self, retry_after: float | None) -> None:
        self.throttles.append(retry_after)


def test_a_throttled_get_is_reported_and_retried_through_the_limiter(world: World) -> None:
    limiter = RecordingLimiter()
    client = world.bigtime_client(limiter=limiter)
    world.bt.faults.add(method="GET", path="/picklist/", status=503, headers={"Retry-After": "4"}, times=2)
    assert client.picklist("LookupProjectType")  # the third try answers
    assert limiter.acquired == 3 and limiter.throttles == [4.0, 4.0]
    assert [c.status for c in world.bt.calls] == [503, 503, 200]  # urllib3 did not retry on its own


def test_a_throttled_write_is_reported_not_retried(world: World) -> None:
    limiter = RecordingLimiter()
    client = world.bigtime_client(limiter=limiter)
    world.bt.faults.add(method="POST", path="/client/detail", status=429, times=1)
    with pytest.raises(BigTimeCallError) as info:
        client.create_client({"Nm": "Initech"})
    assert not info.value.maybe_applied and info.value.code == "bigtime_unavailable"
    assert limiter.acquired == 1 and limiter.throttles == [None]


def test_throttled_gets_give_up_after_their_retries(world: World) -> None:
    limiter = RecordingLimiter()
    client = world.bigtime_client(limiter=limiter)
    world.bt.faults.add(method="GET", path="/project", status=503, times=-1)
    with pytest.raises(BigTimeCallError, match="throttled"):
        client.list_projects()
    assert limiter.acquired == 3 and len(limiter.throttles) == 3
