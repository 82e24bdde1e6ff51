"""The Salesforce side of a pull: one SOQL read of the BigTime Project records as they are now, and the
changed rows written back in as few API calls as Salesforce allows.

Writes are sObject Collections upserts keyed on ``BigTime_Project_Id__c`` (``allOrNone=false``, so one
refused record never stops the others), 200 records per collection and up to five collections in one
``/composite`` request: a thousand changed records per API call. Each record's result comes back on its own
(:class:`RecordResult`). Copies onto the Opportunity (opt-in) ride in the same requests as collection
updates by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simple_salesforce.format import format_soql

from sf_bigtime.clients.salesforce import PROJECT_KEY_FIELD, PROJECT_OBJECT, SalesforceClient
from sf_bigtime.pull.fields import (
    DELETED_STATUS,
    LAST_PULLED,
    PULL_READ_FIELDS,
    PULL_WRITE_FIELDS,
    parse_salesforce_datetime,
)

COLLECTION_SIZE = 200  # records per sObject Collections request (Salesforce's limit)
COLLECTIONS_PER_COMPOSITE = 5  # collections in one /composite request (Salesforce's limit)


@dataclass
class Scope:
    """Which records a pull looks at: all of them, one Opportunity's, or one BigTime project's."""

    opportunity_id: str | None = None
    project_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.opportunity_id is None and self.project_id is None

    def describe(self) -> str:
        if self.opportunity_id:
            return f"Opportunity {self.opportunity_id}"
        return f"BigTime project {self.project_id}" if self.project_id else "every BigTime project"


@dataclass
class ProjectRecord:
    """One ``BigTime_Project__c`` record as read (the raw SOQL record)."""

    record: dict[str, Any]

    def get(self, field: str) -> Any:
        return self.record.get(field)

    @property
    def id(self) -> str:
        return str(self.record["Id"])

    @property
    def project_id(self) -> str:
        return str(self.record.get(PROJECT_KEY_FIELD) or "").strip()

    @property
    def opportunity_id(self) -> str | None:
        return self.record.get("Opportunity__c") or None

    @property
    def last_pulled(self) -> datetime | None:
        return parse_salesforce_datetime(self.record.get(LAST_PULLED))

    @property
    def created(self) -> datetime | None:
        return parse_salesforce_datetime(self.record.get("CreatedDate"))

    @property
    def deleted(self) -> bool:
        return self.record.get("Status__c") == DELETED_STATUS

    @property
    def inactive(self) -> bool:
        return self.record.get("Inactive__c") is True

    def opportunity_value(self, field: str) -> Any:
        parent = self.record.get("Opportunity__r")
        return parent.get(field) if isinstance(parent, dict) else None


def project_soql(scope: Scope, opportunity_fields: Sequence[str], forget_before: datetime) -> str:
    """The one query of a pull: every field it compares, stalest first. Records marked deleted in BigTime
    whose figures are older than ``forget_before`` (the grace period) are no longer read."""
    fields = [*PULL_READ_FIELDS, *(f"Opportunity__r.{f}" for f in opportunity_fields)]
    where = [f"{PROJECT_KEY_FIELD} != null"]
    values: list[Any] = []
    if scope.opportunity_id:
        where.append("Opportunity__c = {}")
        values.append(scope.opportunity_id)
    if scope.project_id:
        where.append(f"{PROJECT_KEY_FIELD} = {{}}")
        values.append(scope.project_id)
    where.append("(Status__c != {} OR Last_Pulled__c >= {} OR (Last_Pulled__c = null AND CreatedDate >= {}))")
    values += [DELETED_STATUS, forget_before, forget_before]
    # Field names are this module's constants and the mapping's checked custom-field names; every value
    # goes through format_soql's quoting.
    return format_soql(
        f"SELECT {', '.join(fields)} FROM {PROJECT_OBJECT} WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY {LAST_PULLED} ASC NULLS FIRST",
        *values,
    )


def read_projects(
    salesforce: SalesforceClient, scope: Scope, opportunity_fields: Sequence[str], forget_before: datetime
) -> list[ProjectRecord]:
    """Every record in scope (one API call per 2,000 records)."""
    soql = project_soql(scope, opportunity_fields, forget_before)
    return [ProjectRecord(dict(r)) for r in salesforce.query_all(soql)]


@dataclass
class RecordResult:
    """What Salesforce said about one written record."""

    sobject: str
    key: str  # the BigTime project id (projects) or the record id (Opportunities)
    ok: bool
    error: str | None = None


def write(
    salesforce: SalesforceClient,
    project_rows: Sequence[dict[str, Any]],
    opportunity_rows: Sequence[dict[str, Any]] = (),
    *,
    progress: Callable[[int], None] | None = None,
) -> list[RecordResult]:
    """Upsert ``project_rows`` (each holds ``BigTime_Project_Id__c``) and update ``opportunity_rows`` (each
    holds ``Id``): collections of 200, five per composite request, ``allOrNone`` false everywhere."""
    for row in project_rows:
        undeclared = set(row) - set(PULL_WRITE_FIELDS)
        if undeclared or PROJECT_KEY_FIELD not in row:
            raise ValueError(
                f"a pull may write only {', '.join(PULL_WRITE_FIELDS)} (keyed on {PROJECT_KEY_FIELD}); "
                f"got {sorted(undeclared) or 'no key'}"
            )
    base = f"/services/data/v{salesforce.api_version}/composite/sobjects"
    chunks: list[tuple[str, str, list[dict[str, Any]]]] = [
        (PROJECT_OBJECT, f"{base}/{PROJECT_OBJECT}/{PROJECT_KEY_FIELD}", rows)
        for rows in _chunks([{"attributes": {"type": PROJECT_OBJECT}, **r} for r in project_rows])
    ]
    chunks += [
        ("Opportunity", base, rows)
        for rows in _chunks([{"attributes": {"type": "Opportunity"}, **r} for r in opportunity_rows])
    ]
    results: list[RecordResult] = []
    for start in range(0, len(chunks), COLLECTIONS_PER_COMPOSITE):
        batch = chunks[start : start + COLLECTIONS_PER_COMPOSITE]
        subrequests = [
            {
                "method": "PATCH",
                "url": url,
                "referenceId": f"c{start + n}",
                "body": {"allOrNone": False, "records": rows},
            }
            for n, (_, url, rows) in enumerate(batch)
        ]
        replies = salesforce.composite(subrequests, all_or_none=False)
        by_ref = {str(r.get("referenceId")): r for r in replies if isinstance(r, dict)}
        for n, (sobject, _, rows) in enumerate(batch):
            results += _results(sobject, rows, by_ref.get(f"c{start + n}"))
        if progress is not None:
            progress(len(results))
    return results


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), COLLECTION_SIZE):
        yield rows[start : start + COLLECTION_SIZE]


def _key(sobject: str, row: dict[str, Any]) -> str:
    return str(row.get(PROJECT_KEY_FIELD) if sobject == PROJECT_OBJECT else row.get("Id"))


def _results(sobject: str, rows: list[dict[str, Any]], reply: dict[str, Any] | None) -> list[RecordResult]:
    """One result per row from a collection subrequest's reply; a subrequest refused whole (or missing
    from the reply) fails each of its rows with that reason."""
    body = (reply or {}).get("body")
    status = int((reply or {}).get("httpStatusCode") or 0)
    if reply is None or status >= 300 or not isinstance(body, list) or len(body) != len(rows):
        reason = _errors(body) or f"no result (HTTP {status or 'none'})"
        return [RecordResult(sobject, _key(sobject, r), False, reason) for r in rows]
    out = []
    for row, result in zip(rows, body, strict=True):
        ok = isinstance(result, dict) and result.get("success") is True
        error = None if ok else _errors(result.get("errors") if isinstance(result, dict) else result)
        out.append(RecordResult(sobject, _key(sobject, row), ok, error or (None if ok else "refused")))
    return out


def _errors(content: Any) -> str:
    items = content if isinstance(content, list) else [content] if isinstance(content, dict) else []
    parts = []
    for e in items:
        if isinstance(e, dict):
            code = e.get("statusCode") or e.get("errorCode")
            parts.append(f"{code}: {e.get('message')}" if code else str(e.get("message") or ""))
    return "; ".join(p for p in parts if p)[:500]
