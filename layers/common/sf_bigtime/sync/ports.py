"""Exactly what a sync uses of the Salesforce client, the BigTime client and the state table.

:class:`~sf_bigtime.sync.context.SyncContext` is typed with these protocols, so a sync runs as well on the
real clients (:mod:`sf_bigtime.clients`) as on the in-memory ones of the unit tests; the tests check that
both sides match every member listed here, name for name and parameter for parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.salesforce import OpportunitySnapshot, WriteBack
from sf_bigtime.clients.store import Claim, Kind


class SalesforcePort(Protocol):
    """Read the Opportunity, write the result back; ``calls`` counts API calls made so far."""

    calls: int

    @property
    def api_usage(self) -> tuple[int, int] | None: ...  # read by the worker for its metric

    def logged_in_org(self) -> str | None: ...

    def read_opportunity(
        self,
        opportunity_id: str,
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
    ) -> OpportunitySnapshot | None: ...

    def write_back(self, opportunity_id: str, wb: WriteBack) -> None: ...


class BigTimePort(Protocol):
    """Clients, projects, their contacts and custom fields, picklist ids; ``calls`` counts requests."""

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


class StatePort(Protocol):
    """Items of the state table, claims (create exactly once), contacts leases, outcomes."""

    def get(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any] | None: ...

    def claim(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> Claim: ...

    def record(
        self, kind: Kind, org_id: str, record_id: str, token: str, target_id: str, **attrs: Any
    ) -> None: ...

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
