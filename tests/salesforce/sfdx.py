"""Reading the shipped SFDX source (``salesforce/``) in tests: files by type, parsed with defusedxml."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.template import REPO_ROOT

SALESFORCE = REPO_ROOT / "salesforce"
NS = "{http://soap.sforce.com/2006/04/metadata}"

# Suffix -> (root element, folder it must sit in), as the Metadata API registry has them. A file type not
# listed here fails the tests: add it here once it is confirmed with `make salesforce-validate`.
TYPES: dict[str, tuple[str, str]] = {
    ".field-meta.xml": ("CustomField", "fields"),
    ".object-meta.xml": ("CustomObject", "objects"),
    ".listView-meta.xml": ("ListView", "listViews"),
    ".layout-meta.xml": ("Layout", "layouts"),
    ".tab-meta.xml": ("CustomTab", "tabs"),
    ".flow-meta.xml": ("Flow", "flows"),
    ".workflow-meta.xml": ("Workflow", "workflows"),
    ".permissionset-meta.xml": ("PermissionSet", "permissionsets"),
    ".externalCredential-meta.xml": ("ExternalCredential", "externalCredentials"),
    ".namedCredential-meta.xml": ("NamedCredential", "namedCredentials"),
    ".externalServiceRegistration-meta.xml": ("ExternalServiceRegistration", "externalServiceRegistrations"),
    ".quickAction-meta.xml": (
        "QuickAction",
        "quickActions",
    ),  # not yet run through `make salesforce-validate`
}


def project() -> dict[str, Any]:
    return json.loads((SALESFORCE / "sfdx-project.json").read_text())


def package_dirs() -> list[Path]:
    return [SALESFORCE / d["path"] for d in project()["packageDirectories"]]


def default_dir() -> Path:
    return SALESFORCE / next(d["path"] for d in project()["packageDirectories"] if d.get("default"))


def objects_dir() -> Path:
    return default_dir() / "main" / "default" / "objects"


def xml_files() -> list[Path]:
    return sorted(p for p in SALESFORCE.rglob("*.xml") if ".sfdx" not in p.parts)


def parse(path: Path) -> Element:
    return ElementTree.parse(path).getroot()


def find(pattern: str) -> Path:
    """The one file matching ``pattern`` under salesforce/ (e.g. ``**/flows/X.flow-meta.xml``)."""
    [path] = list(SALESFORCE.glob(pattern))
    return path


def text(el: Element | None, tag: str, default: str = "") -> str:
    if el is None:
        return default
    child = el.find(NS + tag)
    return (child.text or "").strip() if child is not None else default


def texts(el: Element, path: str) -> list[str]:
    return [(c.text or "").strip() for c in el.findall("/".join(NS + p for p in path.split("/")))]


def children(el: Element, tag: str) -> list[Element]:
    return el.findall(NS + tag)


@cache
def _fake(objects: str) -> FakeSalesforce:
    return FakeSalesforce(metadata_dir=objects)


def describe_from(objects: Path):
    """``describe`` over the standard objects plus the custom fields and objects of an SFDX tree, as the
    fake org serves them (so what passes here passes against the fake's REST API too)."""
    fake = _fake(str(objects))

    def describe(sobject: str) -> dict[str, Any] | None:
        obj = fake.schema.get(sobject)
        return obj.describe("66.0") if obj is not None else None

    return describe
