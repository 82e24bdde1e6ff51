"""The sample events in events/ stay valid for the code that reads them."""

from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.utilities.data_classes import SQSEvent

from sf_bigtime.ingest import IngestDeps, handle_http
from sf_bigtime.messages import SyncRequest
from sf_bigtime.settings import IngestSettings

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_api_gateway_sample_is_accepted_by_ingest() -> None:
    event = json.loads((EVENTS / "apigw-json-event.json").read_text())
    sent: list[SyncRequest] = []

    def enqueue(requests: list[SyncRequest]) -> list[str]:
        sent.extend(requests)
        return ["m"] * len(requests)

    deps = IngestDeps(
        settings=IngestSettings(
            queue_url="q", webhook_secret_arn="arn", allowed_org_ids=("00D5w000004abcd",)
        ),
        api_key=lambda: event["headers"]["x-api-key"],
        enqueue=enqueue,
    )
    assert handle_http(event, deps)["statusCode"] == 202
    assert sent[0].opportunity_id == "0065w000023abcdAAA"


def test_sqs_sample_carries_a_sync_request_with_its_group() -> None:
    event = SQSEvent(json.loads((EVENTS / "sqs-sync-request.json").read_text()))
    for record in event.records:
        request = SyncRequest.model_validate_json(record.body)
        assert record.attributes.message_group_id == request.opportunity_id
        assert record.attributes.message_deduplication_id == request.deduplication_id
