"""Failures to inject into an in-memory port: before the call is applied, or after it (the answer lost)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sf_bigtime.errors import SyncError

T = TypeVar("T")


@dataclass
class Fault:
    method: str
    error: SyncError
    after: bool  # the call is applied first, then fails (the answer was lost)
    times: int | None  # None: every call


@dataclass
class Faults:
    """Failures to inject, by method name; each is used ``times`` times (or for ever)."""

    pending: list[Fault] = field(default_factory=list)

    def add(self, method: str, error: SyncError, *, after: bool = False, times: int | None = 1) -> None:
        self.pending.append(Fault(method, error, after, times))

    def take(self, method: str) -> Fault | None:
        for fault in self.pending:
            if fault.method == method:
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self.pending.remove(fault)
                return fault
        return None

    def call(self, method: str, apply: Callable[[], T]) -> T:
        fault = self.take(method)
        if fault is not None and not fault.after:
            raise fault.error
        result = apply()
        if fault is not None:
            raise fault.error
        return result
