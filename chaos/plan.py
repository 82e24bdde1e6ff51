"""What a chaos run does, drawn from its seed before anything runs: the sizes and fault rates
(:class:`Size`), the Accounts and Opportunities it seeds, which Opportunities are delivered more than once
and how, and when the worker is crashed (:class:`Plan`). Same seed and size, same plan."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Literal

Format = Literal["json", "outbound_message", "cdc"]
FORMATS: tuple[Format, ...] = ("json", "outbound_message", "cdc")

# (name, unit of measure, unit price): some sold by the hour (tasks get budget hours), some not.
PRODUCTS = (
    ("Discovery Workshop", "Hours", 250.0),
    ("Implementation Consulting", "Hours", 180.0),
    ("Data Migration", "Each", 9500.0),
    ("Training Day", "Each", 2200.0),
    ("Managed Support", "Hours", 120.0),
)


@dataclass(frozen=True)
class Size:
    """How big and how hostile a run is. ``DEFAULT`` is ``make chaos``; ``BOUNDED`` runs inside ``make test``."""

    opportunities: int = 300
    accounts: int = 60
    existing_clients: float = 0.2  # share of Accounts that already are BigTime clients, by name
    duplicated: float = 0.3  # share of Opportunities delivered more than once
    out_of_order: float = 0.3  # share of duplicated ones that also get an older change event afterwards
    bigtime_faults: float = 0.2  # share of BigTime calls that fail, spread over every fault kind
    bigtime_rate_limit: int = 450  # BigTime's own limit, calls a minute (the fake answers 503 beyond it)
    # The stack's BigTimeCallsPerMinute. Every 429/503 halves it, down to a tenth (one cut per 5 s; a tenth
    # regained per minute), and the injected ones come every few seconds, so the run goes at about a tenth
    # of this: ten times the limit, so that the limit is still reached now and then (as when another tool
    # uses the firm's BigTime API too).
    bigtime_budget: int = 12000
    salesforce_503: float = 0.05  # share of Salesforce API calls answered 503
    session_calls: int = 50  # Salesforce tokens expire after every this many API calls
    crashes: int = 4  # worker invocations killed mid-batch
    workers: int = 4  # worker instances (the event source's MaximumConcurrency)
    worker_timeout: int = 60  # the worker's Lambda timeout (the template's is 300 s)
    visibility_timeout: int = 60  # at least the worker timeout, as AWS requires of an SQS event source
    max_receive_count: int = 10  # the template's default
    http_timeout: float = 2.0  # HTTP_TIMEOUT_SECONDS (the template's is 10 s); delays outlast it
    deadline: float = 900.0  # seconds for the whole run, seeding and checks included; then it fails

    def describe(self) -> str:
        return (
            f"{self.opportunities} Opportunities over {self.accounts} Accounts "
            f"({self.existing_clients:.0%} already BigTime clients); {self.duplicated:.0%} delivered more "
            f"than once; BigTime {self.bigtime_faults:.0%} faults, limit {self.bigtime_rate_limit}/min; "
            f"Salesforce {self.salesforce_503:.0%} 503s, token expiry every {self.session_calls} calls; "
            f"{self.crashes} worker crashes; {self.workers} workers"
        )


DEFAULT = Size()
# Inside `make test` (about a minute): fewer Opportunities and faults, every kind still there; shorter
# timeouts so a crashed invocation's messages and claims come back within the test's time.
BOUNDED = replace(
    DEFAULT,
    opportunities=40,
    accounts=10,
    bigtime_faults=0.1,
    bigtime_rate_limit=300,
    bigtime_budget=9000,
    salesforce_503=0.03,
    session_calls=50,
    crashes=2,
    workers=4,
    worker_timeout=35,  # a batch's rate-budget waits end 30 s before its timeout: 5 s left for them
    visibility_timeout=35,
    http_timeout=1.0,
    deadline=100.0,
)


@dataclass(frozen=True)
class AccountPlan:
    key: int
    name: str
    existing_client: bool  # a BigTime client of this name exists before the run
    contacts: int  # contacts of the Account (each Opportunity's contact roles pick among them)


@dataclass(frozen=True)
class LineItem:
    product: int  # index into PRODUCTS
    quantity: int


@dataclass(frozen=True)
class OpportunityPlan:
    key: int
    account: int
    name: str
    line_items: tuple[LineItem, ...]  # none: the Opportunity's Amount becomes one budget task
    amount: float | None  # only when there are no line items (else Salesforce sums them)
    contact_roles: tuple[int, ...]  # which of its Account's contacts, the first one primary


@dataclass(frozen=True)
class ExtraDelivery:
    """One more delivery of an Opportunity's Closed Won, besides the org's own Flow callout."""

    opportunity: int
    format: Format
    at: float  # seconds after the burst started
    stale: bool = False  # an older change event of the Opportunity (CDC), arriving after the newer one


# Where a worker invocation is killed: at a random moment of the batch, or right after BigTime answered a
# create (the object exists, its id is not recorded yet: the window the create-exactly-once claims are for).
CRASH_POINTS = ("anywhere", "after create_project", "after create_client", "after create_task")


@dataclass(frozen=True)
class Crash:
    at: float  # seconds after the burst when it is armed
    point: str  # one of CRASH_POINTS
    into: float  # "anywhere": this many seconds into the next invocation that lasts that long


@dataclass(frozen=True)
class Plan:
    seed: int
    size: Size
    accounts: tuple[AccountPlan, ...]
    opportunities: tuple[OpportunityPlan, ...]
    extra: tuple[ExtraDelivery, ...] = field(default_factory=tuple)
    crashes: tuple[Crash, ...] = ()

    @property
    def duplicated(self) -> int:
        return len({d.opportunity for d in self.extra})


def make_plan(seed: int, size: Size) -> Plan:
    rng = random.Random(seed)
    accounts = tuple(
        AccountPlan(
            key=i,
            name=f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {i:03d}",
            existing_client=rng.random() < size.existing_clients,
            contacts=rng.randint(1, 3),
        )
        for i in range(size.accounts)
    )
    opportunities = []
    for i in range(size.opportunities):
        account = accounts[i % size.accounts if i < size.accounts else rng.randrange(size.accounts)]
        lines = tuple(
            LineItem(product, rng.randint(1, 40))
            for product in rng.sample(range(len(PRODUCTS)), rng.choice((0, 1, 2, 2, 3)))
        )
        roles = tuple(rng.sample(range(account.contacts), rng.randint(0, account.contacts)))
        opportunities.append(
            OpportunityPlan(
                key=i,
                account=account.key,
                name=f"{account.name} – engagement {i:03d}",
                line_items=lines,
                amount=None if lines else float(rng.choice((0, 15000, 48000, 120000))),
                contact_roles=roles,
            )
        )
    # Duplicates arrive during the burst and up to a while after it: before, alongside and after the Flow's
    # own callout for the same Opportunity (so out of order with it), in any of the three formats.
    spread = max(5.0, size.opportunities / 20)
    extra: list[ExtraDelivery] = []
    for opp in rng.sample(range(size.opportunities), round(size.opportunities * size.duplicated)):
        for _ in range(rng.choice((1, 1, 2))):
            extra.append(ExtraDelivery(opp, rng.choice(FORMATS), round(rng.uniform(0, spread), 3)))
        if rng.random() < size.out_of_order:
            extra.append(
                ExtraDelivery(opp, "cdc", round(rng.uniform(spread / 2, spread * 1.5), 3), stale=True)
            )
    extra.sort(key=lambda d: d.at)
    crashes = tuple(
        Crash(
            round(rng.uniform(0.2, spread), 3),
            CRASH_POINTS[i % len(CRASH_POINTS)],
            round(rng.uniform(0.05, 3), 3),
        )
        for i in range(size.crashes)
    )
    return Plan(seed, size, accounts, tuple(opportunities), tuple(extra), crashes)


_FIRST = (
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Hooli",
)
_SECOND = ("Holdings", "Partners", "Logistics", "Health", "Energy", "Foods", "Analytics", "Retail", "Labs")
