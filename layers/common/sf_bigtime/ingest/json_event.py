"""JSON events from a Flow HTTP Callout (via a Named Credential) or Apex: one object or a list of up to 100.

The body is our own small contract (docs/ingest.md, docs/openapi.json): ``orgId`` and ``opportunityId``
are required; ``eventId`` (the Flow's ``$Flow.InterviewGuid``), ``accountId``, ``stageName`` and
``lastModifiedDate`` are optional. ``"action": "pull"`` asks for BigTime's figures instead of a sync ("Pull
from BigTime"), for ``projectId`` (a BigTime project id) or the Opportunity's projects. Unknown keys are
ignored so a Flow may send more than we read.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.fields import (
    MAX_DELIVERY_ID_LENGTH,
    OpportunityId,
    OptionalAccountId,
    OptionalDateTime,
    OptionalStage,
    OrgId,
    PlainText,
    blank_to_none,
)
from sf_bigtime.queue.message import SyncRequest

MAX_EVENTS_PER_REQUEST = 100

EventId = Annotated[
    Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DELIVERY_ID_LENGTH),
        PlainText,
    ]
    | None,
    BeforeValidator(blank_to_none),
]


class JsonEvent(BaseModel):
    """The body a Flow or Apex sends; field names are the camelCase ones a Flow's sample JSON uses."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        defer_build=True,  # built on first use: a cold start serving another entry point never pays for it
        json_schema_extra={
            "examples": [
                {
                    "orgId": "00D5w000004abcd",
                    "opportunityId": "0065w000023abcd",
                    "eventId": "0Fo5w00000AbCdEFGH-1783000000000",
                    "stageName": "Closed Won",
                    "lastModifiedDate": "2026-07-01T10:00:00.000Z",
                }
            ]
        },
    )

    org_id: OrgId = Field(
        alias="orgId",
        description="The sending org's id (`$Organization.Id`), 15 or 18 characters.",
        json_schema_extra={"pattern": "^00D[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$"},
    )
    opportunity_id: OpportunityId = Field(
        alias="opportunityId",
        description="The Opportunity's id (`006…`), 15 or 18 characters.",
        json_schema_extra={"pattern": "^006[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$"},
    )
    event_id: EventId = Field(
        default=None,
        alias="eventId",
        description=(
            "Unique per event, e.g. `{!$Flow.InterviewGuid}`; a retry of the same event must repeat it. "
            "When absent, it is derived from the other fields, so identical bodies count as one event."
        ),
    )
    account_id: OptionalAccountId = Field(
        default=None, alias="accountId", description="The Opportunity's Account id (`001…`)."
    )
    stage_name: OptionalStage = Field(
        default=None, alias="stageName", description="The Opportunity's stage when the event was sent."
    )
    last_modified_date: OptionalDateTime = Field(
        default=None,
        alias="lastModifiedDate",
        description="The Opportunity's LastModifiedDate (ISO 8601, e.g. `2026-07-01T10:00:00.000Z`).",
    )
    action: Literal["sync", "pull"] = Field(
        default="sync",
        alias="action",
        description=(
            "`sync` (the default): look at the Opportunity again. `pull`: copy BigTime's figures onto its "
            'BigTime Project record(s) now (the record\'s "Pull from BigTime" action).'
        ),
    )
    project_id: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,18}$")] | None = Field(
        default=None,
        alias="projectId",
        description="With `action: pull`: only this BigTime project (`BigTime_Project_Id__c`).",
    )

    @property
    def delivery_id(self) -> str:
        derived = derived_event_id(
            self.org_id, self.opportunity_id, self.account_id, self.stage_name, self.last_modified_date
        )
        if self.action == "pull":
            # A pull and a sync of the same Opportunity are different events, and a pull's body is the same
            # each time it is asked for: without an eventId, one pull per minute is one event (a retry within
            # the minute is deduplicated; the worker limits pulls per project anyway).
            derived = f"pull-{derived[5:]}-{self.project_id or 'all'}-{int(time.time() // 60)}"
        return self.event_id or derived

    def to_request(self) -> SyncRequest:
        return SyncRequest(
            org_id=self.org_id,
            opportunity_id=self.opportunity_id,
            account_id=self.account_id,
            stage_name=self.stage_name,
            last_modified_date=self.last_modified_date,
            source="json",
            delivery_id=self.delivery_id,
            kind=self.action,
            bigtime_project_id=self.project_id if self.action == "pull" else None,
        )


def derived_event_id(
    org_id: str,
    opportunity_id: str,
    account_id: str | None,
    stage_name: str | None,
    last_modified: datetime | None,
) -> str:
    """A deterministic id from the normalized fields: the same event (15- or 18-character ids, any key
    order, extra keys) always gets the same id, so a resend deduplicates on SQS and in the worker."""
    canonical = json.dumps(
        [
            org_id,
            opportunity_id,
            account_id,
            stage_name,
            last_modified.isoformat() if last_modified else None,
        ],
        separators=(",", ":"),
    )
    return "json-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that refuses a repeated key: parsers disagree on which of two values wins (Python's
    takes the last, others the first), so a body with ``orgId`` twice could pass one check and mean
    another org to the next reader."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(
        f"{name} is not a JSON value"
    )  # NaN, Infinity: Python's parser takes them, JSON does not


def parse_json_events(body: bytes) -> list[JsonEvent]:
    """Parse and validate a JSON body; raise :class:`InboundError` (400) naming the first problem."""
    try:
        data = json.loads(body, object_pairs_hook=_object, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        # The key is named only if it is one of ours: the reply echoes nothing else the sender made up.
        known = exc.key if exc.key in _FIELD_NAMES else None
        raise InboundError(
            400,
            "duplicate_key",
            f"a key ({known or 'not one we read'}) appears more than once in one object",
            field=known,
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and ints over Python's digit limit
        raise InboundError(400, "malformed_json", f"body is not valid JSON: {_short(exc)}") from None
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        raise InboundError(400, "malformed_json", "body is nested too deeply") from None
    if isinstance(data, list):
        if not data:
            raise InboundError(400, "empty_batch", "the list of events is empty")
        if len(data) > MAX_EVENTS_PER_REQUEST:
            raise InboundError(
                400,
                "too_many_events",
                f"at most {MAX_EVENTS_PER_REQUEST} events per request, got {len(data)}",
            )
        items = data
    elif isinstance(data, dict):
        items = [data]
    else:
        raise InboundError(400, "invalid_body", "body must be a JSON object or a list of objects")
    events = []
    for index, item in enumerate(items):
        where = f"event[{index}]" if isinstance(data, list) else "event"
        if not isinstance(item, dict):
            raise InboundError(400, "invalid_event", f"{where} must be a JSON object")
        try:
            events.append(JsonEvent.model_validate(item))
        except ValidationError as exc:
            raise _first_problem(exc, where) from None
    return events


def _first_problem(exc: ValidationError, where: str) -> InboundError:
    err = exc.errors(include_url=False, include_input=False)[0]
    loc = [str(part) for part in err["loc"] if not isinstance(part, int)]
    # Unions and constrained types add internal steps to the location; the first part is the field.
    field = loc[0] if loc else None
    message = "is required" if err["type"] == "missing" else str(err["msg"]).removeprefix("Value error, ")
    where = f"{where} field {field!r}" if field else where
    return InboundError(400, "invalid_event", f"{where} {message}", field=field)


def _short(exc: Exception) -> str:
    return str(exc)[:200]


_FIELD_NAMES = frozenset(f.alias or name for name, f in JsonEvent.model_fields.items())
