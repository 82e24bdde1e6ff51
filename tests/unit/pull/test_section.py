"""The mapping's pull section: defaults, and errors that name the key and say what to do."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.mapping.load import build_mapping, default_mapping
from sf_bigtime.mapping.model import MappingError


def test_default_is_per_project_with_the_guide_s_report_columns_and_no_opportunity_copies() -> None:
    pull = default_mapping().pull
    assert pull.mode == "per_project" and pull.report.id is None and pull.opportunity == {}
    assert (
        pull.report.column_of()["project_id"] == "prjsid" and "budget_expenses" not in pull.report.column_of()
    )
    assert (pull.heartbeat_hours, pull.inactive_every_days, pull.deleted_grace_days) == (24, 7, 14)
    assert "pull" in default_mapping().describe()


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"mode": "report"}, "pull: mode: report needs report.id"),
        (
            {"mode": "report", "report": {"id": 3, "columns": {"project_id": None}}},
            "report.columns.project_id",
        ),
        ({"mode": "nightly"}, "pull.mode"),
        ({"report": {"columns": {"hours": "x"}}}, "pull.report.columns"),
        ({"report": {"columns": {"actual_hours": "A", "wip": "a"}}}, "one column cannot hold two figures: a"),
        ({"opportunity": {"Amount": "wip"}}, "pull.opportunity"),
        ({"opportunity": {"A__c": "project_id"}}, "already on the Opportunity"),
        ({"opportunity": {f"F{i}__c": "wip" for i in range(4)}}, "at most 3 figures"),
        ({"heartbeat_hours": 0}, "pull.heartbeat_hours"),
        ({"every": 5}, "unknown key"),
    ],
)
def test_bad_pull_sections_are_refused_naming_the_key(override: dict[str, Any], problem: str) -> None:
    with pytest.raises(MappingError, match="pull") as info:
        build_mapping({"pull": override}, "test.yaml")
    assert problem in str(info.value)


def test_report_mode_with_columns_of_the_firms_own_report() -> None:
    pull = build_mapping(
        {
            "pull": {
                "mode": "report",
                "report": {"id": 42, "columns": {"project_id": "ProjectSID", "wip": None}},
            }
        },
        "test.yaml",
    ).pull
    assert pull.report.id == 42 and pull.report.column_of()["project_id"] == "ProjectSID"
    assert "wip" not in pull.report.column_of() and pull.report.column_of()["actual_hours"] == "inputhrs"
    assert pull.describe().startswith("saved report 42")
