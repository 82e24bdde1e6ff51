"""Every branch of the mapping, end to end on the fakes: trigger conditions, client matching, picklists by
name, update policies (no BigTime write when nothing changed), contacts, the lifecycle, and what a sync
costs in API calls (read from the outcome record, as `sf-bigtime status` will)."""

from __future__ import annotations

from typing import Any

from sf_bigtime.sync.run import SyncContext, sync_opportunity
from sf_bigtime_local.fake_salesforce.schema import Field
from tests.integration.conftest import ORG, World, new_fake_bigtime


def bt_calls_since(world: World, start: int) -> list[tuple[str, str | None]]:
    return [(c.method, c.route) for c in world.bt.calls[start:]]


def record_of(ctx: SyncContext, opp: str) -> dict[str, Any]:
    return ctx.store.get("opp", ORG, opp) or {}


# -- trigger -----------------------------------------------------------------------------------------
def test_trigger_conditions_on_amount_checkbox_and_record_type(world: World) -> None:
    world.sf.schema.get("Opportunity").add(  # a checkbox the firm added
        Field("Create_BigTime_Project__c", "boolean", "Create BigTime project", custom=True, default=False)
    )
    services = world.sf.create(
        "RecordType", {"Name": "Services", "DeveloperName": "Services", "SobjectType": "Opportunity"}
    )
    mapping = {
        "trigger": {
            "any_won": True,
            "stages": [],
            "conditions": [
                {"field": "Amount", "at_least": 10000},
                {"field": "Create_BigTime_Project__c", "is_true": True},
                {"field": "RecordType.DeveloperName", "in": ["Services"]},
            ],
        }
    }
    opp = world.won_opportunity(Amount=5000, RecordTypeId=services)
    skipped = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert skipped.status == "Skipped" and "Amount at least 10000" in skipped.message
    assert world.bt.calls == []
    assert "Amount at least 10000" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]

    world.sf.update("Opportunity", opp, {"Amount": 25000})
    unchecked = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert unchecked.status == "Skipped" and "Create_BigTime_Project__c is true" in unchecked.message
    # a new reason is a new message on the Opportunity (an unchanged one is not written again)
    assert (
        unchecked.wrote_back
        and "Create_BigTime_Project__c" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    )

    world.sf.update("Opportunity", opp, {"Create_BigTime_Project__c": True})
    synced = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert synced.status == "Synced" and synced.created_project
    query = next(c for c in reversed(world.sf.calls) if "queryAll" in c.path)
    assert "Create_BigTime_Project__c" in query.query and "RecordType.DeveloperName" in query.query


def test_any_won_does_not_take_closed_lost(world: World) -> None:
    opp = world.won_opportunity(stage="Closed Lost")
    outcome = sync_opportunity(world.request(opp), world.context(mapping={"trigger": {"any_won": True}}))
    assert outcome.status == "Skipped" and "not a won stage" in outcome.message and world.bt.calls == []


# -- clients -----------------------------------------------------------------------------------------
def test_match_never_creates_a_client_with_its_code_marker(world: World) -> None:
    existing = world.bt.create_client({"Nm": "Acme Consulting Ltd"})
    mapping = {"client": {"match": "never", "code": "SF-{AccountId}"}}
    opp = world.won_opportunity()
    outcome = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert outcome.created_client and outcome.client_id != str(existing["SystemId"])
    account = world.sf.get("Opportunity", opp)["AccountId"]
    created = world.bt.client(int(outcome.client_id or 0))
    assert created["ClientId"] == f"SF-{account}" and created["Nm"] == "Acme Consulting Ltd"
    # no list call was needed to create it (nothing to match against)
    assert ("GET", "/client") not in bt_calls_since(world, 0)


