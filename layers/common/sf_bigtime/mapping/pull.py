"""The mapping's ``pull`` section: how BigTime's figures come back onto the ``BigTime_Project__c`` records
(docs/mapping.md#pull-bigtimes-figures).

``mode`` chooses how BigTime is read: ``per_project`` (the default; the project list, then each active
project's budget status) or ``report`` (one saved report with a row per project; ``report.columns`` names
the report column of each figure, and ``sf-bigtime check`` verifies them against the report's field list).
``opportunity`` may copy up to three figures onto custom fields of the Opportunity; it is empty by default,
because a write to the Opportunity fires the org's flows and triggers.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self, get_args

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from sf_bigtime.mapping.fields import STRICT

# Every figure the pull reads; the pull package maps each to its BigTime_Project__c field
# (sf_bigtime.pull.fields) and reads it through one table of BigTime's names (sf_bigtime.pull.aliases).
Figure = Literal[
    "project_id",
    "status",
    "billing_status",
    "lead",
    "start_date",
    "end_date",
    "inactive",
    "budget_hours",
    "actual_hours",
    "budget_fees",
    "actual_fees",
    "budget_expenses",
    "actual_expenses",
    "invoiced",
    "wip",
]
FIGURES: tuple[str, ...] = get_args(Figure)
MAX_OPPORTUNITY_FIELDS = 3
OpportunityField = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*__c$")]
ColumnName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Strict(BaseModel):
    model_config = STRICT


class ReportSection(_Strict):
    id: int | None = Field(default=None, gt=0)
    # Figure -> the report's column (its FieldNm, compared case-insensitively); null: not read.
    columns: dict[Figure, ColumnName | None] = {}

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        named = [c.lower() for c in value.values() if c]
        repeated = sorted({c for c in named if named.count(c) > 1})
        if repeated:
            raise ValueError(f"one column cannot hold two figures: {', '.join(repeated)}")
        return value

    def column_of(self) -> dict[str, str]:
        """The figures this report gives, with their column names."""
        return {figure: column for figure, column in self.columns.items() if column}


class PullSection(_Strict):
    mode: Literal["per_project", "report"] = "per_project"
    report: ReportSection = ReportSection()
    heartbeat_hours: float = Field(default=24.0, gt=0, le=24 * 7)
    inactive_every_days: float = Field(default=7.0, gt=0, le=365)
    deleted_grace_days: float = Field(default=14.0, ge=0, le=365)
    on_demand_every_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    # Opportunity custom field -> figure copied onto it (opt-in; at most three).
    opportunity: dict[OpportunityField, Figure] = {}

    @field_validator("opportunity")
    @classmethod
    def _opportunity(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_OPPORTUNITY_FIELDS:
            raise ValueError(
                f"at most {MAX_OPPORTUNITY_FIELDS} figures may be copied onto the Opportunity (each write "
                "there fires the org's flows); the rest are on the BigTime Project record"
            )
        if "project_id" in value.values():
            raise ValueError("project_id is already on the Opportunity (BigTime_Project_Id__c)")
        return value

    @model_validator(mode="after")
    def _report(self) -> Self:
        if self.mode == "report":
            if self.report.id is None:
                raise ValueError("mode: report needs report.id (the saved report's id in BigTime)")
            if not self.report.columns.get("project_id"):
                raise ValueError("mode: report needs report.columns.project_id (the project id column)")
        return self

    def describe(self) -> str:
        if self.mode == "report":
            how = f"saved report {self.report.id} ({len(self.report.column_of())} columns)"
        else:
            how = "per project (project list, then each active project's budget status)"
        copies = ", ".join(f"{f} -> Opportunity.{name}" for name, f in self.opportunity.items())
        return how + (f"; copies {copies}" if copies else "")
