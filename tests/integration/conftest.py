"""The integration world: moto (DynamoDB, SQS, Secrets Manager, SSM), the fake Salesforce and the fake
BigTime on 127.0.0.1, and the worker's real clients pointed at them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.mapping.load import build_mapping
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.secrets import BigTimeApiKey, SalesforceClientCredentials
from sf_bigtime.settings import WorkerSettings
from sf_bigtime.sync.run import SyncContext
from sf_bigtime.sync.worker import Worker
from sf_bigtime_local.fake_bigtime import FakeBigTime
from sf_bigtime_local.fake_bigtime.seed import DEFAULT_STAFF
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.httpserver import BackgroundServer
from tests.logscan import known_secret

ORG = "00D5w000004abcdEAA"
TABLE = "sf-bigtime-state"
# Credentials of the known pattern (tests/logscan.py): a test with the log_scan fixture fails if any of
# them reaches a log line or an error message.
BT_TOKEN = known_secret("bttoken")
BT_REALM = "test-firm"
BT_TOKEN_NO_PROJECTS = known_secret("btnoprojects")  # an API key whose staffer may not create projects
BT_USER, BT_PASSWORD = "svc@firm.test", known_secret("btpassword")  # a BigTime login for session auth
SF_CONSUMER_KEY, SF_CONSUMER_SECRET = "ck", known_secret("sfsecret")
# The fake org's seeded records are owned by Olivia Owner; she is a BigTime staffer too (the team's owner).
OWNER_STAFFER = {
    "StaffSID": 20,
    "FName": "Olivia",
    "SName": "Owner",
    "EMail": "olivia.owner@acme.example",
    "Title": "Account Executive",
}


def create_table(name: str = TABLE) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def new_fake_bigtime(**kwargs: Any) -> FakeBigTime:
    return FakeBigTime(
        realm=BT_REALM,
        api_tokens={
            BT_TOKEN: {"staffsid": 1},
            BT_TOKEN_NO_PROJECTS: {"staffsid": 2, "permissions": {"project.create": False}},
        },
        users={BT_USER: BT_PASSWORD},
        **{"staff": [*DEFAULT_STAFF, OWNER_STAFFER], **kwargs},
    )


class Switch:
    """A WSGI app forwarding to whichever fake is current, so a test can swap in a differently built one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)


@dataclass
class World:
    sf: FakeSalesforce
    bt: FakeBigTime
    sf_url: str
    bt_url: str
    sf_switch: Switch
    bt_switch: Switch
    deliveries: int = 0
    contexts: list[SyncContext] = field(default_factory=list)

    def use_bigtime(self, fake: FakeBigTime) -> FakeBigTime:
        self.bt = self.bt_switch.app = fake
        return fake

    def use_salesforce(self, fake: FakeSalesforce) -> FakeSalesforce:
        self.sf = self.sf_switch.app = fake
        return fake

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
                consumer_key=SF_CONSUMER_KEY,
                consumer_secret=SF_CONSUMER_SECRET,
                domain="test.my",
                instance_url=self.sf_url,
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

    def worker(self, mapping: dict[str, Any] | None = None, **kwargs: Any) -> Worker:
        """A Worker (Powertools batch + idempotency on moto) whose context is this world's clients."""
        settings = WorkerSettings(
            table_name=TABLE,
            queue_url=kwargs.pop("queue_url", "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo"),
            salesforce_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:sf",
            bigtime_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:bt",
        )
        source = MappingSource(overrides=mapping)
        return Worker(
            settings,
            context_factory=lambda _settings, m: self.context(mapping=m),
            mappings=source,
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

    def contact(
        self, account_id: str, first: str | None, last: str, email: str | None = None, **fields: Any
    ) -> str:
        return self.sf.create(
            "Contact",
            {
                "FirstName": first,
                "LastName": last,
                "Email": email,
                "Title": "Director",
                "AccountId": account_id,
                **fields,
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

    def product(self, name: str, price: float, unit: str = "Hours", family: str | None = None) -> str:
        """A product with an active entry in the standard price book (every org has one); returns the
        entry's id, which a line item is created from."""
        product = self.sf.create(
            "Product2", {"Name": name, "IsActive": True, "QuantityUnitOfMeasure": unit, "Family": family}
        )
        return self.sf.create(
            "PricebookEntry",
            {
                "Pricebook2Id": self.sf.standard_pricebook_id,
                "Product2Id": product,
                "UnitPrice": price,
                "IsActive": True,
            },
        )

    def line_item(self, opportunity_id: str, entry_id: str, quantity: float, **fields: Any) -> str:
        """A line item from a price book entry, with Salesforce's validation; its price is the entry's
        unless ``UnitPrice`` (or ``TotalPrice``) is given."""
        if "UnitPrice" not in fields and "TotalPrice" not in fields:
            fields["UnitPrice"] = self.sf.get("PricebookEntry", entry_id)["UnitPrice"]
        return self.sf.create(
            "OpportunityLineItem",
            {"OpportunityId": opportunity_id, "PricebookEntryId": entry_id, "Quantity": quantity, **fields},
        )

    def sf_api_calls(self) -> int:
        """Calls that count against the org's API limit (token requests do not)."""
        return sum(1 for c in self.sf.calls if c.counted)

    def bigtime_writes(self) -> list[Any]:
        return [c for c in self.bt.calls if c.method != "GET"]


def sqs_record(
    request: SyncRequest, *, receive_count: int = 1, message_id: str | None = None, receipt: str | None = None
) -> dict[str, Any]:
    """One SQS FIFO record as Lambda delivers it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt or f"receipt-{uuid.uuid4().hex}",
        "body": request.model_dump_json(),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1782900001500",
            "SenderId": "AROAEXAMPLE:sf-bigtime-ingest",
            "ApproximateFirstReceiveTimestamp": "1782900001600",
            "SequenceNumber": "18849496460467696128",
            "MessageGroupId": request.group_id,
            "MessageDeduplicationId": request.deduplication_id,
        },
        "messageAttributes": {},
        "md5OfBody": "0",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sf-bigtime-dev-events.fifo",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def serialized_aws(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto in-process checks a DynamoDB condition and writes in separate Python steps, so two threads can
    both pass one condition; real DynamoDB applies each request atomically. Serialising moto's request
    handling restores that guarantee (and nothing more) for tests that run workers on threads."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)


@pytest.fixture
def world(aws: None) -> Iterator[World]:
    sf = FakeSalesforce(
        org_id=ORG, api_version="66.0", client_id=SF_CONSUMER_KEY, client_secret=SF_CONSUMER_SECRET
    )
    bt = new_fake_bigtime()
    create_table()
    sf_switch, bt_switch = Switch(sf), Switch(bt)
    with (
        BackgroundServer(sf_switch, name="fake-sf") as sfs,
        BackgroundServer(bt_switch, name="fake-bt") as bts,
    ):
        yield World(sf=sf, bt=bt, sf_url=sfs.url, bt_url=bts.url, sf_switch=sf_switch, bt_switch=bt_switch)
    for fake in {id(sf): sf, id(sf_switch.app): sf_switch.app}.values():
        close = getattr(fake, "close", None)
        if close:
            close()
