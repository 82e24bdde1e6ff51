"""The pull's decisions, as plain functions of what was read: which projects to read this run (stalest
first), and which fields of which records to write (only what changed, plus the heartbeat).

Nothing here calls an API, so every rule is unit-tested on its own (tests/unit/pull/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sf_bigtime.clients.salesforce import PROJECT_KEY_FIELD, salesforce_datetime
from sf_bigtime.mapping.pull import PullSection
from sf_bigtime.pull.bigtime import Listed
from sf_bigtime.pull.fields import (
    DELETED_STATUS,
    LAST_PULLED,
    MESSAGE_LENGTH,
    PULL_MESSAGE,
    SALESFORCE_FIELDS,
    same,
)
from sf_bigtime.pull.salesforce import ProjectRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIST_FIGURES = ("status", "billing_status", "start_date", "end_date", "inactive")


@dataclass
class Observation:
    """What this run learned about one project."""

    values: dict[str, Any] = field(default_factory=dict)  # figure -> value (only those read)
    read: bool = False  # its figures were read (it counts as checked now)
    problem: str | None = None  # why its figures could not be read (goes to Pull_Message__c)
    gone: bool = False  # BigTime confirmed it has no such project (404)


def last_read(record: ProjectRecord, checked: Mapping[str, float]) -> datetime | None:
    """When the pull last read this project's figures: its own record of it, else Last_Pulled__c."""
    when = checked.get(record.project_id)
    pulled = record.last_pulled
    if when is None:
        return pulled
    stored = datetime.fromtimestamp(when, UTC)
    return max(stored, pulled) if pulled else stored


def figures_as_of(record: ProjectRecord, checked: Mapping[str, float]) -> datetime:
    """How old the record's figures may be: last read, else when the record was made (never pulled)."""
    return last_read(record, checked) or record.created or EPOCH


def heartbeat_due(record: ProjectRecord, now: datetime, section: PullSection) -> bool:
    pulled = record.last_pulled
    return pulled is None or now - pulled >= timedelta(hours=section.heartbeat_hours)


def list_values(listed: Listed, statuses: Mapping[str, Mapping[int, str]]) -> dict[str, Any]:
    """The figures the project list gives for free: status names (from their ids), dates, inactive.
    A status id the Field Values list does not know is left out rather than written blank."""
    values: dict[str, Any] = {
        k: listed.values[k] for k in ("start_date", "end_date", "inactive") if k in listed.values
    }
    for figure, list_name in (("status", "StatusProduction"), ("billing_status", "StatusBilling")):
        key = f"{figure}_id"
        if key not in listed.values:
            continue
        status_id = listed.values[key]
        if status_id is None:
            values[figure] = None
        elif status_id in statuses.get(list_name, {}):
            values[figure] = statuses[list_name][status_id] or None
    return values


def differs(record: ProjectRecord, values: Mapping[str, Any]) -> bool:
    return any(
        not same(record.get(SALESFORCE_FIELDS[f]), v) for f, v in values.items() if f in SALESFORCE_FIELDS
    )


@dataclass(frozen=True)
class Due:
    record: ProjectRecord
    with_lead: bool  # read the team lead too (a team call) this time


def due_per_project(
    records: list[ProjectRecord],
    listed: Mapping[str, Listed],
    statuses: Mapping[str, Mapping[int, str]],
    checked: Mapping[str, float],
    now: datetime,
    section: PullSection,
    everything: bool,
) -> list[Due]:
    """The records to read this run, stalest first: every active project; an inactive one when the list
    shows it changed, or when it was last read ``inactive_every_days`` ago. The team lead (a call of its own)
    is read on the daily heartbeat, when the project changed since the last pull, or the first time; a
    scoped pull (one project or Opportunity) reads everything."""
    out = []
    for record in records:
        item = listed.get(record.project_id)
        if item is None:
            continue
        last = last_read(record, checked)
        changed = differs(record, list_values(item, statuses))
        modified = _parse_modified(item.values.get("modified"))
        touched = modified is not None and (record.last_pulled is None or modified > record.last_pulled)
        rarely = last is None or now - last >= timedelta(days=section.inactive_every_days)
        if not everything or not item.inactive or changed or touched or rarely:
            lead = (
                not everything or record.last_pulled is None or heartbeat_due(record, now, section) or touched
            )
            out.append(Due(record, lead))
    return sorted(out, key=lambda d: last_read(d.record, checked) or EPOCH)


def _parse_modified(value: Any) -> datetime | None:
    """BigTime's DtModified (UTC, no zone) as an aware datetime, None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def deleted_message(project_id: str, now: datetime, section: PullSection) -> str:
    return (
        f"Project {project_id} was deleted in BigTime (found missing {now.date().isoformat()}); the figures "
        f"are as of Last Pulled. It is no longer pulled after {section.deleted_grace_days:g} days."
    )


def project_row(
    record: ProjectRecord, seen: Observation, now: datetime, section: PullSection
) -> dict[str, Any] | None:
    """The fields to write on one record (keyed on its BigTime project id), or None when it already says
    everything. Last_Pulled__c moves when figures were read and something changed, or as the heartbeat."""
    row: dict[str, Any] = {}
    if seen.gone:
        if not record.deleted:
            row["Status__c"] = DELETED_STATUS
            row[PULL_MESSAGE] = deleted_message(record.project_id, now, section)[:MESSAGE_LENGTH]
    else:
        for figure, value in seen.values.items():
            name = SALESFORCE_FIELDS.get(figure)
            if name is not None and not same(record.get(name), value):
                row[name] = value
        message = seen.problem[:MESSAGE_LENGTH] if seen.problem else None
        if (seen.read or seen.problem) and not same(record.get(PULL_MESSAGE), message):
            row[PULL_MESSAGE] = message
        figures_changed = any(k != PULL_MESSAGE for k in row)
        if seen.read and not seen.problem and (figures_changed or heartbeat_due(record, now, section)):
            row[LAST_PULLED] = salesforce_datetime(now)
    return {PROJECT_KEY_FIELD: record.project_id, **row} if row else None


def opportunity_rows(
    records: list[ProjectRecord], seen: Mapping[str, Observation], copies: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The opt-in copies onto the Opportunity (``copies``: Opportunity field -> figure), changed ones only;
    one row per Opportunity."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        observation = seen.get(record.project_id)
        if not copies or observation is None or observation.gone or record.opportunity_id is None:
            continue
        for field_name, figure in copies.items():
            if figure in observation.values:
                value = observation.values[figure]
                if not same(record.opportunity_value(field_name), value):
                    rows.setdefault(record.opportunity_id, {"Id": record.opportunity_id})[field_name] = value
    return list(rows.values())


def staleness(
    records: list[ProjectRecord], checked: Mapping[str, float], now: datetime
) -> tuple[float | None, str | None]:
    """Seconds since the least recently read active project was read (None without active projects), and
    its BigTime id. Inactive and deleted projects are read rarely on purpose and do not count."""
    active = [r for r in records if not r.inactive and not r.deleted]
    if not active:
        return None, None
    oldest = min(active, key=lambda r: figures_as_of(r, checked))
    return max(0.0, (now - figures_as_of(oldest, checked)).total_seconds()), oldest.project_id
