"""The sweep (scheduled reconcile, ``sf-bigtime reconcile`` and ``backfill``) follows the trigger the worker
follows: the stack's mapping (SSM parameter or file) with TriggerStages on top. A firm whose mapping says
``trigger.stages: [Negotiation/Review]`` and sets no TriggerStages must have that stage swept, not Closed
Won; the mapping's conditions and ``any_won`` decide what is enqueued exactly as they decide what the
worker syncs."""

from __future__ import annotations

import boto3
import pytest

from tests.integration.conftest import World
from tests.integration.ops.deployed import Deployed, run_reconcile_function

# A standard stage of the fake org that is not Closed Won (its Stage picklist is restricted).
SIGNED = "Negotiation/Review"
MAPPING = f"""
version: 1
trigger:
  stages: [{SIGNED}]
  conditions:
    - field: Amount
      at_least: 1000
"""


def _parameter(name: str, text: str) -> str:
    # Powertools caches parameters per process: each test uses a parameter name of its own.
    boto3.client("ssm").put_parameter(Name=name, Value=text, Type="String")
    return name


@pytest.fixture
def opportunities(deployed: Deployed) -> dict[str, str]:
    world: World = deployed.world
    return {
        "signed_big": world.opportunity(world.account("Big"), name="Big", stage=SIGNED, Amount=5000),
        "signed_small": world.opportunity(world.account("Small"), name="Small", stage=SIGNED, Amount=10),
        "closed_won": world.opportunity(world.account("Won"), name="Won", Amount=5000),
        "closed_won_small": world.opportunity(world.account("Won 2"), name="Won 2", Amount=10),
        "open": world.opportunity(world.account("Open"), name="Open", stage="Prospecting", Amount=5000),
    }


def test_the_scheduled_reconcile_sweeps_the_mappings_trigger(
    deployed: Deployed,
    opportunities: dict[str, str],
    reconcile_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAPPING_PARAMETER", _parameter("/sf-bigtime/trigger-function", MAPPING))
    summary = run_reconcile_function()
    assert [r.opportunity_id for r in deployed.queued()] == [opportunities["signed_big"]]
    # The small deal is in the stage but fails the condition: examined, not enqueued, counted as such.
    assert (summary["found"], summary["enqueued"]) == (2, 1)
    assert summary["skipped"] == {"not_triggered": 1}


def test_template_trigger_stages_replace_the_mappings_as_for_the_worker(
    deployed: Deployed,
    opportunities: dict[str, str],
    reconcile_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAPPING_PARAMETER", _parameter("/sf-bigtime/trigger-override", MAPPING))
    monkeypatch.setenv("TRIGGER_STAGES", "Closed Won")
    run_reconcile_function()
    # TriggerStages replaces the stages; the mapping's conditions still apply (Amount 5000 >= 1000).
    assert [r.opportunity_id for r in deployed.queued()] == [opportunities["closed_won"]]


def test_backfill_and_reconcile_commands_sweep_the_mappings_trigger(
    deployed: Deployed, opportunities: dict[str, str]
) -> None:
    stack = deployed.redeploy(
        "sf-bigtime-signed",
        TriggerStages="",
        MappingParameterName=_parameter("/sf-bigtime/trigger-cli", MAPPING),
    )
    plan = stack.cli_json("backfill", "--dry-run")
    enqueue = [c["opportunity_id"] for c in plan["candidates"] if c["action"] == "enqueue"]
    assert enqueue == [opportunities["signed_big"]]
    assert plan["skipped"] == {"not_triggered": 1}

    done = stack.cli_json("reconcile", "--grace-minutes", "0")
    assert done["enqueued"] == 1
    assert [r.opportunity_id for r in stack.queued()] == [opportunities["signed_big"]]

    refused = stack.cli("backfill", "--stage", "Closed Won", expect=2)
    assert "not a trigger stage" in refused.output and SIGNED in refused.output


def test_any_won_sweeps_won_stages_only(deployed: Deployed, opportunities: dict[str, str]) -> None:
    lost = deployed.world.opportunity(deployed.world.account("Lost"), name="Lost", stage="Closed Lost")
    stack = deployed.redeploy(
        "sf-bigtime-any-won",
        TriggerStages="",
        MappingParameterName=_parameter("/sf-bigtime/trigger-any-won", "trigger: {any_won: true}\n"),
    )
    plan = stack.cli_json("backfill", "--dry-run")
    found = {c["opportunity_id"] for c in plan["candidates"]}
    assert found == {opportunities["closed_won"], opportunities["closed_won_small"]} and lost not in found
