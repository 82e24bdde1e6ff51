"""Fixtures of the fake BigTime's tests: one loopback server per module, a fresh fake per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sf_bigtime_local.httpserver import BackgroundServer
from tests.clock import Clock
from tests.integration.local.bigtime_env import Env, Seeded


@pytest.fixture(scope="module")
def bigtime_server() -> Iterator[tuple[str, dict[str, Any]]]:
    holder: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    with BackgroundServer(app, name="fake-bigtime-tests") as server:
        yield server.url, holder


@pytest.fixture
def bt(bigtime_server: tuple[str, dict[str, Any]]) -> Iterator[Env]:
    env = Env(bigtime_server[0], bigtime_server[1], Clock())
    yield env
    env.http.close()


@pytest.fixture
def seeded(bt: Env) -> Seeded:
    client = bt.client()
    project = bt.project(client["SystemId"])
    return bt, client, project
