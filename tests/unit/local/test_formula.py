"""The fake Salesforce's formula fields: the evaluator on its own, and the shipped BigTime Project formulas
as the fake org computes them (read-only, recomputed on every read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sf_bigtime_local.fake_salesforce import FakeSalesforce, FakeSalesforceError, MetadataError
from sf_bigtime_local.fake_salesforce.formula import FormulaError, compile_formula

FIELDS = {
    "a__c": ("A__c", "double"),
    "b__c": ("B__c", "double"),
    "name": ("Name", "string"),
    "flag__c": ("Flag__c", "boolean"),
}


def value(
    formula: str, values: dict[str, Any], result: str = "double", scale: int = 2, zero: bool = True
) -> Any:
    return compile_formula(formula, FIELDS, result, scale, zero)(values)


@pytest.mark.parametrize(
    ("formula", "values", "expected"),
    [
        ("A__c + b__c * 2", {"A__c": 1, "B__c": 2}, 5.0),
        ("(A__c + B__c) * 2", {"A__c": 1, "B__c": 2}, 6.0),
        ("-A__c ^ 2", {"A__c": 3}, -9.0),
        ("A__c / B__c", {"A__c": 1, "B__c": 3}, 0.33),
        ("A__c / B__c", {"A__c": 1, "B__c": 0}, None),  # an org shows #Error!; the API reads null
        ("IF(A__c > 0, A__c, NULL)", {"A__c": None}, None),  # blank as zero: 0 > 0 is false
        ("MAX(A__c, B__c, 1)", {"A__c": -1, "B__c": None}, 1.0),
        ("ROUND(A__c, 0)", {"A__c": 2.5}, 3.0),
        ("ROUND(A__c, 0)", {"A__c": -2.5}, -3.0),
        ("ABS(MIN(A__c, B__c))", {"A__c": -4, "B__c": 2}, 4.0),
    ],
)
def test_arithmetic_functions_and_blanks(formula: str, values: dict[str, Any], expected: Any) -> None:
    assert value(formula, values) == expected


def test_blank_as_blank_propagates_and_compares_false() -> None:
    assert value("A__c + 1", {"A__c": None}, zero=False) is None
    assert value('IF(A__c > 0, "yes", "no")', {"A__c": None}, "string", zero=False) == "no"
    assert value("BLANKVALUE(A__c, 7)", {"A__c": None}, zero=False) == 7.0
    assert value("IF(ISBLANK(A__c), 1, 2)", {"A__c": None}, zero=False) == 1.0


def test_text_logic_and_percent() -> None:
    assert value('Name & "!"', {"Name": "Hi"}, "string") == "Hi!"
    assert value('IF(AND(Flag__c, NOT(A__c <> 1)), "a", "b")', {"Flag__c": True, "A__c": 1}, "string") == "a"
    assert value('IF(OR(A__c = 2, B__c == 3) && TRUE, "x", "y")', {"A__c": 0, "B__c": 3}, "string") == "x"
    assert value("A__c / B__c", {"A__c": 1, "B__c": 8}, "percent", 1) == 12.5  # 0.125 reads as 12.5 (%)


@pytest.mark.parametrize(
    ("formula", "problem"),
    [
        ("Missing__c + 1", "does not exist"),
        ("VLOOKUP(A__c)", "not supported"),
        ("IF(A__c, 1)", "takes 3..3"),
        ("A__c +", "ends too early"),
        ("(A__c", "ends too early"),
        ("A__c B__c", "unexpected"),
        ("A__c # 1", "cannot read"),
    ],
)
def test_unsupported_or_broken_formulas_are_refused_when_loaded(formula: str, problem: str) -> None:
    with pytest.raises(FormulaError, match=problem):
        compile_formula(formula, FIELDS, "double")


# -- the shipped formulas, through the fake org ----------------------------------------------------------
@pytest.fixture(scope="module")
def org() -> FakeSalesforce:
    return FakeSalesforce()


def _project(org: FakeSalesforce, **figures: Any) -> dict[str, Any]:
    record_id = org.create("BigTime_Project__c", {"Name": "P", **figures})
    [row] = org.query(
        "SELECT Hours_Used_Percent__c, Fees_Remaining__c, Budget_Health__c FROM BigTime_Project__c "
        f"WHERE Id = '{record_id}'"
    )["records"]
    return {k: v for k, v in row.items() if k != "attributes"}


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({}, (None, None, "No budget")),
        ({"Budget_Hours__c": 100, "Actual_Hours__c": 50}, (50.0, None, "On track")),
        ({"Budget_Hours__c": 100, "Actual_Hours__c": 90}, (90.0, None, "At risk")),
        ({"Budget_Hours__c": 10, "Actual_Hours__c": 12.5}, (125.0, None, "Over budget")),
        ({"Budget_Fees__c": 1000, "Actual_Fees__c": 1200}, (None, -200.0, "Over budget")),
        (
            {"Budget_Hours__c": 100, "Actual_Hours__c": 10, "Budget_Fees__c": 1000, "Actual_Fees__c": 950},
            (10.0, 50.0, "At risk"),  # the more used of the two budgets decides
        ),
    ],
)
def test_shipped_formulas(org: FakeSalesforce, figures: dict[str, Any], expected: tuple[Any, ...]) -> None:
    row = _project(org, **figures)
    assert (row["Hours_Used_Percent__c"], row["Fees_Remaining__c"], row["Budget_Health__c"]) == expected


def test_formula_fields_are_read_only_and_follow_their_inputs(org: FakeSalesforce) -> None:
    record_id = org.create("BigTime_Project__c", {"Name": "P", "Budget_Hours__c": 10, "Actual_Hours__c": 1})
    with pytest.raises(FakeSalesforceError, match="Unable to create/update fields: Budget_Health__c"):
        org.update("BigTime_Project__c", record_id, {"Budget_Health__c": "On track"})
    org.update("BigTime_Project__c", record_id, {"Actual_Hours__c": 11})
    assert org.get("BigTime_Project__c", record_id)["Budget_Health__c"] == "Over budget"
    describe = {f["name"]: f for f in org.schema.get("BigTime_Project__c").describe("66.0")["fields"]}
    health = describe["Budget_Health__c"]
    assert health["calculated"] and not health["createable"] and not health["updateable"]
    assert "Actual_Hours__c" in health["calculatedFormula"]


def test_a_formula_naming_a_missing_field_stops_the_metadata_from_loading(tmp_path: Path) -> None:
    fields = tmp_path / "objects" / "Thing__c" / "fields"
    fields.mkdir(parents=True)
    (tmp_path / "objects" / "Thing__c" / "Thing__c.object-meta.xml").write_text(
        '<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Thing</label></CustomObject>'
    )
    (fields / "Bad__c.field-meta.xml").write_text(
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Bad__c</fullName>'
        "<formula>Nope__c * 2</formula><label>Bad</label><type>Number</type></CustomField>"
    )
    with pytest.raises(MetadataError, match="Bad__c: formula: field Nope__c does not exist"):
        FakeSalesforce(metadata_dir=tmp_path / "objects")
