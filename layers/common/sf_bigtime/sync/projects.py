"""The BigTime project of the Opportunity: found or created exactly once, its ``sync`` fields and lifecycle
values kept up to date, and our marker (the Opportunity id) in its custom field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.bigtime import record_id as bigtime_id
from sf_bigtime.clients.store import Claim, Kind
from sf_bigtime.errors import PermanentError
from sf_bigtime.mapping.transform import (
    Payload,
    code,
    differences,
    normalize_name,
    project_payload,
    update_body,
)
from sf_bigtime.sfid import to_18
from sf_bigtime.sync.claims import Made, create_once, require_id, same_code
from sf_bigtime.sync.context import SyncRun
from sf_bigtime.sync.template import template_fields


@dataclass
class ProjectRef:
    id: int
    code: str
    created: bool
    # The contacts lease this sync holds: whoever records the project holds it from the record on, so that
    # a concurrent delivery of the same Opportunity cannot add the contacts a second time.
    lease: str | None


def known_project(run: SyncRun) -> ProjectRef | None:
    """The project recorded for the Opportunity, if any."""
    if not run.state.get("project_id"):
        return None
    return ProjectRef(int(run.state["project_id"]), str(run.state.get("project_code") or ""), False, None)


def ensure_project(run: SyncRun, client_id: int) -> ProjectRef:
    """The Opportunity's project: adopted (named on the Opportunity, or found by our marker) or created,
    exactly once, and recorded with the contacts lease."""
    return create_once(run, _NewProject(run, client_id))


class _NewProject:
    """The project's steps of :func:`~sf_bigtime.sync.claims.create_once`."""

    kind: Kind = "opp"
    what = "project"
    id_keys: tuple[str, ...] = ("SystemId", "Id")

    def __init__(self, run: SyncRun, client_id: int) -> None:
        self.run, self.salesforce_id, self.client_id = run, run.opp.id, client_id
        self.code = code(run.mapping.project.code, run.opp, run.today)
        self.payload = project_payload(run.opp, run.mapping, run.today, sync_only=False)

    def known(self, claim: Claim) -> ProjectRef:
        self.run.known_item = claim.item  # the item as another worker recorded it
        recorded_code = str(claim.item.get("project_code") or self.code or "")
        return ProjectRef(int(str(claim.existing)), recorded_code, False, None)

    def find(self, must_look_up: bool) -> BigTimeObject | None:
        found = _shown_on_opportunity(self.run)
        if found is None and must_look_up:
            name = str(self.payload.values.get("Nm") or "")
            found = _find_marked(self.run, self.code, self.client_id, name)
        return found

    def body(self) -> dict[str, Any]:
        body = {**self.run.resolve(self.payload), **template_fields(self.run), "ClientId": self.client_id}
        if self.code:
            body["ProjectCode"] = self.code
        return body

    def create(self, body: dict[str, Any]) -> BigTimeObject:
        return self.run.bigtime.create_project(body)

    def find_by_code(self) -> BigTimeObject | None:
        return _by_code(self.run.bigtime.list_projects(), self.code) if self.code else None

    def attributes(self, made: Made) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "project_code": self._final_code(made),
            "client_id": str(self.client_id),
            "lifecycle": "active",
            "tasks": {},  # tasks and team are synced for it (sync/tasks.py); older projects lack this
            **self.run.store.lease_attrs(made.token),
        }
        if made.created:
            synced = project_payload(self.run.opp, self.run.mapping, self.run.today, sync_only=True)
            attrs["synced_hash"] = synced.fingerprint()
        return attrs

    def result(self, made: Made) -> ProjectRef:
        self.run.known_item = made.item
        return ProjectRef(made.id, self._final_code(made), made.created, made.token)

    def _final_code(self, made: Made) -> str:
        return str(made.found.get("ProjectCode") or self.code or "")


def _shown_on_opportunity(run: SyncRun) -> BigTimeObject | None:
    """The project the Opportunity already names although the table has none (a re-created stack, a
    restored or emptied table): adopt it rather than create a second one. One BigTime call, only then."""
    shown = str(run.opp.get("BigTime_Project_Id__c") or "").strip()
    if not shown.isdigit():
        return None
    try:
        return run.bigtime.get_project(int(shown))
    except PermanentError:  # deleted in BigTime (or not visible to our API key): create a new one
        return None


def _find_marked(run: SyncRun, project_code: str | None, client_id: int, name: str) -> BigTimeObject | None:
    """After an attempt that may have created the project without recording it: find it by our marker.

    The project code is the strong marker (it is in the create request itself). With auto-numbered codes
    the marker is the custom field, written right after the create; a crash in between leaves a project
    of our client, with our name and an empty custom field: adopted if it is the only one, never guessed
    among several.
    """
    projects = run.bigtime.list_projects()
    if project_code:
        return _by_code(projects, project_code)
    field_name = run.mapping.project.opportunity_id_field or ""
    candidates = [
        p
        for p in projects
        if bigtime_id(p, "ClientId") == client_id and normalize_name(p.get("Nm")) == normalize_name(name)
    ]
    blank: list[BigTimeObject] = []
    for project in candidates:
        value = next(
            (
                str(f.get("Value") or "").strip()
                for f in run.bigtime.project_custom_fields(require_id(project, "project"))
                if str(f.get("Name") or "").strip().casefold() == field_name.casefold()
            ),
            "",
        )
        if value and _same_sfid(value, run.opp.id):
            return project
        if not value:
            blank.append(project)
    if len(blank) > 1:
        ids = ", ".join(f"{p.get('Nm')} (id {bigtime_id(p)})" for p in blank)
        raise PermanentError(
            f"An earlier attempt may have created this project, and several BigTime projects could be it: "
            f"{ids}. Put the Opportunity id into the {field_name!r} custom field of the right one in "
            "BigTime (delete any duplicate), then save the Opportunity again."
        )
    return blank[0] if blank else None


def _by_code(projects: list[BigTimeObject], project_code: str | None) -> BigTimeObject | None:
    return next((p for p in projects if same_code(p.get("ProjectCode"), project_code)), None)


def _same_sfid(a: str, b: str) -> bool:
    try:
        return to_18(a) == to_18(b)
    except ValueError:
        return a.strip() == b.strip()


def update_project(
    run: SyncRun, project_id: int, lifecycle: Payload, *, sync_fields: bool = True
) -> list[str]:
    """One GET Detailed, merge, one POST — only when the `sync` fields changed in Salesforce since they
    were last written (``sync_fields``: they are considered at all), or a lifecycle action applies, and only
    if BigTime does not hold the values yet."""
    desired_sync = (
        project_payload(run.opp, run.mapping, run.today, sync_only=True) if sync_fields else Payload()
    )
    sync_due = bool(desired_sync) and run.state.get("synced_hash") != desired_sync.fingerprint()
    desired = (desired_sync if sync_due else Payload()).merged(lifecycle)
    if not desired:
        return []
    current = run.bigtime.get_project(project_id)
    changes = differences(current, run.resolve(desired))
    if changes:
        run.bigtime.update_project(project_id, update_body(current, changes))
    if sync_due:
        run.save(synced_hash=desired_sync.fingerprint())
    return sorted(changes)


def write_marker(run: SyncRun, project_id: int) -> None:
    """Put the Opportunity id into the project's custom field (once), if the mapping names one."""
    field_name = run.mapping.project.opportunity_id_field
    if not field_name or run.state.get("marker_written"):
        return
    run.bigtime.set_project_custom_fields(project_id, {field_name: run.opp.id})
    run.save(marker_written=True)
