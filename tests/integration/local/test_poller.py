"""The local event source mapping ends invocations as Lambda does: at the function's timeout, or on purpose
mid-batch (a crash). Either way the batch is neither deleted nor reported, so its messages come back after
their visibility timeout, and ``except Exception`` in the function cannot stop it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from sf_bigtime_local.poller import Poller
from tests.clock import Clock

pytestmark = pytest.mark.usefixtures("aws")


class Queue:
    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(
            QueueName="events.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "600"},
        )["QueueUrl"]

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body, MessageGroupId=body)

    def counts(self) -> tuple[int, int]:
        """(waiting, in flight)"""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        return int(attrs[names[0]]), int(attrs[names[1]])


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture
def clock() -> Clock:
    return Clock(now=1000.0)


@contextmanager
def running(
    queue: Queue,
    clock: Clock,
    handler: Callable[[dict[str, Any], Any], Any],
    crash_after: float | None = None,
) -> Iterator[Poller]:
    poller = Poller(
        queue.sqs, queue.url, "arn:aws:sqs:us-east-1:123456789012:events.fifo", handler,
        function_name="worker", timeout_seconds=300, concurrency=1, clock=clock,
    )  # fmt: skip
    if crash_after is not None:
        poller.crash(crash_after)
    poller.start()
    try:
        yield poller
    finally:
        poller.stop()


def wait_until(probe: Callable[[], object], seconds: float = 10.0) -> None:
    """Threads at work (the poller's, its watchdog): wait for them, never past ``seconds``."""
    deadline = time.monotonic() + seconds
    while not probe():
        assert time.monotonic() < deadline, "timed out waiting for the poller"
        time.sleep(0.01)


class Stuck:
    """A handler that works until it is ended from outside, catching every Exception as careful code does."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.batches.append([r["body"] for r in event["Records"]])
        self.started.set()
        while True:
            try:
                time.sleep(0.005)
            except Exception:
                continue


def test_a_crash_ends_the_next_invocation_mid_batch_and_its_messages_stay_in_flight(
    queue: Queue, clock: Clock
) -> None:
    handler = Stuck()
    queue.send("a", "b")
    with running(queue, clock, handler, crash_after=2.0) as poller:
        wait_until(handler.started.is_set)
        assert poller.kills == []
        clock.advance(2.0)
        wait_until(lambda: poller.kills)
    [kill] = poller.kills
    assert kill.reason == "crash" and kill.messages == 2 and kill.seconds == 2.0
    assert "in __call__" in kill.where  # where the exception landed: inside the handler
    assert handler.batches == [["a", "b"]]
    assert queue.counts() == (0, 2)  # neither deleted nor reported: back after the visibility timeout
    assert poller.pending_crashes == 0 and poller.errors == 0


def test_an_invocation_past_the_function_timeout_is_ended(queue: Queue, clock: Clock) -> None:
    handler = Stuck()
    with running(queue, clock, handler) as poller:
        queue.send("a")
        wait_until(handler.started.is_set)
        clock.advance(299.0)
        time.sleep(0.1)  # the watchdog looks every 20 ms: it must not end it early
        assert poller.kills == []
        clock.advance(1.0)
        wait_until(lambda: poller.kills)
    assert [k.reason for k in poller.kills] == ["timeout"]
    assert queue.counts() == (0, 1)


def test_an_invocation_that_ends_first_is_not_killed_and_passes_the_crash_on(
    queue: Queue, clock: Clock
) -> None:
    done = threading.Event()

    def quick(event: dict[str, Any], context: Any) -> dict[str, Any]:
        done.set()
        return {"batchItemFailures": []}

    queue.send("a")
    with running(queue, clock, quick, crash_after=5.0) as poller:
        wait_until(lambda: done.is_set() and queue.counts() == (0, 0))
        clock.advance(60.0)
        time.sleep(0.1)
    assert poller.kills == [] and poller.pending_crashes == 1  # passed on to the next invocation


def test_crash_here_ends_the_invocation_on_the_calling_thread_at_that_point(
    queue: Queue, clock: Clock
) -> None:
    reached: list[str] = []
    pollers: list[Poller] = []

    def hooked(event: dict[str, Any], context: Any) -> dict[str, Any]:
        reached.append("before")
        with contextlib.suppress(Exception):  # the point: this cannot stop it
            pollers[0].crash_here()
        reached.append("after")
        return {"batchItemFailures": []}

    with running(queue, clock, hooked) as poller:
        pollers.append(poller)
        assert poller.crash_here() is False  # not an invocation's thread: nothing happens
        queue.send("a")
        wait_until(lambda: poller.kills)
    [kill] = poller.kills
    assert kill.reason == "crash" and "in hooked" in kill.where
    assert reached == ["before"] and queue.counts() == (0, 1)
