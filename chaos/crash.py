"""Worker crashes: invocations killed mid-batch, at a random moment or right after BigTime answered a create.

A crash at a random moment goes through the local event source mapping (``Poller.crash``). A crash after a
create wraps that one BigTime client method for the run: once armed, the next call of it that returns on an
invocation's thread ends that invocation there (``Poller.crash_here``), so BigTime holds the new client,
project or task while the state table does not know its id, which is what a sandbox dying at that moment
leaves behind.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from chaos.plan import Plan
from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime_local.poller import Poller


class Crasher:
    def __init__(self, poller: Poller, plan: Plan) -> None:
        self.poller = poller
        self.plan = plan
        self._lock = threading.Lock()
        self._armed: Counter[str] = Counter()  # method name -> crashes waiting for its next call
        self._scheduled = len(plan.crashes)
        self._originals: dict[str, Callable[..., Any]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Crashes not yet delivered (scheduled, armed, or waiting in the poller)."""
        with self._lock:
            return self._scheduled + sum(self._armed.values()) + self.poller.pending_crashes

    def start(self, burst: float) -> None:
        for method in {c.point.removeprefix("after ") for c in self.plan.crashes if c.point != "anywhere"}:
            self._wrap(method)
        self._thread = threading.Thread(target=self._run, args=(burst,), name="chaos-crashes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for method, original in self._originals.items():
            setattr(BigTimeClient, method, original)
        self._originals.clear()

    def _run(self, burst: float) -> None:
        for crash in sorted(self.plan.crashes, key=lambda c: c.at):
            if self._stop.wait(max(0.0, burst + crash.at - time.monotonic())):
                return
            with self._lock:
                self._scheduled -= 1
                if crash.point == "anywhere":
                    self.poller.crash(crash.into)
                else:
                    self._armed[crash.point.removeprefix("after ")] += 1

    def _wrap(self, method: str) -> None:
        original = getattr(BigTimeClient, method)
        self._originals[method] = original
        crasher = self

        def crashing(client: BigTimeClient, *args: Any, **kwargs: Any) -> Any:
            result = original(client, *args, **kwargs)
            crasher._after(method)
            return result

        setattr(BigTimeClient, method, crashing)

    def _after(self, method: str) -> None:
        with self._lock:
            if not self._armed[method]:
                return
            self._armed[method] -= 1
        if not self.poller.crash_here():  # not an invocation's thread: keep it for the next call
            with self._lock:
                self._armed[method] += 1
