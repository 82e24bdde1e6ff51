"""Parsers for each way Salesforce can tell us about an Opportunity; each yields SyncRequests."""

from __future__ import annotations


class InboundError(Exception):
    """A request we refuse: HTTP status, a stable code, a message for the sender, the offending field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
