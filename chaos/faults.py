"""The chaos run's faults, set on the fakes through their own fault injection (sf_bigtime_local.faults):
every kind the fake BigTime can produce, sharing one overall rate, plus its rate limit; Salesforce's 503s
and expiring sessions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from chaos.plan import Size
from sf_bigtime_local.faults import Fault

BIGTIME_API = r"^/BigtimeData/api/v2/"
SALESFORCE_API = r"^/services/data/"
RETRY_AFTER_SECONDS = 1  # short: a run has minutes, not hours


@dataclass(frozen=True)
class Kind:
    name: str
    what: str  # in words, for the report
    fault: dict[str, Any]  # Fault fields, without path/probability/times


def bigtime_kinds(http_timeout: float) -> list[Kind]:
    """Every failure the fake BigTime can produce; ``http_timeout`` is the client's, which delays outlast."""
    late = round(http_timeout + 0.5, 2)
    return [
        Kind(
            "500",
            "500 error page (ASP.NET JSON)",
            {"status": 500, "body": {"Message": "An error has occurred."}},
        ),
        Kind(
            "502",
            "502 HTML page from a proxy",
            {"status": 502, "body": "<html><body>502 Bad Gateway</body></html>"},
        ),
        Kind(
            "429",
            "429 + Retry-After (seconds)",
            {"status": 429, "headers": {"Retry-After": str(RETRY_AFTER_SECONDS)}},
        ),
        # The HTTP-date form of Retry-After, built when the fault is added: a little in the future.
        Kind("503", "503 + Retry-After (HTTP date)", {"status": 503, "headers": {}}),
        Kind(
            "slow",
            f"answer after {late}s (client gave up; the request is still carried out)",
            {"status": 0, "delay": late},
        ),
        Kind("lost", "carried out, answer lost (502 instead of the reply)", {"status": 502, "after": True}),
        Kind(
            "late",
            f"carried out, answer after {late}s (client gave up)",
            {"status": 0, "after": True, "delay": late},
        ),
    ]


def set_bigtime_faults(fake: Any, size: Size, seed: int) -> dict[str, Fault]:
    """Each kind strikes an equal share of calls; together ``size.bigtime_faults`` of them. Plus the limit."""
    kinds = bigtime_kinds(size.http_timeout)
    each = 1 - (1 - size.bigtime_faults) ** (1 / len(kinds))
    fake.faults.seed(seed)
    added = {}
    for kind in kinds:
        fields = dict(kind.fault)
        if kind.name == "503":
            fields["headers"] = {"Retry-After": _http_date_in(RETRY_AFTER_SECONDS)}
        added[kind.name] = fake.faults.add(Fault(path=BIGTIME_API, times=-1, probability=each, **fields))
    fake.configure(rate_limit_per_minute=size.bigtime_rate_limit, retry_after=RETRY_AFTER_SECONDS)
    return added


def set_salesforce_faults(fake: Any, size: Size, seed: int) -> Fault:
    fake.faults.seed(seed)
    fault = fake.faults.add(Fault(path=SALESFORCE_API, status=503, times=-1, probability=size.salesforce_503))
    fake.expire_sessions_every(size.session_calls)
    return fault


def refresh_retry_after(faults: dict[str, Fault]) -> None:
    """Keep the HTTP-date ``Retry-After`` of the 503 kind a little in the future as the run goes on."""
    fault = faults.get("503")
    if fault is not None:
        fault.headers["Retry-After"] = _http_date_in(RETRY_AFTER_SECONDS)


def clear_faults(bigtime: Any, salesforce: Any) -> None:
    """The outage is over (an operator fixes the cause before redriving the dead-letter queue)."""
    bigtime.faults.clear()
    bigtime.configure(rate_limit_per_minute=0)
    salesforce.faults.clear()
    salesforce.expire_sessions_every(0)


def _http_date_in(seconds: int) -> str:
    return formatdate(time.time() + seconds, usegmt=True)
