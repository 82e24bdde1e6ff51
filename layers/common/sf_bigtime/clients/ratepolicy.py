"""The numbers of the firm's BigTime rate budget and the shape of its DynamoDB item
(docs/decisions.md#one-bigtime-rate-budget-for-the-firm); :mod:`sf_bigtime.clients.ratebudget` uses them.

``budget#bigtime`` in the state table (never expires; a few dozen bytes):

============ ===========================================================================================
``tat``      seconds since the epoch (to the microsecond): when the next call may start at the latest
``factor``,  after BigTime throttled us: the fraction of the budget allowed at ``cut_at`` (it regains a
``cut_at``   tenth of the budget per minute from then on); absent until the first throttling
``pace_<c>`` for callers other than syncs: when caller ``c`` may take its next call (its share)
============ ===========================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Caller = Literal["sync", "pull", "reconcile", "backfill"]
# The most of the firm's rate each caller may use; all but syncs also wait while syncs are queued.
SHARES: Mapping[Caller, float] = {"sync": 1.0, "pull": 0.5, "backfill": 0.5, "reconcile": 0.25}
ITEM_ID = "budget#bigtime"
US = 1_000_000  # the item's times and intervals are whole microseconds: exact in DynamoDB and here


@dataclass(frozen=True)
class State:
    """The budget item as last seen (times in microseconds since the epoch)."""

    tat: int | None = None
    factor: float = 1.0
    cut_at: int | None = None
    pace: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The numbers: the firm's calls per minute, the burst, and how throttling lowers and restores them."""

    per_minute: float
    burst: int = 1
    cut_to: float = 0.5  # a throttled call multiplies the rate by this ...
    floor: float = 0.1  # ... down to this fraction of per_minute,
    recover_per_minute: float = 0.1  # then it regains this fraction of per_minute each minute
    cut_cooldown: float = 5.0  # seconds: the calls in flight when we cut are throttled too; one cut for all
    # Seconds between a call's slot and BigTime counting it (our scheduling, the network) that may differ
    # from call to call: the budget holds over 60 s plus this, so BigTime's own minute holds too.
    jitter: float = 1.0

    @classmethod
    def for_rate(cls, per_minute: float, burst: int | None = None) -> Policy:
        """``burst`` calls may start back to back (one sync's calls need not wait for each other); the
        sustained rate gives way so that no 61 s ever holds more than ``per_minute``: with 25 a minute and
        a burst of 8, 18 a minute sustained. The burst is held to half the minute's calls at most. Without
        one, up to a second's worth (at most 10)."""
        if burst is None:
            burst = math.floor(per_minute) // 60
        return cls(per_minute, burst=max(1, min(burst, 10, math.floor(per_minute) // 2)))

    def factor(self, state: State, now: int) -> float:
        if state.cut_at is None:
            return 1.0
        regained = max(0, now - state.cut_at) / US / 60 * self.recover_per_minute
        return min(1.0, state.factor + regained)

    def interval(self, factor: float) -> int:
        """Microseconds between calls. GCRA lets floor((W + tolerance) / interval) + 1 calls start in any
        W seconds; with tolerance = (burst - 1) * interval that stays <= per_minute iff interval > W /
        (per_minute - burst + 1). W is 60 s plus the jitter allowance."""
        window = (60 + self.jitter) * US
        whole = math.floor(self.per_minute)
        slot = window / (whole - self.burst + 1) if whole >= 1 else window / self.per_minute
        return math.floor(slot / factor) + 2  # strictly above the bound, whatever the rounding

    def tolerance(self, interval: int) -> int:
        return (self.burst - 1) * interval


def number(us: int) -> dict[str, str]:
    """A time or interval in microseconds as a DynamoDB number of seconds (readable in the console)."""
    sign = "-" if us < 0 else ""
    whole, frac = divmod(abs(us), US)
    return {"N": f"{sign}{whole}.{frac:06d}"}


def micros(attribute: Mapping[str, str] | None) -> int | None:
    if not attribute or "N" not in attribute:
        return None
    return int(Decimal(attribute["N"]) * US)


def parse_state(item: Mapping[str, Any]) -> State:
    factor = item.get("factor")
    return State(
        tat=micros(item.get("tat")),
        factor=float(factor["N"]) if factor and "N" in factor else 1.0,
        cut_at=micros(item.get("cut_at")),
        pace={
            name.removeprefix("pace_"): us
            for name, value in item.items()
            if name.startswith("pace_") and (us := micros(value)) is not None
        },
    )
