"""The SFDX metadata an admin deploys (``salesforce/``): well-formed, one API version, and one source of truth
with the code: every field the worker reads or writes exists in the metadata or is a standard field."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sf_bigtime.clients.salesforce import PROJECT_OBJECT, SalesforceClient
from sf_bigtime.secrets import SalesforceClientCredentials
from sf_bigtime.settings import WorkerSettings
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.fake_salesforce.schema import standard_schema
from sf_bigtime_local.template import Template
from sf_bigtime_ops.fieldcheck import (
    FieldProblem,
    ResolvedField,
    find_problems,
    resolve_all,
    stack_field_uses,
    worker_soql,
)

from .sfdx import (
    NS,
    SALESFORCE,
    TYPES,
    children,
    describe_from,
    objects_dir,
    package_dirs,
    parse,
    project,
    text,
    xml_files,
)

WORKER_USES = stack_field_uses()  # the worker's and the reconcile sweep's, for the bundled mapping
RESOLVED = [r for r in resolve_all(WORKER_USES, describe_from(objects_dir())) if isinstance(r, ResolvedField)]
CUSTOM_FIELDS_USED = sorted({(r.sobject, r.name) for r in RESOLVED if r.custom})


# -- form ----------------------------------------------------------------------------------------------------
def test_every_xml_file_is_well_formed_metadata_of_a_known_type_in_its_folder() -> None:
    files = xml_files()
    assert len(files) >= 30  # the fields, object, layouts, flows, permission sets, credentials
    for path in files:
        suffix = next((s for s in TYPES if path.name.endswith(s)), None)
        assert suffix, f"{path}: unknown metadata file type (add it to tests/salesforce/sfdx.py TYPES)"
        root = parse(path)  # raises on malformed XML
        element, folder = TYPES[suffix]
        assert root.tag == NS + element, f"{path}: root {root.tag}, expected {element}"
        assert folder in path.relative_to(SALESFORCE).parts, f"{path} must be under a {folder}/ folder"
        if element in ("CustomField", "ListView"):
            name = path.name.removesuffix(suffix)
            assert text(root, "fullName") == name, f"{path}: fullName does not match the file name"


def test_package_directories_exist_and_only_the_default_one_is_deployed_by_the_guide() -> None:
    dirs = project()["packageDirectories"]
    assert [d["path"] for d in dirs if d.get("default")] == ["force-app"]
    for path in package_dirs():
        assert (path / "main" / "default").is_dir(), path


def test_api_versions_agree() -> None:
    version = project()["sourceApiVersion"]
    assert Template().parameter_default("SalesforceApiVersion") == version
    assert WorkerSettings.model_fields["salesforce_api_version"].default == version
    assert (
        SalesforceClient(SalesforceClientCredentials(consumer_key="k", consumer_secret="s")).api_version
        == version
    )
    pinned = {
        path.name: text(el, "apiVersion")
        for path in xml_files()
        for el in [parse(path), *parse(path).iter(NS + "outboundMessages")]
        if text(el, "apiVersion")
    }
    assert pinned, "the flows and the outbound message pin an API version"
    assert set(pinned.values()) == {version}, pinned


# -- one source of truth: the worker's fields ----------------------------------------------------------------
def test_every_field_the_worker_reads_or_writes_exists_in_the_metadata_or_is_standard() -> None:
    assert find_problems(WORKER_USES, describe_from(objects_dir())) == []
    # Custom fields can only come from the metadata: the fake's standard catalog has none ...
    standard = standard_schema()
    assert not [
        f"{o.name}.{f.name}" for o in standard.objects.values() for f in o.fields.values() if f.custom
    ]
    # ... and each one the worker uses has its file, so deleting a file is caught (next test).
    for sobject, field in CUSTOM_FIELDS_USED:
        assert (objects_dir() / sobject / "fields" / f"{field}.field-meta.xml").is_file()
    for r in RESOLVED:
        if not r.custom and not r.sobject.endswith("__c"):  # every custom object has Id, Name, OwnerId ...
            assert standard.get(r.sobject) is not None and standard.get(r.sobject).field(r.name), r
    assert (objects_dir() / PROJECT_OBJECT / f"{PROJECT_OBJECT}.object-meta.xml").is_file()


def test_the_cross_check_covers_reads_subqueries_relationships_and_writes() -> None:
    kinds = {(u.access, u.child is not None, "." in u.path) for u in WORKER_USES}
    assert {("read", False, False), ("read", False, True), ("read", True, True)} <= kinds
    assert {u.access for u in WORKER_USES} == {"read", "update", "upsert"}
    assert len(CUSTOM_FIELDS_USED) >= 10


def _metadata_without(tmp_path: Path, *relative: str) -> Path:
    copy = tmp_path / "objects"
    shutil.copytree(objects_dir(), copy)
    for rel in relative:
        target = copy / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return copy


@pytest.mark.parametrize(("sobject", "field"), CUSTOM_FIELDS_USED, ids=lambda v: str(v))
def test_the_cross_check_fails_when_a_field_the_worker_uses_is_removed(
    tmp_path: Path, sobject: str, field: str
) -> None:
    # Salesforce refuses to delete a field a formula uses: the formulas go with it.
    formulas = [
        f"{sobject}/fields/{p.name}"
        for p in (objects_dir() / sobject / "fields").glob("*.field-meta.xml")
        if re.search(rf"\b{field}\b", text(parse(p), "formula"))
    ]
    fixture = _metadata_without(tmp_path, f"{sobject}/fields/{field}.field-meta.xml", *formulas)
    problems = find_problems(WORKER_USES, describe_from(fixture))
    assert problems, f"removing {sobject}.{field} went unnoticed"
    assert all(isinstance(p, FieldProblem) for p in problems)
    assert {p.use.path.split(".")[-1] for p in problems} == {field}
    assert any(f"has no field {field}" in p.reason for p in problems)


def test_the_cross_check_fails_when_the_project_object_is_removed(tmp_path: Path) -> None:
    problems = find_problems(WORKER_USES, describe_from(_metadata_without(tmp_path, PROJECT_OBJECT)))
    assert {p.use.sobject for p in problems} == {PROJECT_OBJECT}
    assert all("does not exist" in p.reason for p in problems)


def test_the_fake_org_built_from_the_metadata_runs_the_workers_query(tmp_path: Path) -> None:
    # The same truth from another side: the SOQL the worker sends, resolved by the fake's SOQL engine.
    assert FakeSalesforce(metadata_dir=objects_dir()).query(worker_soql())["totalSize"] == 0
    broken = FakeSalesforce(
        metadata_dir=_metadata_without(tmp_path, "Opportunity/fields/BigTime_Sync_Status__c.field-meta.xml")
    )
    with pytest.raises(Exception, match="BigTime_Sync_Status__c"):
        broken.query(worker_soql())


# -- permission sets -----------------------------------------------------------------------------------------
# Standard fields without field-level security (so they cannot, and need not, be in a permission set):
# required fields, system and formula fields, ids, and fields of objects reached through relationships whose
# access comes from elsewhere (users, record types, contact roles through their Opportunity).
NO_FIELD_PERMISSION = {
    "Opportunity": {
        "Id",
        "Name",
        "StageName",
        "CloseDate",
        "IsWon",
        "IsClosed",
        "IsDeleted",
        "OwnerId",
        "RecordTypeId",
    }
    | {"LastModifiedDate", "SystemModstamp", "CreatedDate"},
    "Account": {"Id", "Name"},
    "Contact": {"Id", "FirstName", "LastName"},
    "User": {"Name", "Email"},
    "RecordType": {"DeveloperName"},
    "OpportunityContactRole": {"Id", "ContactId", "Role", "IsPrimary", "IsDeleted", "CreatedDate"},
    # Line items and team members are read through their Opportunity; Quantity and a product's Name are
    # required fields.
    "OpportunityLineItem": {"Id", "IsDeleted", "CreatedDate", "Quantity"},
    "OpportunityTeamMember": {"Id", "IsDeleted", "CreatedDate", "UserId", "TeamMemberRole"},
    "Product2": {"Name"},
    PROJECT_OBJECT: {"Id", "Name", "CreatedDate"},
}
ADDRESS_PARTS = re.compile(
    r"^(Billing|Shipping|Mailing|Other)(Street|City|State|PostalCode|Country|StateCode|CountryCode|Latitude|Longitude|GeocodeAccuracy)$"
)


def _permissions(name: str) -> tuple[dict[str, tuple[bool, bool]], dict[str, dict[str, bool]], set[str]]:
    [path] = SALESFORCE.glob(f"**/permissionsets/{name}.permissionset-meta.xml")
    root = parse(path)
    fields = {
        text(f, "field"): (text(f, "readable") == "true", text(f, "editable") == "true")
        for f in children(root, "fieldPermissions")
    }
    objects = {
        text(o, "object"): {t.tag.removeprefix(NS): (t.text == "true") for t in o if t.tag != NS + "object"}
        for o in children(root, "objectPermissions")
    }
    users = {text(u, "name") for u in children(root, "userPermissions") if text(u, "enabled") == "true"}
    return fields, objects, users


def _permissionable(sobject: str, field: str) -> str | None:
    """The field-permission name of a field, or None when it has no field-level security."""
    if field in NO_FIELD_PERMISSION.get(sobject, set()):
        return None
    parts = ADDRESS_PARTS.match(field)
    return f"{sobject}.{parts.group(1)}Address" if parts else f"{sobject}.{field}"


def test_integration_permission_set_grants_every_field_the_worker_reads_and_writes() -> None:
    fields, objects, users = _permissions("BigTime_Integration")
    assert "ApiEnabled" in users
    missing = []
    for r in RESOLVED:
        name = _permissionable(r.sobject, r.name)
        if name is None:
            continue
        readable, editable = fields.get(name, (False, False))
        if not readable or (r.use.access != "read" and not editable):
            missing.append(f"{name} ({r.use.access})")
    assert not missing, f"add to BigTime_Integration (or to NO_FIELD_PERMISSION with a reason): {missing}"
    for sobject in ("Opportunity", "Account", "Contact", "Product2"):
        assert objects[sobject]["allowRead"] and objects[sobject]["viewAllRecords"], sobject
    assert objects["Opportunity"]["allowEdit"]
    assert objects[PROJECT_OBJECT]["allowCreate"] and objects[PROJECT_OBJECT]["allowEdit"]
    assert not any(o["allowDelete"] or o["modifyAllRecords"] for o in objects.values())


def test_permission_sets_name_only_existing_optional_fields() -> None:
    describe = describe_from(objects_dir())
    for name in ("BigTime_Integration", "BigTime_Sync_User"):
        fields, objects, _ = _permissions(name)
        for full in fields:
            sobject, field = full.split(".")
            entry = next((f for f in (describe(sobject) or {}).get("fields", []) if f["name"] == field), None)
            compound = field.endswith("Address") and entry is None and sobject in ("Account", "Contact")
            assert entry is not None or compound, f"{name}: {full} does not exist"
            if entry is not None:
                # Required fields cannot have field permissions: the deploy would fail. A checkbox is never
                # null (not nillable) but defaults to false, so it is not required.
                optional = entry["nillable"] or entry["defaultedOnCreate"] or not entry["createable"]
                assert optional, f"{name}: {full} is required"
        for sobject in objects:
            assert describe(sobject) is not None, f"{name}: object {sobject}"


def test_viewer_permission_set_shows_every_bigtime_field_read_only() -> None:
    fields, objects, _ = _permissions("BigTime_Sync_User")
    opportunity = {
        p.stem.removesuffix(".field-meta") for p in (objects_dir() / "Opportunity" / "fields").iterdir()
    }
    project_fields = {
        p.stem.removesuffix(".field-meta") for p in (objects_dir() / PROJECT_OBJECT / "fields").iterdir()
    }
    expected = {f"Opportunity.{f}" for f in opportunity} | {f"{PROJECT_OBJECT}.{f}" for f in project_fields}
    assert set(fields) == expected
    assert all(readable and not editable for readable, editable in fields.values())
    assert objects == {PROJECT_OBJECT: {k: k == "allowRead" for k in objects[PROJECT_OBJECT]}}
    [path] = SALESFORCE.glob("**/permissionsets/BigTime_Sync_User.permissionset-meta.xml")
    tabs = {text(t, "tab"): text(t, "visibility") for t in children(parse(path), "tabSettings")}
    assert tabs == {PROJECT_OBJECT: "Visible"}
    assert (next(SALESFORCE.glob(f"**/tabs/{PROJECT_OBJECT}.tab-meta.xml"))).is_file()


# -- layouts, list view ----------------------------------------------------------------------------------------
def test_layouts_show_the_bigtime_projects_related_list_and_only_existing_fields() -> None:
    describe = describe_from(objects_dir())
    lookups = {
        text(parse(p), "referenceTo"): p.name.removesuffix(".field-meta.xml")
        for p in (objects_dir() / PROJECT_OBJECT / "fields").glob("*.field-meta.xml")
        if text(parse(p), "type") == "Lookup"
    }
    project_fields = {f["name"] for f in describe(PROJECT_OBJECT)["fields"]}
    layouts = {
        p.name.removesuffix(".layout-meta.xml"): parse(p)
        for p in SALESFORCE.glob("**/layouts/*.layout-meta.xml")
    }
    assert {name.split("-", 1)[0] for name in layouts} == {"Opportunity", "Account", PROJECT_OBJECT}
    for name, root in layouts.items():
        sobject = name.split("-", 1)[0]
        fields = {f["name"] for f in describe(sobject)["fields"]} | {"BillingAddress", "ShippingAddress"}
        used = [text(i, "field") for i in root.iter(NS + "layoutItems")]
        assert used and set(used) <= fields, (name, set(used) - fields)
        related = {
            text(r, "relatedList"): [c.text for c in children(r, "fields")]
            for r in children(root, "relatedLists")
        }
        if sobject in lookups:
            key = f"{PROJECT_OBJECT}.{lookups[sobject]}"
            assert key in related, f"{name} lacks the BigTime Projects related list"
            assert set(related[key]) - {"NAME"} <= project_fields
    list_view = parse(next(SALESFORCE.glob(f"**/{PROJECT_OBJECT}/listViews/All.listView-meta.xml")))
    assert set(c.text for c in children(list_view, "columns")) - {"NAME"} <= project_fields


# -- limits Salesforce enforces at deploy time ---------------------------------------------------------------
def test_labels_and_descriptions_fit_salesforce_limits() -> None:
    for path in xml_files():
        root = parse(path)
        kind = root.tag.removeprefix(NS)
        for el in root.iter():
            tag, value = el.tag.removeprefix(NS), (el.text or "").strip()
            if tag == "inlineHelpText":
                assert len(value) <= 510, path
            elif tag == "description":
                limit = 1000 if kind in ("CustomField", "CustomObject") else 255
                assert len(value) <= limit, (path, len(value))
        if kind == "CustomField":
            assert len(text(root, "label")) <= 40, path


def test_placeholders_are_all_filled_in_at_deploy_time_from_documented_variables() -> None:
    replacements = project()["replacements"]
    guide = (SALESFORCE.parent / "docs" / "setup.md").read_text()
    for r in replacements:
        path = SALESFORCE / r["filename"]
        assert r["stringToReplace"] in path.read_text(), r
        assert f"export {r['replaceWithEnv']}=" in guide, (
            f"docs/setup.md must say how to set {r['replaceWithEnv']}"
        )
        assert "allowUnsetEnvVariable" not in r  # unset -> the deploy stops before sending anything
    covered = {(str(SALESFORCE / r["filename"]), r["stringToReplace"]) for r in replacements}
    for path in xml_files():
        for token in set(re.findall(r"__SF_BIGTIME_[A-Z_]+__", path.read_text())):
            assert (str(path), token) in covered, f"{path}: {token} is never replaced"
    json.dumps(replacements)  # the project file stays plain JSON


# -- the figures pulled from BigTime ---------------------------------------------------------------------------
def _project_field_files() -> dict[str, object]:
    return {
        p.name.removesuffix(".field-meta.xml"): parse(p)
        for p in (objects_dir() / PROJECT_OBJECT / "fields").glob("*.field-meta.xml")
    }


def test_formula_fields_are_read_only_everywhere() -> None:
    formulas = {name for name, root in _project_field_files().items() if text(root, "formula")}
    assert formulas == {"Hours_Used_Percent__c", "Fees_Remaining__c", "Budget_Health__c"}
    for name in ("BigTime_Integration", "BigTime_Sync_User"):
        fields, _, _ = _permissions(name)
        for formula in formulas:
            # A formula field in a permission set with editable=true fails the deploy.
            assert fields[f"{PROJECT_OBJECT}.{formula}"] == (True, False), (name, formula)


def test_the_project_layout_shows_every_project_field() -> None:
    [layout] = SALESFORCE.glob(f"**/layouts/{PROJECT_OBJECT}-*.layout-meta.xml")
    shown = {text(i, "field") for i in parse(layout).iter(NS + "layoutItems")}
    assert set(_project_field_files()) <= shown, set(_project_field_files()) - shown
