"""The JSON endpoint's OpenAPI 3.1 document, generated from the pydantic models ingest validates with.

Never imported by the ingest function (tests/unit/ingest/test_imports.py): it is for people and tools.
``python -m sf_bigtime_ops.openapi > docs/openapi.json`` (``make openapi``) regenerates the committed
copy; tests/unit/test_openapi.py fails when the two differ.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from sf_bigtime.ingest.auth import (
    API_KEY_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE_SECONDS,
    TIMESTAMP_HEADER,
)
from sf_bigtime.ingest.json_event import MAX_EVENTS_PER_REQUEST, JsonEvent

EVENTS_PATH = "/salesforce/events"
VERSION = "1.0.0"


class Accepted(BaseModel):
    """Every event is on the queue."""

    model_config = ConfigDict(title="Accepted")

    accepted: int = Field(ge=1, le=MAX_EVENTS_PER_REQUEST, description="How many events were queued.")
    ids: list[str] = Field(
        description="The delivery id of each event, in order (eventId, or the derived id)."
    )


class ErrorDetail(BaseModel):
    model_config = ConfigDict(title="ErrorDetail")

    code: str = Field(description="Stable machine-readable code, e.g. `invalid_event`, `unauthorized`.")
    message: str = Field(description="What was wrong, for the person reading the Flow's fault path.")
    field: str | None = Field(default=None, description="The offending field, when there is one.")


class ErrorReply(BaseModel):
    """Nothing was queued."""

    model_config = ConfigDict(title="ErrorReply")

    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorReply"}}},
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (a plain dict, stable key order)."""
    _, schemas = models_json_schema(
        [(JsonEvent, "validation"), (Accepted, "serialization"), (ErrorReply, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    components = dict(sorted(schemas["$defs"].items()))
    event_ref = {"$ref": "#/components/schemas/JsonEvent"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sf-bigtime ingest: JSON events",
            "version": VERSION,
            "description": (
                "Tell sf-bigtime that an Opportunity changed, from a Flow HTTP Callout (Named Credential) "
                "or Apex. Each event becomes one queue message; the worker re-reads the Opportunity from "
                "Salesforce and acts on its current state, so the body is a trigger, not the data. "
                "Outbound Messages (SOAP) and Event Relay are described in docs/ingest.md."
            ),
        },
        "paths": {
            EVENTS_PATH: {
                "post": {
                    "operationId": "postSalesforceEvents",
                    "summary": f"One event, or a list of up to {MAX_EVENTS_PER_REQUEST}",
                    "description": (
                        "Authenticate with the API key header, or sign the request: "
                        f"`{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'>` and "
                        f"`{TIMESTAMP_HEADER}: <Unix seconds>`, within {SIGNATURE_TOLERANCE_SECONDS} s of "
                        "our clock. A list is all-or-nothing: one invalid event refuses the request."
                    ),
                    "security": [{"ApiKey": []}, {"Signature": [], "SignatureTimestamp": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        event_ref,
                                        {
                                            "type": "array",
                                            "items": event_ref,
                                            "minItems": 1,
                                            "maxItems": MAX_EVENTS_PER_REQUEST,
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Every event is on the queue.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}
                            },
                        },
                        "400": _error("Malformed JSON or an invalid event (`field` names it)."),
                        "401": _error("Missing or invalid credentials (which part is not said)."),
                        "403": _error("An event's orgId is not one this stack serves."),
                        "413": _error("The body is larger than the limit (1 MB by default)."),
                        "415": _error("Not application/json, or a compressed body."),
                        "503": _error("The events could not be queued right now: retry."),
                    },
                }
            }
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": API_KEY_HEADER,
                    "description": "The generated key in the stack's WebhookSecret (a Named Credential custom header).",
                },
                "Signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": SIGNATURE_HEADER,
                    "description": "sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'> with the SigningSecret's hmac_key.",
                },
                "SignatureTimestamp": {
                    "type": "apiKey",
                    "in": "header",
                    "name": TIMESTAMP_HEADER,
                    "description": "The signed timestamp, Unix seconds.",
                },
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
