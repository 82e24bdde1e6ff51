"""Fault injection shared by the fakes: make the next N matching requests fail in a chosen way.

A fault matches on HTTP method and a regular expression searched in the request path. It can answer
with a status and body (and headers such as ``Retry-After``), delay the answer, or drop the connection
after the fake has done the work (``after=True``: the classic "created, but the caller never heard").

``probability`` below 1 makes a fault strike only that share of the matching requests (a steady fault
rate, e.g. "5 % of calls answer 503" with ``times=-1``); the draws come from the injector's random
generator, which :meth:`FaultInjector.seed` fixes so a chaos run can be replayed. A request the draw
spares does not use up ``times`` and goes on to the next fault in the list.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    method: str = "*"
    path: str = ""  # regular expression, searched in the request path (case-insensitive)
    status: int = 503
    body: Any = None  # JSON-serialisable, or str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (timeouts)
    times: int = 1  # how many matching requests it affects; -1 = until cleared
    after: bool = False  # do the real work first, then answer with this fault instead of the real reply
    probability: float = 1.0  # the share of matching requests it strikes (drawn per request)
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        return re.search(self.path, path, re.IGNORECASE) is not None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        allowed = {"method", "path", "status", "body", "headers", "delay", "times", "after", "probability"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        fault = cls(**data)
        fault.method = fault.method.upper()
        re.compile(fault.path)
        return fault

    def __post_init__(self) -> None:
        if isinstance(self.probability, bool) or not isinstance(self.probability, int | float):
            raise ValueError("probability must be a number")
        if not 0 < self.probability <= 1:
            raise ValueError("probability must be > 0 and <= 1")


class FaultInjector:
    """Thread-safe list of pending faults; :meth:`take` consumes one matching fault, if any."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def seed(self, seed: int | None) -> None:
        """Fix the draws of probabilistic faults (the same seed gives the same sequence of draws)."""
        with self._lock:
            self._random = random.Random(seed)

    def add(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        fault = fault or Fault.from_dict(kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.probability < 1 and self._random.random() >= fault.probability:
                    continue
                fault.hits += 1
                if fault.times > 0 and fault.hits >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None
