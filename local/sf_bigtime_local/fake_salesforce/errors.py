"""Salesforce REST error bodies: a JSON array of ``{"message", "errorCode", "fields"}`` with an HTTP status."""

from __future__ import annotations

from typing import Any


class FakeSalesforceError(Exception):
    """An error the fake answers exactly as Salesforce would (status + error array).

    ``body`` overrides the standard array, e.g. for 300 Multiple Choices, whose body is a list of URLs.
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])
        self._body = body

    def body(self) -> Any:
        """The JSON body Salesforce sends for this error."""
        if self._body is not None:
            return self._body
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


def not_found(message: str = "The requested resource does not exist") -> FakeSalesforceError:
    return FakeSalesforceError(404, "NOT_FOUND", message)


def entity_is_deleted() -> FakeSalesforceError:
    return FakeSalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")


def bad_request(error_code: str, message: str, fields: list[str] | None = None) -> FakeSalesforceError:
    return FakeSalesforceError(400, error_code, message, fields)


# Default bodies for injected faults that give only a status, so clients see Salesforce-shaped errors.
DEFAULT_FAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_OPERATION", "The operation failed (injected fault)"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    409: ("CONFLICT", "Conflict (injected fault)"),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-123456789)",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway (injected fault)"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
}


def fault_body(status: int) -> list[dict[str, Any]]:
    code, message = DEFAULT_FAULT_ERRORS.get(status, ("UNKNOWN_EXCEPTION", f"HTTP {status} (injected fault)"))
    return [{"message": message, "errorCode": code, "fields": []}]
