"""Staff and project teams.

Routes: ``GET /staff?ShowInactive=``, ``GET /staff/detail/{id}?View=``, ``GET /picklist/staff``
([Doc] Staff page; names in the endpoint index) and ``GET/POST /project/Team/{projectsid}`` (team rows
``{staffsid, StaffNm, ContactRole, TeamLead}`` as a public wrapper reads them).

Staffers are seeded (read-only over the API, like a firm whose staff is managed in the UI). Their id is
rendered as ``StaffSID`` or ``StaffSid`` (``staff_id_key``); team rows name it ``staffsid`` unless
``team_staff_key`` says otherwise.

Assumptions ([Unknown]: BigTime does not document them, docs/decisions.md#what-we-assume-about-bigtime):

* ``POST /project/Team/{id}`` takes a list of members, one member object, or ``{"TeamList": [...]}``.
  By default it adds or updates the given members and keeps the others (``team_post_replaces=True``:
  the body becomes the whole team). It answers with the whole team.
* A member needs an active staffer; ``ContactRole`` must be an active ``LookupProjectTeamRoles`` id.
* The project lead is the member with ``TeamLead: true``; a project has at most one. Making a member
  lead demotes the previous lead; two leads in one body are a 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .models import FieldSpec, bad_request, ci, not_found, parse_update, pick, update_view
from .store import ProjectHooks, Store
from .wire import Reply, Route, bool_arg, detailed, json_body

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]

STAFF_BASIC = (
    "FName",
    "SName",
    "Title",
    "EMail",
    "Phone_Cell",
    "Phone_Wk",
    "IsInactive",
    "DefaultRole",
    "Capacity",
    "DtCreated",
    "DtModified",
)
STAFF_DETAILED_EXTRA = ("Notes", "Start_dt", "Term_dt", "Rate1", "CostRate")
_STAFF_SEED = update_view(
    FieldSpec("StaffSID", "int"),
    *(FieldSpec(name, "str") for name in ("FName", "SName", "Title", "EMail", "Phone_Cell", "Phone_Wk")),
    FieldSpec("Notes", "str"),
    FieldSpec("IsInactive", "bool"),
    FieldSpec("DefaultRole", "int"),
    FieldSpec("Capacity", "num"),
    FieldSpec("Start_dt", "date"),
    FieldSpec("Term_dt", "date"),
    FieldSpec("Rate1", "num"),
    FieldSpec("CostRate", "num"),
)
TEAM_MEMBER = update_view(
    FieldSpec("StaffSid", "int"),
    FieldSpec("ContactRole", "int", lookup="LookupProjectTeamRoles"),
    FieldSpec("TeamLead", "bool"),
)


class Staff(ProjectHooks):
    """The firm's staffers and every project's team."""

    def __init__(self, store: Store, staff: list[dict[str, Any]]) -> None:
        self.store = store
        self.staff: dict[int, Record] = {}
        self.teams: dict[int, dict[int, Record]] = {}  # project sid -> staff sid -> {ContactRole, TeamLead}
        for data in staff:
            self.add(data)

    # ------------------------------------------------------------------ staff

    def add(self, data: dict[str, Any]) -> Record:
        """Seed a staffer (``StaffSID`` and ``SName`` required); returns the Detailed view."""
        fields = parse_update(data, _STAFF_SEED, "staffer")
        sid = fields.pop("StaffSID", None)
        if not isinstance(sid, int) or sid <= 0:
            raise ValueError(f"a staffer needs a positive int StaffSID: {data}")
        if sid in self.staff:
            raise ValueError(f"staffer {sid} already exists")
        if not (fields.get("SName") or "").strip():
            raise ValueError(f"a staffer needs an SName: {data}")
        now = self.store.now()
        self.staff[sid] = {"IsInactive": False, **fields, "DtCreated": now, "DtModified": now}
        return self.view(sid, detailed=True)

    def staffer(self, sid: int) -> Record:
        """A staffer's record (404 if unknown)."""
        if sid not in self.staff:
            raise not_found("Staff", sid)
        return self.staff[sid]

    def check_active(self, sid: Any, field: str) -> int:
        """A staffer id a write refers to: a 400 unless it is an existing, active staffer."""
        if sid is None:
            raise bad_request(f"The field '{field}' is required.")
        staffer = self.staff.get(sid)
        if staffer is None:
            raise bad_request(f"The field '{field}' refers to staffer {sid}, who does not exist.")
        if staffer.get("IsInactive"):
            raise bad_request(f"The field '{field}' refers to staffer {sid}, who is inactive.")
        return int(sid)

    def full_name(self, sid: int | None) -> str | None:
        """ "First Last" of a staffer, None for no or an unknown staffer."""
        staffer = self.staff.get(sid) if sid is not None else None
        if staffer is None:
            return None
        return " ".join(p for p in (staffer.get("FName"), staffer.get("SName")) if p)

    def view(self, sid: int, detailed: bool) -> Record:
        """Basic or Detailed staff view, the id under ``staff_id_key``."""
        staffer = self.staffer(sid)
        out: Record = {self.store.config.staff_id_key: sid, **pick(staffer, STAFF_BASIC)}
        if detailed:
            out.update(pick(staffer, STAFF_DETAILED_EXTRA))
            out["UdfList"] = []
        return out

    def list(self, show_inactive: bool) -> list[Record]:
        """``GET /staff``: Basic views by id, inactive staffers only on request."""
        return [
            self.view(sid, detailed=False)
            for sid, s in sorted(self.staff.items())
            if show_inactive or not s.get("IsInactive")
        ]

    def picklist(self, show_inactive: bool) -> list[Record]:
        """``GET /picklist/staff``: ``{Id, Name}`` sorted by name."""
        rows = []
        for sid, staffer in self.staff.items():
            if staffer.get("IsInactive") and not show_inactive:
                continue
            row: Record = {"Id": sid, "Name": self.full_name(sid)}
            if show_inactive:
                row["IsInactive"] = bool(staffer.get("IsInactive"))
            rows.append(row)
        return sorted(rows, key=lambda r: (str(r["Name"]).lower(), r["Id"]))

    # ------------------------------------------------------------------- team

    def team(self, project_sid: int) -> list[Record]:
        """``GET /project/Team/{projectsid}``: members in the order they joined."""
        self.store.project(project_sid)
        key = self.store.config.team_staff_key
        return [
            {
                key: sid,
                "StaffNm": self.full_name(sid),
                "ContactRole": member.get("ContactRole"),
                "TeamLead": member["TeamLead"],
            }
            for sid, member in self.teams.get(project_sid, {}).items()
        ]

    def lead(self, project_sid: int) -> int | None:
        """The project lead's staffer id, None without a lead."""
        members = self.teams.get(project_sid, {})
        return next((sid for sid, m in members.items() if m["TeamLead"]), None)

    def set_team(self, project_sid: int, body: Any) -> list[Record]:
        """``POST /project/Team/{projectsid}``: validate every member first, then write (all or nothing)."""
        self.store.project(project_sid)
        items = body
        if isinstance(body, dict):
            lowered = ci(body)
            items = lowered.get("teamlist", [body])
        if not isinstance(items, list) or not items:
            raise bad_request("The body must be a team member object or a non-empty list of them.")
        parsed: dict[int, Record] = {}
        for item in items:
            fields = parse_update(item, TEAM_MEMBER, "team member")
            sid = self.check_active(fields.pop("StaffSid", None), "staffsid")
            if sid in parsed:
                raise bad_request(f"The field 'staffsid': staffer {sid} is listed twice.")
            self.store.picklists.check_lookups(fields, TEAM_MEMBER)
            parsed[sid] = fields
        if sum(1 for f in parsed.values() if f.get("TeamLead")) > 1:
            raise bad_request("The field 'TeamLead': a project has one team lead at most.")
        current = {} if self.store.config.team_post_replaces else self.teams.get(project_sid, {})
        team = {sid: dict(member) for sid, member in current.items()}
        if any(f.get("TeamLead") for f in parsed.values()):
            for member in team.values():
                member["TeamLead"] = False  # the new lead replaces the old one
        for sid, fields in parsed.items():
            member = team.setdefault(sid, {"ContactRole": None, "TeamLead": False})
            member.update(fields)
        self.teams[project_sid] = team
        return self.team(project_sid)

    def drop_project(self, project_sid: int) -> None:
        self.teams.pop(project_sid, None)


# ------------------------------------------------------------------------------------------- routes


def _list_staff(firm: Firm, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.staff.list(bool_arg(request, "ShowInactive"))


def _get_staff(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.staff.view(int(params["id"]), detailed(request))


def _picklist_staff(firm: Firm, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.staff.picklist(bool_arg(request, "ShowInactive"))


def _get_team(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.staff.team(int(params["id"]))


def _set_team(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.staff.set_team(int(params["id"]), json_body(request))


ROUTES = [
    Route("GET", "/staff", _list_staff, "staff.view", filtered=True),
    Route("GET", "/staff/detail/{id}", _get_staff, "staff.view"),
    Route("GET", "/picklist/staff", _picklist_staff, "staff.view", filtered=True),
    Route("GET", "/project/team/{id}", _get_team, "team.view"),
    Route("POST", "/project/team/{id}", _set_team, "team.update"),
]