def test_ambiguous_client_names_fail_naming_the_candidates(world: World) -> None:
    a = world.bt.create_client({"Nm": "Acme Consulting Ltd"})
    b = world.bt.create_client({"Nm": "ACME consulting  ltd", "ClientId": "AC-2"})
    opp = world.won_opportunity()
    outcome = sync_opportunity(world.request(opp), world.context())
    assert outcome.status == "Failed"
    message = world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    assert f"id {a['SystemId']}" in message and f"id {b['SystemId']}" in message
    assert len(world.bt.clients) == 2 and world.bt.projects == []


# -- picklists ---------------------------------------------------------------------------------------
def test_picklist_values_by_name_resolved_and_cached(world: World) -> None:
    mapping = {
        "project": {
            "fields": {
                "TypeId": {
                    "field": "Type",
                    "map": {"New Customer": "Implementation"},
                    "default": "Consulting",
                },
                "StatusProd": {"value": "in progress"},
            }
        }
    }
    ctx = world.context(mapping=mapping)
    first = world.won_opportunity(Type="New Customer")
    second = world.won_opportunity(world.account("Initech"), Type="Existing Customer - Upgrade")
    sync_opportunity(world.request(first), ctx)
    start = len(world.bt.calls)
    sync_opportunity(world.request(second), ctx)
    projects = {p["Nm"]: p for p in world.bt.projects}
    assert [(p["TypeId"], p["StatusProd"]) for p in world.bt.projects] == [(103, 202), (101, 202)]
    assert projects
    # both lists were read once, by the first sync of this warm worker
    picklist_calls = [c for c in world.bt.calls if c.route == "/picklist/fieldvalues/{name}"]
    assert len(picklist_calls) == 2 and all(c.time < world.bt.calls[start].time + 1 for c in picklist_calls)
    assert not any(c.route == "/picklist/fieldvalues/{name}" for c in world.bt.calls[start:])


def test_unknown_picklist_name_fails_listing_the_values(world: World) -> None:
    opp = world.won_opportunity()
    mapping = {"project": {"fields": {"TypeId": {"value": "Consultancy"}}}}
    outcome = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert outcome.status == "Failed" and "'Consultancy'" in outcome.message
    assert "'Consulting'" in outcome.message and "LookupProjectType" in outcome.message
    assert world.bt.projects == []


# -- update policy -----------------------------------------------------------------------------------
SYNC_MAPPING = {
    "client": {"fields": {"City": {"field": "Account.BillingCity", "update": "sync"}}},
    "project": {
        "fields": {
            "Nm": {"field": "Name", "update": "sync"},
            "StartDt": {"field": "CloseDate", "update": "sync"},
            "Notes": "Description",  # create_only (the default)
            "InvoiceNotes": {"field": "NextStep", "update": "never"},
        }
    },
}


def test_sync_fields_follow_salesforce_create_only_and_never_do_not(world: World) -> None:
    opp = world.won_opportunity(Description="Phase 1", NextStep="Kick-off")
    created = sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    project_id = int(created.project_id or 0)
    project = world.bt.project(project_id)
    assert project["Notes"] == "Phase 1" and project["InvoiceNotes"] is None  # `never` is never written

    world.sf.update("Opportunity", opp, {"Name": "Acme – Implementation (EU)", "Description": "Phase 2"})
    start = len(world.bt.calls)
    updated = sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    assert bt_calls_since(world, start) == [
        ("GET", "/project/detail/{id}"),
        ("POST", "/project/detail/{id}"),
    ]
    assert updated.status == "Synced" and updated.updated_project == ["Nm"]
    project = world.bt.project(project_id)
    assert project["Nm"] == "Acme – Implementation (EU)" and project["Notes"] == "Phase 1"
    assert project["StartDt"] == "2026-12-01" and project["ProjectCode"] == f"SF-{opp}"
    record = world.sf.get("Opportunity", opp)
    assert "project updated (Nm)" in record["BigTime_Sync_Message__c"]
    [row] = world.sf.query("SELECT Name FROM BigTime_Project__c")["records"]
    assert row["Name"] == "Acme – Implementation (EU)"  # the related list follows

    # nothing changed in Salesforce: no BigTime call at all, no write-back
    start, sf_start = len(world.bt.calls), world.sf_api_calls()
    ctx = world.context(mapping=SYNC_MAPPING)
    again = sync_opportunity(world.request(opp), ctx)
    assert world.bt.calls[start:] == [] and world.sf_api_calls() - sf_start == 1
    assert not again.wrote_back
    item = record_of(ctx, opp)
    assert item["last_bigtime_calls"] == 0 and item["last_salesforce_calls"] == 1

    # a create_only field changed: still nothing to write
    world.sf.update("Opportunity", opp, {"Description": "Phase 3"})
    start = len(world.bt.calls)
    sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    assert world.bt.calls[start:] == []


