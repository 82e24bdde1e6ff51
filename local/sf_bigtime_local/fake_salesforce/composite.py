"""``POST /composite``: up to 25 subrequests in one API call, at most 5 of them queries or sObject
Collections, with ``@{ref.path}`` references between them and ``allOrNone`` rollback.

The response is HTTP 200 with ``{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode",
"referenceId"}, …]}``; a failed subrequest carries its own status and error array, and with ``allOrNone``
every other subrequest reports ``PROCESSING_HALTED``. A collection subrequest with a failed record counts
as failed under the composite's ``allOrNone`` [I], and its successful records report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``. Too many subrequests is answered like Salesforce answers it (seen in
a public integration's logs): a single ``LIMIT_EXCEEDED`` entry with ``referenceId`` null [I: HTTP 200].
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import bad_request, not_found
from .rest import Call, Reply
from .sobject_collections import ROLLED_BACK, has_failure
from .store import Store, WriteContext

MAX_SUBREQUESTS = 25
MAX_HEAVY = 5  # queries and sObject Collections per composite request
VERSION_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REF_ENCODED = re.compile(r"%40%7B(.*?)%7D", re.IGNORECASE)
_REF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class UnresolvedReference(Exception):
    """A composite ``@{ref.path}`` that cannot be resolved."""


class Composite:
    """Runs composite requests through ``route`` (the fake's REST router) and ``commit``s per subrequest
    unless ``allOrNone`` holds everything back."""

    def __init__(
        self,
        route: Callable[[Call], Reply],
        store: Callable[[], Store],
        commit: Callable[[WriteContext], None],
    ) -> None:
        self.route = route
        self.store = store
        self.commit = commit

    def run(self, call: Call) -> Reply:
        data = call.body()
        ctx = call.ctx
        if not isinstance(data, dict) or not isinstance(data.get("compositeRequest"), list):
            raise bad_request("JSON_PARSER_ERROR", "compositeRequest is required and must be an array")
        subrequests = data["compositeRequest"]
        if not subrequests:
            raise bad_request("INVALID_BATCH_REQUEST", "A composite request needs at least one subrequest")
        if len(subrequests) > MAX_SUBREQUESTS:
            return _limit_exceeded(f"The request can’t contain more than {MAX_SUBREQUESTS} operations.")
        _check_references(subrequests)
        if sum(_is_heavy(sub["url"]) for sub in subrequests) > MAX_HEAVY:
            return _limit_exceeded(  # [I] the wording
                f"The request can’t contain more than {MAX_HEAVY} query or sObject Collections operations."
            )
        all_or_none = bool(data.get("allOrNone", False))
        store = self.store()
        snapshot = store.snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        bodies: dict[str, Any] = {}
        failed = False
        kept: set[int] = set()  # results reported as they are after a rollback
        for sub in subrequests:
            ref = sub["referenceId"]
            if failed:
                results.append(_halted(ref))
                continue
            sub_ctx = ctx if all_or_none else WriteContext(ctx.user_id, ctx.client, True, ctx.version)
            try:
                reply = self._subrequest(sub, bodies, sub_ctx)
            except UnresolvedReference as err:
                reply = Reply(400, bad_request("PROCESSING_HALTED", str(err)).body())
            results.append(
                {
                    "body": reply.body,
                    "httpHeaders": reply.headers,
                    "httpStatusCode": reply.status,
                    "referenceId": ref,
                }
            )
            if all_or_none and has_failure(reply.body):
                failed = True
                kept.add(len(results) - 1)
                results[-1]["body"] = _rolled_back(reply.body, creating=sub["method"].upper() == "POST")
            elif reply.status < 400:
                bodies[ref] = reply.body
                if not all_or_none:
                    self.commit(sub_ctx)
            elif all_or_none:
                failed = True
        if all_or_none and failed:
            store.restore(snapshot)
            ctx.changes = []
            results = [
                r if r["httpStatusCode"] >= 400 or i in kept else _halted(r["referenceId"])
                for i, r in enumerate(results)
            ]
        return Reply(200, {"compositeResponse": results})

    def _subrequest(self, sub: dict[str, Any], bodies: dict[str, Any], ctx: WriteContext) -> Reply:
        url = _substitute_text(
            _REF_ENCODED.sub(lambda m: "@{" + unquote(m.group(1)) + "}", sub["url"]), bodies
        )
        parts = urlsplit(url)
        m = VERSION_PATH.match(parts.path)
        if m is None:
            return Reply(404, not_found().body())
        segments = [unquote(s) for s in (m.group(2) or "").strip("/").split("/") if s]
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if segments[:1] == ["composite"] and segments[1:2] != ["sobjects"]:
            return Reply(
                400,
                bad_request("INVALID_INPUT", "A composite request cannot contain another composite").body(),
            )
        payload = _substitute_json(sub.get("body"), bodies)
        return self.route(Call(sub["method"].upper(), m.group(1), segments, params, lambda: payload, ctx))


def _is_heavy(url: str) -> bool:
    """Queries and sObject Collections count against the composite's limit of five."""
    m = VERSION_PATH.match(urlsplit(url).path)
    segments = [s for s in ((m.group(2) or "") if m else "").split("/") if s]
    return segments[:1] in (["query"], ["queryAll"]) or segments[:2] == ["composite", "sobjects"]


def _limit_exceeded(message: str) -> Reply:
    body = [{"errorCode": "LIMIT_EXCEEDED", "message": message}]
    return Reply(
        200,
        {
            "compositeResponse": [
                {"body": body, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": None}
            ]
        },
    )


def _rolled_back(results: list[dict[str, Any]], creating: bool) -> list[dict[str, Any]]:
    """A collection's successful records, after the composite rolled them back: records it created report
    no id (they never existed), updated ones keep theirs."""
    out = []
    for result in results:
        if result.get("success"):
            new = creating or bool(result.get("created"))
            rolled: dict[str, Any] = {} if new else {"id": result.get("id")}
            rolled.update(success=False, errors=[dict(ROLLED_BACK)])
            if "created" in result:
                rolled["created"] = False
            result = rolled
        out.append(result)
    return out


def _check_references(subrequests: list[Any]) -> None:
    seen: set[str] = set()
    for sub in subrequests:
        ref = sub.get("referenceId") if isinstance(sub, dict) else None
        if not isinstance(ref, str) or not _REF_ID.fullmatch(ref):
            raise bad_request(
                "INVALID_INPUT",
                f"Provided referenceId ('{ref}') must start with a letter or a number, and it can contain only "
                "letters, numbers and underscores ('_').",
            )
        if ref in seen:
            raise bad_request("INVALID_INPUT", f"Duplicate referenceId provided in the request: {ref}")
        if not isinstance(sub.get("url"), str) or not isinstance(sub.get("method"), str):
            raise bad_request("INVALID_INPUT", f"Subrequest {ref} needs a method and a url")
        seen.add(ref)


def _halted(ref: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": _HALTED, "fields": []}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


def _resolve_reference(ref: str, path: str, bodies: dict[str, Any]) -> Any:
    if ref not in bodies:
        raise UnresolvedReference(
            f"Invalid reference specified. No value for {ref}{path} found in {ref}. Provided referenceId ('{ref}') "
            "must be defined by an earlier, successful subrequest."
        )
    value = bodies[ref]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            if key:
                if isinstance(value, dict) and key not in value:
                    key = next((k for k in value if k.lower() == key.lower()), key)
                value = value[key]
            else:
                value = value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise UnresolvedReference(
                f"Invalid reference specified. No value for {ref}{path} found in {ref}."
            ) from None
    return value


def _ref_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _substitute_text(text: str, bodies: dict[str, Any]) -> str:
    return _REF.sub(lambda m: _ref_text(_resolve_reference(m.group(1), m.group(2), bodies)), text)


def _substitute_json(value: Any, bodies: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:  # a value that is only a reference keeps the referenced JSON type
            return _resolve_reference(whole.group(1), whole.group(2), bodies)
        return _substitute_text(value, bodies)
    if isinstance(value, dict):
        return {k: _substitute_json(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_json(v, bodies) for v in value]
    return value
