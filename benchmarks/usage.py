"""What the stack's functions use while a benchmark drives the local stack: the measuring half of
``benchmarks.sync_latency`` (and the inputs of ``benchmarks.cost``).

Per function (``ingest``, ``worker``, ``reconcile``, ``pull``): invocations and records; the CPU time of
the thread that ran the handler (``time.thread_time``: our code, botocore and requests, not the fakes or
moto, which run on other threads); every AWS request, by service and operation (counted in botocore);
the bytes and lines it logged; the EMF documents its metrics would print (built from what it emitted with
Powertools' own serializer: the local stack does not print metrics); and its DynamoDB requests by *kind*
(claim, record, lease, outcome, idempotency, budget, read, save: which code made the request, taken from
the call stack) with the request units DynamoDB would bill for them (from the items' sizes before and
after each write, read back without being counted).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

_current = threading.local()  # which function's handler this thread is running, if any; its emits

FUNCTIONS = {
    "sf_bigtime_local_ingest_app": "ingest",
    "sf_bigtime_local_worker_app": "worker",
    "sf_bigtime_local_reconcile_app": "reconcile",
    "sf_bigtime_local_pull_app": "pull",
    "bench_reconcile_app": "reconcile",
}
DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
CLOUDWATCH_LOGS_EVENT_OVERHEAD = 26  # bytes CloudWatch Logs adds to each event's size (its quotas page)


class Usage:
    """What the functions used while a phase ran (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.cpu_seconds: Counter[str] = Counter()
        self.aws: Counter[tuple[str, str, str]] = Counter()  # (function or "event source", service, op)
        self.log_bytes: Counter[str] = Counter()
        self.log_lines: Counter[str] = Counter()
        self.emf_bytes: Counter[str] = Counter()
        self.emf_documents: Counter[str] = Counter()
        self.metric_emits: Counter[str] = Counter()
        self.metric_keys: Counter[str] = Counter()  # "service name {dimensions}": emits of each metric
        self.metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()  # (service, name, dims)
        self.ddb: Counter[tuple[str, str]] = Counter()  # (function, kind: operation)
        # (function, "read" | "write"), and (function, "read: <kind>" | "write: <kind>")
        self.ddb_units: Counter[tuple[str, str]] = Counter()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                name: dict(getattr(self, name))
                for name in (
                    "invocations",
                    "records",
                    "cpu_seconds",
                    "aws",
                    "log_bytes",
                    "log_lines",
                    "emf_bytes",
                    "emf_documents",
                    "metric_emits",
                    "metric_keys",
                    "ddb",
                    "ddb_units",
                )
            }


def per_unit(before: dict[str, Any], after: dict[str, Any], units: int) -> dict[str, Any]:
    """What was used between two snapshots, per unit of work (an Opportunity synced, a run)."""

    def delta(key: str) -> dict[Any, float]:
        keys = set(before[key]) | set(after[key])
        return {k: after[key].get(k, 0) - before[key].get(k, 0) for k in keys}

    n = max(1, units)
    aws: dict[str, dict[str, float]] = {}
    for (who, service, operation), count in delta("aws").items():
        if count:
            aws.setdefault(who, {})[f"{service}:{operation}"] = round(count / n, 3)
    ddb: dict[str, dict[str, float]] = {}
    for (who, kind), count in sorted(delta("ddb").items()):
        if count:
            ddb.setdefault(who, {})[kind] = round(count / n, 3)
    units_by: dict[str, dict[str, float]] = {}
    for (who, rw), count in sorted(delta("ddb_units").items()):
        if count:
            units_by.setdefault(who, {})[rw] = round(count / n, 3)
    invocations = delta("invocations")

    def per(key: str, digits: int = 0) -> dict[str, float]:
        return {k: round(v / n, digits) if digits else round(v / n) for k, v in delta(key).items() if v}

    return {
        "units": units,
        "invocations": {k: round(v / n, 3) for k, v in invocations.items() if v},
        "records_per_invocation": {k: round(delta("records")[k] / v, 2) for k, v in invocations.items() if v},
        "cpu_ms": {k: round(1000 * v / n, 2) for k, v in delta("cpu_seconds").items() if v},
        "aws_requests": aws,
        "dynamodb_requests_by_kind": ddb,
        "dynamodb_request_units": units_by,
        "log_bytes": per("log_bytes"),
        "log_lines": per("log_lines", 2),
        "emf_bytes": per("emf_bytes"),
        "emf_documents": per("emf_documents", 2),
        "metric_emits": per("metric_emits", 2),
        "metrics": sorted(k for k, v in delta("metric_keys").items() if v),
    }