def test_a_changed_sync_field_that_bigtime_already_holds_is_not_written(world: World) -> None:
    opp = world.won_opportunity()
    created = sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    project_id = int(created.project_id or 0)
    # someone renamed the project in BigTime; the Opportunity is then renamed the same way
    world.bt._store.update_project(project_id, {"Nm": "Acme – Rollout"})  # a person, in the UI
    world.sf.update("Opportunity", opp, {"Name": "Acme – Rollout"})
    start = len(world.bt.calls)
    outcome = sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    assert bt_calls_since(world, start) == [("GET", "/project/detail/{id}")]  # compared, nothing to write
    assert outcome.updated_project == []


def test_client_sync_fields_follow_the_account(world: World) -> None:
    opp = world.won_opportunity()
    created = sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    account = world.sf.get("Opportunity", opp)["AccountId"]
    world.sf.update("Account", account, {"BillingCity": "Oakland", "Phone": "999"})
    start = len(world.bt.calls)
    outcome = sync_opportunity(world.request(opp), world.context(mapping=SYNC_MAPPING))
    assert outcome.updated_client == ["City"]
    assert bt_calls_since(world, start) == [("GET", "/client/detail/{id}"), ("POST", "/client/detail/{id}")]
    client = world.bt.client(int(created.client_id or 0))
    assert client["City"] == "Oakland" and client["MainPH"] == "555"  # MainPH is create_only


# -- contacts ----------------------------------------------------------------------------------------
def test_contact_roles_added_later_and_synced_fields(world: World) -> None:
    mapping = {"contacts": {"fields": {"Title": {"field": "Title", "update": "sync"}}}}
    opp = world.won_opportunity()
    account = world.sf.get("Opportunity", opp)["AccountId"]
    nameless = world.contact(account, None, "Unknown", "nobody@acme.test")
    world.sf.update("Contact", nameless, {"LastName": "X"})
    created = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert created.contacts_added == 2
    project_id = int(created.project_id or 0)

    # a new role, a duplicate e-mail, and a title change on the primary contact
    alan = world.contact(account, "Alan", "Turing", "alan@acme.test")
    world.role(opp, alan, role="Technical Buyer")
    dup = world.contact(account, "Ada", "Lovelace", world.bt.project_contacts(project_id)[0]["EMail"])
    world.role(opp, dup, role="Influencer")
    ada = next(
        c for c in world.sf.query("SELECT Id, FirstName FROM Contact")["records"] if c["FirstName"] == "Ada"
    )
    world.sf.update("Contact", ada["Id"], {"Title": "CTO"})
    start = len(world.bt.calls)
    outcome = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert (outcome.contacts_added, outcome.contacts_updated) == (1, 1)
    assert bt_calls_since(world, start) == [
        ("GET", "/project/contacts/{id}"),
        ("POST", "/project/contact/{id}"),
        ("POST", "/project/contact"),
    ]
    contacts = {c["FName"]: c for c in world.bt.project_contacts(project_id)}
    assert sorted(contacts) == ["Ada", "Alan", "Grace"]
    assert contacts["Ada"]["Title"] == "CTO" and contacts["Alan"]["Tag"] == "OTHER"
    assert contacts["Ada"]["Tag"] == "PRIMARY" and contacts["Grace"]["Tag"] == "BILLING"


