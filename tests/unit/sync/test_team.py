"""The project team (sf_bigtime.sync.team) and the project template (sf_bigtime.sync.template): the owner
and Opportunity team members matched to BigTime staff by e-mail, a miss is a warning and never a failure;
a template's tasks are kept and the line items' tasks added to them."""

from __future__ import annotations

from tests.unit.sync.conftest import OWNER_STAFFER, TEAM_CALLS, Memory

SAM = 3  # MemoryBigTime's staffer sam.rivera@acme.test


def team(mem: Memory) -> dict[int, dict]:
    [project] = mem.bt.projects.values()
    return mem.bt.teams.get(project["SystemId"], {})


def test_the_owner_joins_the_team_matched_by_email_without_case(mem: Memory) -> None:
    opp = mem.won_opportunity()  # owned by Olivia.Owner@acme.test, staffer 2 as olivia.owner@acme.test
    outcome = mem.sync(opp)
    assert outcome.team_added == 1 and "1 team member(s) added" in outcome.message
    assert team(mem) == {OWNER_STAFFER: {"ContactRole": None, "TeamLead": False}}
    assert not outcome.warnings


def test_the_owner_as_project_lead_with_a_role(mem: Memory) -> None:
    mem.bt.picklists["LookupProjectTeamRoles"] = {"Project Manager": 601}
    opp = mem.won_opportunity()
    mem.sync(opp, {"team": {"owner_lead": True, "owner_role": "project manager"}})
    assert team(mem) == {OWNER_STAFFER: {"ContactRole": 601, "TeamLead": True}}


def test_an_owner_without_a_staffer_is_a_warning_never_a_failure_and_stays_in_the_message(
    mem: Memory,
) -> None:
    opp = mem.won_opportunity(Owner={"Email": "new.hire@acme.test", "Name": "New Hire"})
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and outcome.created_project and outcome.team_added == 0
    warning = (
        "the Opportunity owner New Hire <new.hire@acme.test> matches no active BigTime staffer by e-mail"
    )
    assert outcome.warnings == [f"{warning}: not on the project team"]
    assert f"Warning: {warning}" in outcome.message
    assert "set_project_team" not in mem.bt.log and not team(mem)
    again = mem.sync(opp)
    assert again.warnings == outcome.warnings and again.bigtime_calls == 0


def test_an_inactive_staffer_does_not_join(mem: Memory) -> None:
    opp = mem.won_opportunity(Owner={"Email": "morgan@acme.test", "Name": "Morgan Gone"})
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and len(outcome.warnings) == 1 and not team(mem)


def test_team_members_join_by_role_and_create_only_sets_the_team_up_once(mem: Memory) -> None:
    mem.bt.picklists["LookupProjectTeamRoles"] = {"Consultant": 602}
    mapping = {"team": {"member_roles": {"Sales Engineer": "Consultant"}}}
    opp = mem.won_opportunity()
    mem.team_member(opp, "sam.rivera@acme.test", "Sales Engineer")
    mem.team_member(opp, "someone@acme.test", "Executive Sponsor")  # not a joining role: no warning either
    outcome = mem.sync(opp, mapping)
    assert outcome.team_added == 2 and not outcome.warnings
    assert team(mem) == {
        OWNER_STAFFER: {"ContactRole": None, "TeamLead": False},
        SAM: {"ContactRole": 602, "TeamLead": False},
    }
    assert mem.sf.queried[-1] == ["OpportunityLineItems", "OpportunityTeamMembers"]  # the same one query

    mem.sf.opportunities[opp]["OpportunityTeamMembers"]["records"].clear()
    mem.team_member(opp, "pat.admin@firm.test", "Sales Engineer")
    later = mem.sync(opp, mapping)
    assert later.bigtime_calls == 0 and len(team(mem)) == 2  # create_only: set up with the project


