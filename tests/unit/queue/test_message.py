"""Property tests of the queue message: whatever JSON is on the queue (an old version, a hand-made redrive,
garbage), the worker's parser gives a SyncRequest or a ValidationError; every valid one survives the trip
through SQS unchanged and has a group id and a deduplication id SQS accepts."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sf_bigtime.queue.message import SyncRequest, dedup_id
from sf_bigtime.sfid import is_salesforce_id

PROPERTIES = settings(max_examples=200, derandomize=True, deadline=None)
SQS_DEDUP = re.compile(r"^[\x21-\x7e]{1,128}$")  # MessageDeduplicationId / MessageGroupId rules
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

any_text = st.text(st.characters(codec=None, categories=None), max_size=40)
ids = st.one_of(
    st.sampled_from(["00D5w000004abcd", "00D5w000004abcdEAA", "0065w000023abcdAAA", "0015w00002abcde"]),
    st.builds(lambda p, r: p + r, st.sampled_from(["00D", "006", "001"]),
              st.text(alphabet=ID_ALPHABET, min_size=12, max_size=12)),
    any_text,
)  # fmt: skip
values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text, ids)
messages = st.fixed_dictionaries(
    {},
    optional={
        "v": st.one_of(st.just(1), values),
        "org_id": ids,
        "opportunity_id": ids,
        "account_id": st.one_of(st.none(), ids),
        "stage_name": st.one_of(st.none(), any_text),
        "last_modified_date": st.one_of(st.none(), st.sampled_from(["2026-07-01T10:00:00Z", "x"]), values),
        "source": st.one_of(st.sampled_from(["json", "outbound_message", "cdc", "reconcile"]), values),
        "delivery_id": st.one_of(any_text, st.text(min_size=100, max_size=600)),
        "received_at": st.one_of(st.sampled_from(["2026-07-01T10:00:00+00:00"]), values),
        "extra": values,
    },
)


@PROPERTIES
@given(messages)
def test_any_queue_body_is_a_request_or_a_validation_error(body: dict[str, Any]) -> None:
    try:
        text = json.dumps(body)
    except ValueError:
        return  # not JSON at all (nothing can put it on the queue)
    try:
        request = SyncRequest.model_validate_json(text)
    except ValidationError:
        return
    assert is_salesforce_id(request.org_id, "00D") and len(request.org_id) == 18
    assert is_salesforce_id(request.opportunity_id) and len(request.opportunity_id) == 18
    assert SQS_DEDUP.match(request.group_id) and SQS_DEDUP.match(request.deduplication_id)
    assert SyncRequest.model_validate_json(request.model_dump_json()) == request


@PROPERTIES
@given(any_text.filter(bool))
def test_every_delivery_id_has_a_valid_and_stable_deduplication_id(delivery_id: str) -> None:
    first = dedup_id(delivery_id)
    assert SQS_DEDUP.match(first) and dedup_id(delivery_id) == first
