"""HTTP clients for the local stack's surfaces, as a user or Salesforce would reach them.

Used by the demo and the end-to-end tests: unmodified simple-salesforce against the fake Salesforce,
BigTime's own REST paths against the fake BigTime, plain HTTP against the ingest front door.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from simple_salesforce import Salesforce

from sf_bigtime.clients.http import HttpSession
from sf_bigtime.ingest.auth import signature


def salesforce(stack: dict[str, Any]) -> Salesforce:
    sf = stack["salesforce"]
    return Salesforce(
        instance_url=sf["instance_url"],
        session_id=sf["access_token"],
        version=sf["api_version"],
        session=HttpSession(rewrite_base=sf["instance_url"]),
    )


class BigTimeHttp:
    """Minimal BigTime REST access with the stack's API key (for looking, not for syncing)."""

    def __init__(self, stack: dict[str, Any]) -> None:
        bt = stack["bigtime"]
        self.base = bt["base_url"]
        self.session = requests.Session()
        self.session.headers.update({"X-Auth-ApiToken": bt["api_token"], "X-Auth-Realm": bt["realm"]})

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.base}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any, **params: Any) -> Any:
        """A write through BigTime's REST API, as a person's tool would (log time, invoice, edit a project)."""
        response = self.session.post(f"{self.base}{path}", json=body, params=params, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def picklist_id(self, list_name: str, name: str) -> int:
        """The id of a "Field Values" item by name (e.g. StatusProduction "In Progress")."""
        items = self.get(f"/picklist/FieldValues/{list_name}")
        return int(next(i["Id"] for i in items if i["Name"] == name))

    def projects(self) -> list[dict[str, Any]]:
        return self.get("/project", ShowInactive="true")

    def clients(self) -> list[dict[str, Any]]:
        return self.get("/client", ShowInactive="true")

    def project_detail(self, project_id: int) -> dict[str, Any]:
        data = self.get(f"/project/detail/{project_id}", View="Detailed", ShowAllContacts="true")
        return data[0] if isinstance(data, list) else data

    def project_contacts(self, project_id: int) -> list[dict[str, Any]]:
        return self.get(f"/project/contacts/{project_id}")

    def tasks(self, project_id: int, *, completed: bool = True) -> list[dict[str, Any]]:
        return self.get(f"/task/listByProject/{project_id}", ShowCompleted=str(completed).lower())

    def budget_status(self, project_id: int) -> list[dict[str, Any]]:
        return self.get(f"/task/BudgetStatusByProject/{project_id}")

    def team(self, project_id: int) -> list[dict[str, Any]]:
        return self.get(f"/project/Team/{project_id}")


def salesforce_usage(stack: dict[str, Any]) -> dict[str, Any]:
    """The fake org's API and write counters (``/__fake/usage``): subtract two to see what happened between."""
    reply = requests.get(f"{stack['salesforce']['instance_url']}/__fake/usage", timeout=10)
    reply.raise_for_status()
    return dict(reply.json())


def post_event(
    stack: dict[str, Any], body: Any, *, api_key: str | None = None, **kwargs: Any
) -> requests.Response:
    ingest = stack["ingest"]
    headers = {"Content-Type": "application/json", ingest["api_key_header"]: api_key or ingest["api_key"]}
    headers.update(kwargs.pop("headers", {}))
    return requests.post(ingest["events_url"], json=body, headers=headers, timeout=10, **kwargs)


def post_signed_event(
    stack: dict[str, Any],
    body: Any,
    *,
    timestamp: int | None = None,
    hmac_key: str | None = None,
    **kwargs: Any,
) -> requests.Response:
    """POST a JSON event signed as an Apex sender would (HMAC-SHA256 over ``timestamp.body``)."""
    ingest = stack["ingest"]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        ingest["signature_timestamp_header"]: ts,
        ingest["signature_header"]: signature(hmac_key or ingest["hmac_key"], ts, data),
    }
    headers.update(kwargs.pop("headers", {}))
    return requests.post(ingest["events_url"], data=data, headers=headers, timeout=10, **kwargs)


def post_outbound_message(
    stack: dict[str, Any], envelope: str | bytes, *, url: str | None = None, **kwargs: Any
) -> requests.Response:
    """POST a SOAP Outbound Message as Salesforce does (to the endpoint URL, token included)."""
    data = envelope.encode() if isinstance(envelope, str) else envelope
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    headers.update(kwargs.pop("headers", {}))
    return requests.post(
        url or stack["ingest"]["outbound_message_url"], data=data, headers=headers, timeout=10, **kwargs
    )


def post_eventbridge(stack: dict[str, Any], event: Any) -> requests.Response:
    """Deliver an EventBridge event (e.g. an Event Relay envelope) as the template's rule would."""
    return requests.post(stack["ingest"]["eventbridge_url"], json=event, timeout=10)