def test_with_sync_later_members_join_and_nobody_is_removed(mem: Memory) -> None:
    mapping = {"team": {"update": "sync", "member_roles": {"*": None}}}
    opp = mem.won_opportunity()
    mem.sync(opp, mapping)
    mem.team_member(opp, "sam.rivera@acme.test", "Pre-Sales Consultant")
    mem.bt.log.clear()
    outcome = mem.sync(opp, mapping)
    assert outcome.team_added == 1 and mem.bt.log == ["project_team", "set_project_team"]
    assert set(team(mem)) == {OWNER_STAFFER, SAM}
    mem.sf.opportunities[opp]["OpportunityTeamMembers"]["records"].clear()
    mem.bt.log.clear()
    mem.sync(opp, mapping)
    assert set(team(mem)) == {OWNER_STAFFER, SAM} and "set_project_team" not in mem.bt.log


def test_a_team_write_that_replaces_the_team_keeps_the_members_bigtime_had(mem: Memory) -> None:
    """Whether POST /project/Team adds or replaces is not documented: the write carries the whole team,
    and a role or lead set in BigTime stays."""
    mem.bt.team_post_replaces = True
    mapping = {"team": {"update": "sync", "member_roles": {"*": None}}}
    opp = mem.won_opportunity()
    mem.sync(opp, mapping)
    [project] = mem.bt.projects.values()
    mem.bt.teams[project["SystemId"]][OWNER_STAFFER] = {"ContactRole": 603, "TeamLead": True}
    mem.bt.teams[project["SystemId"]][1] = {"ContactRole": 601, "TeamLead": False}  # added in BigTime
    mem.team_member(opp, "sam.rivera@acme.test", "Sales Rep")
    mem.sync(opp, mapping)
    assert team(mem) == {
        OWNER_STAFFER: {"ContactRole": 603, "TeamLead": True},
        1: {"ContactRole": 601, "TeamLead": False},
        SAM: {"ContactRole": None, "TeamLead": False},
    }


def test_team_off_makes_no_team_call(mem: Memory) -> None:
    outcome = mem.sync(mem.won_opportunity(), {"team": {"enabled": False}})
    assert outcome.team_added == 0 and not any(c in mem.bt.log for c in TEAM_CALLS)


# -- templates --------------------------------------------------------------------------------------------
def test_a_template_picked_by_type_keeps_its_tasks_and_the_line_items_are_added(mem: Memory) -> None:
    mapping = {"template": {"field": "Type", "map": {"New Customer": "standard implementation"}}}
    opp = mem.won_opportunity(Type="New Customer")
    item = mem.line_item(opp, "Consulting", 40, 150)
    outcome = mem.sync(opp, mapping)
    assert outcome.status == "Synced" and outcome.tasks_added == 1
    [project] = mem.bt.projects.values()
    tasks = mem.bt.project_tasks(project["SystemId"])
    assert sorted(t["TaskNm"] for t in tasks) == ["Consulting", "Discovery", "Project Management"]
    assert mem.bt.budget(project["SystemId"]) == {
        "BudgetHours": 75.0,
        "BudgetFees": 13000.0,
        "BudgetExps": 0.0,
    }
    assert mem.bt.log[:4] == ["list_clients", "create_client", "templates", "create_project"]
    assert mem.item(opp)["tasks"].keys() == {item}  # the template's tasks are not ours to archive

    other = mem.won_opportunity(Type="Renewal")  # no map entry, no default: no template
    mem.sync(other, mapping)
    assert "TemplateId" not in mem.bt.projects[int(mem.item(other)["project_id"])]


def test_a_template_name_bigtime_lacks_fails_the_sync_naming_it(mem: Memory) -> None:
    opp = mem.won_opportunity()
    outcome = mem.sync(opp, {"template": {"default": "Fixed Fee Template"}})
    assert outcome.status == "Failed" and "no project template named 'Fixed Fee Template'" in outcome.message
    assert not mem.bt.projects and outcome.error_code == "bigtime_template"
