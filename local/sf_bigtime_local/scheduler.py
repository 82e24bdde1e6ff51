"""The local EventBridge schedule: invoke a function's handler every N seconds, as a `Schedule` event
would in the deployed stack (used for the reconcile sweep)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sf_bigtime_local.lambda_runtime import Handler, LambdaContext

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, handler: Handler, *, every: float, function_name: str, timeout_seconds: int) -> None:
        self.handler = handler
        self.every = every
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.runs = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"schedule-{self.function_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_seconds + 5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            event = {
                "version": "0",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "detail": {},
            }
            try:
                self.handler(event, LambdaContext(self.function_name, self.timeout_seconds))
                self.runs += 1
            except Exception:  # a failed run is not retried: the next one covers the same window
                self.errors += 1
                log.exception("%s failed", self.function_name)
