"""The pull against the fakes over HTTP: projects in the fake BigTime (with the seeded template's tasks, a
lead, logged time), their BigTime Project records in the fake Salesforce, and a Puller with the real clients,
the state table on moto and one hand-moved clock (the pull's "now" and its waits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from sf_bigtime.mapping.load import build_mapping
from sf_bigtime.pull.bigtime import BigTimeReader, Guard
from sf_bigtime.pull.fields import PULL_READ_FIELDS
from sf_bigtime.pull.progress import Progress
from sf_bigtime.pull.run import Puller
from tests.clock import Clock
from tests.integration.conftest import BT_TOKEN, ORG, TABLE, World

TEMPLATE = 8001  # the fake firm's "Standard Implementation": 125 h and 22,750 budgeted, 500 expenses
LEAD = {"staffsid": 2, "TeamLead": True}  # Sam Rivera


@dataclass
class Pulls:
    world: World
    clock: Clock

    def __post_init__(self) -> None:
        self.client_id = self.world.bt.create_client({"Nm": "Acme Consulting Ltd"})["SystemId"]
        self._n = 0

    def project(self, *, tasks: bool = True, lead: bool = True, record: bool = True, **fields: Any) -> int:
        """A BigTime project (the template's tasks, a lead, status In Progress) and, unless ``record`` is
        False, its BigTime Project record in Salesforce; returns the project's id."""
        self._n += 1
        body = {"Nm": f"Project {self._n}", "ClientId": self.client_id, "ProjectCode": f"P-{self._n}"}
        body |= {"StatusProd": 202, "StatusBill": 301, "StartDt": "2027-01-04", **fields}
        if tasks:
            body["TemplateId"] = TEMPLATE
        pid = int(self.world.bt.create_project(body)["SystemId"])
        if lead:
            self.world.bt.set_team(pid, [LEAD])
        if record:
            self.record(pid)
        return pid

    def record(self, pid: int, **fields: Any) -> str:
        opp = self.world.opportunity(None, name=f"Opportunity {pid}")
        values = {"Name": f"Project {pid}", "BigTime_Project_Id__c": str(pid), "Opportunity__c": opp}
        return self.world.sf.create("BigTime_Project__c", {**values, **fields})

    def puller(
        self, mapping: dict[str, Any] | None = None, *, bt_token: str = BT_TOKEN, **guard: Any
    ) -> Puller:
        section = build_mapping({"pull": mapping or {}}, "(test)").pull
        table = boto3.resource("dynamodb").Table(TABLE)
        return Puller(
            salesforce=self.world.salesforce_client(),
            reader=BigTimeReader(
                self.world.bigtime_client(bt_token), Guard(clock=self.clock, sleep=self.clock.sleep, **guard)
            ),
            section=section,
            progress=Progress(table, ORG, clock=self.clock),
            now=self.clock.datetime,
        )

    def row(self, pid: int) -> dict[str, Any]:
        fields = ", ".join(
            [*PULL_READ_FIELDS, "Hours_Used_Percent__c", "Fees_Remaining__c", "Budget_Health__c"]
        )
        [row] = self.world.sf.query(
            f"SELECT {fields} FROM BigTime_Project__c WHERE BigTime_Project_Id__c = '{pid}'"
        )["records"]
        return {k: v for k, v in row.items() if k != "attributes"}


@pytest.fixture
def pulls(world: World, clock: Clock) -> Pulls:
    return Pulls(world, clock)
