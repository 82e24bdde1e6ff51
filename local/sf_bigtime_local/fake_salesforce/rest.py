"""REST routes for queries and single records: ``/query``, ``/queryAll`` (with paging cursors) and
``/sobjects/…`` (describe, create, read, update, delete, upsert by external id).

Routes run under the fake's lock and raise :class:`~.errors.FakeSalesforceError` for Salesforce's errors;
the caller turns those into error arrays and commits the :class:`~.store.WriteContext` on success.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.sfid import is_salesforce_id

from . import soql
from .errors import FakeSalesforceError, bad_request, not_found
from .schema import Schema, SObjectType
from .store import Record, Store, WriteContext
from .values import to_wire

MAX_CURSORS = 500


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One REST request (or composite subrequest) after authentication, as the routes see it."""

    method: str
    version: str
    segments: list[str]  # path segments after /services/data/vNN.N, percent-decoded
    params: dict[str, str]
    body: Callable[[], Any]  # parses the JSON body on demand (JSON_PARSER_ERROR if malformed)
    ctx: WriteContext

    @property
    def base(self) -> str:
        return f"/services/data/v{self.version}"


def allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise FakeSalesforceError(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}"
        )


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8") if raw else "")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise bad_request(
            "JSON_PARSER_ERROR",
            f"Unexpected character or end of input: {exc.args[0]} at [line:{line}, column:{col}]",
        ) from None


def record_body(version: str, obj: SObjectType, record: Record, fields: str | None) -> dict[str, Any]:
    """A record as ``GET /sobjects/{Type}/{id}[?fields=…]`` returns it."""
    chosen = list(obj.fields.values())
    if fields:
        chosen = []
        for name in (n.strip() for n in fields.split(",")):
            f = obj.field(name)
            if f is None:
                raise bad_request(
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name. Please reference your WSDL "
                    "or the describe call for the appropriate names.",
                )
            chosen.append(f)
    out: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record.id}"}
    }
    for f in chosen:
        out[f.name] = to_wire(f, record.value(f))
    return out


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    total: int


class Queries:
    """``/query`` and ``/queryAll``: results larger than a page are kept behind a query locator."""

    def __init__(
        self, schema: Schema, store: Callable[[], Store], page_size: int, new_id: Callable[[str], str]
    ) -> None:
        self.schema = schema
        self.store = store
        self.page_size = page_size
        self.new_id = new_id
        self.cursors: OrderedDict[str, _Cursor] = OrderedDict()

    def route(self, call: Call, endpoint: str, rest: list[str]) -> Reply:
        allow(call.method, "GET")
        if rest:
            return self._more(call.version, endpoint, rest[0])
        text = call.params.get("q", "")
        if not text.strip():
            raise bad_request("MALFORMED_QUERY", "A query string has to be specified")
        store = self.store()
        result = soql.execute(
            text,
            self.schema,
            store,
            today=store.now().date(),
            include_deleted=endpoint == "queryAll",
            version=call.version,
        )
        if len(result.records) <= self.page_size:
            return Reply(200, {"totalSize": result.total_size, "done": True, "records": result.records})
        locator = self.new_id("01g")
        self.cursors[locator] = _Cursor(result.records, result.total_size)
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return self._page(call.version, endpoint, locator, 0)

    def _page(self, version: str, endpoint: str, locator: str, offset: int) -> Reply:
        cursor = self.cursors[locator]
        end = offset + self.page_size
        body: dict[str, Any] = {"totalSize": cursor.total, "done": end >= len(cursor.records)}
        if end < len(cursor.records):
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{locator}-{end}"
        else:
            self.cursors.pop(locator, None)
        body["records"] = cursor.records[offset:end]
        return Reply(200, body)

    def _more(self, version: str, endpoint: str, token: str) -> Reply:
        locator, _, offset = token.rpartition("-")
        if locator not in self.cursors or not offset.isdigit():
            raise bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(version, endpoint, locator, int(offset))