def test_contact_without_a_name_is_skipped_with_a_warning(world: World) -> None:
    opp = world.won_opportunity()
    account = world.sf.get("Opportunity", opp)["AccountId"]
    ghost = world.contact(account, None, "Ghost", "ghost@acme.test")
    role = world.role(opp, ghost)
    mapping = {"contacts": {"fields": {"SName": {"value": ""}}}}  # the firm maps first names only
    outcome = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert outcome.contacts_added == 2
    assert outcome.warnings == [f"contact role {role} skipped: the contact has no name (or is not visible)"]
    assert (
        f"Warning: contact role {role} skipped" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    )
    item = record_of(world.contexts[-1], opp)
    assert item["last_warnings"] == outcome.warnings


# -- lifecycle ---------------------------------------------------------------------------------------
LIFECYCLE = {
    "lifecycle": {
        "closed_lost": {"status": "Cancelled", "note": "Lost in Salesforce on {today}", "inactive": True},
        "reopened": {"status": "In Progress", "inactive": False},
        "deleted": {"note": "Opportunity deleted in Salesforce", "inactive": True},
    }
}


def test_closed_lost_after_creation_applies_the_configured_action(world: World) -> None:
    opp = world.won_opportunity()
    created = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    project_id = int(created.project_id or 0)

    world.sf.update("Opportunity", opp, {"StageName": "Closed Lost"})
    start = len(world.bt.calls)
    lost = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    assert lost.status == "Synced" and lost.lifecycle == "closed_lost"
    assert bt_calls_since(world, start) == [
        ("GET", "/project/detail/{id}"),
        ("GET", "/picklist/fieldvalues/{name}"),  # "Cancelled" -> its id (then cached)
        ("POST", "/project/detail/{id}"),
    ]
    project = world.bt.project(project_id)
    assert project["StatusProd"] == 205 and project["IsInactive"] is True
    assert project["StatusProd_nt"].startswith("Lost in Salesforce on 20")
    record = world.sf.get("Opportunity", opp)
    assert (
        record["BigTime_Sync_Status__c"] == "Synced"
        and "Closed Lost in Salesforce" in record["BigTime_Sync_Message__c"]
    )
    [row] = world.sf.query("SELECT Status__c FROM BigTime_Project__c")["records"]
    assert row["Status__c"] == "Cancelled"
    assert len(world.bt.projects) == 1  # nothing created, nothing deleted

    # the same news again changes nothing
    start = len(world.bt.calls)
    again = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    assert again.status == "Skipped" and world.bt.calls[start:] == []

    # reopened and won again: active again, back in progress, and nothing duplicated
    world.sf.update("Opportunity", opp, {"StageName": "Closed Won"})
    reopened = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    assert reopened.status == "Synced" and reopened.lifecycle == "reopened" and not reopened.created_project
    project = world.bt.project(project_id)
    assert project["StatusProd"] == 202 and project["IsInactive"] is False
    assert len(world.bt.projects) == 1 and len(world.bt.project_contacts(project_id)) == 2


def test_reopened_to_an_open_stage(world: World) -> None:
    opp = world.won_opportunity()
    created = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    world.sf.update("Opportunity", opp, {"StageName": "Closed Lost"})
    sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    world.sf.update("Opportunity", opp, {"StageName": "Negotiation/Review"})
    outcome = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    assert outcome.lifecycle == "reopened" and outcome.status == "Synced"
    assert world.bt.project(int(created.project_id or 0))["IsInactive"] is False


def test_deleted_opportunity_marks_its_project(world: World) -> None:
    opp = world.won_opportunity()
    created = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    world.sf.delete("Opportunity", opp)
    sf_start = world.sf_api_calls()
    ctx = world.context(mapping=LIFECYCLE)
    outcome = sync_opportunity(world.request(opp), ctx)
    assert outcome.lifecycle == "deleted" and outcome.status == "Synced"
    project = world.bt.project(int(created.project_id or 0))
    assert project["IsInactive"] is True and project["StatusProd_nt"] == "Opportunity deleted in Salesforce"
    assert world.sf_api_calls() - sf_start == 1  # read only: a deleted record takes no write-back
    assert record_of(ctx, opp)["lifecycle"] == "deleted"
    # restored from the recycle bin: reopened
    world.sf.undelete("Opportunity", opp)
    restored = sync_opportunity(world.request(opp), world.context(mapping=LIFECYCLE))
    assert (
        restored.lifecycle == "reopened"
        and world.bt.project(int(created.project_id or 0))["IsInactive"] is False
    )


