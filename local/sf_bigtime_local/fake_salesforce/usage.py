"""API usage as the fake saw it: every ``/services/…`` call (:class:`ApiCall`), what counts against the daily
limit, and every record the REST API wrote.

How to read it (tests, benchmarks, the local stack):

- ``fake.api_usage``: the number in ``Sforce-Limit-Info: api-usage=N/M`` (calls under
  ``/services/data/vNN.N``; token requests and ``GET /services/data/`` are free, a composite or collection
  request is one call however many records it carries).
- ``fake.usage()`` → :class:`Usage`: ``api_calls``, ``calls_by_kind`` (``query``, ``read``, ``write``,
  ``describe``, ``composite``, ``collection``, ``limits``, ``token``, …), ``records_created`` /
  ``records_updated`` / ``records_deleted`` / ``records_undeleted`` and ``writes_by_object``. Take one before
  and one after and subtract: ``(fake.usage() - before).records_written == 0`` is "no Salesforce writes".
- ``fake.writes``: the committed REST writes themselves (:class:`Write`), oldest first.
- Over HTTP: ``GET /__fake/usage`` (the :class:`Usage` as JSON) and ``GET /__fake/calls``.

Writes count saves the org performed because of a REST request: a record created by a collection counts
once, and so does a save the platform adds (a line item's roll-up onto its opportunity, a cascade delete),
as each is a real save in Salesforce. Seeding through the fake's Python API or ``/__fake/records`` is not
counted. ``reset()`` zeroes everything.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .store import Change

_VERSION_PATH = re.compile(r"^/services/data/v\d+\.\d(/.*)?$")
_WRITE_KINDS = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted", "UNDELETE": "undeleted"}


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
    kind: str = "other"  # see call_kind()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``GET /__fake/calls``)."""
        return dict(vars(self))


@dataclass(frozen=True)
class Write:
    """One record saved by a REST request (committed)."""

    kind: str  # CREATE | UPDATE | DELETE | UNDELETE
    sobject: str
    record_id: str
    client: str | None  # the request's Sforce-Call-Options client


@dataclass(frozen=True)
class Usage:
    """Counters at one moment; subtract two to get what happened in between."""

    api_calls: int = 0
    calls_by_kind: dict[str, int] = field(default_factory=dict)
    records_created: int = 0
    records_updated: int = 0
    records_deleted: int = 0
    records_undeleted: int = 0
    writes_by_object: dict[str, int] = field(default_factory=dict)

    @property
    def records_written(self) -> int:
        return self.records_created + self.records_updated + self.records_deleted + self.records_undeleted

    def __sub__(self, earlier: Usage) -> Usage:
        def minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            return {k: a.get(k, 0) - b.get(k, 0) for k in a if a.get(k, 0) != b.get(k, 0)}

        return Usage(
            self.api_calls - earlier.api_calls,
            minus(self.calls_by_kind, earlier.calls_by_kind),
            self.records_created - earlier.records_created,
            self.records_updated - earlier.records_updated,
            self.records_deleted - earlier.records_deleted,
            self.records_undeleted - earlier.records_undeleted,
            minus(self.writes_by_object, earlier.writes_by_object),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "records_written": self.records_written}


def call_kind(method: str, path: str) -> str:
    """What a request is, for counting: token, versions, index, query, read, write, describe, limits,
    composite, collection, other."""
    if path.rstrip("/") == "/services/oauth2/token":
        return "token"
    m = _VERSION_PATH.match(path)
    if m is None:
        return "versions" if path.rstrip("/") == "/services/data" else "other"
    segs = [s for s in (m.group(1) or "").split("/") if s]
    if not segs:
        return "index"
    head = segs[0]
    if head in ("query", "queryAll"):
        return "query"
    if head == "limits":
        return "limits"
    if head == "composite":
        return "collection" if segs[1:2] == ["sobjects"] else "composite" if len(segs) == 1 else "other"
    if head != "sobjects":
        return "other"
    if len(segs) == 1 or segs[-1] == "describe" or (len(segs) == 2 and method == "GET"):
        return "describe"
    return "read" if method == "GET" else "write"


class UsageLog:
    """The fake's calls and REST writes. Not locked: the app calls it under its own lock."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.writes: list[Write] = []
        self.api_count = 0

    def count_call(self) -> int:
        """One more call against the daily limit; returns the new total."""
        self.api_count += 1
        return self.api_count

    def record_writes(self, changes: list[Change]) -> None:
        self.writes.extend(Write(c.kind, c.sobject, c.record_id, c.client) for c in changes)

    def usage(self) -> Usage:
        kinds = Counter(c.kind for c in self.calls)
        saved = Counter(_WRITE_KINDS[w.kind] for w in self.writes)
        return Usage(
            api_calls=self.api_count,
            calls_by_kind=dict(kinds),
            records_created=saved["created"],
            records_updated=saved["updated"],
            records_deleted=saved["deleted"],
            records_undeleted=saved["undeleted"],
            writes_by_object=dict(Counter(w.sobject for w in self.writes)),
        )
