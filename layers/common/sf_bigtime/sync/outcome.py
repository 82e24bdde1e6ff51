"""What one sync did: stored as the idempotent result, in the state table, and (its message) on the
Opportunity."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What one sync did; stored as the idempotent result and in the state table."""

    status: str  # Synced | Skipped | Failed
    message: str
    project_id: str | None = None
    client_id: str | None = None
    created_project: bool = False
    created_client: bool = False
    updated_project: list[str] = field(default_factory=list)  # BigTime fields changed on the project
    updated_client: list[str] = field(default_factory=list)
    contacts_added: int = 0
    contacts_updated: int = 0
    tasks_added: int = 0  # tasks (budgets) created, updated, archived (sync/tasks.py)
    tasks_updated: int = 0
    tasks_archived: int = 0
    team_added: int = 0  # project team members added or changed (sync/team.py)
    lifecycle: str | None = None  # the lifecycle event applied: closed_lost | reopened | deleted
    wrote_back: bool = False
    warnings: list[str] = field(default_factory=list)
    salesforce_calls: int = 0
    bigtime_calls: int = 0
    error_code: str | None = None  # of a permanent failure, for the "failures by kind" metric
    # When the write-back was left to the end of its batch (sync/batch.py): the time it is made with, which
    # the Opportunity's item holds as ``written_back_at`` once it is made.
    write_back_due: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def changes(self) -> dict[str, Any]:
        keys = (
            *("created_client", "created_project", "updated_client", "updated_project"),
            *("contacts_added", "contacts_updated", "lifecycle", "wrote_back"),
            *("tasks_added", "tasks_updated", "tasks_archived", "team_added"),
        )
        return {k: getattr(self, k) for k in keys}

    @property
    def changed_bigtime(self) -> bool:
        return bool(
            self.created_project
            or self.created_client
            or self.updated_project
            or self.updated_client
            or self.contacts_added
            or self.contacts_updated
            or self.tasks_added
            or self.tasks_updated
            or self.tasks_archived
            or self.team_added
        )


def synced_message(outcome: Outcome, project_code: str, client_name: str) -> str:
    """The message of a sync that made sure of the client and project: what it is and what changed."""
    what = f"BigTime project {project_code} (id {outcome.project_id}) for client {client_name} (id {outcome.client_id})"
    details: list[str] = []
    if outcome.created_client:
        details.append("client created")
    if outcome.updated_client:
        details.append(f"client updated ({', '.join(outcome.updated_client)})")
    if outcome.updated_project:
        details.append(f"project updated ({', '.join(outcome.updated_project)})")
    if outcome.lifecycle == "reopened":
        details.append("reopened")
    if outcome.contacts_added:
        details.append(f"{outcome.contacts_added} contact(s) added")
    if outcome.contacts_updated:
        details.append(f"{outcome.contacts_updated} contact(s) updated")
    for count, done in (
        (outcome.tasks_added, "task(s) added"),
        (outcome.tasks_updated, "task(s) updated"),
        (outcome.tasks_archived, "task(s) archived"),
        (outcome.team_added, "team member(s) added"),
    ):
        if count:
            details.append(f"{count} {done}")
    head = f"Created {what}" if outcome.created_project else what[0].upper() + what[1:]
    return (
        head
        + (f": {'; '.join(details)}" if details else "")
        + "."
        + "".join(f" Warning: {w}." for w in outcome.warnings)
    )
