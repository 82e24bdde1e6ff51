"""The admin surface under ``/__fake/…``: the programmatic API of :class:`~.app.FakeSalesforce` over HTTP,
for processes that cannot import the fake (the local stack, the demo). Not part of Salesforce; admin calls
are neither recorded nor counted.

Routes: ``POST reset``; ``POST|GET|DELETE faults``; ``GET calls``; ``GET usage``; ``POST flows``;
``GET deliveries``; ``GET change-events``; ``POST cdc-relay``; ``POST token``; ``POST expire-sessions``
(now, or with ``{"every": N}`` after each N-th API call from now on); ``GET state``;
``POST records/{Type}``; ``GET|PATCH|DELETE records/{Type}/{id}``; ``POST records/{Type}/{id}/undelete``.
Write bodies may carry ``_client`` (the ``Sforce-Call-Options``
client the write is attributed to).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FakeSalesforceError
from .rest import parse_json

if TYPE_CHECKING:
    from .app import FakeSalesforce

OK = {"ok": True}


def admin(fake: FakeSalesforce, method: str, route: str, raw: bytes) -> tuple[int, Any]:
    """Answer one admin request: ``(status, JSON body)``."""
    try:
        data = parse_json(raw) if raw else {}
    except FakeSalesforceError:
        return 400, {"error": "body must be JSON"}
    try:
        return _route(fake, method, route.strip("/"), data)
    except FakeSalesforceError as err:
        return err.status, err.body()
    except (TypeError, ValueError, KeyError) as err:
        return 400, {"error": str(err)}


def _route(fake: FakeSalesforce, method: str, route: str, data: Any) -> tuple[int, Any]:
    parts = route.split("/")
    if (method, route) == ("POST", "reset"):
        fake.reset()
        return 200, OK
    if route == "faults":
        if method == "POST":
            fake.faults.add(**data)
            return 201, OK
        if method == "DELETE":
            fake.faults.clear()
            return 200, OK
        if method == "GET":
            return 200, [vars(f) for f in fake.faults.pending()]
    simple = {
        ("GET", "calls"): lambda: [c.to_dict() for c in fake.calls],
        ("GET", "usage"): lambda: fake.usage().to_dict(),
        ("GET", "deliveries"): lambda: fake.deliveries,
        ("GET", "change-events"): lambda: fake.change_events,
    }
    if (method, route) in simple:
        return 200, simple[(method, route)]()
    if (method, route) == ("POST", "flows"):
        return 201, {"id": fake.add_flow(**data)}
    if (method, route) == ("POST", "cdc-relay"):
        return 201, {"id": fake.add_cdc_relay(**data)}
    if (method, route) == ("POST", "token"):
        return 200, {
            "access_token": fake.issue_token(data.get("username")),
            "instance_url": fake.instance_url,
        }
    if (method, route) == ("POST", "expire-sessions"):
        if isinstance(data, dict) and "every" in data:  # {"every": N}: after each N-th API call from now on
            fake.expire_sessions_every(data["every"])
        else:
            fake.expire_sessions()
        return 200, OK
    if (method, route) == ("GET", "state"):
        return 200, {
            "org_id": fake.org_id,
            "integration_user_id": fake.integration_user_id,
            "owner_user_id": fake.owner_user_id,
            "api_usage": fake.api_usage,
            "pending_notifications": fake.pending_notifications,
            "dropped_notifications": fake.dropped_notifications,
        }
    if parts[0] == "records" and len(parts) in (2, 3, 4):
        return _records(fake, method, parts[1:], data)
    return 404, {"error": f"no admin route {method} /__fake/{route}"}


def _records(fake: FakeSalesforce, method: str, parts: list[str], data: Any) -> tuple[int, Any]:
    sobject = parts[0]
    client = data.pop("_client", None) if isinstance(data, dict) else None
    if len(parts) == 1 and method == "POST":
        return 201, {"id": fake.create(sobject, data, client=client)}
    if len(parts) == 2:
        if method == "GET":
            record = fake.get(sobject, parts[1])
            return (200, record) if record is not None else (404, {"error": "not found"})
        if method == "PATCH":
            fake.update(sobject, parts[1], data, client=client)
            return 200, OK
        if method == "DELETE":
            fake.delete(sobject, parts[1])
            return 200, OK
    if len(parts) == 3 and parts[2] == "undelete" and method == "POST":
        fake.undelete(sobject, parts[1])
        return 200, OK
    return 404, {"error": "no such admin records route"}
