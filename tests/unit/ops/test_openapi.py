"""docs/openapi.json is generated from the code and kept in sync with it (regenerate: `make openapi`)."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from sf_bigtime.ingest.json_event import JsonEvent
from sf_bigtime_local.template import REPO_ROOT
from sf_bigtime_ops.openapi import document, render

COMMITTED = REPO_ROOT / "docs" / "openapi.json"


def test_committed_document_matches_the_code() -> None:
    assert COMMITTED.read_text() == render(), "docs/openapi.json is stale: run `make openapi`"


def test_document_is_valid_openapi_3_1() -> None:
    spec = document()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_document_describes_what_the_code_accepts() -> None:
    spec = document()
    event = spec["components"]["schemas"]["JsonEvent"]
    assert event["required"] == ["orgId", "opportunityId"]
    assert set(event["properties"]) == {f.alias for f in JsonEvent.model_fields.values()}
    post = spec["paths"]["/salesforce/events"]["post"]
    assert set(post["responses"]) == {"202", "400", "401", "403", "413", "415", "503"}
    schemes = spec["components"]["securitySchemes"]
    assert {schemes[name]["name"] for name in schemes} == {
        "x-api-key",
        "x-signature",
        "x-signature-timestamp",
    }


def test_the_example_in_the_schema_is_accepted() -> None:
    from sf_bigtime.ingest.json_event import parse_json_events

    [example] = document()["components"]["schemas"]["JsonEvent"]["examples"]
    assert parse_json_events(json.dumps(example).encode())
