"""sObject Collections: many records in one API call.

- ``POST /composite/sobjects`` creates up to 200 records (types may be mixed, in at most 10 chunks of
  consecutive records of one type);
- ``PATCH /composite/sobjects`` updates up to 200 records by ``id``;
- ``PATCH /composite/sobjects/{Type}/{ExternalIdField}`` upserts up to 200 records of ``Type`` on an
  External ID field;
- ``DELETE /composite/sobjects?ids=…`` deletes up to 200 records.

A well-formed request answers 200 with one result per record, in order: ``{"id", "success", "errors"}``
(upserts add ``"created"``); a failed record has ``"success": false`` and ``errors`` of
``{"statusCode", "message", "fields"}``, and no ``id`` unless it names an existing record. With
``allOrNone`` any failure rolls every record back and the others report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
A malformed request (over 200 records, no type, a type other than the URL's, a field that is not an External
ID, more than 10 chunks, a setup object mixed with others) is refused whole with 400 and an error array.
Messages marked [I] in the code are not confirmed against an org.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sf_bigtime.sfid import is_salesforce_id, to_18

from .errors import FakeSalesforceError, bad_request, not_found
from .rest import Call, Reply, allow
from .schema import Schema, SObjectType
from .store import Store, WriteContext

MAX_RECORDS = 200
MAX_CHUNKS = 10
SETUP_OBJECTS = frozenset({"User"})  # setup objects cannot be written together with other objects
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}

Result = dict[str, Any]


def failure(err: FakeSalesforceError, record_id: str | None = None) -> Result:
    result: Result = {} if record_id is None else {"id": record_id}
    result.update(
        success=False, errors=[{"statusCode": err.error_code, "message": err.message, "fields": err.fields}]
    )
    return result


def has_failure(body: Any) -> bool:
    """True for a collection result list with at least one failed record."""
    return isinstance(body, list) and any(isinstance(r, dict) and r.get("success") is False for r in body)


class Collections:
    """The ``/composite/sobjects`` routes over the fake's store."""

    def __init__(self, schema: Schema, store: Callable[[], Store]) -> None:
        self.schema = schema
        self.store = store

    def route(self, call: Call) -> Reply:
        rest = call.segments[2:]  # after composite/sobjects
        if not rest:
            allow(call.method, "POST", "PATCH", "DELETE")
            if call.method == "DELETE":
                return self._delete(call)
            return self._save(call, creating=call.method == "POST")
        if len(rest) == 2:
            allow(call.method, "PATCH")
            return self._upsert(call, rest[0], rest[1])
        raise not_found()

    # --- request checks --------------------------------------------------------------------------

    def _records(self, call: Call) -> tuple[list[dict[str, Any]], list[SObjectType], bool]:
        data = call.body()
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise bad_request("JSON_PARSER_ERROR", "The request body needs a records array")  # [I]
        records = data["records"]
        _check_count(len(records))
        types = []
        for record in records:
            attributes = record.get("attributes") if isinstance(record, dict) else None
            name = attributes.get("type") if isinstance(attributes, dict) else None
            if not isinstance(name, str) or not name:
                raise bad_request("INVALID_TYPE", "Must send a concrete entity type.")
            obj = self.schema.get(name)
            if obj is None:
                raise bad_request("INVALID_TYPE", f"sObject type '{name}' is not supported.")
            types.append(obj)
        return records, types, _flag(data.get("allOrNone"))

    # --- create and update -----------------------------------------------------------------------

    def _save(self, call: Call, creating: bool) -> Reply:
        records, types, all_or_none = self._records(call)
        _check_chunks(types)
        store, ctx = self.store(), call.ctx
        batch = _Batch(store, ctx, all_or_none)
        seen: set[str] = set()
        for record, obj in zip(records, types, strict=True):
            data = {k: v for k, v in record.items() if k != "attributes"}
            given_id = next((data.pop(k) for k in list(data) if k.lower() == "id"), None)
            if creating:
                batch.run(lambda o=obj, d=data, i=given_id: self._create(o, d, i, store, ctx), existing=None)
                continue
            known = _known_id(given_id)
            duplicate = known is not None and known in seen
            seen.add(known or "")
            batch.run(
                lambda o=obj, d=data, i=given_id, dup=duplicate: self._update(o, d, i, dup, store, ctx),
                existing=known if known and known in store.records else None,
            )
        return Reply(200, batch.finish())

    @staticmethod
    def _create(
        obj: SObjectType, data: dict[str, Any], given_id: Any, store: Store, ctx: WriteContext
    ) -> Result:
        if given_id is not None:
            raise bad_request("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return {"id": store.create(obj, data, ctx).id, "success": True, "errors": []}

    @staticmethod
    def _update(
        obj: SObjectType,
        data: dict[str, Any],
        given_id: Any,
        duplicate: bool,
        store: Store,
        ctx: WriteContext,
    ) -> Result:
        if given_id in (None, ""):
            raise bad_request("MISSING_ARGUMENT", "Id not specified in an update call")
        if not isinstance(given_id, str) or not is_salesforce_id(given_id):
            raise bad_request("MALFORMED_ID", f"malformed id {given_id}")
        if duplicate:
            raise bad_request("DUPLICATE_VALUE", f"Duplicate id in list: {to_18(given_id)}", ["Id"])  # [I]
        record = store.require(obj, given_id)
        store.update(record, data, ctx)
        return {"id": record.id, "success": True, "errors": []}

    # --- upsert ----------------------------------------------------------------------------------

    def _upsert(self, call: Call, type_name: str, field_name: str) -> Reply:
        obj = self.schema.get(type_name)
        if obj is None:
            raise not_found()
        f = obj.field(field_name)
        if f is None or f.name == "Id" or not f.external_id:
            # [I] Salesforce's wording for an upsert on a field that is not an External ID.
            shown = f.name if f is not None else field_name
            raise bad_request(
                "INVALID_FIELD",
                f"Field name provided, {shown} is not an External ID or indexed field for {obj.name}",
            )
        records, types, all_or_none = self._records(call)
        for other in types:
            if other is not obj:
                raise bad_request(
                    "INVALID_TYPE", f"Records of type {other.name} can't be upserted on {obj.name}.{f.name}"
                )  # [I]
        store, ctx = self.store(), call.ctx
        values = [next((v for k, v in r.items() if k.lower() == f.name.lower()), None) for r in records]
        counts: dict[Any, int] = {}
        for value in values:
            key = _ext_key(f.case_sensitive, value)
            counts[key] = counts.get(key, 0) + 1
        batch = _Batch(store, ctx, all_or_none, upsert=True)
        for record, value in zip(records, values, strict=True):
            data = {k: v for k, v in record.items() if k != "attributes" and k.lower() != f.name.lower()}
            matches = [] if value in (None, "") else store.find(obj, f, value)
            batch.run(
                lambda d=data, v=value, m=matches: self._upsert_one(obj, f.name, d, v, m, counts, store, ctx),
                existing=matches[0].id if len(matches) == 1 else None,
            )
        return Reply(200, batch.finish())

    @staticmethod
    def _upsert_one(
        obj: SObjectType,
        field_name: str,
        data: dict[str, Any],
        value: Any,
        matches: list[Any],
        counts: dict[Any, int],
        store: Store,
        ctx: WriteContext,
    ) -> Result:
        f = obj.fields[field_name.lower()]
        if value in (None, ""):
            raise bad_request("MISSING_ARGUMENT", f"{field_name} not specified", [field_name])  # [I]
        if any(k.lower() == "id" for k in data):
            raise bad_request("INVALID_FIELD", "cannot specify Id in an upsert call", ["Id"])  # [I]
        if counts[_ext_key(f.case_sensitive, value)] > 1:
            raise bad_request(
                "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [field_name]
            )
        if len(matches) > 1:
            ids = ", ".join(r.id for r in matches)
            raise bad_request(
                "DUPLICATE_EXTERNAL_ID",
                f"{field_name}: more than one record found for external id field: [{ids}]",
                [field_name],
            )
        if matches:
            store.update(matches[0], data, ctx)
            return {"id": matches[0].id, "success": True, "errors": [], "created": False}
        record = store.create(obj, {**data, field_name: value}, ctx)
        return {"id": record.id, "success": True, "errors": [], "created": True}

    # --- delete ----------------------------------------------------------------------------------

    def _delete(self, call: Call) -> Reply:
        ids = [i.strip() for i in call.params.get("ids", "").split(",") if i.strip()]
        if not ids:
            raise bad_request("MISSING_ARGUMENT", "ids parameter is required")  # [I]
        _check_count(len(ids))
        store, ctx = self.store(), call.ctx
        batch = _Batch(store, ctx, _flag(call.params.get("allOrNone")))
        for given in ids:
            known = _known_id(given)
            batch.run(lambda g=given: self._delete_one(g, store, ctx), existing=known)
        return Reply(200, batch.finish())

    def _delete_one(self, given: str, store: Store, ctx: WriteContext) -> Result:
        if not is_salesforce_id(given):
            raise bad_request("MALFORMED_ID", f"malformed id {given}")
        obj = self.schema.by_prefix(given)
        if obj is None:
            raise not_found()
        record = store.require(obj, given)
        store.delete(record, ctx)
        return {"id": record.id, "success": True, "errors": []}


class _Batch:
    """Runs one record operation at a time and collects results; with ``allOrNone`` a failure rolls every
    record of this request back (changes of earlier composite subrequests in ``ctx`` are kept)."""

    def __init__(self, store: Store, ctx: WriteContext, all_or_none: bool, upsert: bool = False) -> None:
        self.store, self.ctx, self.all_or_none, self.upsert = store, ctx, all_or_none, upsert
        self.snapshot = store.snapshot() if all_or_none else None
        self.mark = len(ctx.changes)
        self.results: list[Result] = []
        self.existing: list[str | None] = []

    def run(self, operation: Callable[[], Result], existing: str | None) -> None:
        self.existing.append(existing)
        try:
            self.results.append(operation())
        except FakeSalesforceError as err:
            result = failure(err, existing)
            if self.upsert:
                result["created"] = False
            self.results.append(result)

    def finish(self) -> list[Result]:
        if not (self.all_or_none and has_failure(self.results)):
            return self.results
        self.store.restore(self.snapshot)
        del self.ctx.changes[self.mark :]
        out = []
        for result, existing in zip(self.results, self.existing, strict=True):
            if result["success"]:
                result = {"id": existing} if existing else {}
                result.update(success=False, errors=[dict(ROLLED_BACK)])
                if self.upsert:
                    result["created"] = False
            out.append(result)
        return out


def _check_count(count: int) -> None:
    if count > MAX_RECORDS:
        raise bad_request(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )


def _check_chunks(types: list[SObjectType]) -> None:
    """Consecutive records of one type form a chunk; a request may hold 10 chunks, and setup objects (users)
    cannot share a request with other objects."""
    chunks = sum(1 for i, t in enumerate(types) if i == 0 or types[i - 1] is not t)
    if chunks > MAX_CHUNKS:
        raise bad_request(
            "INVALID_BATCH_REQUEST",  # [I] the code; the message is Salesforce's
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.",
        )
    names = {t.name for t in types}
    if names & SETUP_OBJECTS and names - SETUP_OBJECTS:
        setup, other = sorted(names & SETUP_OBJECTS)[0], sorted(names - SETUP_OBJECTS)[0]
        raise bad_request(
            "MIXED_DML_OPERATION",
            "DML operation on setup object is not permitted after you have updated a non-setup object "
            f"(or vice versa): {setup}, original object: {other}",
        )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _known_id(value: Any) -> str | None:
    return to_18(value) if isinstance(value, str) and is_salesforce_id(value) else None


def _ext_key(case_sensitive: bool, value: Any) -> Any:
    text = "" if value is None else str(value)
    return text if case_sensitive else text.casefold()
