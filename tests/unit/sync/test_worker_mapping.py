"""How the worker finds its mapping: the stack's settings (template parameters) -> a MappingSource."""

from __future__ import annotations

from pathlib import Path

import pytest

from sf_bigtime.mapping.model import MappingError
from sf_bigtime.settings import WorkerSettings
from sf_bigtime.sync.worker import mapping_source

REQUIRED = {
    "TABLE_NAME": "t",
    "QUEUE_URL": "q",
    "SALESFORCE_SECRET_ARN": "arn:sf",
    "BIGTIME_SECRET_ARN": "arn:bt",
}


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> WorkerSettings:
    for key, value in {**REQUIRED, **env}.items():
        monkeypatch.setenv(key, value)
    return WorkerSettings.from_env()


def test_empty_template_parameters_mean_the_bundled_default(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, TRIGGER_STAGES="", MAPPING_PARAMETER="", MAPPING_FILE="")
    assert (s.mapping_parameter, s.mapping_file, s.trigger_stages) == (None, None, ())
    source = mapping_source(s)
    assert source.name == "(bundled default)" and source.load().trigger.stages == ["Closed Won"]


def test_trigger_stages_and_project_url_override_the_mapping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file = tmp_path / "m.yaml"
    file.write_text("trigger: {any_won: true, conditions: [{field: Amount, at_least: 1}]}\n")
    s = settings(
        monkeypatch,
        TRIGGER_STAGES="Won, Signed",
        MAPPING_FILE=str(file),
        BIGTIME_PROJECT_URL="https://acme.bigtime.net/p/{project_id}",
    )
    m = mapping_source(s).load()
    assert m.trigger.stages == ["Won", "Signed"] and not m.trigger.any_won
    assert [c.field for c in m.trigger.conditions] == ["Amount"]  # the rest of the file still applies
    assert m.write_back.project_url == "https://acme.bigtime.net/p/{project_id}"


def test_parameter_and_file_together_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, MAPPING_PARAMETER="/a", MAPPING_FILE="b.yaml")
    with pytest.raises(MappingError, match="not both"):
        mapping_source(s)
