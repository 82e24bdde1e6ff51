"""The project of a synced Opportunity that is lost, reopened, deleted or restored: the mapping's lifecycle
action, once per change (sf_bigtime.sync.lifecycle)."""

from __future__ import annotations

from tests.unit.sync.conftest import Memory

TODAY = "2027-01-15"  # the Clock's date (1_800_000_000 s)


def test_the_clock_date_is_the_sync_date(mem: Memory) -> None:
    assert mem.clock.datetime().date().isoformat() == TODAY


def test_closed_lost_sets_the_note_once_and_writes_back(mem: Memory) -> None:
    opp = mem.won_opportunity()
    first = mem.sync(opp)
    mem.move_to(opp, "Closed Lost")
    mem.bt.log.clear()

    lost = mem.sync(opp)
    assert lost.status == "Synced" and lost.lifecycle == "closed_lost"
    assert lost.updated_project == ["StatusProd_nt"] and mem.bt.log == ["get_project", "update_project"]
    [project] = mem.bt.projects.values()
    assert project["StatusProd_nt"] == f"Closed Lost in Salesforce ({TODAY})."
    assert lost.message == (
        f"Closed Lost in Salesforce; on BigTime project SF-{opp} (id {first.project_id}): set the status note."
    )
    # A note changes no status: the row keeps whatever status the pull copied from BigTime.
    assert lost.wrote_back and "Status__c" not in mem.sf.write_backs[-1][1].project
    assert mem.item(opp)["lifecycle"] == "closed_lost"

    again = mem.sync(opp)  # handled already: nothing more
    assert again.status == "Skipped" and again.message.startswith("Not synced again")
    assert again.bigtime_calls == 0 and not again.wrote_back


def test_reopened_to_an_open_stage_sets_the_reopened_note(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.sync(opp)
    mem.move_to(opp, "Closed Lost")
    mem.sync(opp)
    mem.move_to(opp, "Negotiation/Review")

    reopened = mem.sync(opp)
    assert reopened.lifecycle == "reopened" and reopened.updated_project == ["StatusProd_nt"]
    [project] = mem.bt.projects.values()
    assert project["StatusProd_nt"] == f"Reopened in Salesforce ({TODAY}): Negotiation/Review."
    assert reopened.message.startswith("Reopened in Salesforce; on BigTime project")
    assert mem.item(opp)["lifecycle"] == "active"
    assert mem.sync(opp).status == "Skipped"  # an open stage that does not trigger: left as is


def test_won_again_after_closed_lost_is_a_reopened_sync(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.sync(opp)
    mem.move_to(opp, "Closed Lost")
    mem.sync(opp)
    mem.move_to(opp, "Closed Won")

    won = mem.sync(opp)
    assert won.status == "Synced" and won.lifecycle == "reopened" and not won.created_project
    assert won.updated_project == ["StatusProd_nt"] and "reopened" in won.message
    assert mem.item(opp)["lifecycle"] == "active" and len(mem.bt.projects) == 1


def test_deleted_sets_the_note_writes_nothing_back_and_restored_reopens(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.sync(opp)
    write_backs = len(mem.sf.write_backs)
    mem.delete(opp)

    deleted = mem.sync(opp)
    assert deleted.status == "Synced" and deleted.lifecycle == "deleted"
    [project] = mem.bt.projects.values()
    assert project["StatusProd_nt"] == f"The Salesforce Opportunity was deleted ({TODAY})."
    assert not deleted.wrote_back and len(mem.sf.write_backs) == write_backs  # nothing to write onto
    assert mem.item(opp)["lifecycle"] == "deleted"

    again = mem.sync(opp)
    assert again.status == "Skipped" and again.message == "The Opportunity was deleted in Salesforce."
    assert again.bigtime_calls == 0

    mem.edit(opp, IsDeleted=False)  # restored from the recycle bin, still Closed Won
    restored = mem.sync(opp)
    assert restored.lifecycle == "reopened" and restored.status == "Synced"
    assert mem.item(opp)["lifecycle"] == "active" and len(mem.bt.projects) == 1


def test_an_action_setting_nothing_leaves_the_project_and_the_opportunity_as_they_are(mem: Memory) -> None:
    mapping = {"lifecycle": {"closed_lost": {"note": None}}}
    opp = mem.won_opportunity()
    mem.sync(opp, mapping)
    mem.move_to(opp, "Closed Lost")
    outcome = mem.sync(opp, mapping)
    assert outcome.status == "Skipped" and outcome.lifecycle == "closed_lost"
    assert "the mapping leaves BigTime project" in outcome.message
    assert outcome.bigtime_calls == 0 and not outcome.wrote_back
    assert mem.item(opp)["lifecycle"] == "closed_lost"


def test_status_and_inactive_are_set_in_bigtime_and_shown_on_the_related_list(mem: Memory) -> None:
    mapping = {"lifecycle": {"closed_lost": {"status": "Lost", "inactive": True, "note": None}}}
    opp = mem.won_opportunity()
    mem.sync(opp, mapping)
    mem.move_to(opp, "Closed Lost")
    outcome = mem.sync(opp, mapping)
    [project] = mem.bt.projects.values()
    assert (project["StatusProd"], project["IsInactive"]) == (3, True)  # the picklist name, as its id
    assert outcome.updated_project == ["IsInactive", "StatusProd"]
    assert "set status 'Lost', mark inactive" in outcome.message
    row = mem.sf.write_backs[-1][1].project
    assert (row["Status__c"], row["Inactive__c"]) == ("Lost", True)


def test_an_action_bigtime_already_reflects_changes_nothing_there(mem: Memory) -> None:
    mapping = {"lifecycle": {"closed_lost": {"inactive": True, "note": None}}}
    opp = mem.won_opportunity()
    mem.sync(opp, mapping)
    [project] = mem.bt.projects.values()
    project["IsInactive"] = True  # a person did it first
    mem.move_to(opp, "Closed Lost")
    outcome = mem.sync(opp, mapping)
    assert outcome.updated_project == [] and outcome.message.endswith("mark inactive (it already was so).")
    assert "update_project" not in mem.bt.log
    row = mem.sf.write_backs[-1][1].project
    assert row["Inactive__c"] is True and "Status__c" not in row  # the status is the pull's to copy