def test_lifecycle_nothing_leaves_the_project_alone(world: World) -> None:
    mapping = {"lifecycle": {"closed_lost": "nothing"}}
    opp = world.won_opportunity()
    sync_opportunity(world.request(opp), world.context(mapping=mapping))
    world.sf.update("Opportunity", opp, {"StageName": "Closed Lost"})
    start = len(world.bt.calls)
    outcome = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert outcome.status == "Skipped" and "leaves BigTime project" in outcome.message
    assert world.bt.calls[start:] == []


# -- markers and cost --------------------------------------------------------------------------------
def test_new_opportunity_on_an_existing_client_costs_two_salesforce_and_one_plus_contacts_bigtime(
    world: World,
) -> None:
    account = world.account()
    sync_opportunity(world.request(world.won_opportunity(account, name="Phase 1")), world.context())
    opp = world.won_opportunity(account, name="Phase 2")
    ctx = world.context()  # a cold worker: nothing cached but the table
    outcome = sync_opportunity(world.request(opp), ctx)
    assert outcome.created_project and not outcome.created_client and outcome.contacts_added == 2
    item = record_of(ctx, opp)
    assert item["last_salesforce_calls"] == 2  # the read and the write-back
    # the project, one call per contact; the owner onto the team: the staff list (a cold worker), the team
    # read and write. No line items, no Amount: no task.
    assert item["last_bigtime_calls"] == 1 + 2 + 3
    assert item["last_changes"]["created_project"] is True and item["last_changes"]["contacts_added"] == 2


def test_custom_field_marker_costs_one_call_and_stays_within_budget(world: World) -> None:
    mapping = {
        "project": {
            "opportunity_id_field": "Salesforce Opportunity Id",
            "fields": {"TypeId": {"value": "Consulting"}},
        }
    }
    account = world.account()
    ctx = world.context(mapping=mapping)
    sync_opportunity(world.request(world.won_opportunity(account, name="Phase 1")), ctx)
    opp = world.won_opportunity(account, name="Phase 2")
    outcome = sync_opportunity(world.request(opp), ctx)  # warm: the picklist is cached
    assert world.bt.custom_fields(int(outcome.project_id or 0))["Salesforce Opportunity Id"] == opp
    item = record_of(ctx, opp)
    assert item["last_salesforce_calls"] == 2
    # project, marker, contacts, the team's read and write (the staff list is cached, as the picklist)
    assert item["last_bigtime_calls"] == 2 + outcome.contacts_added + 2
    assert item["marker_written"] is True


def test_missing_custom_field_fails_visibly_and_the_retry_finishes_without_waiting(world: World) -> None:
    fake = world.use_bigtime(new_fake_bigtime(custom_fields=[]))  # the firm has not created the field yet
    mapping = {"project": {"opportunity_id_field": "Salesforce Opportunity Id"}}
    opp = world.won_opportunity()
    failed = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert failed.status == "Failed" and "Salesforce Opportunity Id" in failed.message
    assert "does not exist" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    [project] = fake.projects  # created and recorded before the marker failed

    fake._store._cf_defs.append({"Sid": 1, "Name": "Salesforce Opportunity Id"})  # the firm adds it
    fixed = sync_opportunity(world.request(opp), world.context(mapping=mapping))
    assert fixed.status == "Synced" and not fixed.created_project and fixed.contacts_added == 2
    assert fake.custom_fields(project["SystemId"]) == {"Salesforce Opportunity Id": opp}
    assert len(fake.projects) == 1
