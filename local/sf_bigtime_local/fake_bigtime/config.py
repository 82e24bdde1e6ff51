"""Run-time settings of the fake that tests may change (also over ``POST /__fake/config``).

Each knob stands for a behaviour the BigTime reference marks [Unknown] or sees in more than one form,
so a client can be tested against every variant. Defaults are the fake's documented assumption.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

CONTACT_ID_KEYS = ("SystemId", "Id", "id")
STAFF_ID_KEYS = ("StaffSID", "StaffSid")  # both spellings appear in public client code
TEAM_STAFF_KEYS = ("staffsid", "StaffSid", "StaffSID")  # one wrapper writes team members' key lowercase
REPORT_ROW_SHAPES = ("array", "object")

# The figures of a task or project that BigTime reports under differing names. Keys are the fake's
# canonical names (those of the typed public client); presets give a whole naming scheme.
FIGURES = (
    "HoursInput",  # every hour logged
    "HoursBill",  # billable hours
    "FeesInput",  # billable value of the logged time (hours x bill rate)
    "FeesCost",  # cost of the logged time (hours x cost rate)
    "ExpensesInput",  # expenses incurred (cost)
    "ExpensesBillable",  # billable amount of the expenses
    "TotalWip",  # work in progress: billable time and expenses not yet invoiced
    "InvoicedToDate",  # total of the project's invoices
    "HoursRemaining",  # budget hours - hours input
    "FeesRemaining",  # budget fees - fees input
)
FIGURE_PRESETS: dict[str, dict[str, str]] = {
    "standard": {name: name for name in FIGURES},
    # The short names one public script reads from BudgetStatusByProject (HrsIn, ChargeIn, FeeCostIn,
    # ExpCostIn, WipTotal, InvoicedToDate); the remaining four follow the same style ([Inferred]).
    "legacy": {
        "HoursInput": "HrsIn",
        "HoursBill": "HrsBill",
        "FeesInput": "ChargeIn",
        "FeesCost": "FeeCostIn",
        "ExpensesInput": "ExpCostIn",
        "ExpensesBillable": "ExpBillIn",
        "TotalWip": "WipTotal",
        "InvoicedToDate": "InvoicedToDate",
        "HoursRemaining": "HrsRemaining",
        "FeesRemaining": "ChargeRemaining",
    },
}


def resolve_figure_names(setting: str | dict[str, str]) -> dict[str, str]:
    """Canonical figure name → name on the wire, from a preset name or ``{canonical: wire}`` overrides
    (laid over "standard"); ValueError for an unknown preset or figure, an empty or a repeated name."""
    if isinstance(setting, str):
        if setting not in FIGURE_PRESETS:
            raise ValueError(f"figure_names must be one of {sorted(FIGURE_PRESETS)} or a mapping")
        return dict(FIGURE_PRESETS[setting])
    if not isinstance(setting, dict):
        raise ValueError("figure_names must be a preset name or a {figure: name} mapping")
    unknown = set(setting) - set(FIGURES)
    if unknown:
        raise ValueError(f"figure_names: unknown figures {sorted(unknown)}; known: {list(FIGURES)}")
    names = {**FIGURE_PRESETS["standard"], **setting}
    if not all(isinstance(v, str) and v.strip() for v in names.values()):
        raise ValueError("figure_names: every name must be a non-empty string")
    if len({v.lower() for v in names.values()}) != len(names):
        raise ValueError("figure_names: two figures would share one name")
    return names


@dataclass
class FakeConfig:
    """Knobs for behaviour BigTime's documentation does not settle ([Unknown]), so clients can be tested
    against each variant (docs/decisions.md#what-we-assume-about-bigtime)."""

    session_ttl: float = 7 * 24 * 3600  # the current Session page says 7 days, an older one 24 h
    rate_limit_per_minute: int = 0  # 0 = unlimited; beyond it: 503
    retry_after: float | None = None  # seconds sent in Retry-After with a throttling 503; None = no header
    auto_number_projects: bool = False  # firm setting: assign ProjectCode when a create omits it
    contact_id_key: str = "SystemId"  # the contact id's name in responses: SystemId | Id | id
    require_client_code: bool = False  # client code (ClientId) mandatory on create
    staff_id_key: str = "StaffSID"  # the staffer id's name in staff views: StaffSID | StaffSid
    team_staff_key: str = "staffsid"  # the staffer id's name in project team rows
    team_post_replaces: bool = False  # POST /project/Team replaces the whole team (else: upsert members)
    template_field: str | None = "TemplateId"  # project-create field naming a template; None = unsupported
    figure_names: str | dict[str, str] = "standard"  # preset or {canonical: wire name} (see FIGURES)
    actuals_include_unsubmitted: bool = True  # unsubmitted time counts in input/WIP figures
    report_rows: str = "array"  # saved-report Data rows: positional arrays or objects keyed by FieldNm

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError on a setting the fake cannot honour (also wrong types from JSON)."""
        bools = ("auto_number_projects", "require_client_code", "team_post_replaces")
        for name in (*bools, "actuals_include_unsubmitted"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if isinstance(self.rate_limit_per_minute, bool) or not isinstance(self.rate_limit_per_minute, int):
            raise ValueError("rate_limit_per_minute must be an integer")
        for name in ("session_ttl", "retry_after"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{name} must be a number")
        for name, allowed in (
            ("contact_id_key", CONTACT_ID_KEYS),
            ("staff_id_key", STAFF_ID_KEYS),
            ("team_staff_key", TEAM_STAFF_KEYS),
            ("report_rows", REPORT_ROW_SHAPES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.template_field is not None and (
            not isinstance(self.template_field, str) or not self.template_field.strip()
        ):
            raise ValueError("template_field must be a field name or None")
        resolve_figure_names(self.figure_names)
        if self.rate_limit_per_minute < 0:
            raise ValueError("rate_limit_per_minute must be >= 0")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be >= 0 or None")
        if self.session_ttl is None or self.session_ttl <= 0:
            raise ValueError("session_ttl must be > 0")

    def figure_name(self, figure: str) -> str:
        """The wire name of a canonical figure under the current ``figure_names``."""
        return resolve_figure_names(self.figure_names)[figure]

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (all or nothing); unknown keys or bad values raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        candidate = FakeConfig(**{**asdict(self), **changes})  # validates
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data."""
        return asdict(self)
