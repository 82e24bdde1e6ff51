"""The one shape every benchmark reports in, so `make bench` can print them side by side with their targets.

A benchmark module exposes ``run(quick: bool) -> list[Figure]`` (``quick``: a smaller size for a smoke run)
and ``NAME`` (its results file: ``benchmarks/results/<NAME>.json``). The runner prints every figure with its
target and whether it was met, and writes each module's figures with the machine they were measured on.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured figure. ``target`` is human-readable (e.g. "<= 1.3"); ``met`` is None without a target."""

    section: str  # e.g. "cold import", "ingest latency", "Salesforce calls", "backlog drain", "cost"
    name: str  # e.g. "worker, no byte code"
    value: float
    unit: str  # e.g. "x minimal handler", "ms", "calls/Opportunity", "USD"
    target: str | None = None
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # raw numbers behind the figure

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_most(section: str, name: str, value: float, unit: str, limit: float, **detail: Any) -> Figure:
    return Figure(section, name, value, unit, f"<= {limit:g}", value <= limit, detail)


def at_least(section: str, name: str, value: float, unit: str, floor: float, **detail: Any) -> Figure:
    return Figure(section, name, value, unit, f">= {floor:g}", value >= floor, detail)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }
