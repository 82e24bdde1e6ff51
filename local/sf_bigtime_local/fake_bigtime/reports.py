"""Saved reports: ``GET/POST /report/data/{reportId}``, BigTime's bulk-read path.

A public script reads the answer as ``{"FieldList": [{"FieldNm": …}, …], "Data": [[…], …]}``: column
descriptors, then rows as arrays in column order ([Weak]: one script). The fake answers exactly that
with ``FieldList`` items ``{FieldNm, Caption, FieldType}`` (``Caption``/``FieldType`` are [Unknown]) and,
with ``report_rows="object"``, rows as objects keyed by ``FieldNm`` instead.

The firm's saved reports are definitions the fake holds (seeded in :mod:`.seed`, replaceable through
the constructor, :meth:`FakeBigTime.define_report` or ``POST /__fake/reports/{id}``)::

    {"Nm": "Project figures", "Columns": [{"FieldNm": "prjsid", "Caption": "Project Id",
                                           "Source": "ProjectSid"}, …]}

Every report has a row per project (inactive ones too), ordered by project id; each column shows one of
:data:`SOURCES` or ``CustomField:<name>`` (a project custom field). The POST body ``{"DT_BEGIN",
"DT_END"}`` (or the same query parameters on GET) limits the logged work and invoices counted to that
date range; budgets are not dated. A caller without ``project.view`` gets no rows (BigTime filters
what a caller may not see). An unknown report id is a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .config import FIGURES
from .customfields import CustomFields
from .figures import BUDGETS, Figures
from .models import ApiError, bad_request, ci, parse_date, text
from .staff import Staff
from .store import Store
from .wire import Reply, Route, arg, json_body

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]
CUSTOM_FIELD = "CustomField:"

# Source name -> FieldType on the wire.
SOURCES: dict[str, str] = {
    "ProjectSid": "int",
    "ProjectCode": "string",
    "ProjectNm": "string",
    "DisplayName": "string",
    "ClientSid": "int",
    "ClientNm": "string",
    "ClientCode": "string",
    "TypeId": "int",
    "TypeNm": "string",
    "StatusProd": "int",
    "StatusProdNm": "string",
    "StatusProdNote": "string",
    "StatusBill": "int",
    "StatusBillNm": "string",
    "ProjectLeadSid": "int",
    "ProjectLeadNm": "string",
    "ProjectLeadEmail": "string",
    "StartDt": "date",
    "EndDt": "date",
    "IsInactive": "bool",
    **dict.fromkeys(BUDGETS, "decimal"),
    **dict.fromkeys(FIGURES, "decimal"),
}


class Reports:
    """Report definitions and the rows computed from the firm's projects."""

    def __init__(
        self,
        store: Store,
        figures: Figures,
        staff: Staff,
        custom_fields: CustomFields,
        reports: dict[int, dict[str, Any]],
    ) -> None:
        self.store = store
        self.custom_fields = custom_fields
        self.figures = figures
        self.staff = staff
        self.reports: dict[int, Record] = {}
        for report_id, definition in reports.items():
            self.define(report_id, definition)

    def define(self, report_id: int, definition: dict[str, Any]) -> Record:
        """Add or replace a report; ValueError for a bad definition (unknown source, repeated FieldNm)."""
        if isinstance(report_id, bool) or not isinstance(report_id, int) or report_id <= 0:
            raise ValueError(f"a report id must be a positive integer, not {report_id!r}")
        fields = ci(definition)
        columns = fields.get("columns")
        if not isinstance(columns, list) or not columns:
            raise ValueError("a report needs a non-empty list of Columns")
        custom = {d["Name"].lower() for d in self.store.custom_field_definitions()}
        parsed, seen = [], set()
        for column in columns:
            col = ci(column) if isinstance(column, dict) else {}
            name, source = text(col.get("fieldnm")), text(col.get("source"))
            if not name or name.lower() in seen:
                raise ValueError(f"every column needs a FieldNm, unique within the report: {column}")
            seen.add(name.lower())
            if source not in SOURCES and not (
                source.startswith(CUSTOM_FIELD) and source[len(CUSTOM_FIELD) :].lower() in custom
            ):
                raise ValueError(f"column {name}: unknown Source {source!r}; known: {sorted(SOURCES)}")
            parsed.append({"FieldNm": name, "Caption": col.get("caption") or name, "Source": source})
        self.reports[report_id] = {"Nm": str(fields.get("nm") or f"Report {report_id}"), "Columns": parsed}
        return self.reports[report_id]

    def _values(self, project_sid: int, begin: str | None, end: str | None) -> Record:
        """Every source's value for one project."""
        project = self.store.projects[project_sid]
        client = self.store.clients.get(project["ClientId"], {})
        picklists = self.store.picklists
        lead = self.staff.lead(project_sid)
        values: Record = {
            "ProjectSid": project_sid,
            "ProjectCode": project.get("ProjectCode"),
            "ProjectNm": project.get("Nm"),
            "DisplayName": f"{client.get('Nm', '')}:{project.get('Nm')}",
            "ClientSid": project["ClientId"],
            "ClientNm": client.get("Nm"),
            "ClientCode": client.get("ClientId"),
            "TypeId": project.get("TypeId"),
            "TypeNm": picklists.name_of("LookupProjectType", project.get("TypeId")),
            "StatusProd": project.get("StatusProd"),
            "StatusProdNm": picklists.name_of("StatusProduction", project.get("StatusProd")),
            "StatusProdNote": project.get("StatusProd_nt"),
            "StatusBill": project.get("StatusBill"),
            "StatusBillNm": picklists.name_of("StatusBilling", project.get("StatusBill")),
            "ProjectLeadSid": lead,
            "ProjectLeadNm": self.staff.full_name(lead),
            "ProjectLeadEmail": self.staff.staff[lead].get("EMail") if lead is not None else None,
            "StartDt": project.get("StartDt"),
            "EndDt": project.get("EndDt"),
            "IsInactive": bool(project.get("IsInactive")),
            **self.figures.project(project_sid, begin, end),
        }
        for field in self.custom_fields.of_project(project_sid):
            values[f"{CUSTOM_FIELD}{field['Name'].lower()}"] = field["Value"]
        return values

    def run(self, report_id: int, begin: str | None, end: str | None, see_projects: bool) -> Record:
        """The report's ``{FieldList, Data}`` over ``[begin, end]``."""
        report = self.reports.get(report_id)
        if report is None:
            raise ApiError(404, f"Report {report_id} was not found.")
        if begin and end and end < begin:
            raise bad_request("The value of 'DT_END' must not be before 'DT_BEGIN'.")
        columns = report["Columns"]
        field_list = [
            {
                "FieldNm": c["FieldNm"],
                "Caption": c["Caption"],
                "FieldType": SOURCES.get(c["Source"], "string"),
            }
            for c in columns
        ]
        keys = [
            c["Source"] if c["Source"] in SOURCES else CUSTOM_FIELD + c["Source"][len(CUSTOM_FIELD) :].lower()
            for c in columns
        ]
        names = [f["FieldNm"] for f in field_list]
        as_arrays = self.store.config.report_rows == "array"
        data = []
        for sid in sorted(self.store.projects) if see_projects else []:
            values = self._values(sid, begin, end)
            row = [values.get(key) for key in keys]
            data.append(row if as_arrays else dict(zip(names, row, strict=True)))
        return {"FieldList": field_list, "Data": data}


def _dates(source: Record) -> tuple[str | None, str | None]:
    begin, end = source.get("dt_begin"), source.get("dt_end")
    return (
        parse_date("DT_BEGIN", begin) if begin not in (None, "") else None,
        parse_date("DT_END", end) if end not in (None, "") else None,
    )


def _run(firm: Firm, request: Request, principal: Principal | None, params: dict[str, str]) -> Reply:
    if request.method == "POST":
        body = json_body(request)
        if body is not None and not isinstance(body, dict):
            raise bad_request("The request body for a report must be a JSON object.")
        begin, end = _dates(ci(body or {}))
    else:
        begin, end = _dates({"dt_begin": arg(request, "DT_BEGIN"), "dt_end": arg(request, "DT_END")})
    see_projects = principal is None or principal.allows("project.view")
    return 200, firm.reports.run(int(params["id"]), begin, end, see_projects)


ROUTES = [
    Route("GET", "/report/data/{id}", _run, "report.view"),
    Route("POST", "/report/data/{id}", _run, "report.view"),
]
