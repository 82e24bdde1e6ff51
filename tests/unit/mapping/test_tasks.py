"""The tasks, team and template sections: the bundled default, the task plans an Opportunity makes (line
items, families, one budget task, the Amount), and errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.clients.salesforce import OpportunitySnapshot
from sf_bigtime.mapping.load import build_mapping, default_mapping
from sf_bigtime.mapping.model import MappingError, UpdatePolicy, configured_picklists
from sf_bigtime.mapping.task_plans import task_plans

OPP = "0065w00000ABCDEAA1"


def item(
    n: int, product: str, quantity: float, price: float, unit: str | None = "Hours", **extra: Any
) -> dict:
    return {
        "Id": f"00k5w0000000{n:03d}AAA",
        "IsDeleted": False,
        "Quantity": quantity,
        "UnitPrice": price,
        "TotalPrice": quantity * price,
        "Description": f"line {n}",
        "ServiceDate": "2026-09-01",
        "Product2": {"Name": product, "Family": extra.pop("family", None), "QuantityUnitOfMeasure": unit},
        **extra,
    }


def opp(*items: dict, **fields: Any) -> OpportunitySnapshot:
    return OpportunitySnapshot(
        {
            "Id": OPP,
            "Name": "Acme",
            "Amount": None,
            "OpportunityLineItems": {"records": list(items)},
            **fields,
        }
    )


def plans(snapshot: OpportunitySnapshot, override: dict | None = None) -> list:
    return task_plans(snapshot, build_mapping(override, "t"), "2026-07-01")


def problems(override: dict) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as info:
        build_mapping(override, "test.yaml")
    return info.value.problems


# -- the bundled default --------------------------------------------------------------------------------
def test_the_default_makes_one_task_per_line_item_fees_from_total_price_hours_only_for_hourly_products() -> (
    None
):
    consulting = item(1, "Consulting", 40, 150)
    licence = item(2, "Licence", 1, 1800, unit="Each")
    [first, second] = plans(opp(consulting, licence))
    assert first.key == consulting["Id"] and first.code == f"SF-{consulting['Id']}"
    assert first.create.values == {
        "TaskNm": "Consulting",
        "Notes": "line 1",
        "StartDt": "2026-09-01",
        "BudgetFees": 6000.0,
        "BudgetHours": 40.0,
    }
    assert first.sync.values == {"BudgetFees": 6000.0, "BudgetHours": 40.0}  # budgets follow the deal
    assert second.create.values["BudgetFees"] == 1800.0 and "BudgetHours" not in second.create.values
    assert first.line_items == [consulting["Id"]]


def test_deleted_line_items_make_no_task_and_the_unit_is_compared_without_case() -> None:
    gone = item(1, "Old", 1, 100, IsDeleted=True)
    hourly = item(2, "Support", 10, 90, unit="hrs")
    [plan] = plans(opp(gone, hourly))
    assert plan.key == hourly["Id"] and plan.create.values["BudgetHours"] == 10.0


def test_without_line_items_the_amount_makes_one_budget_task_and_no_amount_makes_none() -> None:
    [plan] = plans(opp(Amount=48000))
    assert (plan.key, plan.code) == ("amount", "SF-AMOUNT")
    assert plan.create.values == {"TaskNm": "Project budget", "BudgetFees": 48000.0}
    assert plan.sync.values == {"TaskNm": "Project budget", "BudgetFees": 48000.0}  # amount_task: sync
    assert plans(opp(Amount=None)) == [] and plans(opp(Amount=0)) == []
    assert plans(opp(Amount=5000), {"tasks": {"amount_task": {"enabled": False}}}) == []


def test_tasks_off_plan_nothing_and_read_no_line_items() -> None:
    mapping = build_mapping({"tasks": {"enabled": False}}, "t")
    assert task_plans(opp(item(1, "A", 1, 1)), mapping, "2026-07-01") == []
    _, _, children = mapping.query_fields()
    assert [c.relationship for c in children] == []
    assert "Amount" not in mapping.opportunity_paths()


def test_the_default_reads_line_items_and_the_owner_in_the_one_query() -> None:
    mapping = default_mapping()
    paths, _, [line_items] = mapping.query_fields()
    assert line_items.relationship == "OpportunityLineItems"
    assert {"Id", "IsDeleted", "Quantity", "TotalPrice", "Product2.Name"} <= set(line_items.fields)
    assert "Product2.QuantityUnitOfMeasure" in line_items.fields  # the `when` of BudgetHours
    assert {"Amount", "Owner.Email", "Owner.Name"} <= set(paths)
    assert "(SELECT Id, IsDeleted, Product2.Name" in line_items.soql()
    assert mapping.team.owner and not mapping.team.owner_lead and not mapping.template.enabled


# -- grouping ---------------------------------------------------------------------------------------------
def test_per_product_family_sums_budgets_and_names_the_task_after_the_family() -> None:
    override = {
        "tasks": {
            "per": "product_family",
            "fields": {"TaskNm": {"field": "Product2.Family", "default": "Other"}},
        }
    }
    a = item(1, "Consulting", 40, 150, family="Professional Services")
    b = item(2, "Training", 8, 120, family="professional services")
    c = item(3, "Licence", 1, 1800, unit="Each")
    services, other = plans(opp(a, b, c), override)
    assert (services.key, services.code) == ("family:PROFESSIONAL-SERVICES", "SF-FAM-PROFESSIONAL-SERVICES")
    assert services.create.values["TaskNm"] == "Professional Services"  # the first line item's
    assert services.budget == {"BudgetFees": 6960.0, "BudgetHours": 48.0}
    assert services.line_items == [a["Id"], b["Id"]]
    assert (other.key, other.create.values["TaskNm"], other.budget) == (
        "family:NONE",
        "Other",
        {"BudgetFees": 1800.0},
    )


def test_per_project_is_one_budget_task_holding_the_sums() -> None:
    override = {"tasks": {"per": "project", "fields": {"TaskNm": {"value": "Project budget"}}}}
    [plan] = plans(opp(item(1, "A", 10, 100), item(2, "B", 1, 500, unit="Each")), override)
    assert (plan.key, plan.code) == ("budget", "SF-BUDGET")
    assert plan.create.values["TaskNm"] == "Project budget"
    assert plan.budget == {"BudgetFees": 1500.0, "BudgetHours": 10.0}


def test_task_sources_read_the_opportunity_custom_fields_constants_and_picklist_names() -> None:
    override = {
        "tasks": {
            "code_prefix": "CRM-",
            "fields": {
                "DueDt": "Opportunity.CloseDate",
                "TaskGroup": "{Product2.Family} / {Opportunity.Name}",
                "TaskType": {"value": "Billable Work"},
                "BudgetExps": {"field": "Travel_Budget__c", "update": "sync"},
            },
        }
    }
    mapping = build_mapping(override, "t")
    assert "CloseDate" in mapping.opportunity_paths()
    assert "Travel_Budget__c" in mapping.query_fields()[2][0].fields
    [plan] = plans(
        opp(item(1, "A", 2, 50, Travel_Budget__c=300, family="Cloud"), CloseDate="2026-12-01"), override
    )
    assert plan.code.startswith("CRM-")
    assert plan.create.values["DueDt"] == "2026-12-01" and plan.create.values["TaskGroup"] == "Cloud / Acme"
    assert plan.create.picklists == {"TaskType": "LookupTaskType"}
    assert plan.sync.values["BudgetExps"] == 300.0
    assert configured_picklists(mapping)["LookupTaskType"] == {"Billable Work"}


def test_a_budget_that_is_not_a_number_is_left_out_rather_than_rejected() -> None:
    override = {"tasks": {"fields": {"BudgetExps": "Description"}}}
    [plan] = plans(opp(item(1, "A", 1, 10)), override)
    assert "BudgetExps" not in plan.create.values


# -- errors that name the key -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "key", "fragment"),
    [
        ({"tasks": {"fields": {"TaskId": "Id"}}}, "tasks.fields", "the task code is the worker's marker"),
        ({"tasks": {"fields": {"IsArchived": True}}}, "tasks.fields", "archives the task"),
        ({"tasks": {"fields": {"TaskNm": None}}}, "tasks", "fields.TaskNm"),
        ({"tasks": {"per": "product"}}, "tasks.per", "line_item"),
        ({"tasks": {"removed": "delete"}}, "tasks.removed", "archive"),
        ({"tasks": {"code_prefix": "SF {Id}"}}, "tasks.code_prefix", "1 to 10 letters"),
        ({"template": {"create_field": "Template Id"}}, "template.create_field", "not a BigTime field name"),
        ({"tasks": {"amount_task": {"fields": {"BudgetFees": None}}}}, "tasks.amount_task", "budget"),
        (
            {"tasks": {"fields": {"BudgetExps": {"field": "Quantity", "when": {"field": "X"}}}}},
            "tasks.fields",
            "operator",
        ),
        ({"tasks": {"amount": {}}}, "tasks.amount", "did you mean 'amount_task'"),
        ({"team": {"owner": False, "owner_lead": True}}, "team", "owner_lead needs owner"),
        ({"team": {"update": "never"}}, "team.update", "create_only"),
        ({"template": {"map": {"New": "T"}}}, "template", "needs `field`"),
        ({"template": {"feild": "Type"}}, "template.feild", "did you mean 'field'"),
    ],
)
def test_mistakes_in_the_new_sections_name_their_key(override: dict, key: str, fragment: str) -> None:
    found = problems(override)
    assert any(k.startswith(key) and fragment in m for k, m in found), found


# -- team and template ------------------------------------------------------------------------------------
def test_team_roles_are_matched_without_case_and_star_takes_every_other_role() -> None:
    mapping = build_mapping({"team": {"member_roles": {"Sales Engineer": "Consultant", "*": None}}}, "t")
    team = mapping.team
    assert team.role_for("sales engineer") == (True, "Consultant")
    assert team.role_for("Executive Sponsor") == (True, None)
    assert build_mapping({"team": {"member_roles": {"Sales Engineer": None}}}, "t").team.role_for(
        "Other"
    ) == (
        False,
        None,
    )
    assert configured_picklists(mapping)["LookupProjectTeamRoles"] == {"Consultant"}
    assert team.update is UpdatePolicy.CREATE_ONLY
    assert [c.relationship for c in mapping.query_fields()[2]] == [
        "OpportunityLineItems",
        "OpportunityTeamMembers",
    ]


def test_the_template_is_chosen_by_the_field_value_else_the_default() -> None:
    mapping = build_mapping(
        {
            "template": {
                "field": "Type",
                "map": {"New Customer": "Standard Implementation", "Renewal": None},
                "default": "Retainer",
            }
        },
        "t",
    )
    template = mapping.template
    assert template.enabled and "Type" in mapping.opportunity_paths()
    assert template.choose("new customer") == "Standard Implementation"
    assert template.choose("Renewal") is None  # mapped to no template on purpose
    assert template.choose("Upsell") == "Retainer" and template.choose(None) == "Retainer"
    assert template.names() == {"Standard Implementation", "Retainer"}
    assert "by Type" in mapping.describe()["template"]
    assert default_mapping().describe()["template"] == "none"
