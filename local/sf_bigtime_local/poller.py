"""The local SQS event source mapping: receive batches and invoke the worker exactly as Lambda would.

What Lambda does and this reproduces: up to ``batch_size`` messages per invocation (a FIFO batch may mix
message groups, in order), the ``Records`` shape of an SQS event, deletion of the messages that succeeded,
and — with ``ReportBatchItemFailures`` — leaving the reported ones on the queue, where they reappear after
their visibility timeout and move to the DLQ after ``maxReceiveCount``. A handler that raises fails the
whole batch. ``concurrency`` pollers run at once, like ``ScalingConfig.MaximumConcurrency``.

An invocation that outlives the function's timeout is ended, as Lambda ends it ("Task timed out"), and
:meth:`Poller.crash` ends one on purpose mid-batch, as a sandbox that dies (out of memory, a host failure)
would: :class:`InvocationKilled` is raised inside the invocation's thread wherever it happens to be (or, with
:meth:`Poller.crash_here`, exactly where a hook inside the function calls it). It is a
``BaseException``, so no ``except Exception`` of the function or its libraries stops it; nothing of the
batch is deleted or reported, and its messages return after their visibility timeout. One difference from a
real kill remains: ``finally`` blocks on the way out still run (a real sandbox runs nothing more), which can
only tidy up, never leave more behind.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sf_bigtime_local.lambda_runtime import Handler, LambdaContext

log = logging.getLogger(__name__)

_WATCH_INTERVAL = 0.02  # how often the watchdog looks for invocations to end


class InvocationKilled(BaseException):
    """The invocation was ended from outside (its timeout, or a simulated crash); see the module docstring."""


@dataclass
class Kill:
    """One invocation the poller ended: why, after how long, its messages, and where it was stopped."""

    reason: str  # "timeout" | "crash"
    seconds: float
    messages: int
    where: str = ""  # the innermost frame the exception went through, file:line in function
    where_ours: str = ""  # the innermost frame of our own code (sf_bigtime), if it was in there


@dataclass
class _Running:
    thread_id: int
    started: float
    messages: int
    kill_at: float
    reason: str
    fired: bool = False
    done: bool = False


class Poller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        function_name: str,
        timeout_seconds: int,
        batch_size: int = 10,
        concurrency: int = 2,
        region: str = "us-east-1",
        wait_seconds: int = 1,
        clock: Callable[[], float] = time.monotonic,  # what timeouts and crash delays are measured on
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.region = region
        self.wait_seconds = wait_seconds
        self.clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}
        self._crashes: list[float] = []  # pending crashes: seconds into the next invocations
        self.invocations = 0
        self.errors = 0
        self.kills: list[Kill] = []

    def start(self) -> None:
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._run, name=f"poller-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        watchdog = threading.Thread(target=self._watch, name="poller-watchdog", daemon=True)
        watchdog.start()
        self._threads.append(watchdog)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.wait_seconds + self.timeout_seconds + 5)
        self._threads.clear()

    def crash(self, after: float) -> None:
        """Kill the next invocation that runs for ``after`` seconds, at that point (an invocation that ends
        sooner passes the crash on to the next one)."""
        with self._lock:
            self._crashes.append(after)

    def crash_here(self) -> bool:
        """End the invocation running on the calling thread now, as a crash: for a hook placed inside the
        function (e.g. right after a call that changed something). False, and nothing happens, on a thread
        that runs no invocation."""
        with self._lock:
            running = self._running.get(threading.get_ident())
            if running is None or running.done:
                return False
            running.reason, running.fired = "crash", True
        raise InvocationKilled

    @property
    def pending_crashes(self) -> int:
        with self._lock:
            return len(self._crashes)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except InvocationKilled as exc:  # delivered just after the handler returned: still ended
                self._killed(exc, None)
            except Exception:  # keep polling, like the real event source mapping
                log.exception("poller iteration failed")
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch and invoke the handler with it; return how many messages it carried."""
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        running = self._begin(len(messages))
        try:
            result = self.handler(
                event, LambdaContext(function_name=self.function_name, timeout_seconds=self.timeout_seconds)
            )
        except InvocationKilled as exc:
            self._end(running)
            self._killed(exc, running)
            return len(messages)
        except Exception:
            self._end(running)
            with self._lock:
                self.errors += 1
            log.exception("worker invocation failed; the whole batch returns after its visibility timeout")
            return len(messages)
        self._end(running)
        failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(messages)

    # -- ending invocations -------------------------------------------------------------------------------
    def _begin(self, messages: int) -> _Running:
        now = self.clock()
        with self._lock:
            self.invocations += 1
            kill_at, reason = now + self.timeout_seconds, "timeout"
            if self._crashes:
                crash_at = now + self._crashes.pop(0)
                if crash_at < kill_at:
                    kill_at, reason = crash_at, "crash"
            running = _Running(threading.get_ident(), now, messages, kill_at, reason)
            self._running[running.thread_id] = running
        return running

    def _end(self, running: _Running) -> None:
        with self._lock:
            running.done = True
            self._running.pop(running.thread_id, None)
            if running.reason == "crash" and not running.fired:  # it ended first: the next one crashes
                self._crashes.insert(0, running.kill_at - running.started)

    def _watch(self) -> None:
        while not self._stop.wait(_WATCH_INTERVAL):
            now = self.clock()
            with self._lock:
                for running in self._running.values():
                    if not running.fired and not running.done and now >= running.kill_at:
                        running.fired = True
                        _raise_in_thread(running.thread_id)

    def _killed(self, exc: InvocationKilled, running: _Running | None) -> None:
        where, ours = _where(exc)
        kill = Kill(
            reason=running.reason if running else "late",
            seconds=round(self.clock() - running.started, 3) if running else 0.0,
            messages=running.messages if running else 0,
            where=where,
            where_ours=ours,
        )
        with self._lock:
            self.kills.append(kill)
        if kill.reason == "timeout":
            log.error("worker invocation timed out after %ss; its batch returns", self.timeout_seconds)
        else:
            log.warning("worker invocation ended (%s) at %s", kill.reason, ours or where)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


def _raise_in_thread(thread_id: int) -> None:
    """Raise :class:`InvocationKilled` in another thread at its next bytecode (CPython's documented way to
    interrupt a thread: there is no other; a thread blocked in a system call gets it when the call returns)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(InvocationKilled))


def _where(exc: BaseException) -> tuple[str, str]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return "", ""

    def show(frame: traceback.FrameSummary) -> str:
        path = frame.filename
        for marker in ("/sf_bigtime/", "/site-packages/", "/sf_bigtime_local/"):
            if marker in path:
                path = path[path.index(marker) + 1 :]
                break
        return f"{path}:{frame.lineno} in {frame.name}"

    ours = next((f for f in reversed(frames) if "/sf_bigtime/" in f.filename), None)
    return show(frames[-1]), show(ours) if ours else ""
