"""API usage as the fake saw it: the call log (:class:`ApiCall`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiCall:
    """One ``/services/…`` request as the fake saw it (admin calls are not recorded)."""

    method: str
    path: str
    query: str
    status: int
    call_client: str | None  # from ``Sforce-Call-Options: client=…``
    time: float  # epoch seconds when answered
    counted: bool  # an API call under /services/data/vNN.N (counted in Sforce-Limit-Info)
    fault: bool  # answered by an injected fault

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``GET /__fake/calls``)."""
        return dict(vars(self))
