"""The integration world: moto (DynamoDB, SQS, Secrets Manager), the fake Salesforce and the fake BigTime on
127.0.0.1, and the worker's real clients pointed at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from sf_bigtime.bigtime import BigTimeClient
from sf_bigtime.mapping import Mapping, build_mapping
from sf_bigtime.messages import SyncRequest
from sf_bigtime.salesforce import SalesforceClient
from sf_bigtime.secrets import BigTimeApiKey, SalesforceClientCredentials
from sf_bigtime.store import StateStore
from sf_bigtime.sync import SyncContext
from sf_bigtime_local.fake_bigtime import FakeBigTime
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.httpserver import BackgroundServer

ORG = "00D5w000004abcdEAA"
TABLE = "sf-bigtime-state"
BT_TOKEN = "bt-token"
BT_REALM = "test-firm"
BT_TOKEN_NO_PROJECTS = "bt-token-no-projects"  # an API key whose staffer may not create projects


def create_table(name: str = TABLE) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class World:
    sf: FakeSalesforce
    bt: FakeBigTime
    sf_url: str
    bt_url: str
    deliveries: int = 0
    contexts: list[SyncContext] = field(default_factory=list)

    def context(
        self,
        *,
        bt_token: str = BT_TOKEN,
        mapping: dict[str, Any] | Mapping | None = None,
        salesforce: SalesforceClient | None = None,
        bigtime: BigTimeClient | None = None,
        clock: Callable[[], float] | None = None,
        timeout: float = 5,
    ) -> SyncContext:
        """A fresh worker context (as a new Lambda instance would build), real clients, fake servers.

        ``mapping`` is a YAML-shaped override merged onto the bundled default (or a built Mapping);
        ``clock`` drives the state store (claim ages)."""
        if not isinstance(mapping, Mapping):
            mapping = build_mapping(mapping, "(test)")
        ctx = SyncContext(
            salesforce=salesforce or self.salesforce_client(timeout=timeout),
            bigtime=bigtime or self.bigtime_client(bt_token, timeout=timeout),
            store=StateStore(
                TABLE, table=boto3.resource("dynamodb").Table(TABLE), **({"clock": clock} if clock else {})
            ),
            mapping=mapping,
        )
        self.contexts.append(ctx)
        return ctx

    def salesforce_client(self, *, timeout: float = 5) -> SalesforceClient:
        return SalesforceClient(
            SalesforceClientCredentials(
                consumer_key="ck", consumer_secret="cs", domain="test.my", instance_url=self.sf_url
            ),
            api_version="66.0",
            timeout=timeout,
        )

    def bigtime_client(self, bt_token: str = BT_TOKEN, *, timeout: float = 5, **kwargs: Any) -> BigTimeClient:
        return BigTimeClient(
            BigTimeApiKey(api_token=bt_token, realm=BT_REALM, base_url=f"{self.bt_url}/BigtimeData/api/v2"),
            timeout=timeout,
            **kwargs,
        )

    def request(self, opportunity_id: str, delivery_id: str | None = None) -> SyncRequest:
        self.deliveries += 1
        return SyncRequest(
            org_id=ORG,
            opportunity_id=opportunity_id,
            source="json",
            delivery_id=delivery_id or f"delivery-{self.deliveries}",
        )

    # -- seeding through the fake's own API (same validation as its REST surface) -----------------
    def account(self, name: str = "Acme Consulting Ltd", **fields: Any) -> str:
        return self.sf.create(
            "Account", {"Name": name, "BillingCity": "San Francisco", "Phone": "555", **fields}
        )

    def contact(self, account_id: str, first: str, last: str, email: str | None = None) -> str:
        return self.sf.create(
            "Contact",
            {
                "FirstName": first,
                "LastName": last,
                "Email": email,
                "Title": "Director",
                "AccountId": account_id,
            },
        )

    def opportunity(
        self,
        account_id: str | None,
        name: str = "Acme – Implementation",
        stage: str = "Closed Won",
        **fields: Any,
    ) -> str:
        return self.sf.create(
            "Opportunity",
            {"Name": name, "AccountId": account_id, "StageName": stage, "CloseDate": "2026-12-01", **fields},
        )

    def role(
        self, opportunity_id: str, contact_id: str, role: str = "Decision Maker", primary: bool = False
    ) -> str:
        return self.sf.create(
            "OpportunityContactRole",
            {"OpportunityId": opportunity_id, "ContactId": contact_id, "Role": role, "IsPrimary": primary},
        )

    def won_opportunity(self, account_id: str | None = None, **fields: Any) -> str:
        """An Opportunity in Closed Won with a primary and a billing contact."""
        account_id = account_id or self.account()
        opp = self.opportunity(account_id, **fields)
        ada = self.contact(account_id, "Ada", "Lovelace", f"ada+{opp[-6:]}@acme.test")
        grace = self.contact(account_id, "Grace", "Hopper", f"grace+{opp[-6:]}@acme.test")
        self.role(opp, ada, primary=True)
        self.role(opp, grace, role="Economic Buyer")
        return opp

    def sf_api_calls(self) -> int:
        """Calls that count against the org's API limit (token requests do not)."""
        return sum(1 for c in self.sf.calls if c.counted)

    def bigtime_writes(self) -> list[Any]:
        return [c for c in self.bt.calls if c.method != "GET"]


@pytest.fixture
def world(aws: None) -> Iterator[World]:
    sf = FakeSalesforce(org_id=ORG, api_version="66.0", client_id="ck", client_secret="cs")
    bt = FakeBigTime(
        realm=BT_REALM,
        api_tokens={
            BT_TOKEN: {"staffsid": 1},
            BT_TOKEN_NO_PROJECTS: {"staffsid": 2, "permissions": {"project.create": False}},
        },
    )
    create_table()
    with BackgroundServer(sf, name="fake-sf") as sfs, BackgroundServer(bt, name="fake-bt") as bts:
        yield World(sf=sf, bt=bt, sf_url=sfs.url, bt_url=bts.url)
    close = getattr(sf, "close", None)
    if close:
        close()
