"""Shared helpers for the fake Salesforce's HTTP tests: the rewriting session simple-salesforce needs, a
recording webhook receiver, and a small product catalogue."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from simple_salesforce import Salesforce
from werkzeug.wrappers import Request, Response

from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.httpserver import BackgroundServer

VERSION = "66.0"
ORG = "00D5w000004abcdEAA"


class LocalFakeSession(requests.Session):
    """Send every https://<any host> URL simple-salesforce builds to the local fake over plain http."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 10)
        return super().request(method, re.sub(r"^https://[^/]+", self.base, url), *args, **kwargs)


def client(server: BackgroundServer) -> Salesforce:
    """Client-credentials login against the token endpoint, as the worker does in production."""
    return Salesforce(
        consumer_key="ck",
        consumer_secret="cs",
        domain="acme.my",
        version=VERSION,
        session=LocalFakeSession(server.url),
    )


def api(server: BackgroundServer, path: str) -> str:
    return f"{server.url}/services/data/v{VERSION}/{path}"


class Receiver:
    """A tiny HTTP endpoint that records requests and answers from a script (default: 200 + SOAP Ack)."""

    ACK = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        'envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
        "<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
    )

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []  # statuses to answer first, then 200
        self.lock = threading.Lock()
        self.server = BackgroundServer(self, name="receiver")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append(
                {
                    "path": request.path,
                    "headers": dict(request.headers),
                    "body": request.get_data(as_text=True),
                }
            )
            status = self.script.pop(0) if self.script else 200
        return Response(self.ACK if status == 200 else "down", status=status, content_type="text/xml")(
            environ, start_response
        )

    def url(self, path: str = "/hook") -> str:
        return self.server.url + path

    def wait(self, count: int, timeout: float = 5.0, path: str | None = None) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = [r for r in self.requests if path is None or r["path"] == path]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.01)


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.01)


def opportunity(
    fake: FakeSalesforce, name: str = "Acme – Implementation", *, stage: str = "Prospecting", **extra: Any
) -> str:
    """An Opportunity of a new Account "Acme", seeded directly (no API call, no event)."""
    account = fake.create("Account", {"Name": "Acme"})
    data = {"Name": name, "StageName": stage, "CloseDate": "2026-07-11", "AccountId": account}
    return fake.create("Opportunity", {**data, **extra})


class Catalog:
    """Two active products with standard prices (150/h consulting, 2,000 licence), as seeded by an admin."""

    def __init__(self, fake: FakeSalesforce) -> None:
        self.fake = fake
        self.standard = fake.standard_pricebook_id
        self.consulting = fake.create(
            "Product2",
            {
                "Name": "Consulting",
                "ProductCode": "CONS-01",
                "Family": "Services",
                "QuantityUnitOfMeasure": "Hours",
                "IsActive": True,
            },
        )
        self.licence = fake.create(
            "Product2",
            {"Name": "Licence", "ProductCode": "LIC-01", "Family": "Software", "IsActive": True},
        )
        self.consulting_entry = self.entry(self.standard, self.consulting, 150)
        self.licence_entry = self.entry(self.standard, self.licence, 2000)

    def entry(self, book: str, product: str, price: float, active: bool = True) -> str:
        return self.fake.create(
            "PricebookEntry",
            {"Pricebook2Id": book, "Product2Id": product, "UnitPrice": price, "IsActive": active},
        )

    def line(self, opp: str, entry: str | None = None, quantity: float = 10, **extra: Any) -> str:
        data = {
            "OpportunityId": opp,
            "PricebookEntryId": entry or self.consulting_entry,
            "Quantity": quantity,
        }
        if "TotalPrice" not in extra:
            data["UnitPrice"] = 140
        return self.fake.create("OpportunityLineItem", {**data, **extra})
