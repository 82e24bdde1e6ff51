"""Fixtures of the fake Salesforce's HTTP tests: one fake and one loopback server per module, reset before
each test; a recording webhook receiver; a simple-salesforce client that logs in as the worker does.

A module that needs the fake built differently overrides ``fake``; the server then serves that one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.httpserver import BackgroundServer
from tests.integration.local.salesforce.fake_sf import ORG, VERSION, Receiver, client


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce(org_id=ORG, api_version=VERSION)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(fake: FakeSalesforce) -> Iterator[BackgroundServer]:
    with BackgroundServer(fake, name="fake-salesforce") as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(fake: FakeSalesforce) -> None:
    fake.reset()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with rec.server:
        yield rec


@pytest.fixture
def hooks(receiver: Receiver) -> Receiver:
    """The receiver with nothing recorded and nothing scripted."""
    with receiver.lock:
        receiver.requests.clear()
        receiver.script.clear()
    return receiver


@pytest.fixture
def sf(server: BackgroundServer) -> Salesforce:
    return client(server)
