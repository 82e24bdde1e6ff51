"""Ingest per request, warm: a JSON event, an Outbound Message with 1 notification and one with 100 (the
most Salesforce puts in one), through ``sf_bigtime.ingest.handler.handle`` in this process.

What is timed is ours: authentication, parsing and validation, the SyncRequests, the log line (a
Powertools Logger writing to /dev/null), the reply. Metrics are not emitted. The secrets
and the SQS send are stubbed (their latency is AWS's; the cost benchmark adds it), so the figures are the
CPU time a warm ingest spends per request on this machine. Every body is served once before timing
(entry points load their parser on first use: the cold-import benchmark measures that).
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure

NAME = "ingest-latency"
ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def _outbound_message(template: dict[str, Any], notifications: int) -> dict[str, Any]:
    """The sample Outbound Message with ``notifications`` copies of its first notification, each with its
    own notification and Opportunity id."""
    body = template["body"]
    first = re.search(r"<Notification>.*?</Notification>", body, re.S)
    assert first is not None
    copies = []
    for i in range(notifications):
        copy = re.sub(r"<Id>04l[0-9A-Za-z]+</Id>", f"<Id>04l5w0000{i:06d}</Id>", first[0])
        copies.append(re.sub(r"<sf:Id>006[0-9A-Za-z]+</sf:Id>", f"<sf:Id>0065w0000{i:06d}</sf:Id>", copy))
    head, tail = body.split("<Notification>", 1)[0], body.rsplit("</Notification>", 1)[1]
    return template | {"body": head + "".join(copies) + tail}


def events() -> dict[str, tuple[dict[str, Any], int]]:
    """name -> (API Gateway event, Opportunities it carries)."""
    outbound = json.loads((EVENTS / "apigw-outbound-message.json").read_text())
    return {
        "JSON event": (json.loads((EVENTS / "apigw-json-event.json").read_text()), 1),
        "Outbound Message, 1 notification": (_outbound_message(outbound, 1), 1),
        "Outbound Message, 100 notifications": (_outbound_message(outbound, 100), 100),
    }


def run(quick: bool) -> list[Figure]:
    from aws_lambda_powertools import Logger

    from sf_bigtime.ingest.handler import IngestDeps, handle
    from sf_bigtime.settings import IngestSettings

    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    log = Logger(service="bench-ingest-latency", logger_handler=logging.StreamHandler(devnull))

    requests = 200 if quick else 1000
    enqueued: list[int] = []
    deps = IngestDeps(
        settings=IngestSettings(queue_url="q", webhook_secret_arn="a", allowed_org_ids=("00D5w000004abcd",)),  # noqa: S106
        api_key=lambda: "REPLACE-WITH-THE-GENERATED-KEY",
        outbound_message_token=lambda: "REPLACE-WITH-THE-GENERATED-TOKEN",
        enqueue=lambda batch: enqueued.append(len(batch)) or ["m"] * len(batch),  # type: ignore[func-returns-value]
    )
    figures: list[Figure] = []
    for name, (event, carried) in events().items():
        reply = handle(event, deps, log=log)  # warm-up: the entry point's parser loads on first use
        assert reply["statusCode"] in (200, 202) and enqueued[-1] == carried, (name, reply)
        # Fewer runs for the large body, so both kinds take seconds, not minutes.
        n = requests if carried == 1 else max(50, requests // 10)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            handle(event, deps, log=log)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        p50, p99 = statistics.median(samples), samples[min(len(samples) - 1, int(0.99 * len(samples)))]
        detail = {"requests": n, "opportunities_per_request": carried, "body_bytes": len(event["body"])}
        figures.append(Figure("ingest latency", f"{name}, p50", round(p50, 3), "ms/request", detail=detail))
        figures.append(Figure("ingest latency", f"{name}, p99", round(p99, 3), "ms/request", detail=detail))
    devnull.close()
    return figures
