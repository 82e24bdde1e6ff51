"""Secrets never reach logs: a scanner for every log record and error message a test (or a chaos run) makes.

Give the code under test secrets of a known pattern (:func:`known_secret`: ``sfbtsecret`` + letters and
digits, valid wherever a generated secret is), run it, and the scanner fails if any of them, or any text
of that pattern, shows up in:

- any log record of any logger, at any level that is enabled (Powertools' loggers included: they do not
  propagate to the root logger, so records are taken where every logger hands them to its handlers,
  ``logging.Logger.handle``), with its message, arguments, ``extra`` fields and exception traceback;
- anything else you hand to :meth:`LogScan.scan` (an exception, an error message written to DynamoDB or
  onto the Opportunity, a reply body, captured stdout).

In a pytest test, take the ``log_scan`` fixture (tests/conftest.py); it checks when the test ends::

    def test_worker_keeps_secrets_out_of_logs(log_scan: LogScan) -> None:
        token = log_scan.secret("bigtime")            # known pattern, and registered
        ... run the worker with token ...
        log_scan.scan("last error", item["last_error"])

Anywhere else (``make chaos``), use it as a context manager and check yourself::

    with LogScan(level=logging.DEBUG) as scan:
        ... run ...
    scan.assert_clean()                                # raises AssertionError listing each finding

``level`` lowers the root logger for the scan (default DEBUG: the worst case, someone setting LOG_LEVEL to
DEBUG); loggers that set their own level keep it, so a library held above DEBUG stays there. A secret that
is only ever base64-encoded is not recognised: keep secrets in the known pattern's plain form.
"""

from __future__ import annotations

import logging
import re
import secrets as _secrets
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

SECRET_PREFIX = "sfbtsecret"
# The prefix and at least 8 more letters or digits: a secret, or a good part of one.
SECRET_PATTERN = re.compile(SECRET_PREFIX + r"[A-Za-z0-9]{8,}")
# LogRecord's own attributes; everything else on a record came in through ``extra``.
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def known_secret(label: str = "") -> str:
    """A secret value of the known pattern: letters and digits only, 48 or more characters (long enough
    for every secret shape; see sf_bigtime.secrets)."""
    tag = re.sub(r"[^A-Za-z0-9]", "", label)[:12]
    return f"{SECRET_PREFIX}{tag}{_secrets.token_hex(16)}"


@dataclass
class Finding:
    where: str  # "log WARNING sf_bigtime.ingest", or the label given to scan()
    secret: str  # the matched text, shortened
    text: str  # where it was found, shortened around the match

    def __str__(self) -> str:
        return f"{self.where}: {self.secret!r} in {self.text!r}"


@dataclass
class LogScan:
    level: int | None = logging.DEBUG
    registered: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    records: int = 0  # how many log records were scanned (a scan that saw nothing proves nothing)
    _previous_root_level: int | None = None
    _original_handle: Any = None

    # -- secrets ----------------------------------------------------------------------------------------
    def secret(self, label: str = "") -> str:
        """A new known-pattern secret, registered with this scan."""
        value = known_secret(label)
        self.registered.add(value)
        return value

    def register(self, *values: str) -> None:
        """Also look for these exact values (secrets that cannot follow the pattern)."""
        self.registered.update(v for v in values if v)

    # -- scanning ---------------------------------------------------------------------------------------
    def scan(self, where: str, value: Any) -> None:
        """Scan anything a person may read: text, an exception (with its causes and traceback), a dict."""
        self._check(where, _render(value))

    def _check(self, where: str, text: str) -> None:
        hits = {m.group(0) for m in SECRET_PATTERN.finditer(text)}
        hits |= {s for s in self.registered if s in text}
        for hit in sorted(hits):
            at = text.find(hit)
            self.findings.append(Finding(where, hit[:24] + "…", text[max(0, at - 80) : at + 40]))

    def _record(self, record: logging.LogRecord) -> None:
        self.records += 1
        parts = [str(record.msg)]
        try:
            parts.append(record.getMessage())
        except Exception:  # a bad format string: the raw parts are scanned above and below
            parts.append(repr(record.args))
        parts += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(_render(record.exc_info[1]))
        if record.stack_info:
            parts.append(record.stack_info)
        self._check(f"log {record.levelname} {record.name}", "\n".join(parts))

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> Self:
        scan = self
        original = logging.Logger.handle
        self._original_handle = original

        def handle(logger: logging.Logger, record: logging.LogRecord) -> None:
            scan._record(record)
            original(logger, record)

        logging.Logger.handle = handle  # type: ignore[method-assign]
        if self.level is not None:
            self._previous_root_level = logging.root.level
            logging.root.setLevel(self.level)
        return self

    def stop(self) -> None:
        if self._original_handle is not None:
            logging.Logger.handle = self._original_handle  # type: ignore[method-assign]
            self._original_handle = None
        if self._previous_root_level is not None:
            logging.root.setLevel(self._previous_root_level)
            self._previous_root_level = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def assert_clean(self) -> None:
        assert not self.findings, "secrets reached logs or error messages:\n" + "\n".join(
            f"  {f}" for f in self.findings
        )


def _render(value: Any) -> str:
    if isinstance(value, BaseException):
        parts = ["".join(traceback.format_exception(value))]
        cause = value.__cause__ or value.__context__
        while cause is not None:  # format_exception includes the chain; args may hold more
            parts.append(repr(cause.args))
            cause = cause.__cause__ or cause.__context__
        return "\n".join([*parts, repr(value.args), str(vars(value)) if hasattr(value, "__dict__") else ""])
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else repr(value)


@contextmanager
def scanning(level: int | None = logging.DEBUG) -> Iterator[LogScan]:
    """``with scanning() as scan: …`` then the scan is checked on leaving the block."""
    with LogScan(level=level) as scan:
        yield scan
    scan.assert_clean()
