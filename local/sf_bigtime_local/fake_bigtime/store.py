"""The fake firm's core records and BigTime's rules for them: clients, projects and contacts (plus the
firm's custom-field definitions). Custom-field values, tasks, staff, logged work, invoices, templates
and reports live in their own modules and hook into projects through :class:`ProjectHooks`.

Every public method takes a raw request body (so seeding from Python validates exactly like HTTP) and
returns rendered views or raises :class:`ApiError`. The store is not thread-safe by itself: the
WSGI app holds one lock around every call.

Rules BigTime's documentation does not settle ([Unknown], docs/decisions.md#what-we-assume-about-bigtime),
resolved the stricter way:

* Project create needs ``Nm``, ``ClientId`` (an existing client's SystemId) and a ``ProjectCode``
  (unless ``auto_number_projects``, then ``P-00001``… is assigned when it is absent).
* Project and client codes are unique per firm, compared trimmed and case-insensitively (SQL Server's
  default collation); a clash is a 400, never an auto-renumber.
* ``TypeId``/``StatusProd``/``StatusBill``/``ContactType`` must be active ids of their picklist (400
  otherwise; ``0`` or ``null`` clears them). ``EndDt`` before ``StartDt`` is a 400.
* An update merges the given fields and leaves the others alone.
* A contact needs ``FName`` or ``SName``; ``Tag`` must be exactly PRIMARY, BILLING or OTHER (default
  OTHER); a second PRIMARY or BILLING on one project is a 400; a contact cannot move between projects.
* A project's ``PrimaryContactId``/``BillingContactId`` are derived from contact tags (read-only).
* Deleting a client that still has projects is a 400; deleting a project is refused by any hook that
  holds logged work for it (time, expenses, invoices) and otherwise takes its contacts, custom-field
  values, tasks and team along.
* ``AddressList`` in the Detailed project view is always empty ([Unknown] content).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .config import FakeConfig
from .models import (
    ADDRESS_FIELDS,
    CLIENT_BASIC,
    CLIENT_DETAILED_EXTRA,
    CLIENT_UPDATE,
    CONTACT_FIELDS,
    CONTACT_TAGS,
    CONTACT_UPDATE,
    PROJECT_BASIC,
    PROJECT_DETAILED_EXTRA,
    PROJECT_UPDATE,
    bad_request,
    check_dates,
    full_address,
    full_name,
    not_found,
    parse_update,
    pick,
    text,
)
from .picklists import Picklists

Record = dict[str, Any]

ID_BASES = {
    "client": 1001,
    "project": 5001,
    "task": 7001,
    "template": 8001,
    "contact": 9001,
    "time": 30001,
    "expense": 40001,
    "invoice": 60001,
}
_TAG_ORDER = {tag: i for i, tag in enumerate(CONTACT_TAGS)}


class ProjectHooks:
    """What a module holding per-project records adds to the project's life cycle (no-ops here)."""

    def check_delete_project(self, project_sid: int) -> None:
        """Raise an ApiError to refuse deleting the project (e.g. it has logged time)."""

    def drop_project(self, project_sid: int) -> None:
        """Forget the project's records; the project is being deleted."""

    def extend_project_view(self, project_sid: int, view: Record) -> None:
        """Add fields to the project's Detailed view."""


