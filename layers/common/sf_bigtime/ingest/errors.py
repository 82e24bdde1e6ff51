"""What ingest refuses: an InboundError carries the HTTP status, a stable code and a message for the sender."""

from __future__ import annotations


class InboundError(Exception):
    """A request we refuse: HTTP status, a stable code, a message for the sender, the offending field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class AuthError(InboundError):
    """401/403 with one generic message per status; ``reason`` says what failed, for our log only."""

    def __init__(self, status: int, reason: str) -> None:
        if status == 401:
            super().__init__(401, "unauthorized", "missing or invalid credentials")
        else:
            super().__init__(403, "forbidden", "not allowed")
        self.reason = reason
