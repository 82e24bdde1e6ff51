"""Metrics of the outgoing HTTP calls one unit of work made (a record for the worker, a sweep for reconcile).

``sf_bigtime.clients.http.HttpSession`` logs every call per thread (``observability.record_call``); the
function drains that log when the work is done, so the clients stay free of metrics code.
"""

from __future__ import annotations

from sf_bigtime import observability as obs

THROTTLED_STATUSES = (429, 503)


def emit_calls(emitter: obs.Emitter, salesforce_api_usage: tuple[int, int] | None) -> None:
    """Latency of every BigTime and Salesforce call this thread made since the last drain, BigTime's
    throttling, and the org's remaining API allowance (``(used, limit)`` from Sforce-Limit-Info, if seen).

    Calls to a system whose metrics the emitter's function does not declare are dropped: reconcile talks
    to Salesforce only, and the per-thread log is drained either way so it cannot grow.
    """
    for call in obs.drain_calls():
        if call.system == "bigtime" and emitter.declares(obs.BIGTIME_LATENCY):
            emitter.emit(obs.BIGTIME_LATENCY, call.elapsed_ms)
            if call.status in THROTTLED_STATUSES:
                emitter.emit(obs.BIGTIME_THROTTLED)
        elif call.system == "salesforce":
            emitter.emit(obs.SALESFORCE_LATENCY, call.elapsed_ms)
    if salesforce_api_usage is not None:
        used, limit = salesforce_api_usage
        emitter.emit(obs.SALESFORCE_API_REMAINING, max(0, limit - used))
