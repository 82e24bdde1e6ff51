"""The two kinds of failure the worker distinguishes (docs/decisions.md#transient-and-permanent-errors),
and the error of an unusable secret (here rather than in ``sf_bigtime.secrets`` so that ingest can catch it
without loading pydantic before its first request)."""

from __future__ import annotations


class SyncError(Exception):
    """Base class: something stopped a sync. ``reason`` is written for a person, not a stack trace."""

    kind = "error"

    def __init__(self, reason: str, *, code: str = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientError(SyncError):
    """Retry later through SQS: timeouts, 5xx, throttling, expired tokens, a claim held by another worker.

    ``retry_after`` (seconds) carries a server's ``Retry-After`` so the queue backoff can honour it.
    """

    kind = "transient"

    def __init__(self, reason: str, *, code: str = "transient", retry_after: float | None = None) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class PermanentError(SyncError):
    """Retrying cannot help until a person changes something (data, mapping, permissions).

    The outcome is recorded as ``Failed`` with the reason, written onto the Opportunity, and counted.
    """

    kind = "permanent"


class SecretError(RuntimeError):
    """A secret is missing, unreadable or lacks a key; the message names the key, never a value."""
