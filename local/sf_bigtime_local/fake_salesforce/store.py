"""Records, ids and the write rules Salesforce applies on save.

Writes validate first and mutate after, so a failed write leaves nothing behind; every successful write
appends :class:`Change` entries to its :class:`WriteContext`, which the app commits (CDC, flows) once the
whole transaction succeeded. Deleted records stay in a recycle bin (``IsDeleted`` true) until undeleted.
The app holds one lock around every call, so the store itself is not locked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sf_bigtime.sfid import checksum, is_salesforce_id, to_18

from .errors import FakeSalesforceError, bad_request, entity_is_deleted, not_found
from .schema import ID_TYPES, STAGES_BY_NAME, Field, Schema, SObjectType
from .values import coerce

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_AUDIT = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")


class IdGenerator:
    """Deterministic 18-character ids: key prefix + pod ``5w0`` + a base-62 counter + checksum."""

    def __init__(self) -> None:
        self.counter = 0

    def next(self, prefix: str) -> str:
        self.counter += 1
        n, digits = self.counter, ""
        while n:
            n, rem = divmod(n, 62)
            digits = _BASE62[rem] + digits
        id15 = f"{prefix}5w0{digits:0>9}"
        return id15 + checksum(id15)


@dataclass
class Record:
    """One stored record; ``values`` holds every field of the object under its schema name."""

    sobject: SObjectType
    values: dict[str, Any]
    deleted: bool = False
    cascade_root: str | None = None  # id of the record whose delete moved this one to the recycle bin
    nulled_refs: list[tuple[str, str, str]] = field(default_factory=list)  # (record id, field, old id)

    @property
    def id(self) -> str:
        return str(self.values["Id"])

    def value(self, f: Field) -> Any:
        if f.compute is not None:
            return f.compute(self.values)
        if f.name == "IsDeleted":
            return self.deleted
        return self.values.get(f.name)


@dataclass
class Change:
    """One committed DML on one record, as CDC and flows see it."""

    kind: str  # CREATE | UPDATE | DELETE | UNDELETE
    sobject: str
    record_id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    changed: list[str]
    nulled: list[str]
    user_id: str
    client: str | None
    api: bool
    version: str
    time: datetime


@dataclass
class WriteContext:
    """Who writes and how (REST or programmatic), and the changes made so far in this transaction."""

    user_id: str
    client: str | None = None
    api: bool = True
    version: str = "66.0"
    changes: list[Change] = field(default_factory=list)


class SaveRules(Protocol):
    """Object-specific rules Salesforce applies on save (line items, price books, …), hooked into the store.

    ``before_save`` validates and derives values before anything is written (raise to refuse the save);
    ``before_delete`` runs for every record a delete would remove (cascades included) before any is removed;
    the ``after_*`` hooks may write other records as system changes (roll-ups) through the store.
    """

    def before_save(
        self,
        store: Store,
        sobject: SObjectType,
        values: dict[str, Any],
        given: dict[str, Any],
        old: dict[str, Any] | None,
    ) -> None: ...

    def after_save(
        self, store: Store, record: Record, old: dict[str, Any] | None, ctx: WriteContext
    ) -> None: ...

    def before_delete(self, store: Store, record: Record) -> None: ...

    def after_delete(self, store: Store, record: Record, ctx: WriteContext) -> None: ...

    def after_undelete(self, store: Store, record: Record, ctx: WriteContext) -> None: ...


class Store:
    """All records by id, and per object in insertion order."""

    def __init__(
        self,
        schema: Schema,
        clock: Callable[[], datetime],
        ids: IdGenerator,
        rules: Iterable[SaveRules] = (),
    ) -> None:
        self.schema = schema
        self.clock = clock
        self.ids = ids
        self.rules = list(rules)
        self.records: dict[str, Record] = {}
        self.by_type: dict[str, dict[str, Record]] = {name: {} for name in schema.objects}

    # --- reads -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def get(self, record_id: str) -> Record | None:
        if not isinstance(record_id, str) or not is_salesforce_id(record_id):
            return None
        return self.records.get(to_18(record_id))

    def all(self, sobject: SObjectType, include_deleted: bool = False) -> list[Record]:
        records = self.by_type[sobject.name.lower()].values()
        return [r for r in records if include_deleted or not r.deleted]

    def find(self, sobject: SObjectType, f: Field, value: Any, include_deleted: bool = False) -> list[Record]:
        """Records whose ``f`` equals ``value`` (text compared case-insensitively unless case-sensitive)."""
        key = _match_key(f, value)
        return [r for r in self.all(sobject, include_deleted) if _match_key(f, r.value(f)) == key]

    def require(self, sobject: SObjectType, record_id: str) -> Record:
        """The live record ``record_id`` of type ``sobject``, or the error Salesforce answers."""
        if not is_salesforce_id(record_id):
            raise bad_request("MALFORMED_ID", f"{sobject.label} ID: id value of incorrect type: {record_id}")
        if record_id[:3] != sobject.key_prefix:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
        record = self.records.get(to_18(record_id))
        if record is None:
            raise not_found()
        if record.deleted:
            raise entity_is_deleted()
        return record

    # --- writes ----------------------------------------------------------------------------------

    def create(self, sobject: SObjectType, data: Any, ctx: WriteContext) -> Record:
        if not sobject.createable:
            raise bad_request("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {sobject.name}")
        given = self._prepare(sobject, data, creating=True)
        values: dict[str, Any] = {}
        for f in sobject.fields.values():
            if f.compute is None:
                values[f.name] = (
                    f.default if f.default is not None else (False if f.type == "boolean" else None)
                )
        if "OwnerId" in values:
            values["OwnerId"] = ctx.user_id
        values.update(given)
        _derive(sobject, values, given, old=None)
        for rule in self.rules:
            rule.before_save(self, sobject, values, given, None)
        self._check_required(sobject, values)
        self._check_unique(sobject, values, exclude=None)
        now = self.now()
        values["Id"] = self.ids.next(sobject.key_prefix)
        for name in _AUDIT:
            if name in values:
                values[name] = ctx.user_id if name.endswith("ById") else now
        record = Record(sobject, values)
        self.records[record.id] = record
        self.by_type[sobject.name.lower()][record.id] = record
        self._log(ctx, "CREATE", record, None, [], [])
        self._after_save(record, None, ctx)
        return record

    def update(self, record: Record, data: Any, ctx: WriteContext) -> None:
        sobject = record.sobject
        if not sobject.updateable:
            raise bad_request("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {sobject.name}")
        if record.deleted:
            raise entity_is_deleted()
        given = self._prepare(sobject, data, creating=False)
        old = record.values
        values = dict(old)
        values.update(given)
        _derive(sobject, values, given, old=old)
        for rule in self.rules:
            rule.before_save(self, sobject, values, given, old)
        self._check_required(sobject, values)
        self._check_unique(sobject, values, exclude=record.id)
        self._apply_update(record, values, ctx)
        self._after_save(record, old, ctx)

    def delete(self, record: Record, ctx: WriteContext) -> None:
        if not record.sobject.deletable:
            raise bad_request(
                "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {record.sobject.name}"
            )
        if record.deleted:
            raise entity_is_deleted()
        tree = self._cascade(record)
        for doomed in tree:
            for rule in self.rules:
                rule.before_delete(self, doomed)
        record.nulled_refs = []
        self._delete_tree(record, record, ctx)
        for gone in tree:
            for rule in self.rules:
                rule.after_delete(self, gone, ctx)

    def undelete(self, record: Record, ctx: WriteContext) -> None:
        if not record.deleted:
            raise bad_request("UNDELETE_FAILED", "Entity is not in the recycle bin")
        self._check_unique(record.sobject, record.values, exclude=record.id)
        now = self.now()
        group = [record] + [r for r in self.records.values() if r.deleted and r.cascade_root == record.id]
        for r in group:
            r.deleted = False
            r.cascade_root = None
            r.values["LastModifiedDate"] = r.values["SystemModstamp"] = now
            r.values["LastModifiedById"] = ctx.user_id
            self._log(ctx, "UNDELETE", r, None, [], [])
        for child_id, name, old in record.nulled_refs:
            child = self.records.get(child_id)
            if child is not None and child.values.get(name) is None:
                child.values[name] = old
        record.nulled_refs = []
        for r in group:
            for rule in self.rules:
                rule.after_undelete(self, r, ctx)

    # --- system writes (roll-ups and copied values, used by save rules) ------------------------------

    def system_update(self, record: Record, changes: dict[str, Any], ctx: WriteContext) -> None:
        """Write ``changes`` to ``record`` as the platform does for a roll-up: no validation, but a real
        save (LastModifiedDate bumps, CDC and flows see an UPDATE). Nothing happens if nothing changes."""
        if all(record.values.get(k) == v for k, v in changes.items()):
            return
        self._apply_update(record, {**record.values, **changes}, ctx)

    def live_children(self, sobject: str, field_name: str, parent_id: str) -> list[Record]:
        """Live records of ``sobject`` whose ``field_name`` points at ``parent_id``."""
        found = self.schema.get(sobject)
        if found is None:
            return []
        return [r for r in self.all(found) if r.values.get(field_name) == parent_id]

    # --- transactions ----------------------------------------------------------------------------

    def snapshot(self) -> Any:
        """Everything needed to roll back (values are immutable scalars, so shallow copies suffice)."""
        return (
            self.ids.counter,
            {name: list(recs) for name, recs in self.by_type.items()},
            {
                rid: (r, dict(r.values), r.deleted, r.cascade_root, list(r.nulled_refs))
                for rid, r in self.records.items()
            },
        )

    def restore(self, snap: Any) -> None:
        counter, order, saved = snap
        self.ids.counter = counter
        self.records = {}
        for rid, (record, values, deleted, root, nulled) in saved.items():
            record.values, record.deleted, record.cascade_root, record.nulled_refs = (
                values,
                deleted,
                root,
                nulled,
            )
            self.records[rid] = record
        self.by_type = {name: {rid: self.records[rid] for rid in ids} for name, ids in order.items()}

    # --- internals -------------------------------------------------------------------------------

    def _prepare(self, sobject: SObjectType, data: Any, creating: bool) -> dict[str, Any]:
        """Validate the JSON body of a create/update into ``{schema name: stored value}``."""
        if not isinstance(data, dict):
            kind = "START_ARRAY" if isinstance(data, list) else "VALUE"
            raise bad_request(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {sobject.name} from {kind} value or request may be missing "
                "a required field at [line:1, column:1]",
            )
        out: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in data.items():
            if key == "attributes":
                continue
            f = sobject.field(key)
            if f is None:
                raise bad_request(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}", [key]
                )
            if not (f.createable if creating else f.updateable) or f.compute is not None:
                read_only.append(f.name)
                continue
            out[f.name] = coerce(f, raw)
        if read_only:
            raise bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission set.",
                read_only,
            )
        for name, value in out.items():
            f = sobject.fields[name.lower()]
            if f.type == "reference" and value is not None:
                self._check_reference(f, value)
        return out

    def _check_reference(self, f: Field, value: str) -> None:
        targets = [self.schema.get(t) for t in f.reference_to]
        prefixes = {t.key_prefix for t in targets if t is not None}
        if value[:3] not in prefixes:
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        target = self.records.get(value)
        if target is None:
            raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if target.deleted:
            raise FakeSalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [f.name])

    def _check_required(self, sobject: SObjectType, values: dict[str, Any]) -> None:
        missing = [
            f.name
            for f in sobject.fields.values()
            if f.required and f.compute is None and values.get(f.name) in (None, "")
        ]
        if missing:
            raise bad_request(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )

    def _check_unique(self, sobject: SObjectType, values: dict[str, Any], exclude: str | None) -> None:
        for f in sobject.fields.values():
            value = values.get(f.name)
            if not f.unique or value is None:
                continue
            for other in self.find(sobject, f, value):
                if other.id != exclude:
                    raise bad_request(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {other.id}",
                    )

    def _apply_update(self, record: Record, values: dict[str, Any], ctx: WriteContext) -> None:
        old = record.values
        now = self.now()
        values["LastModifiedDate"] = values["SystemModstamp"] = now
        values["LastModifiedById"] = ctx.user_id
        changed = [name for name in values if name != "SystemModstamp" and values[name] != old.get(name)]
        if "LastModifiedDate" not in changed:
            changed.append("LastModifiedDate")  # every save bumps it, even at one-second resolution
        nulled = [name for name in changed if values[name] is None]
        record.values = values
        self._log(ctx, "UPDATE", record, old, changed, nulled)

    def _after_save(self, record: Record, old: dict[str, Any] | None, ctx: WriteContext) -> None:
        for rule in self.rules:
            rule.after_save(self, record, old, ctx)
        # Only one primary contact role per opportunity: marking one primary clears the others.
        if record.sobject.name == "OpportunityContactRole" and record.values.get("IsPrimary"):
            opp = record.values.get("OpportunityId")
            for other in self.all(record.sobject):
                if (
                    other.id != record.id
                    and other.values.get("OpportunityId") == opp
                    and other.values.get("IsPrimary")
                ):
                    values = dict(other.values)
                    values["IsPrimary"] = False
                    self._apply_update(other, values, ctx)

    def _cascade(self, record: Record) -> list[Record]:
        """``record`` and every live record a delete of it would cascade to."""
        out = [record]
        for rel in record.sobject.children.values():
            child_type = self.schema.get(rel.child)
            if rel.cascade_delete and child_type is not None:
                for child in self.all(child_type):
                    if child.values.get(rel.field) == record.id:
                        out.extend(self._cascade(child))
        return out

    def _delete_tree(self, record: Record, root: Record, ctx: WriteContext) -> None:
        record.deleted = True
        record.cascade_root = None if record is root else root.id
        self._log(ctx, "DELETE", record, dict(record.values), [], [])
        for rel in record.sobject.children.values():
            child_type = self.schema.get(rel.child)
            if child_type is None:
                continue
            for child in self.all(child_type):
                if child.values.get(rel.field) != record.id:
                    continue
                if rel.cascade_delete:
                    self._delete_tree(child, root, ctx)
                else:
                    root.nulled_refs.append((child.id, rel.field, record.id))
                    child.values[rel.field] = None

    def _log(
        self,
        ctx: WriteContext,
        kind: str,
        record: Record,
        old: dict[str, Any] | None,
        changed: list[str],
        nulled: list[str],
    ) -> None:
        ctx.changes.append(
            Change(
                kind,
                record.sobject.name,
                record.id,
                old,
                dict(record.values),
                changed,
                nulled,
                ctx.user_id,
                ctx.client,
                ctx.api,
                ctx.version,
                self.now(),
            )
        )


def _derive(
    sobject: SObjectType, values: dict[str, Any], given: dict[str, Any], old: dict[str, Any] | None
) -> None:
    """Opportunity: IsWon/IsClosed follow the stage; Probability and forecast category default from it."""
    if sobject.name != "Opportunity":
        return
    stage = STAGES_BY_NAME.get(values.get("StageName") or "")
    if stage is None:
        return
    _, probability, forecast, closed, won = stage
    values["IsClosed"], values["IsWon"] = closed, won
    if old is None or old.get("StageName") != values.get("StageName"):
        if "Probability" not in given:
            values["Probability"] = probability
        if "ForecastCategoryName" not in given:
            values["ForecastCategoryName"] = forecast


def _match_key(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.type in ID_TYPES and isinstance(value, str) and is_salesforce_id(value):
        return to_18(value)
    if isinstance(value, str) and not f.case_sensitive:
        return value.casefold()
    return value