class Store:
    """Core entities of one fake firm plus the rules BigTime applies when they are written."""

    def __init__(
        self,
        config: FakeConfig,
        clock: Callable[[], float],
        picklists: Picklists,
        custom_fields: list[dict[str, Any]],
    ) -> None:
        self.config = config
        self._clock = clock
        self.picklists = picklists
        self._cf_defs: list[Record] = []
        for item in custom_fields:
            if not isinstance(item.get("Sid"), int) or not isinstance(item.get("Name"), str):
                raise ValueError(f"custom field definitions need an int Sid and a str Name: {item}")
            self._cf_defs.append({"Sid": item["Sid"], "Name": item["Name"]})
        self.clients: dict[int, Record] = {}
        self.projects: dict[int, Record] = {}
        self.contacts: dict[int, Record] = {}
        self.hooks: list[ProjectHooks] = []
        self._next_id = dict(ID_BASES)
        self._auto_code = 0

    # ----------------------------------------------------------------- helpers

    def now(self) -> str:
        """The clock as BigTime's timestamp format (UTC, no zone)."""
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def today(self) -> str:
        """The clock's date (UTC) as ``YYYY-MM-DD``."""
        return datetime.fromtimestamp(self._clock(), UTC).date().isoformat()

    def new_id(self, kind: str) -> int:
        """The next id of a kind of record (each kind counts from its own base)."""
        sid = self._next_id[kind]
        self._next_id[kind] = sid + 1
        return sid

    # ----------------------------------------------------------------- clients

    def client(self, sid: int) -> Record:
        """A client's record (404 if unknown)."""
        if sid not in self.clients:
            raise not_found("Client", sid)
        return self.clients[sid]

    def _check_client_code(self, code: str, exclude: int | None) -> None:
        if not code:
            if self.config.require_client_code:
                raise bad_request("The field 'ClientId' (the client code) is required.")
            return
        for sid, client in self.clients.items():
            if sid != exclude and text(client.get("ClientId")).lower() == code.lower():
                raise bad_request(
                    f"The field 'ClientId' must be unique: client code '{code}' is already used."
                )

    def create_client(self, body: Any) -> Record:
        """``POST /client/detail``: returns the Detailed view with the new SystemId."""
        fields = parse_update(body, CLIENT_UPDATE, "client")
        if not text(fields.get("Nm")):
            raise bad_request("The field 'Nm' is required.")
        self._check_client_code(text(fields.get("ClientId")), exclude=None)
        sid = self.new_id("client")
        now = self.now()
        self.clients[sid] = {
            "IsInactive": False,
            **fields,
            "SystemId": sid,
            "DtCreated": now,
            "DtModified": now,
        }
        return self.client_view(sid, detailed=True)

    def update_client(self, sid: int, body: Any) -> Record:
        """``POST /client/detail/{id}``: merge the given fields."""
        client = self.client(sid)
        fields = parse_update(body, CLIENT_UPDATE, "client")
        if "Nm" in fields and not text(fields["Nm"]):
            raise bad_request("The field 'Nm' is required.")
        if "ClientId" in fields:
            self._check_client_code(text(fields["ClientId"]), exclude=sid)
        client.update(fields)
        client["DtModified"] = self.now()
        return self.client_view(sid, detailed=True)

    def delete_client(self, sid: int) -> None:
        """``DELETE /client/detail/{id}``: refused while the client still has projects."""
        self.client(sid)
        if any(p["ClientId"] == sid for p in self.projects.values()):
            raise bad_request(f"Client {sid} still has projects; delete or move them first.")
        del self.clients[sid]

    def client_view(self, sid: int, detailed: bool) -> Record:
        """Basic or Detailed client view (ClientId = the client code)."""
        client = self.client(sid)
        data = {**client, "DisplayName": client.get("Nm"), "FullAddress": full_address(client)}
        view = pick(data, CLIENT_BASIC)
        if detailed:
            view.update(pick(data, CLIENT_DETAILED_EXTRA))
            project_ids = {psid for psid, p in self.projects.items() if p["ClientId"] == sid}
            view["ContactList"] = [
                self.contact_view(cid)
                for cid, c in sorted(self.contacts.items())
                if c["ProjectSid"] in project_ids
            ]
        return view

    def list_clients(self, show_inactive: bool) -> list[Record]:
        """``GET /client``: Basic views, inactive ones only on request."""
        return [
            self.client_view(sid, detailed=False)
            for sid, c in sorted(self.clients.items())
            if show_inactive or not c.get("IsInactive")
        ]

    # ---------------------------------------------------------------- projects

    def project(self, sid: int) -> Record:
        """A project's record (404 if unknown)."""
        if sid not in self.projects:
            raise not_found("Project", sid)
        return self.projects[sid]

    def _check_project_code(self, code: str, exclude: int | None) -> None:
        for sid, project in self.projects.items():
            if sid != exclude and text(project.get("ProjectCode")).lower() == code.lower():
                raise bad_request(f"The field 'ProjectCode' must be unique: '{code}' is already used.")

    def _next_auto_code(self) -> str:
        taken = {text(p.get("ProjectCode")).lower() for p in self.projects.values()}
        while True:
            self._auto_code += 1
            code = f"P-{self._auto_code:05d}"
            if code.lower() not in taken:
                return code

    def _check_project_client(self, fields: Record) -> None:
        client_id = fields.get("ClientId")
        if client_id is None:
            raise bad_request("The field 'ClientId' (the SystemId of the project's client) is required.")
        if client_id not in self.clients:
            raise bad_request(f"The field 'ClientId' refers to client {client_id}, which does not exist.")

    def create_project(self, body: Any) -> Record:
        """``POST /project/detail``: returns the Detailed view with the new SystemId."""
        fields = parse_update(body, PROJECT_UPDATE, "project")
        if not text(fields.get("Nm")):
            raise bad_request("The field 'Nm' is required.")
        self._check_project_client(fields)
        code = text(fields.get("ProjectCode"))
        if not code:
            if not self.config.auto_number_projects:
                raise bad_request("The field 'ProjectCode' is required.")
            fields["ProjectCode"] = self._next_auto_code()
        else:
            self._check_project_code(code, exclude=None)
        self.picklists.check_lookups(fields, PROJECT_UPDATE)
        check_dates(fields, "StartDt", "EndDt")
        sid = self.new_id("project")
        now = self.now()
        defaults = {"IsInactive": False, "IsAllStaff": False, "IsNoCharge": False}
        self.projects[sid] = {**defaults, **fields, "SystemId": sid, "DtCreated": now, "DtModified": now}
        return self.project_view(sid, detailed=True, show_all_contacts=True)

    def update_project(self, sid: int, body: Any) -> Record:
        """``POST /project/detail/{id}``: merge the given fields."""
        project = self.project(sid)
        fields = parse_update(body, PROJECT_UPDATE, "project")
        if "Nm" in fields and not text(fields["Nm"]):
            raise bad_request("The field 'Nm' is required.")
        if "ClientId" in fields:
            self._check_project_client(fields)
        if "ProjectCode" in fields:
            code = text(fields["ProjectCode"])
            if not code:
                raise bad_request("The field 'ProjectCode' is required.")
            self._check_project_code(code, exclude=sid)
        self.picklists.check_lookups(fields, PROJECT_UPDATE)
        check_dates({**project, **fields}, "StartDt", "EndDt")
        project.update(fields)
        project["DtModified"] = self.now()
        return self.project_view(sid, detailed=True, show_all_contacts=True)

    def delete_project(self, sid: int) -> None:
        """``DELETE /project/detail/{id}``: refused while a hook holds logged work; takes the rest along."""
        self.project(sid)
        for hook in self.hooks:
            hook.check_delete_project(sid)
        for cid in [cid for cid, c in self.contacts.items() if c["ProjectSid"] == sid]:
            del self.contacts[cid]
        for hook in self.hooks:
            hook.drop_project(sid)
        del self.projects[sid]

    def project_view(self, sid: int, detailed: bool, show_all_contacts: bool = False) -> Record:
        """Basic or Detailed project view. ClientId = the owning client's SystemId (the "ClientId trap")."""
        project = self.project(sid)
        client = self.clients.get(project["ClientId"], {})
        data = {**project, "DisplayName": f"{client.get('Nm', '')}:{project.get('Nm')}"}
        view = pick(data, PROJECT_BASIC)
        if not detailed:
            return view
        view.update(pick(data, PROJECT_DETAILED_EXTRA))
        view["Client"] = {
            "SystemId": client.get("SystemId"),
            "Nm": client.get("Nm"),
            "ClientCode": client.get("ClientId"),
            "IsInactive": client.get("IsInactive", False),
        }
        contacts = self._contacts_of(sid)
        tagged = {c["Tag"]: cid for cid, c in contacts}
        view["PrimaryContactId"] = tagged.get("PRIMARY")
        view["BillingContactId"] = tagged.get("BILLING")
        # Without ShowAllContacts BigTime embeds only the PRIMARY and BILLING contacts.
        view["ContactList"] = [
            self.contact_view(cid) for cid, c in contacts if show_all_contacts or c["Tag"] != "OTHER"
        ]
        view["AddressList"] = []
        for hook in self.hooks:
            hook.extend_project_view(sid, view)
        return view

    def list_projects(self, show_inactive: bool) -> list[Record]:
        """``GET /project``: Basic views, inactive ones only on request."""
        return [
            self.project_view(sid, detailed=False)
            for sid, p in sorted(self.projects.items())
            if show_inactive or not p.get("IsInactive")
        ]

    # ---------------------------------------------------------------- contacts

    def _contact(self, cid: int, project_sid: int | None) -> Record:
        contact = self.contacts.get(cid)
        if contact is None or (project_sid is not None and contact["ProjectSid"] != project_sid):
            raise not_found("Contact", cid)
        return contact

    def _contacts_of(self, project_sid: int) -> list[tuple[int, Record]]:
        mine = [(cid, c) for cid, c in self.contacts.items() if c["ProjectSid"] == project_sid]
        return sorted(mine, key=lambda item: (_TAG_ORDER[item[1]["Tag"]], item[0]))

    @staticmethod
    def _tag(value: Any) -> str:
        if value is None or value == "":
            return "OTHER"
        if value not in CONTACT_TAGS:
            raise bad_request("The field 'Tag' must be PRIMARY, BILLING or OTHER.")
        return str(value)

    def _check_tag_free(self, project_sid: int, tag: str, exclude: int | None) -> None:
        if tag == "OTHER":
            return
        for cid, contact in self.contacts.items():
            if cid != exclude and contact["ProjectSid"] == project_sid and contact["Tag"] == tag:
                raise bad_request(
                    f"The field 'Tag': project {project_sid} already has a {tag} contact ({cid}); "
                    "a project holds one PRIMARY and one BILLING contact at most."
                )

    @staticmethod
    def _check_contact_name(contact: Record) -> None:
        if not (text(contact.get("FName")) or text(contact.get("SName"))):
            raise bad_request("The field 'SName' (or 'FName') is required.")

    def create_contact(self, body: Any) -> Record:
        """``POST /project/contact``: the body names the project in ``ProjectSid``."""
        fields = parse_update(body, CONTACT_UPDATE, "contact")
        project_sid = fields.get("ProjectSid")
        if project_sid is None:
            raise bad_request("The field 'ProjectSid' is required.")
        if project_sid not in self.projects:
            raise bad_request(
                f"The field 'ProjectSid' refers to project {project_sid}, which does not exist."
            )
        self._check_contact_name(fields)
        fields["Tag"] = self._tag(fields.get("Tag"))
        self._check_tag_free(project_sid, fields["Tag"], exclude=None)
        self.picklists.check_lookups(fields, CONTACT_UPDATE)
        fields["Address"] = fields.get("Address") or {}
        cid = self.new_id("contact")
        self.contacts[cid] = fields
        return self.contact_view(cid)

    def update_contact(self, cid: int, body: Any) -> Record:
        """``POST /project/contact/{id}``: merge; the Address object merges field by field."""
        contact = self._contact(cid, None)
        fields = parse_update(body, CONTACT_UPDATE, "contact")
        if fields.get("ProjectSid") not in (None, contact["ProjectSid"]):
            raise bad_request("The field 'ProjectSid': a contact cannot be moved to another project.")
        fields.pop("ProjectSid", None)
        if "Tag" in fields:
            fields["Tag"] = self._tag(fields["Tag"])
            self._check_tag_free(contact["ProjectSid"], fields["Tag"], exclude=cid)
        self.picklists.check_lookups(fields, CONTACT_UPDATE)
        self._check_contact_name({**contact, **fields})
        if "Address" in fields:
            new_address = fields["Address"]
            fields["Address"] = {} if new_address is None else {**contact.get("Address", {}), **new_address}
        contact.update(fields)
        return self.contact_view(cid)

    def delete_contact(self, cid: int, project_sid: int | None) -> None:
        """``DELETE /project/contact/{id}?ProjectSid=``."""
        self._contact(cid, project_sid)
        del self.contacts[cid]

    def get_contact(self, cid: int, project_sid: int | None) -> Record:
        """``GET /project/contact/{id}?projectsid=``."""
        self._contact(cid, project_sid)
        return self.contact_view(cid)

    def list_contacts(self, project_sid: int) -> list[Record]:
        """``GET /project/contacts/{projectsid}``: every contact, OTHER included."""
        self.project(project_sid)
        return [self.contact_view(cid) for cid, _ in self._contacts_of(project_sid)]

    def contact_view(self, cid: int) -> Record:
        """A contact, its id under the configured key (SystemId, Id or id)."""
        contact = self.contacts[cid]
        project = self.projects[contact["ProjectSid"]]
        data = {**contact, "ClientSid": project["ClientId"], "FullNm": full_name(contact)}
        view: Record = {self.config.contact_id_key: cid}
        view.update(pick(data, CONTACT_FIELDS))
        address = contact.get("Address") or {}
        view["Address"] = {**pick(address, ADDRESS_FIELDS), "FullAddress": full_address(address)}
        return view

    # ----------------------------------------------------------- custom fields

    def custom_field_definitions(self) -> list[Record]:
        """The firm's project custom fields, ``[{Sid, Name}]``."""
        return [dict(d) for d in self._cf_defs]

    # ---------------------------------------------------------- entity picklists

    def picklist_clients(self) -> list[Record]:
        """``GET /picklist/clients``: active clients as ``{Id, Name}``, by name."""
        rows = [{"Id": sid, "Name": c["Nm"]} for sid, c in self.clients.items() if not c.get("IsInactive")]
        return sorted(rows, key=lambda r: (r["Name"].lower(), r["Id"]))

    def picklist_projects(self) -> list[Record]:
        """``GET /picklist/projects``: active projects as ``{Id, Name (display name), Group (client)}``."""
        rows = []
        for sid, p in self.projects.items():
            if p.get("IsInactive"):
                continue
            client_nm = self.clients.get(p["ClientId"], {}).get("Nm", "")
            rows.append({"Id": sid, "Name": f"{client_nm}:{p['Nm']}", "Group": client_nm})
        return sorted(rows, key=lambda r: (r["Name"].lower(), r["Id"]))
