"""Exactly what a sync uses of the Salesforce client, the BigTime client and the state table.

:class:`~sf_bigtime.sync.context.SyncContext` is typed with these protocols, so a sync runs as well on the
real clients (:mod:`sf_bigtime.clients`) as on the in-memory ones of the unit tests; the tests check that
both sides match every member listed here, name for name and parameter for parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.salesforce import ChildQuery, OpportunitySnapshot, WriteBack
from sf_bigtime.clients.store import Claim, Kind
from sf_bigtime.errors import SyncError


class SalesforcePort(Protocol):
    """Read the Opportunity (or a batch's), write the result back (or a batch's); ``calls`` counts API calls
    made so far."""

    calls: int

    @property
    def api_usage(self) -> tuple[int, int] | None: ...  # read by the worker for its metric

    def logged_in_org(self) -> str | None: ...

    def read_opportunity(
        self,
        opportunity_id: str,
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> OpportunitySnapshot | None: ...

    def read_opportunities(
        self,
        opportunity_ids: Sequence[str],
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> dict[str, OpportunitySnapshot]: ...  # a batch's one read, by 18-character id (sync/batch.py)

    def write_back(self, opportunity_id: str, wb: WriteBack) -> None: ...

    def write_back_batch(
        self, write_backs: Sequence[tuple[str, WriteBack]]
    ) -> dict[str, SyncError | None]: ...  # a batch's one write-back, each record's result


class BigTimePort(Protocol):
    """Clients, projects, their contacts, custom fields, tasks and teams, picklist, template and staff ids;
    ``calls`` counts requests."""

    calls: int

    def list_clients(self) -> list[BigTimeObject]: ...
    def get_client(self, client_id: int) -> BigTimeObject: ...
    def create_client(self, fields: dict[str, Any]) -> BigTimeObject: ...
    def update_client(self, client_id: int, fields: dict[str, Any]) -> BigTimeObject: ...

    def list_projects(self) -> list[BigTimeObject]: ...
    def get_project(self, project_id: int) -> BigTimeObject: ...
    def create_project(self, fields: dict[str, Any]) -> BigTimeObject: ...
    def update_project(self, project_id: int, fields: dict[str, Any]) -> BigTimeObject: ...
    def project_custom_fields(self, project_id: int) -> list[BigTimeObject]: ...
    def set_project_custom_fields(self, project_id: int, values: dict[str, str]) -> None: ...

    def list_project_contacts(self, project_id: int) -> list[BigTimeObject]: ...
    def add_project_contact(self, project_id: int, fields: dict[str, Any]) -> BigTimeObject: ...
    def update_project_contact(self, contact_id: int, fields: dict[str, Any]) -> BigTimeObject: ...

    def picklist_id(self, list_name: str, value_name: str) -> int: ...

    def list_project_tasks(self, project_id: int) -> list[BigTimeObject]: ...
    def create_task(self, fields: dict[str, Any]) -> BigTimeObject: ...
    def update_task(self, task_id: int, fields: dict[str, Any]) -> BigTimeObject: ...

    def template_id(self, name: str) -> int: ...
    def staff_id(self, email: str) -> int | None: ...
    def project_team(self, project_id: int) -> list[BigTimeObject]: ...
    def set_project_team(self, project_id: int, members: list[dict[str, Any]]) -> None: ...


class StatePort(Protocol):
    """Items of the state table, claims (create exactly once), contacts leases, outcomes."""

    def get(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any] | None: ...

    def claim(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> Claim: ...

    def record(
        self, kind: Kind, org_id: str, record_id: str, token: str, target_id: str, **attrs: Any
    ) -> dict[str, Any]: ...

    def release(self, kind: Kind, org_id: str, record_id: str, token: str, *, uncertain: bool) -> None: ...

    def lease_attrs(self, token: str) -> dict[str, Any]: ...

    def lease(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> str: ...

    def end_lease(self, kind: Kind, org_id: str, record_id: str, token: str, **attrs: Any) -> None: ...

    def update(self, kind: Kind, org_id: str, record_id: str, **attrs: Any) -> None: ...

    def record_outcome(
        self,
        org_id: str,
        opportunity_id: str,
        *,
        status: str,
        reason: str,
        delivery_id: str,
        source: str,
        salesforce_calls: int,
        bigtime_calls: int,
        error: str | None = None,
        changes: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
    ) -> None: ...
