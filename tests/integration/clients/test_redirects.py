"""API calls never follow a redirect: every request of both clients carries a credential (BigTime's
``X-Auth-ApiToken`` or session token, a password at login, Salesforce's client secret or bearer token), and
requests forwards custom headers and a 307/308's body to wherever ``Location`` points. A redirect is a
transient error that says what happened and what to check; the other host never hears from us."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.errors import TransientError
from sf_bigtime.secrets import BigTimeSession
from sf_bigtime_local.httpserver import BackgroundServer
from tests.integration.conftest import BT_PASSWORD, BT_REALM, BT_TOKEN, BT_USER, World


class Sink:
    """Another host: records every request that reaches it (it must stay empty)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.requests.append(
            {
                "path": environ.get("PATH_INFO"),
                "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
                "body": environ["wsgi.input"].read(length) if length else b"",
            }
        )
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"access_token": "x", "instance_url": "http://127.0.0.1:1", "records": [], "done": true}']


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    app = Sink()
    with BackgroundServer(app, name="sink") as server:
        yield app, server.url


@pytest.mark.parametrize(("method", "status"), [("GET", 302), ("POST", 307), ("POST", 308), ("GET", 301)])
def test_bigtime_api_key_calls_refuse_redirects(
    world: World, sink: tuple[Sink, str], method: str, status: int
) -> None:
    app, url = sink
    path = "/project$" if method == "GET" else "/project/detail$"
    world.bt.faults.add(method=method, path=path, status=status, headers={"Location": f"{url}/steal?x=1"})
    client = world.bigtime_client()
    call = client.list_projects if method == "GET" else lambda: client.create_project({"Nm": "P"})
    with pytest.raises(TransientError) as info:
        call()
    assert app.requests == [], "the API token (and the body) went to another host"
    error = info.value
    assert error.code == "bigtime_redirect" and f"HTTP {status}" in error.reason
    assert "redirect" in error.reason and "base_url" in error.reason
    assert BT_TOKEN not in error.reason and "steal" not in error.reason  # the host only, not the path
    assert getattr(error, "maybe_applied", None) is False  # it answered with a redirect: nothing done


def test_bigtime_login_refuses_a_redirect_of_the_password(world: World, sink: tuple[Sink, str]) -> None:
    app, url = sink
    world.bt.faults.add(method="POST", path="/session$", status=307, headers={"Location": f"{url}/session"})
    client = BigTimeClient(
        BigTimeSession(
            auth="session",
            username=BT_USER,
            password=BT_PASSWORD,
            realm=BT_REALM,
            base_url=f"{world.bt_url}/BigtimeData/api/v2",
        )
    )
    with pytest.raises(TransientError, match="redirect") as info:
        client.list_projects()
    assert app.requests == [] and info.value.code == "bigtime_redirect"


def test_salesforce_login_refuses_a_redirect_of_the_client_secret(
    world: World, sink: tuple[Sink, str]
) -> None:
    app, url = sink
    world.sf.faults.add(method="POST", path="/oauth2/token", status=307, headers={"Location": f"{url}/token"})
    with pytest.raises(TransientError, match="redirect") as info:
        list(world.salesforce_client().query_all("SELECT Id FROM Organization"))
    assert app.requests == [], "the client secret went to another host"
    assert info.value.code == "salesforce_redirect" and "instance_url" in info.value.reason


def test_salesforce_api_calls_refuse_redirects(world: World, sink: tuple[Sink, str]) -> None:
    app, url = sink
    client = world.salesforce_client()
    list(client.query_all("SELECT Id FROM Organization"))  # logged in
    world.sf.faults.add(method="GET", path="/query", status=302, headers={"Location": f"{url}/query"})
    with pytest.raises(TransientError, match="redirect") as info:
        list(client.query_all("SELECT Id FROM Organization"))
    assert app.requests == [] and info.value.code == "salesforce_redirect"
    assert "HTTP 302" in info.value.reason
