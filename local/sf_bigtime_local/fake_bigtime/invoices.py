"""Invoices: what turns WIP (unbilled time and expenses) into "invoiced to date".

The reference names no invoice routes, so these are an assumption following BigTime's ``/x/detail``
pattern: ``POST /invoice/detail`` (create), ``GET /invoice/detail/{id}``, ``DELETE /invoice/detail/{id}``
(void) and ``GET /invoice/ByProject/{projectsid}``.

Create body: ``ProjectSid`` (required), ``InvoiceDt`` (default today), ``DtEnd`` (bill work dated up to
then; default ``InvoiceDt``), ``InvoiceNbr`` (default ``INV-00001``…; unique), ``Amount`` (an extra
fixed-fee amount, optional), ``Notes``. The invoice bills every **submitted**, billable, not yet invoiced
time entry and every billable, not yet invoiced expense of the project dated up to ``DtEnd``; with
nothing to bill and no ``Amount`` it is a 400. Invoices are final when created (drafts are not
modelled). Voiding (DELETE) returns the billed work to WIP.

View: ``InvoiceSid, InvoiceNbr, ProjectSid, ClientSid, InvoiceDt, DtEnd, AmountFees, AmountExps,
AmountOther, Total, Notes, TimeCount, ExpenseCount``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .models import FieldSpec, bad_request, not_found, parse_update, pick, text, update_view
from .store import ProjectHooks, Store
from .timesheet import Timesheet, money
from .wire import Reply, Route, json_body

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]

INVOICE_CREATE = update_view(
    FieldSpec("ProjectSid", "int"),
    FieldSpec("InvoiceDt", "date"),
    FieldSpec("DtEnd", "date"),
    FieldSpec("InvoiceNbr", "str"),
    FieldSpec("Amount", "num"),
    FieldSpec("Notes", "str"),
)
INVOICE_FIELDS = (
    "InvoiceSid",
    "InvoiceNbr",
    "ProjectSid",
    "ClientSid",
    "InvoiceDt",
    "DtEnd",
    "AmountFees",
    "AmountExps",
    "AmountOther",
    "Total",
    "Notes",
    "TimeCount",
    "ExpenseCount",
)


class Invoices(ProjectHooks):
    """The firm's invoices (``invoices``: InvoiceSid → record)."""

    def __init__(self, store: Store, timesheet: Timesheet) -> None:
        self.store = store
        self.timesheet = timesheet
        self.invoices: dict[int, Record] = {}
        self._number = 0

    def invoice(self, sid: int) -> Record:
        """An invoice's record (404 if unknown)."""
        if sid not in self.invoices:
            raise not_found("Invoice", sid)
        return self.invoices[sid]

    def _next_number(self) -> str:
        taken = {text(i["InvoiceNbr"]).lower() for i in self.invoices.values()}
        while True:
            self._number += 1
            number = f"INV-{self._number:05d}"
            if number.lower() not in taken:
                return number

    def create(self, body: Any) -> Record:
        """``POST /invoice/detail``: bill the project's WIP up to ``DtEnd`` (plus ``Amount``)."""
        fields = parse_update(body, INVOICE_CREATE, "invoice")
        project_sid = fields.get("ProjectSid")
        if project_sid is None:
            raise bad_request("The field 'ProjectSid' is required.")
        project = self.store.projects.get(project_sid)
        if project is None:
            raise bad_request(
                f"The field 'ProjectSid' refers to project {project_sid}, which does not exist."
            )
        invoice_dt = fields.get("InvoiceDt") or self.store.today()
        dt_end = fields.get("DtEnd") or invoice_dt
        number = text(fields.get("InvoiceNbr")) or self._next_number()
        if any(text(i["InvoiceNbr"]).lower() == number.lower() for i in self.invoices.values()):
            raise bad_request(f"The field 'InvoiceNbr' must be unique: '{number}' is already used.")
        amount = fields.get("Amount") or 0.0
        if amount < 0:
            raise bad_request("The field 'Amount' must not be negative.")
        sheet = self.timesheet
        times = [
            sid
            for sid, e in sorted(sheet.entries.items())
            if sid > 0
            and e["ProjectSID"] == project_sid
            and e["InvoiceSID"] is None
            and e["Dt"] <= dt_end
            and sheet.charges(e)["ChargeBillable"] > 0
        ]
        expenses = [
            sid
            for sid, e in sorted(sheet.expenses.items())
            if e["ProjectSID"] == project_sid
            and e["InvoiceSID"] is None
            and e["Dt"] <= dt_end
            and sheet.expense_charges(e)["CostBill"] > 0
        ]
        if not times and not expenses and not amount:
            raise bad_request(f"Project {project_sid} has no billable work up to {dt_end} to invoice.")
        fees = money(sum(sheet.charges(sheet.entries[sid])["ChargeBillable"] for sid in times))
        exps = money(sum(sheet.expense_charges(sheet.expenses[sid])["CostBill"] for sid in expenses))
        sid = self.store.new_id("invoice")
        for tsid in times:
            sheet.entries[tsid]["InvoiceSID"] = sid
        for esid in expenses:
            sheet.expenses[esid]["InvoiceSID"] = sid
        self.invoices[sid] = {
            "InvoiceSid": sid,
            "InvoiceNbr": number,
            "ProjectSid": project_sid,
            "ClientSid": project["ClientId"],
            "InvoiceDt": invoice_dt,
            "DtEnd": dt_end,
            "AmountFees": fees,
            "AmountExps": exps,
            "AmountOther": money(amount),
            "Total": money(fees + exps + amount),
            "Notes": fields.get("Notes"),
            "TimeSids": times,
            "ExpenseSids": expenses,
        }
        return self.view(sid)

    def void(self, sid: int) -> None:
        """``DELETE /invoice/detail/{id}``: the billed work returns to WIP."""
        invoice = self.invoice(sid)
        for tsid in invoice["TimeSids"]:
            self.timesheet.entries[tsid]["InvoiceSID"] = None
        for esid in invoice["ExpenseSids"]:
            self.timesheet.expenses[esid]["InvoiceSID"] = None
        del self.invoices[sid]

    def view(self, sid: int) -> Record:
        """An invoice as ``GET /invoice/detail/{id}`` answers it."""
        invoice = self.invoice(sid)
        data = {**invoice, "TimeCount": len(invoice["TimeSids"]), "ExpenseCount": len(invoice["ExpenseSids"])}
        return pick(data, INVOICE_FIELDS)

    def of_project(self, project_sid: int) -> list[Record]:
        """A project's invoice records, by date then id."""
        rows = [i for i in self.invoices.values() if i["ProjectSid"] == project_sid]
        return sorted(rows, key=lambda i: (i["InvoiceDt"], i["InvoiceSid"]))

    def list(self, project_sid: int) -> list[Record]:
        """``GET /invoice/ByProject/{id}``."""
        self.store.project(project_sid)
        return [self.view(i["InvoiceSid"]) for i in self.of_project(project_sid)]

    def check_delete_project(self, project_sid: int) -> None:
        if self.of_project(project_sid):
            raise bad_request(f"Project {project_sid} has invoices and cannot be deleted.")


# ------------------------------------------------------------------------------------------- routes


def _create(firm: Firm, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.invoices.create(json_body(request))


def _get(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.invoices.view(int(params["id"]))


def _void(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    firm.invoices.void(int(params["id"]))
    return 204, None


def _by_project(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.invoices.list(int(params["id"]))


ROUTES = [
    Route("POST", "/invoice/detail", _create, "invoice.create"),
    Route("GET", "/invoice/detail/{id}", _get, "invoice.view"),
    Route("DELETE", "/invoice/detail/{id}", _void, "invoice.delete"),
    Route("GET", "/invoice/byproject/{id}", _by_project, "invoice.view", filtered=True),
]
