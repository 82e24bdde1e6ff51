"""The request helpers the fake BigTime's tests share; the fixtures (``bt``, ``seeded``) are in this
directory's conftest: each module gets one loopback server, each test a fresh fake on its own clock."""

from __future__ import annotations

from typing import Any

import requests

from sf_bigtime_local.fake_bigtime import FakeBigTime
from tests.clock import Clock

REALM = "fake-firm"
TOKENS = {
    "tok": {"staffsid": 1},
    "limited": {"staffsid": 2, "permissions": {"project.create": False, "client.view": False}},
}
USERS = {"ops@firm.test": "pw", "viewer@firm.test": {"pwd": "pw2", "permissions": {"project.*": False}}}
API_KEY = {"X-Auth-ApiToken": "tok", "X-Auth-Realm": REALM}


class Env:
    """One fake behind the module's server, plus small request helpers (API key auth by default)."""

    def __init__(self, url: str, holder: dict[str, Any], clock: Clock) -> None:
        self.root = url
        self.base = url + "/BigtimeData/api/v2"
        self.holder = holder
        self.clock = clock
        self.http = requests.Session()
        self.fake = self.use()

    def use(self, tokens: dict[str, Any] | None = None, **kwargs: Any) -> FakeBigTime:
        """Serve a fresh fake built with ``kwargs`` and API keys beyond the default ones (server stays up)."""
        api_tokens = {**TOKENS, **(tokens or {})}
        self.fake = FakeBigTime(realm=REALM, api_tokens=api_tokens, users=USERS, clock=self.clock, **kwargs)
        self.holder["app"] = self.fake
        return self.fake

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        return self.http.request(
            method, self.base + path, headers=API_KEY if headers is None else headers, **kw
        )

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def as_token(self, token: str) -> dict[str, str]:
        """Headers that authenticate with another API key of the firm."""
        return {"X-Auth-ApiToken": token, "X-Auth-Realm": REALM}

    def admin(self, method: str, action: str, **kw: Any) -> requests.Response:
        return self.http.request(method, f"{self.root}/__fake/{action}", **kw)

    def client(self, nm: str = "Acme Corp", code: str | None = "ACME", **fields: Any) -> dict[str, Any]:
        body = {"Nm": nm, **({"ClientId": code} if code else {}), **fields}
        response = self.post("/client/detail", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def project(
        self, client_sid: int, code: str = "P-1", nm: str = "Implementation", **fields: Any
    ) -> dict[str, Any]:
        response = self.post(
            "/project/detail", json={"Nm": nm, "ClientId": client_sid, "ProjectCode": code, **fields}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def contact(self, project_sid: int, sname: str, tag: str = "OTHER", **fields: Any) -> requests.Response:
        return self.post(
            "/project/contact", json={"ProjectSid": project_sid, "SName": sname, "Tag": tag, **fields}
        )

    def ok(self, response: requests.Response) -> Any:
        """The JSON of a 200 answer (the assertion shows the body otherwise)."""
        assert response.status_code == 200, response.text
        return response.json()

    def task(self, project_sid: int, nm: str = "Build", **fields: Any) -> dict[str, Any]:
        return self.ok(self.post("/task/detail", json={"ProjectSid": project_sid, "TaskNm": nm, **fields}))

    def time(
        self, project_sid: int, hours: float, dt: str = "2027-01-11", submit: bool = True, **fields: Any
    ) -> dict[str, Any]:
        body = {"ProjectSID": project_sid, "Hours_IN": hours, "Dt": dt, **fields}
        return self.ok(self.post("/time", params={"MarkSubmitted": str(submit).lower()}, json=body))

    def expense(self, project_sid: int, cost: float, dt: str = "2027-01-11", **fields: Any) -> dict[str, Any]:
        body = {"ProjectSID": project_sid, "CostIN": cost, "Dt": dt, **fields}
        return self.ok(self.post("/expense/detail", json=body))


def message(response: requests.Response) -> str:
    return response.json()["Message"]


Seeded = tuple[Env, dict[str, Any], dict[str, Any]]
