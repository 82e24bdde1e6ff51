"""Reading BigTime rows through the one table of names: any case, any known name, the mapping's column
first; a value that is not what its figure needs is reported, a missing figure is never a zero."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.pull.aliases import ALIASES, describe_shape, read_row
from sf_bigtime.pull.fields import NUMBER_FIGURES, SALESFORCE_FIELDS, convert, same
from sf_bigtime_local.fake_bigtime import FIGURE_PRESETS

# The fake's figure names (canonical -> ours) in every preset it serves.
FAKE_TO_OURS = {
    "HoursInput": "actual_hours",
    "FeesInput": "actual_fees",
    "ExpensesInput": "actual_expenses",
    "TotalWip": "wip",
    "InvoicedToDate": "invoiced",
}


@pytest.mark.parametrize("preset", sorted(FIGURE_PRESETS))
def test_every_name_the_fake_bigtime_serves_is_in_the_table(preset: str) -> None:
    for canonical, ours in FAKE_TO_OURS.items():
        wire = FIGURE_PRESETS[preset][canonical]
        parsed = read_row({wire: "12.5"}, [ours])
        assert parsed.values == {ours: 12.5}, (preset, wire)


def test_names_are_read_in_any_case_and_the_mapped_column_wins() -> None:
    row = {"hrsin": 3, "HOURSINPUT": 4, "MyHours": 5}
    assert read_row(row, ["actual_hours"]).values == {"actual_hours": 4.0}  # first alias present wins
    assert read_row(row, ["actual_hours"], {"actual_hours": "myhours"}).values == {"actual_hours": 5.0}


def test_missing_figures_are_missing_not_zero_and_unknown_rows_are_not_recognised() -> None:
    parsed = read_row({"HoursInput": 1}, ["actual_hours", "wip"])
    assert parsed.values == {"actual_hours": 1.0} and parsed.missing == ["wip"] and parsed.recognised
    unknown = read_row({"Hours": 1, "Fees": 2}, NUMBER_FIGURES)
    assert not unknown.recognised and unknown.values == {} and set(unknown.missing) == set(NUMBER_FIGURES)
    assert describe_shape({"Hours": 1, "Fees": 2}) == "an object with Fees, Hours"
    assert describe_shape([1]) == "a list"


def test_bad_values_are_reported_per_figure() -> None:
    parsed = read_row(
        {"HoursInput": "lots", "TotalWip": "1,250.50", "StartDt": "soon"},
        ["actual_hours", "wip", "start_date"],
    )
    assert parsed.values == {"wip": 1250.5}
    assert set(parsed.bad) == {"actual_hours", "start_date"}
    assert "'lots' is not a number" in parsed.problem() and "'soon' is not a date" in parsed.problem()


@pytest.mark.parametrize(
    ("figure", "raw", "value"),
    [
        ("actual_hours", 1.005, 1.0),  # rounded to cents as BigTime stores them (float half-even)
        ("actual_hours", "7", 7.0),
        ("actual_fees", None, None),
        ("actual_fees", "", None),
        ("start_date", "2026-03-01T00:00:00", "2026-03-01"),
        ("start_date", "2026-03-01", "2026-03-01"),
        ("end_date", None, None),
        ("inactive", "True", True),
        ("inactive", 0, False),
        ("inactive", None, None),
        ("status", "  In Progress ", "In Progress"),
        ("status", "", None),
        ("lead", "x" * 300, "x" * 121),  # the field's length, never a refused record
        ("project_id", "5001", "5001"),
        ("project_id", 5001.0, "5001"),
    ],
)
def test_convert(figure: str, raw: Any, value: Any) -> None:
    assert convert(figure, raw) == value


@pytest.mark.parametrize(
    ("figure", "raw"),
    [
        ("actual_hours", float("nan")),
        ("actual_hours", True),
        ("actual_hours", {"a": 1}),
        ("start_date", "01/03/2026"),
        ("inactive", "maybe"),
        ("project_id", "abc"),
        ("project_id", -1),
        ("project_id", None),
        ("status", ["a"]),
    ],
)
def test_convert_refuses(figure: str, raw: Any) -> None:
    with pytest.raises(ValueError, match="is not"):
        convert(figure, raw)


@pytest.mark.parametrize(
    ("current", "new", "equal"),
    [
        (10.0, 10.004, True),
        (10.0, 10.01, False),
        (None, 0.0, False),  # blank in Salesforce, zero in BigTime: written once
        (0.0, None, False),
        (None, None, True),
        ("", None, True),
        ("In Progress", "In Progress", True),
        ("In Progress", "On Hold", False),
        (False, False, True),
        (None, False, True),  # a checkbox reads false when unset
        ("2026-03-01", "2026-03-01", True),
    ],
)
def test_same(current: Any, new: Any, equal: bool) -> None:
    assert same(current, new) is equal


def test_every_figure_has_names_and_a_field() -> None:
    from sf_bigtime.mapping.pull import FIGURES

    for figure in FIGURES:
        assert ALIASES[figure], figure
        assert figure == "project_id" or figure in SALESFORCE_FIELDS, figure
    names = [n.lower() for names in ALIASES.values() for n in names]
    assert len(names) == len(set(names)), "one name, one figure"
