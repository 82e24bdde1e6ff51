"""The sample events in events/ stay valid for the code that reads them."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes import SQSEvent

from sf_bigtime.ingest.handler import IngestDeps, handle_http
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.settings import IngestSettings
from tests.paths import EVENTS


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


def _deps(event: dict, sent: list[SyncRequest], **secrets: str) -> IngestDeps:
    def enqueue(requests: list[SyncRequest]) -> list[str]:
        sent.extend(requests)
        return ["m"] * len(requests)

    return IngestDeps(
        settings=IngestSettings(
            queue_url="q", webhook_secret_arn="arn", allowed_org_ids=("00D5w000004abcd",)
        ),
        api_key=lambda: "unused-" * 4,
        signing_key=lambda: secrets.get("hmac_key", ""),
        outbound_message_token=lambda: secrets.get("token", ""),
        enqueue=enqueue,
        clock=lambda: int(event["headers"].get("x-signature-timestamp", 0)) + 1,
    )


def test_signed_api_gateway_sample_verifies_with_the_documented_example_key() -> None:
    event = json.loads((EVENTS / "apigw-json-event-signed.json").read_text())
    sent: list[SyncRequest] = []
    key = "example-signing-key-not-a-real-secret-0123456789"  # docs/ingest.md uses the same
    reply = handle_http(event, _deps(event, sent, hmac_key=key))
    assert reply["statusCode"] == 202, reply["body"]
    assert [r.opportunity_id for r in sent] == ["0065w000023abcdAAA", "0065w000023abceAAA"]
    body = json.loads(event["body"])
    assert body == json.loads((EVENTS / "json-events-batch.json").read_text())


def test_outbound_message_api_gateway_sample_carries_the_xml_sample() -> None:
    event = json.loads((EVENTS / "apigw-outbound-message.json").read_text())
    assert event["body"] == (EVENTS / "outbound-message.xml").read_text()
    sent: list[SyncRequest] = []
    token = event["queryStringParameters"]["token"]
    reply = handle_http(event, _deps(event, sent, token=token))
    assert reply["statusCode"] == 200, reply["body"]
    assert len(sent) == 3


def test_every_eventbridge_sample_is_understood() -> None:
    from sf_bigtime.ingest.eventbridge import parse_relay_event

    samples = sorted(EVENTS.glob("eventbridge-*.json"))
    assert len(samples) >= 5
    for path in samples:
        result = parse_relay_event(json.loads(path.read_text()))
        assert result.requests or result.skipped, path.name
