"""What a chaos run must end with, read from the fakes themselves (not through their faulty APIs): one project
per won Opportunity, one client per Account (the existing ones adopted, not copied), each project's tasks,
contacts and team exactly once, every write-back complete, nothing lost, nothing left in the queues."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chaos.plan import Plan
from sf_bigtime.mapping.transform import normalize_name

OWNER_STAFF_SID = 20  # the local stack's Opportunity owner as a BigTime staffer (sf_bigtime_local.stack)


@dataclass
class Seeded:
    """The Salesforce ids and pre-existing BigTime clients of a run's seed data."""

    accounts: dict[int, str]  # plan key -> Account id
    opportunities: dict[int, str]  # plan key -> Opportunity id
    line_items: dict[int, list[str]]  # plan key -> line item ids
    contacts: dict[int, list[str]]  # plan key -> e-mails of its contact roles
    existing_clients: dict[int, int]  # account plan key -> the BigTime client's SystemId made before the run


@dataclass
class Results:
    figures: list[tuple[str, str]] = field(default_factory=list)  # (what, value) in report order
    failures: list[str] = field(default_factory=list)

    def figure(self, what: str, value: Any) -> None:
        self.figures.append((what, str(value)))

    def expect(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)


def check(plan: Plan, seeded: Seeded, bigtime: Any, salesforce: Any, results: Results) -> None:
    projects = bigtime.projects
    clients = bigtime.clients
    by_code: dict[str, list[dict[str, Any]]] = {}
    for project in projects:
        by_code.setdefault(str(project.get("ProjectCode") or "").upper(), []).append(project)

    # Projects: exactly one per won Opportunity, and none besides.
    per_opp = {key: by_code.get(f"SF-{opp_id}".upper(), []) for key, opp_id in seeded.opportunities.items()}
    counts = Counter(len(found) for found in per_opp.values())
    results.figure("projects per won Opportunity", _spread(counts))
    for key, found in per_opp.items():
        results.expect(len(found) == 1, f"Opportunity {seeded.opportunities[key]}: {len(found)} projects")
    results.expect(len(projects) == len(seeded.opportunities), f"{len(projects)} projects in BigTime in all")

    # Clients: one per Account (by name), the pre-existing ones adopted; each project under its Account's.
    by_name = Counter(normalize_name(c.get("Nm")) for c in clients)
    names = {a.key: normalize_name(a.name) for a in plan.accounts}
    client_counts = Counter(by_name.get(name, 0) for name in names.values())
    results.figure("clients per Account", _spread(client_counts))
    for key, name in names.items():
        results.expect(
            by_name.get(name, 0) == 1, f"Account {seeded.accounts[key]}: {by_name.get(name, 0)} clients"
        )
    results.expect(len(clients) == len(plan.accounts), f"{len(clients)} clients in BigTime in all")
    client_of = {normalize_name(c.get("Nm")): int(c["SystemId"]) for c in clients}
    adopted = sum(1 for key, sid in seeded.existing_clients.items() if client_of.get(names[key]) == sid)
    results.figure("existing clients adopted", f"{adopted} of {len(seeded.existing_clients)}")
    results.expect(adopted == len(seeded.existing_clients), "an existing client was not adopted")

    tasks_dup = contacts_dup = team_wrong = tasks_wrong = contacts_wrong = wrong_client = 0
    for opp in plan.opportunities:
        found = per_opp[opp.key]
        if len(found) != 1:
            continue
        project = found[0]
        sid = int(project["SystemId"])
        if int(project.get("ClientId") or 0) != client_of.get(names[opp.account]):
            wrong_client += 1
        tasks = bigtime.tasks(sid)
        codes = Counter(str(t.get("TaskId") or t.get("TaskNm")) for t in tasks)
        tasks_dup += sum(n - 1 for n in codes.values())
        expected_tasks = len(opp.line_items) or (1 if opp.amount else 0)
        if len(codes) != expected_tasks:
            tasks_wrong += 1
            results.failures.append(f"project {sid}: {len(codes)} distinct tasks, expected {expected_tasks}")
        contacts = bigtime.project_contacts(sid)
        emails = Counter(str(c.get("EMail") or "").lower() for c in contacts)
        contacts_dup += sum(n - 1 for n in emails.values())
        if set(emails) != {e.lower() for e in seeded.contacts[opp.key]}:
            contacts_wrong += 1
            results.failures.append(
                f"project {sid}: contacts {sorted(emails)} != {sorted(seeded.contacts[opp.key])}"
            )
        team = [
            int(m.get("staffsid") or m.get("StaffSid") or m.get("StaffSID") or 0) for m in bigtime.team(sid)
        ]
        if team != [OWNER_STAFF_SID]:
            team_wrong += 1
            results.failures.append(f"project {sid}: team {team}, expected the owner once")
    results.figure("tasks duplicated", tasks_dup)
    results.figure("contacts duplicated", contacts_dup)
    results.figure(
        "projects with wrong tasks / contacts / team", f"{tasks_wrong} / {contacts_wrong} / {team_wrong}"
    )
    results.expect(tasks_dup == 0, f"{tasks_dup} duplicated tasks")
    results.expect(contacts_dup == 0, f"{contacts_dup} duplicated contacts")
    results.expect(wrong_client == 0, f"{wrong_client} projects under another Account's client")

    # Write-backs: every won Opportunity says Synced with its project's id, and has one BigTime Project record.
    complete = 0
    lost = []
    for key, opp_id in seeded.opportunities.items():
        record = salesforce.get("Opportunity", opp_id) or {}
        found = per_opp[key]
        project_id = str(found[0]["SystemId"]) if len(found) == 1 else None
        if (
            record.get("BigTime_Sync_Status__c") == "Synced"
            and record.get("BigTime_Project_Id__c") == project_id
        ):
            complete += 1
        else:
            lost.append(opp_id)
            results.failures.append(
                f"Opportunity {opp_id}: {record.get('BigTime_Sync_Status__c')!r} "
                f"project {record.get('BigTime_Project_Id__c')!r} (BigTime: {project_id}): "
                f"{str(record.get('BigTime_Sync_Message__c'))[:200]}"
            )
    rows = salesforce.query("SELECT Opportunity__c FROM BigTime_Project__c")["records"]
    per_row = Counter(r["Opportunity__c"] for r in rows)
    extra_rows = sum(n - 1 for n in per_row.values()) + sum(
        1 for o in seeded.opportunities.values() if o not in per_row
    )
    results.figure("write-backs complete (Synced + project id)", f"{complete} of {len(seeded.opportunities)}")
    results.figure("BigTime Project records not exactly one per Opportunity", extra_rows)
    results.figure("Opportunities lost", len(lost))
    results.expect(extra_rows == 0, f"{extra_rows} BigTime Project records missing or duplicated")


def _spread(counts: Counter[int]) -> str:
    """``{1: 300}`` → ``"1 (all 300)"``; otherwise each count with how many have it."""
    if len(counts) == 1:
        [(value, n)] = counts.items()
        return f"{value} (all {n})"
    return ", ".join(f"{value}: {n}" for value, n in sorted(counts.items()))
