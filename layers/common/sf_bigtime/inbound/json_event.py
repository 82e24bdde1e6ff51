"""JSON events from a Flow HTTP Callout (via a Named Credential) or Apex: one object or a list of up to 100."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from sf_bigtime.inbound import InboundError
from sf_bigtime.messages import SyncRequest
from sf_bigtime.sfid import is_salesforce_id, to_18

MAX_EVENTS_PER_REQUEST = 100


def _id_with_prefix(prefix: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not is_salesforce_id(value) or not value.startswith(prefix):
            raise ValueError(f"must be a Salesforce {what} id ({prefix}…, 15 or 18 characters)")
        return to_18(value)

    return AfterValidator(check)


class JsonEvent(BaseModel):
    """The body a Flow sends; field names are the camelCase ones the Flow's sample JSON uses."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    org_id: Annotated[str, _id_with_prefix("00D", "org")] = Field(alias="orgId")
    opportunity_id: Annotated[str, _id_with_prefix("006", "Opportunity")] = Field(alias="opportunityId")
    event_id: str = Field(alias="eventId", min_length=1, max_length=128)

    def to_request(self) -> SyncRequest:
        return SyncRequest(
            org_id=self.org_id,
            opportunity_id=self.opportunity_id,
            source="json",
            delivery_id=self.event_id,
        )


_EVENT_LIST = TypeAdapter(list[JsonEvent])


def parse_json_events(body: bytes) -> list[JsonEvent]:
    """Parse and validate a JSON body; raise :class:`InboundError` (400) naming the first problem."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InboundError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    if isinstance(data, list):
        if not data:
            raise InboundError(400, "empty_batch", "the list of events is empty")
        if len(data) > MAX_EVENTS_PER_REQUEST:
            raise InboundError(
                400,
                "too_many_events",
                f"at most {MAX_EVENTS_PER_REQUEST} events per request, got {len(data)}",
            )
    elif not isinstance(data, dict):
        raise InboundError(400, "invalid_body", "body must be a JSON object or a list of objects")
    try:
        if isinstance(data, list):
            return _EVENT_LIST.validate_python(data)
        return [JsonEvent.model_validate(data)]
    except ValidationError as exc:
        raise _first_problem(exc, batched=isinstance(data, list)) from None


def _first_problem(exc: ValidationError, *, batched: bool) -> InboundError:
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    index = f"[{loc.pop(0)}]" if batched and loc and loc[0].isdigit() else ""
    field = ".".join(loc) or None
    where = f"event{index} field {field!r}" if field else f"event{index}"
    message = "is required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
    return InboundError(400, "invalid_event", f"{where} {message}", field=field)
