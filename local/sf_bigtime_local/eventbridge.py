"""The local EventBridge: a posted event goes to every rule in template.yaml whose pattern matches it, and
each rule's Lambda target gets it as its event, as EventBridge would deliver it.

``POST /events`` takes one event (or a list), shaped like an EventBridge event or a PutEvents entry;
missing envelope fields (``version``, ``id``, ``time``, ``account``, ``region``, ``resources``) are
filled in as EventBridge does. The reply is ``200 {"delivered": [...]}``, or ``500`` if a target
raised: the real target is invoked asynchronously and retried by Lambda, so a local sender (the fake
org's relay) should retry, as Salesforce's relay retries a failed publish.

Only the pattern operators the template uses are implemented (exact values, ``prefix``, ``suffix``,
``exists``); a template using another one fails loudly when the local stack starts.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sf_bigtime_local.lambda_runtime import Handler, LambdaContext
from sf_bigtime_local.template import Tag, Template

log = logging.getLogger(__name__)

_OPERATORS = {"prefix", "suffix", "exists"}


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: dict[str, Any]
    function: str  # logical id of the target function

    def __post_init__(self) -> None:
        check_pattern(self.pattern)


def rules_for(template: Template) -> list[Rule]:
    """Every ``AWS::Events::Rule`` whose targets include a function of the template (conditions
    ignored: locally every optional rule is on)."""
    rules = []
    for name, resource in template.of_type("AWS::Events::Rule").items():
        props = resource.get("Properties", {})
        for target in props.get("Targets", []):
            arn = target.get("Arn")
            if isinstance(arn, Tag) and arn.name == "GetAtt" and str(arn.value).endswith(".Arn"):
                rules.append(Rule(name, props["EventPattern"], str(arn.value).removesuffix(".Arn")))
    return rules


def check_pattern(pattern: Any) -> None:
    if isinstance(pattern, dict):
        for value in pattern.values():
            check_pattern(value)
    elif isinstance(pattern, list):
        for value in pattern:
            if isinstance(value, dict):
                unknown = set(value) - _OPERATORS
                if unknown:
                    raise NotImplementedError(f"the local EventBridge does not implement {sorted(unknown)}")
    else:
        raise ValueError(f"an event pattern's leaves must be lists, got {pattern!r}")


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge pattern matching for the operators above: every key must match; a list of
    candidates matches if any does; an array in the event matches if any element does."""
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(expected, dict):
            if not present or not matches(expected, value):
                return False
            continue
        if not any(_leaf(candidate, present, value) for candidate in expected):
            return False
    return True


def _leaf(candidate: Any, present: bool, value: Any) -> bool:
    if isinstance(candidate, dict) and "exists" in candidate:
        return present == bool(candidate["exists"])
    if not present:
        return False
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(candidate, dict):
            if "prefix" in candidate and isinstance(item, str) and item.startswith(candidate["prefix"]):
                return True
            if "suffix" in candidate and isinstance(item, str) and item.endswith(candidate["suffix"]):
                return True
        elif item == candidate and type(item) is type(candidate):
            return True
    return False


def complete(event: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """Fill the envelope fields EventBridge sets on every event (PutEvents entries lack them)."""
    full = dict(event)
    if "DetailType" in full and "detail-type" not in full:  # a PutEvents entry
        full = {
            "source": full.get("Source"),
            "detail-type": full.get("DetailType"),
            "detail": json.loads(full["Detail"])
            if isinstance(full.get("Detail"), str)
            else full.get("Detail"),
            "resources": full.get("Resources", []),
        }
    full.setdefault("version", "0")
    full.setdefault("id", str(uuid.uuid4()))
    full.setdefault("time", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    full.setdefault("account", account)
    full.setdefault("region", region)
    full.setdefault("resources", [])
    return full


class EventBus:
    """WSGI app: ``POST /events`` → matching rules → their function handlers."""

    def __init__(
        self,
        rules: Iterable[Rule],
        handlers: dict[str, tuple[Handler, str, int]],
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
        on_delivery: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.rules = list(rules)
        self.handlers = handlers  # function logical id -> (handler, function name, timeout)
        self.account = account
        self.region = region
        self.on_delivery = on_delivery

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/events":
            return _json(404, {"message": "Not Found"})
        if request.method != "POST":
            return _json(405, {"message": "Method Not Allowed"})
        try:
            posted = json.loads(request.get_data(cache=False) or b"null")
        except ValueError:
            return _json(400, {"message": "body must be JSON"})
        events = posted if isinstance(posted, list) else [posted]
        if not events or not all(isinstance(e, dict) for e in events):
            return _json(400, {"message": "post an event object or a list of them"})
        delivered: list[dict[str, Any]] = []
        failed = False
        for raw in events:
            event = complete(raw, account=self.account, region=self.region)
            for rule in self.rules:
                if not matches(rule.pattern, event):
                    continue
                handler, function_name, timeout = self.handlers[rule.function]
                entry: dict[str, Any] = {"rule": rule.name, "event_id": event["id"]}
                try:
                    entry["result"] = handler(event, LambdaContext(function_name, timeout))
                except Exception as exc:
                    log.warning("rule %s: target raised %s", rule.name, type(exc).__name__)
                    entry["error"] = type(exc).__name__
                    failed = True
                delivered.append(entry)
                if self.on_delivery is not None:
                    self.on_delivery(entry)
        return _json(500 if failed else 200, {"delivered": delivered})


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, default=str), status, content_type="application/json")