# -- DynamoDB: what an item weighs, which code asked -----------------------------------------------------
def attribute_bytes(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one typed attribute value (without its name), by AWS's published rules
    ("Item sizes and formats"): strings and binaries by their bytes, numbers one byte per two significant
    digits plus one, booleans and nulls one byte, lists and maps 3 bytes plus one per element plus the
    elements (and the map's keys)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        digits = str(Decimal(str(inner)).normalize()).lstrip("-").replace(".", "").lstrip("0")
        digits = digits.split("E")[0]
        return math.ceil(max(1, len(digits)) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_bytes(v) for k, v in inner.items())
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_bytes({kind[0]: v}) for v in inner)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_bytes(item: dict[str, Any] | None) -> int:
    """An item's size (typed, as the low-level API returns it): attribute names plus values."""
    return sum(len(k.encode()) + attribute_bytes(v) for k, v in (item or {}).items())


def _caller_kind(service_name: str, operation: str, params: dict[str, Any]) -> str:
    """Which code made this DynamoDB request, from the call stack: the state table's public method (and,
    for saves and reads, the sync step that asked), the rate budget, Powertools idempotency, the pull's
    progress."""
    store: str | None = None
    caller: str | None = None
    frame = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename.replace(os.sep, "/")
        name = frame.f_code.co_name
        if path.endswith("sf_bigtime/clients/store.py"):
            if not name.startswith("_"):
                store = name
        elif store is not None and "/sf_bigtime/" in path and not path.endswith("sync/context.py"):
            caller = f"{path.rsplit('/', 1)[-1].removesuffix('.py')}.{name}"
            break
        elif store is None:
            if path.endswith("sf_bigtime/clients/ratebudget.py"):
                return "budget"
            if "/utilities/idempotency/" in path:
                return f"idempotency: {operation}"
            if path.endswith("sf_bigtime/pull/progress.py"):
                return f"pull progress: {operation}"
        frame = frame.f_back  # type: ignore[assignment]
    if store is None:
        return f"other: {operation}"
    if store in ("claim", "record", "release"):
        return f"claim: {store}"
    if store in ("lease", "end_lease"):
        return f"lease: {store}"
    if store == "record_outcome":
        return "outcome"
    key = str(params.get("Key", {}).get("id", {}).get("S", ""))
    if store in ("get", "get_many"):
        return f"read {key.split('#', 1)[0] or 'batch'}: {caller}"
    return f"save {key.split('#', 1)[0]}: {caller}"


class _Units:
    """Reads items back (uncounted) to price DynamoDB requests in request units."""

    def __init__(self) -> None:
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb", region_name=os.environ.get("AWS_DEFAULT_REGION"))
        return self._client

    def size(self, table: str, key: dict[str, Any]) -> int:
        _current.measuring = True
        try:
            reply = self.client().get_item(TableName=table, Key=key, ConsistentRead=True)
        finally:
            _current.measuring = False
        return item_bytes(reply.get("Item"))


def item_sizes(table: str) -> dict[str, dict[str, int]]:
    """The state table's items by kind (the key's prefix; idempotency records by their function), their
    count and median and largest size in bytes: what each write to them costs in units of 1 KB."""
    import boto3

    _current.measuring = True
    try:
        pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
        items = [item for page in pages for item in page["Items"]]
    finally:
        _current.measuring = False
    by_kind: dict[str, list[int]] = {}
    for item in items:
        key = item["id"]["S"]
        prefix = key.split("#", 1)[0]
        kind = prefix if prefix in ("opp", "acct", "task", "budget", "pull") else "idempotency"
        by_kind.setdefault(kind, []).append(item_bytes(item))
    return {
        kind: {"items": len(sizes), "median": sorted(sizes)[len(sizes) // 2], "max": max(sizes)}
        for kind, sizes in sorted(by_kind.items())
    }


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


@contextmanager
def instrumented(usage: Usage) -> Iterator[None]:
    """Wrap the handlers the local stack loads; count botocore requests, DynamoDB request units, logged
    bytes and emitted metrics."""
    import botocore.endpoint

    import sf_bigtime_local.stack as stack_module
    from sf_bigtime.observability import METRICS, Emitter

    original_load = stack_module.load_handler
    original_request = botocore.endpoint.Endpoint.make_request
    original_emit = Emitter.emit
    units = _Units()

    def load_handler(app_path: Any, module_name: str, handler: str = "lambda_handler") -> Any:
        module, fn = original_load(app_path, module_name, handler)
        return module, wrap(usage, FUNCTIONS.get(module_name, module_name), fn)

    def make_request(self: Any, operation_model: Any, request_dict: Any) -> Any:
        if getattr(_current, "measuring", False):
            return original_request(self, operation_model, request_dict)
        who = getattr(_current, "function", None) or "event source"
        service, operation = operation_model.service_model.service_name, operation_model.name
        with usage.lock:
            usage.aws[(who, service, operation)] += 1
        if service != "dynamodb" or operation not in (*DYNAMODB_WRITES, "GetItem", "BatchGetItem"):
            return original_request(self, operation_model, request_dict)
        # The measuring below runs on the handler's thread: its CPU time is taken out of the function's.
        started = time.thread_time()
        params = json.loads(request_dict.get("body") or b"{}")
        kind = _caller_kind(service, operation, params)
        table, key = params.get("TableName"), params.get("Key") or {}
        if operation == "PutItem":
            key = {"id": params["Item"]["id"]}
        before = units.size(table, key) if operation in DYNAMODB_WRITES else 0
        overhead = time.thread_time() - started
        result = original_request(self, operation_model, request_dict)
        started = time.thread_time()
        parsed = result[1] if isinstance(result, tuple) else {}
        if operation in DYNAMODB_WRITES:
            after = units.size(table, key)
            spent, rw = max(1, math.ceil(max(before, after) / 1024)), "write"
        elif operation == "GetItem":
            spent = _read_units(item_bytes(parsed.get("Item")), bool(params.get("ConsistentRead")))
            rw = "read"
        else:
            requested = params.get("RequestItems", {})
            found = [item for items in parsed.get("Responses", {}).values() for item in items]
            asked = sum(len(r.get("Keys", [])) for r in requested.values())
            consistent = all(r.get("ConsistentRead") for r in requested.values())
            spent = sum(_read_units(item_bytes(item), consistent) for item in found)
            spent += (asked - len(found)) * _read_units(0, consistent)
            rw = "read"
        with usage.lock:
            usage.ddb[(who, kind)] += 1
            usage.ddb_units[(who, rw)] += spent
            usage.ddb_units[(who, f"{rw}: {kind}")] += spent
        _current.overhead = getattr(_current, "overhead", 0.0) + overhead + time.thread_time() - started
        return result

    def emit(self: Emitter, name: str, value: float = 1, **dimensions: str) -> None:
        original_emit(self, name, value, **dimensions)  # checks the name first
        if METRICS[name].counts and value == 0:
            return  # not published (sf_bigtime.observability.Emitter)
        with usage.lock:
            usage.metrics.add((self.service, name, tuple(sorted(dimensions.items()))))
            usage.metric_keys[f"{self.service} {name} {dict(sorted(dimensions.items()))}"] += 1
            usage.metric_emits[getattr(_current, "function", None) or self.service] += 1
        if self.metrics is not None and getattr(_current, "function", None):
            _current.emits.append((self.service, name, value, dimensions))

    stdout = sys.stdout
    Emitter.emit = emit  # type: ignore[method-assign]
    stack_module.load_handler = load_handler  # type: ignore[assignment]
    botocore.endpoint.Endpoint.make_request = make_request  # type: ignore[method-assign]
    sys.stdout = _CountingStream(usage, stdout)
    try:
        yield
    finally:
        sys.stdout = stdout
        Emitter.emit = original_emit  # type: ignore[method-assign]
        stack_module.load_handler = original_load  # type: ignore[assignment]
        botocore.endpoint.Endpoint.make_request = original_request  # type: ignore[method-assign]


def wrap(usage: Usage, function: str, handler: Any) -> Any:
    """The handler, measured: CPU time of its thread, invocations, records, the EMF it would print."""

    def timed(event: dict[str, Any], context: Any) -> Any:
        _current.function = function
        _current.emits = []
        _current.overhead = 0.0
        start = time.thread_time()
        try:
            return handler(event, context)
        finally:
            cpu = time.thread_time() - start - _current.overhead
            emf = emf_documents(_current.emits)
            with usage.lock:
                usage.cpu_seconds[function] += cpu
                usage.invocations[function] += 1
                usage.records[function] += len(event.get("Records", [])) or 1
                usage.emf_bytes[function] += sum(emf)
                usage.emf_documents[function] += len(emf)
            _current.function = None
            _current.emits = []

    return timed


def emf_documents(emits: list[tuple[str, str, float, dict[str, str]]]) -> list[int]:
    """The size in bytes of each EMF log line one invocation would print for these emits, as Powertools
    prints them (sf_bigtime.observability.Emitter): metrics without extra dimensions in one document per
    invocation, each one with extra dimensions in a document of its own."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    from sf_bigtime.observability import METRICS, NAMESPACE

    def document(service: str, items: list[tuple[str, float]], dimensions: dict[str, str]) -> int:
        provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=service)
        for dim, dim_value in dimensions.items():
            provider.add_dimension(dim, dim_value)
        for name, value in items:
            provider.add_metric(name=name, unit=METRICS[name].unit, value=value)
        return len(json.dumps(provider.serialize_metric_set(), separators=(",", ":"))) + 1

    sizes: list[int] = []
    plain: dict[str, list[tuple[str, float]]] = {}
    for service, name, value, dimensions in emits:
        if dimensions:
            sizes.append(document(service, [(name, value)], dimensions))
        else:
            plain.setdefault(service, []).append((name, value))
    sizes += [document(service, items, {}) for service, items in plain.items()]
    return sizes


class _CountingStream:
    """stdout for the stack's run: Powertools loggers write here; bytes and lines are counted per function."""

    def __init__(self, usage: Usage, stream: Any) -> None:
        self.usage, self.stream = usage, stream

    def write(self, text: str) -> int:
        function = getattr(_current, "function", None)
        if function:
            with self.usage.lock:
                self.usage.log_bytes[function] += len(text.encode())
                self.usage.log_lines[function] += text.count("\n")
            return len(text)
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
