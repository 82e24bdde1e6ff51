"""Metrics of the outgoing HTTP calls one unit of work made (a record for the worker, a sweep for reconcile).

``sf_bigtime.clients.http.HttpSession`` logs every call per thread (``observability.record_call``), the
BigTime rate budget every wait (``observability.record_budget_wait``); the function drains both logs when
the work is done, so the clients stay free of metrics code.
"""

from __future__ import annotations

from sf_bigtime import observability as obs

THROTTLED_STATUSES = (429, 503)


def emit_calls(emitter: obs.Emitter, salesforce_api_usage: tuple[int, int] | None) -> None:
    """Latency of every BigTime and Salesforce call this thread made since the last drain, BigTime's
    throttling, the waits for the BigTime rate budget and its rate, and the org's remaining API allowance
    (``(used, limit)`` from Sforce-Limit-Info, if seen).

    What the emitter's function does not declare is dropped: the scheduled functions time their calls
    by their run's duration, reconcile reports no allowance (the pull does), and the per-thread logs are
    drained either way so they cannot grow.
    """
    for call in obs.drain_calls():
        if call.system == "bigtime":
            if emitter.declares(obs.BIGTIME_LATENCY):
                emitter.emit(obs.BIGTIME_LATENCY, call.elapsed_ms)
            if call.status in THROTTLED_STATUSES and emitter.declares(obs.BIGTIME_THROTTLED):
                emitter.emit(obs.BIGTIME_THROTTLED)
        elif call.system == "salesforce" and emitter.declares(obs.SALESFORCE_LATENCY):
            emitter.emit(obs.SALESFORCE_LATENCY, call.elapsed_ms)
    waits = obs.drain_budget_waits()
    if waits and emitter.declares(obs.BIGTIME_BUDGET_WAIT):
        for wait in waits:
            emitter.emit(obs.BIGTIME_BUDGET_WAIT, wait.waited_ms)
        fallbacks = sum(1 for wait in waits if wait.fallback)
        if fallbacks:
            emitter.emit(obs.BIGTIME_BUDGET_FALLBACK, fallbacks)
        # The lowest rate this unit of work saw: a cut after throttling shows as a dip.
        emitter.emit(obs.BIGTIME_BUDGET_RATE, min(wait.rate_per_minute for wait in waits))
    if salesforce_api_usage is not None and emitter.declares(obs.SALESFORCE_API_REMAINING):
        used, limit = salesforce_api_usage
        emitter.emit(obs.SALESFORCE_API_REMAINING, max(0, limit - used))
