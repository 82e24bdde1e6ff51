"""Field types shared by every inbound format, so each says "Opportunity id" the same way.

Ids are accepted in the 15- or 18-character form and always come out in the 18-character form
(Salesforce's checksum rule, :mod:`sf_bigtime.sfid`): the queue and the worker see one spelling only.
Optional text fields treat an empty string as missing, because a Flow that maps an empty variable into
its callout body sends ``""`` rather than leaving the key out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from sf_bigtime.sfid import is_salesforce_id, to_18

MAX_DELIVERY_ID_LENGTH = 255
MAX_STAGE_LENGTH = 255  # Opportunity.StageName is a picklist of at most 255 characters


def _salesforce_id(prefix: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not is_salesforce_id(value, prefix):
            raise ValueError(f"must be a Salesforce {what} id ({prefix}…, 15 or 18 characters)")
        return to_18(value)

    return AfterValidator(check)


# Characters no picklist value or event id carries, and that make text lie where it is shown: C0 and C1
# controls (NUL; CR and LF forge log lines; ESC drives a terminal) and the bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069, the "Trojan Source" characters). The right-to-left
# and left-to-right *marks* (U+200E, U+200F) stay allowed: ordinary text in right-to-left languages uses them.
_UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _plain(value: str) -> str:
    if _UNSAFE_CHARACTERS.search(value):
        raise ValueError("must not contain control characters or bidirectional overrides")
    return value


PlainText = AfterValidator(_plain)


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _utc(value: datetime | None) -> datetime | None:
    # Salesforce sends UTC ("…Z" or epoch milliseconds); a formula without a zone means UTC too.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _epoch_millis(value: Any) -> Any:
    # CDC payloads decoded from Avro carry datetimes as epoch milliseconds, others as ISO strings
    # (docs/ingest.md#change-data-capture-opportunitychangeevent); pydantic would read a bare number as
    # seconds.
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > 1e11:
        return value / 1000
    return value


OrgId = Annotated[str, _salesforce_id("00D", "org")]
OpportunityId = Annotated[str, _salesforce_id("006", "Opportunity")]
AccountId = Annotated[str, _salesforce_id("001", "Account")]
OptionalAccountId = Annotated[AccountId | None, BeforeValidator(blank_to_none)]
Stage = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_STAGE_LENGTH), PlainText
]
OptionalStage = Annotated[Stage | None, BeforeValidator(blank_to_none)]
OptionalDateTime = Annotated[
    datetime | None, BeforeValidator(blank_to_none), BeforeValidator(_epoch_millis), AfterValidator(_utc)
]
