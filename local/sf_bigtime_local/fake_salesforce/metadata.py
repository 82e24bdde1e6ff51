"""Read custom fields and objects from SFDX source-format metadata, so the fake serves exactly the fields
an admin deploys (``salesforce/force-app/main/default/objects``).

Layout: ``<objects>/<Object>/fields/<Field__c>.field-meta.xml`` for fields, and
``<objects>/<Custom__c>/<Custom__c>.object-meta.xml`` for a custom object. Parsed with defusedxml.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from .formula import FormulaError, compile_formula
from .schema import Field, Schema, SObjectType, audit_fields

NS = "{http://soap.sforce.com/2006/04/metadata}"
FIRST_CUSTOM_PREFIX = "a0B"  # key prefixes of custom objects are org-specific; the fake hands out a0B, a0C, …

_SIMPLE_TYPES: dict[str, tuple[str, int]] = {
    # metadata type -> (describe type, default length)
    "Text": ("string", 255),
    "TextArea": ("textarea", 255),
    "LongTextArea": ("textarea", 32768),
    "Html": ("textarea", 32768),
    "Url": ("url", 255),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Number": ("double", 0),
    "Currency": ("currency", 0),
    "Percent": ("percent", 0),
    "Checkbox": ("boolean", 0),
    "Date": ("date", 0),
    "DateTime": ("datetime", 0),
    "Picklist": ("picklist", 255),
}


class MetadataError(ValueError):
    """The metadata cannot be loaded (unknown type, malformed XML, name mismatch)."""


def _text(el: Element, tag: str, default: str = "") -> str:
    child = el.find(NS + tag)
    return (child.text or "").strip() if child is not None else default


def _bool(el: Element, tag: str) -> bool:
    return _text(el, tag).lower() == "true"


def _parse(path: Path) -> Element:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise MetadataError(f"{path}: {exc}") from exc
    if root is None:
        raise MetadataError(f"{path}: empty document")
    return root


def parse_field(path: Path, object_name: str) -> Field:
    """One ``*.field-meta.xml`` file → :class:`Field`."""
    root = _parse(path)
    if root.tag != NS + "CustomField":
        raise MetadataError(f"{path}: root element is {root.tag}, expected CustomField")
    name = _text(root, "fullName") or path.name.removesuffix(".field-meta.xml")
    if name != path.name.removesuffix(".field-meta.xml"):
        raise MetadataError(f"{path}: fullName {name!r} does not match the file name")
    if not name.endswith("__c"):
        raise MetadataError(f"{path}: custom field names end in __c")
    mtype = _text(root, "type")
    label = _text(root, "label") or name
    common = {
        "label": label,
        "custom": True,
        "description": _text(root, "description"),
        "external_id": _bool(root, "externalId"),
        "unique": _bool(root, "unique"),
        "case_sensitive": _bool(root, "caseSensitive"),
        "required": _bool(root, "required"),
    }
    if mtype in ("Lookup", "MasterDetail"):
        target = _text(root, "referenceTo")
        if not target:
            raise MetadataError(f"{path}: {mtype} without referenceTo")
        rel = _text(root, "relationshipName")
        master = mtype == "MasterDetail"
        return Field(
            name,
            "reference",
            length=18,
            reference_to=(target,),
            relationship_name=name.removesuffix("__c") + "__r",
            child_relationship=f"{rel}__r" if rel else None,
            cascade_delete=master or _text(root, "deleteConstraint") == "Cascade",
            **{**common, "required": master or common["required"]},
        )
    if mtype not in _SIMPLE_TYPES:
        raise MetadataError(f"{path}: field type {mtype!r} is not supported by the fake")
    ftype, default_length = _SIMPLE_TYPES[mtype]
    formula = _text(root, "formula")
    blanks = _text(root, "formulaTreatBlanksAs", "BlankAsZero")
    if formula:
        # Read-only, computed on read; compiled once the object's other fields are known (load_metadata).
        common |= {"required": False, "createable": False, "updateable": False}
        if blanks not in ("BlankAsZero", "BlankAsBlank"):
            raise MetadataError(f"{path}: formulaTreatBlanksAs must be BlankAsZero or BlankAsBlank")
        default_length = 1300 if ftype == "string" else default_length
    length = int(_text(root, "length") or default_length)
    precision = int(_text(root, "precision") or 0)
    scale = int(_text(root, "scale") or 0)
    default: object = None
    values: tuple[str, ...] = ()
    restricted = False
    if mtype == "Checkbox":
        default = _text(root, "defaultValue", "false").lower() == "true"
    if mtype == "Picklist":
        value_set = root.find(NS + "valueSet")
        if value_set is not None:
            restricted = _bool(value_set, "restricted")
            definition = value_set.find(NS + "valueSetDefinition")
            entries = definition.findall(NS + "value") if definition is not None else []
            values = tuple(_text(v, "fullName") for v in entries)
            defaults = [_text(v, "fullName") for v in entries if _bool(v, "default")]
            default = defaults[0] if defaults else None
    return Field(
        name,
        ftype,
        length=length,
        precision=precision,
        scale=scale,
        default=default,
        picklist_values=values,
        restricted=restricted,
        formula=formula,
        formula_blanks_as_zero=blanks == "BlankAsZero",
        **common,
    )


def _compile_formulas(obj: SObjectType, path: Path) -> None:
    """Give every formula field of ``obj`` its ``compute`` (after all of the object's fields are known)."""
    known = {f.name.lower(): (f.name, f.type) for f in obj.fields.values()}
    for f in obj.fields.values():
        if not f.formula:
            continue
        try:
            f.compute = compile_formula(f.formula, known, f.type, f.scale, f.formula_blanks_as_zero)
        except FormulaError as exc:
            raise MetadataError(f"{path}/{f.name}: formula: {exc}") from exc


def parse_object(path: Path, key_prefix: str) -> SObjectType:
    """A custom object's ``*.object-meta.xml`` → :class:`SObjectType` with its standard fields."""
    root = _parse(path)
    if root.tag != NS + "CustomObject":
        raise MetadataError(f"{path}: root element is {root.tag}, expected CustomObject")
    name = path.name.removesuffix(".object-meta.xml")
    obj = SObjectType(
        name,
        key_prefix,
        label=_text(root, "label") or name,
        label_plural=_text(root, "pluralLabel") or name,
        custom=True,
        description=_text(root, "description"),
    )
    name_field = root.find(NS + "nameField")
    auto_number = name_field is not None and _text(name_field, "type") == "AutoNumber"
    name_label = _text(name_field, "label") if name_field is not None else ""
    lead, tail = audit_fields()
    obj.add(*lead)
    obj.add(
        Field(
            "OwnerId",
            "reference",
            "Owner ID",
            length=18,
            reference_to=("User",),
            relationship_name="Owner",
        ),
        Field(
            "Name",
            "string",
            name_label or f"{obj.label} Name",
            length=80,
            required=not auto_number,
            createable=not auto_number,
            updateable=not auto_number,
        ),
    )
    obj.add(*tail)
    return obj


def load_metadata(schema: Schema, objects_dir: Path) -> None:
    """Add custom objects and fields found under ``objects_dir`` to ``schema`` (in place), then link."""
    if not objects_dir.is_dir():
        raise MetadataError(f"{objects_dir} is not a directory")
    prefix = FIRST_CUSTOM_PREFIX
    for obj_dir in sorted(p for p in objects_dir.iterdir() if p.is_dir()):
        obj_file = obj_dir / f"{obj_dir.name}.object-meta.xml"
        obj = schema.get(obj_dir.name)
        if obj is None:
            if not obj_dir.name.endswith("__c") or not obj_file.exists():
                continue  # a standard object the fake does not model; its fields cannot be served
            obj = schema.add(parse_object(obj_file, prefix))
            prefix = _next_prefix(prefix)
        fields_dir = obj_dir / "fields"
        if not fields_dir.is_dir():
            continue
        custom = [parse_field(p, obj.name) for p in sorted(fields_dir.glob("*.field-meta.xml"))]
        # Custom fields sit before the trailing audit fields, as in a real describe.
        audit = [f for f in obj.fields.values() if f.name in _AUDIT_TAIL]
        for f in audit:
            del obj.fields[f.name.lower()]
        obj.add(*custom, *audit)
        _compile_formulas(obj, fields_dir)
    schema.link()


_AUDIT_TAIL = frozenset(
    {"IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}
)


def _next_prefix(prefix: str) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return prefix[:2] + alphabet[(alphabet.index(prefix[2]) + 1) % len(alphabet)]
