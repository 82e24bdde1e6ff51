"""The run's logs and what else a person may read, and the scan of all of it for the run's secrets (tests/logscan.py
gives the secrets a known pattern and sees every log record as it is made)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from chaos.checks import Results
from sf_bigtime import observability as obs
from tests.logscan import LogScan


class LogsToFile:
    """Every log record of the run goes to its log file, not the terminal: handlers that write to the console
    (the functions' Powertools loggers, which do not propagate, werkzeug's) are pointed at the file, the
    functions' loggers log at DEBUG, and a root handler takes everything else."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.root = logging.StreamHandler(stream)
        self.root.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s")
        )
        self.handlers: list[tuple[logging.StreamHandler[Any], Any]] = []
        self.levels: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> None:
        consoles = {id(s) for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__) if s is not None}
        loggers = [
            logging.root,
            *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
        ]
        for logger in loggers:
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler) and id(handler.stream) in consoles:
                    self.handlers.append((handler, handler.setStream(self.stream)))
        for service in (obs.WORKER, obs.INGEST):
            logger = logging.getLogger(service)
            self.levels.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        logging.root.addHandler(self.root)

    def __exit__(self, *exc: object) -> None:
        logging.root.removeHandler(self.root)
        for logger, level in self.levels:
            logger.setLevel(level)
        for handler, stream in self.handlers:
            handler.setStream(stream)


def scan_outputs(
    scan: LogScan,
    *,
    replies: list[str],
    state: list[dict[str, Any]],
    opportunities: list[Any],
    kills: list[Any],
) -> None:
    """What a person may read besides the log records (which the scan saw as they were made): ingest's
    replies, the state table (last errors and reasons), the Opportunities (sync messages), the kills."""
    scan.scan("ingest replies", replies)
    scan.scan("state table", state)
    scan.scan("Opportunities", opportunities)
    scan.scan("worker kills", [vars(k) for k in kills])


def scan_file(scan: LogScan, path: Path) -> None:
    """Every line the run's log file captured, as written (formatted records included)."""
    with path.open() as captured:
        for n, line in enumerate(captured, 1):
            scan.scan(f"{path.name}:{n}", line)


def finish_scan(scan: LogScan, results: Results) -> None:
    results.figure(
        "log scan", f"{scan.records} log records and every captured line, {len(scan.findings)} secrets found"
    )
    for finding in scan.findings[:20]:
        results.failures.append(f"secret in output: {finding}")
    results.expect(scan.records > 1000, f"the log scan saw only {scan.records} log records")
