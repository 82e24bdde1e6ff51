"""Where a stack's mapping comes from: a file next to the package, an SSM parameter, overrides on top."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from sf_bigtime.mapping.model import MappingError
from sf_bigtime.mapping.source import MappingSource, resolve_mapping_path
from tests.paths import LAYER_PACKAGE


def test_relative_mapping_files_resolve_next_to_the_package() -> None:
    assert resolve_mapping_path("mappings/x.yaml") == LAYER_PACKAGE.parent / "mappings/x.yaml"
    assert resolve_mapping_path("/etc/x.yaml") == Path("/etc/x.yaml")


def test_source_from_file_with_overrides(tmp_path: Path) -> None:
    file = tmp_path / "m.yaml"
    file.write_text("version: 1\nproject:\n  code: 'P-{Id}'\n")
    source = MappingSource(file=str(file), overrides={"trigger": {"stages": ["Won"]}})
    m = source.load()
    assert m.project.code == "P-{Id}" and m.trigger.stages == ["Won"]
    assert source.load() is m  # read once


def test_source_from_ssm_is_cached_and_revalidated_on_change(aws: None) -> None:
    # (Powertools' parameter cache is per process: every test uses a parameter name of its own.)
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/sf-bigtime/source-test", Value="version: 1\n", Type="String")
    source = MappingSource(parameter="/sf-bigtime/source-test", max_age=0)
    assert source.load().trigger.stages == ["Closed Won"]
    ssm.put_parameter(
        Name="/sf-bigtime/source-test", Value="trigger: {stages: [Signed]}\n", Type="String", Overwrite=True
    )
    assert source.load().trigger.stages == ["Signed"]
    ssm.put_parameter(
        Name="/sf-bigtime/source-test", Value="trigger: {stagez: []}\n", Type="String", Overwrite=True
    )
    with pytest.raises(
        MappingError, match=r"SSM parameter /sf-bigtime/source-test is invalid: trigger\.stagez"
    ):
        source.load()
    # SSM unreadable for a moment: the last valid mapping stays in force, and the reason is kept
    ssm.delete_parameter(Name="/sf-bigtime/source-test")
    assert source.load().trigger.stages == ["Signed"] and "ParameterNotFound" in (source.read_error or "")
    with pytest.raises(MappingError, match="cannot be read"):
        MappingSource(parameter="/missing").load()


def test_source_refuses_two_sources() -> None:
    with pytest.raises(MappingError, match="not both"):
        MappingSource(parameter="/a", file="b.yaml")


def test_a_stack_source_takes_its_template_parameters() -> None:
    unset = MappingSource.for_stack(parameter="", file="", trigger_stages=(), project_url="")
    assert unset.name == "(bundled default)" and unset.overrides == {}
    m = MappingSource.for_stack(
        trigger_stages=["Signed"], project_url="https://acme.bigtime.net/p/{project_id}"
    ).load()
    assert m.trigger.stages == ["Signed"] and not m.trigger.any_won
    assert m.write_back.project_url == "https://acme.bigtime.net/p/{project_id}"
    with pytest.raises(MappingError, match="not both"):
        MappingSource.for_stack(parameter="/a", file="b.yaml")


def test_a_stack_source_reads_its_parameter_with_the_client_it_is_given(aws: None) -> None:
    # The operator's session may point at another region than the default one: the parameter is there.
    ssm = boto3.client("ssm", region_name="eu-west-1")
    ssm.put_parameter(Name="/sf-bigtime/elsewhere", Value="project: {code: 'P-{Id}'}\n", Type="String")
    source = MappingSource.for_stack(parameter="/sf-bigtime/elsewhere", trigger_stages=["Won"], ssm=ssm)
    m = source.load()
    assert m.project.code == "P-{Id}" and m.trigger.stages == ["Won"]
    with pytest.raises(MappingError, match="cannot be read"):
        MappingSource.for_stack(parameter="/sf-bigtime/elsewhere").load()  # not in the default region