class SObjects:
    """``/sobjects``, ``/sobjects/{Type}[/describe]``, ``/sobjects/{Type}/{id}`` and
    ``/sobjects/{Type}/{ExternalIdField}/{value}``."""

    def __init__(self, schema: Schema, store: Callable[[], Store]) -> None:
        self.schema = schema
        self.store = store

    def route(self, call: Call) -> Reply:
        segs, method, version = call.segments[1:], call.method, call.version
        if not segs:
            allow(method, "GET")
            return Reply(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [
                        {
                            "name": o.name,
                            "label": o.label,
                            "keyPrefix": o.key_prefix,
                            "custom": o.custom,
                            "urls": {"sobject": f"{call.base}/sobjects/{o.name}"},
                        }
                        for o in self.schema.objects.values()
                    ],
                },
            )
        obj = self.schema.get(segs[0])
        if obj is None:
            raise not_found()
        store = self.store()
        base = f"{call.base}/sobjects/{obj.name}"
        if len(segs) == 1:
            allow(method, "GET", "POST")
            if method == "GET":
                describe = obj.describe(version)
                basic = {
                    k: describe[k] for k in ("name", "label", "labelPlural", "keyPrefix", "custom", "urls")
                }
                return Reply(200, {"objectDescribe": basic, "recentItems": []})
            record = store.create(obj, call.body(), call.ctx)
            return Reply(
                201, {"id": record.id, "success": True, "errors": []}, {"Location": f"{base}/{record.id}"}
            )
        if len(segs) == 2 and segs[1] == "describe":
            allow(method, "GET")
            return Reply(200, obj.describe(version))
        if len(segs) == 2:
            allow(method, "GET", "PATCH", "DELETE")
            record = store.require(obj, segs[1])
            if method == "GET":
                return Reply(200, record_body(version, obj, record, call.params.get("fields")))
            if method == "PATCH":
                store.update(record, call.body(), call.ctx)
                return Reply(204)
            store.delete(record, call.ctx)
            return Reply(204)
        if len(segs) == 3:
            return self._external(call, obj, segs[1], segs[2])
        raise not_found()

    def _external(self, call: Call, obj: SObjectType, field_name: str, value: str) -> Reply:
        allow(call.method, "GET", "PATCH", "DELETE")
        store = self.store()
        f = obj.field(field_name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        base = f"{call.base}/sobjects/{obj.name}"
        if f.name == "Id" and not is_salesforce_id(value):
            raise bad_request("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {value}")
        matches = store.find(obj, f, value)
        if len(matches) > 1:
            raise FakeSalesforceError(
                300,
                "MULTIPLE_CHOICES",
                "more than one record found",
                body=[f"{base}/{r.id}" for r in matches],
            )
        if call.method == "GET":
            if not matches:
                raise not_found()
            return Reply(200, record_body(call.version, obj, matches[0], call.params.get("fields")))
        if call.method == "DELETE":
            if not matches:
                raise not_found()
            store.delete(matches[0], call.ctx)
            return Reply(204)
        data = call.body()
        if isinstance(data, dict):
            for key in list(data):
                if key.lower() == f.name.lower():
                    if str(data[key]).casefold() != value.casefold():
                        raise bad_request(
                            "INVALID_FIELD",
                            f"The value of {f.name} in the request body does not match the value in the URL",
                            [f.name],
                        )
                    del data[key]
        if matches:
            store.update(matches[0], data, call.ctx)
            return Reply(200, {"id": matches[0].id, "success": True, "errors": [], "created": False})
        if call.params.get("updateOnly", "").lower() == "true" or f.name == "Id":
            raise not_found()
        record = store.create(obj, {**data, f.name: value} if isinstance(data, dict) else data, call.ctx)
        return Reply(
            201,
            {"id": record.id, "success": True, "errors": [], "created": True},
            {"Location": f"{base}/{record.id}"},
        )
