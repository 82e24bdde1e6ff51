"""Property tests: whatever bytes, XML or JSON arrive, each parser and each entry point answers with a
clean 4xx (or accepts a valid request), never a crash, never a 5xx, and enqueues nothing it refused.

Derandomized so that the suite is deterministic; every run explores the same examples.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sf_bigtime.ingest.auth import signature
from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.eventbridge import parse_relay_event
from sf_bigtime.ingest.handler import IngestDeps, handle
from sf_bigtime.ingest.json_event import parse_json_events
from sf_bigtime.ingest.outbound_message import parse_outbound_message
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.settings import IngestSettings
from sf_bigtime.sfid import to_18

FUZZ = settings(
    max_examples=250, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
ORG = "00D5w000004abcdEAA"
API_KEY, HMAC_KEY, TOKEN = "k" * 32, "h" * 64, "t" * 48
NOW = 1_782_900_000

ids = st.sampled_from(
    [ORG, ORG[:15], "0065w000023abcdAAA", "0065w000023abcd", "0015w00002abcdeAAA", "04l5w00000abcdeAAA",
     "006*", "", "x", "0065w000023abcdXXX", "00D000000000001"]
)  # fmt: skip
text = st.one_of(ids, st.text(max_size=40))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(text, st.sampled_from(["orgId"])), inner, max_size=4),
    ),
    max_leaves=20,
)
JSON_KEYS = ["orgId", "opportunityId", "eventId", "accountId", "stageName", "lastModifiedDate"]
event_keys = st.sampled_from(JSON_KEYS)
json_events = st.one_of(
    json_values,
    st.dictionaries(event_keys, json_values, max_size=6),
    st.lists(st.dictionaries(event_keys, json_scalars, max_size=6), max_size=5),
)

names = st.sampled_from(
    ["soapenv:Envelope", "Envelope", "soapenv:Body", "Body", "notifications", "OrganizationId", "ActionId",
     "Notification", "Id", "sObject", "sf:Id", "sf:AccountId", "sf:StageName", "sf:LastModifiedDate", "x:y", "a"]
)  # fmt: skip
attributes = st.dictionaries(
    st.sampled_from(["xsi:type", "xsi:nil", "xmlns", "xmlns:sf", "a"]),
    st.sampled_from(["sf:Opportunity", "sf:Account", "true", "urn:x", "", "&amp;"]),
    max_size=2,
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def render(name: str, attrs: dict[str, str], body: list[str]) -> str:
        attr_text = "".join(f' {k}="{v}"' for k, v in attrs.items())
        return f"<{name}{attr_text}>{''.join(body)}</{name}>"

    return st.builds(render, names, attributes, st.lists(children, max_size=4))


xml_text = st.one_of(ids, st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=20))
xml_trees = st.recursive(xml_text, _element, max_leaves=25)
prefixes = st.sampled_from(
    ["", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-16"?>',
     '<!DOCTYPE x [<!ENTITY a "b">]>', '<!DOCTYPE x SYSTEM "http://example.com/x.dtd">', "<?pi x?>"]
)  # fmt: skip


def _om(org: str, notes: list[tuple[str, str, str, bool]], tail: str) -> bytes:
    parts = [
        f'<Notification><Id>{nid}</Id><sObject xsi:type="sf:Opportunity">'
        f"<sf:Id{' xsi:nil="true"' if nil else ''}>{opp}</sf:Id>{extra}</sObject></Notification>"
        for nid, opp, extra, nil in notes
    ]
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f"<notifications><OrganizationId>{org}</OrganizationId>{''.join(parts)}{tail}"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


# Structurally right Outbound Messages with arbitrary values: these reach validation, not just parsing.
outbound_messages = st.builds(
    _om,
    ids,
    st.lists(st.tuples(ids, ids, st.one_of(st.just(""), xml_trees), st.booleans()), max_size=4),
    st.one_of(st.just(""), xml_trees),
)
xml_documents = st.one_of(
    outbound_messages,
    st.builds(lambda p, t: (p + t).encode(), prefixes, xml_trees),
    st.builds(lambda t, cut: t.encode()[:cut], xml_trees, st.integers(0, 200)),  # truncated
)


def _clean_4xx(call: Any) -> Any:
    """The call's result, or None after checking that it refused with a 4xx and a message."""
    error: InboundError | None = None
    try:
        return call()
    except InboundError as exc:
        error = exc
    assert 400 <= error.status < 500
    assert error.message
    return None


@FUZZ
@given(st.binary(max_size=300))
def test_json_parser_on_arbitrary_bytes(data: bytes) -> None:
    _clean_4xx(lambda: parse_json_events(data))


@FUZZ
@given(json_events)
def test_json_parser_on_arbitrary_json(value: Any) -> None:
    _clean_4xx(lambda: parse_json_events(json.dumps(value).encode()))


@FUZZ
@given(st.binary(max_size=300))
def test_outbound_message_parser_on_arbitrary_bytes(data: bytes) -> None:
    _clean_4xx(lambda: parse_outbound_message(data))


@FUZZ
@given(xml_documents)
def test_outbound_message_parser_on_arbitrary_xml(document: bytes) -> None:
    _clean_4xx(lambda: parse_outbound_message(document))


relay_like = st.fixed_dictionaries(
    {
        "source": st.one_of(st.just(f"aws.partner/salesforce.com/{ORG}/0YL5f000000CabWGAS"), text),
        "detail-type": st.sampled_from(["OpportunityChangeEvent", "X__e", "Other"]),
        "detail": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "payload": st.one_of(
                        json_values,
                        st.fixed_dictionaries(
                            {"ChangeEventHeader": st.dictionaries(
                                st.sampled_from(["entityName", "recordIds", "changeType", "changeOrigin",
                                                 "transactionKey", "sequenceNumber"]),
                                st.one_of(json_scalars, st.lists(ids, max_size=3)), max_size=6)},
                            optional={"StageName": json_scalars, "AccountId": ids, "LastModifiedDate": json_scalars},
                        ),
                        st.dictionaries(
                            st.sampled_from(["EventUuid", "OpportunityId__c", "ns__Stage_Name__c", "AccountId__c"]),
                            json_scalars,
                            max_size=4,
                        ),
                    )
                }
            ),
        ),
    }
)  # fmt: skip


@FUZZ
@given(st.one_of(relay_like, st.dictionaries(text, json_values, max_size=4)))
def test_eventbridge_parser_on_arbitrary_events(event: dict[str, Any]) -> None:
    _clean_4xx(lambda: parse_relay_event(event))


# ------------------------------------------------------------- through the router, credentials valid


class Queue:
    def __init__(self) -> None:
        self.sent: list[SyncRequest] = []

    def __call__(self, requests: Sequence[SyncRequest]) -> list[str]:
        self.sent.extend(requests)
        return ["m"] * len(requests)


def _deps(queue: Queue) -> IngestDeps:
    return IngestDeps(
        settings=IngestSettings(
            queue_url="q",
            webhook_secret_arn="arn",
            allowed_org_ids=(ORG,),
            max_body_bytes=2_000,
            event_bus_name=f"aws.partner/salesforce.com/{ORG}/0YL5f000000CabWGAS",
        ),
        api_key=lambda: API_KEY,
        signing_key=lambda: HMAC_KEY,
        outbound_message_token=lambda: TOKEN,
        enqueue=queue,
        clock=lambda: NOW,
    )


def _http(path: str, body: bytes, headers: dict[str, str], query: dict[str, str] | None, b64: bool) -> dict:
    event: dict[str, Any] = {
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": path}},
        "body": base64.b64encode(body).decode() if b64 else body.decode("utf-8", "replace"),
        "isBase64Encoded": b64,
    }
    if query is not None:
        event["queryStringParameters"] = query
    return event


def _check_reply(reply: dict, queue: Queue) -> None:
    status = reply["statusCode"]
    assert status in (200, 202) or 400 <= status < 500, reply
    if status >= 400:
        assert queue.sent == []
    else:
        assert queue.sent


content_types = st.sampled_from(
    ["application/json", "text/xml", "text/plain", "", "application/soap+xml; x=y"]
)


@FUZZ
@given(
    st.one_of(st.binary(max_size=300), json_events.map(lambda v: json.dumps(v).encode())),
    content_types,
    st.booleans(),
)
def test_json_endpoint_answers_4xx_or_accepts(body: bytes, content_type: str, b64: bool) -> None:
    queue = Queue()
    for headers in (
        {"content-type": content_type, "x-api-key": API_KEY},
        {
            "content-type": content_type,
            "x-signature-timestamp": str(NOW),
            "x-signature": signature(HMAC_KEY, str(NOW), body),
        },
    ):
        reply = handle(_http("/salesforce/events", body, headers, None, b64), _deps(queue))
        _check_reply(reply, queue)
        assert reply["headers"]["content-type"] == "application/json"
        json.loads(reply["body"])


@FUZZ
@given(
    st.one_of(st.binary(max_size=300), xml_documents),
    content_types,
    st.sampled_from([TOKEN, None, "x"]),
    st.booleans(),
)
def test_outbound_message_endpoint_answers_4xx_or_acks(
    body: bytes, content_type: str, token: str | None, b64: bool
) -> None:
    queue = Queue()
    query = {"token": token} if token is not None else None
    reply = handle(
        _http("/salesforce/outbound-message", body, {"content-type": content_type}, query, b64), _deps(queue)
    )
    _check_reply(reply, queue)
    assert reply["headers"]["content-type"].startswith("text/xml")


@FUZZ
@given(relay_like)
def test_eventbridge_entry_never_raises_for_bad_events(event: dict[str, Any]) -> None:
    queue = Queue()
    result = handle(event, _deps(queue))
    assert result["accepted"] == len(queue.sent)


# ----------------------------------------------------------- valid input: parsed exactly, in any spelling
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
VALID = settings(max_examples=100, derandomize=True, deadline=None)


def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=ID_ALPHABET, min_size=12, max_size=12).map(lambda rest: prefix + rest)


def _spelling(id15: str) -> st.SearchStrategy[str]:
    return st.sampled_from([id15, to_18(id15)])  # Salesforce sends either form


@VALID
@given(
    opp=_ids("006"),
    spellings=st.tuples(st.booleans(), st.booleans()),
    extra=st.dictionaries(
        st.text(max_size=8).filter(lambda k: k not in JSON_KEYS),
        st.one_of(
            st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), text
        ),
        max_size=3,
    ),
    stage=st.one_of(st.none(), st.sampled_from(["Closed Won", "  Signed  ", "Négociation"])),
    order=st.randoms(use_true_random=False),
)
def test_a_valid_json_event_means_the_same_in_any_spelling(
    opp: str, spellings: tuple[bool, bool], extra: dict[str, Any], stage: str | None, order: Any
) -> None:
    org = ORG[:15]
    as_15 = {"orgId": org, "opportunityId": opp, **({"stageName": stage} if stage else {})}
    as_18 = {
        "orgId": to_18(org) if spellings[0] else org,
        "opportunityId": to_18(opp) if spellings[1] else opp,
        **({"stageName": stage} if stage else {}),
        **extra,
    }
    keys = list(as_18)
    order.shuffle(keys)
    [a] = parse_json_events(json.dumps(as_15).encode())
    [b] = parse_json_events(json.dumps({k: as_18[k] for k in keys}).encode())
    ra, rb = a.to_request(), b.to_request()
    assert (ra.org_id, ra.opportunity_id) == (to_18(org), to_18(opp)) == (rb.org_id, rb.opportunity_id)
    assert ra.delivery_id == rb.delivery_id, "one event, one id: a resend deduplicates"
    assert ra.stage_name == (stage.strip() if stage else None)


def _notification(nid: str, opp: str) -> str:
    return (
        f'<Notification><Id>{nid}</Id><sObject xsi:type="sf:Opportunity" '
        f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{opp}</sf:Id>'
        "<sf:StageName>Closed Won</sf:StageName></sObject></Notification>"
    )


@VALID
@given(st.lists(st.tuples(_ids("04l"), _ids("006")), min_size=1, max_size=100), st.booleans())
def test_a_valid_outbound_message_yields_one_request_per_notification(
    notes: list[tuple[str, str]], eighteen: bool
) -> None:
    org = to_18(ORG[:15]) if eighteen else ORG[:15]
    body = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org}</OrganizationId>'
        + "".join(_notification(nid, opp) for nid, opp in notes)
        + "</notifications></soapenv:Body></soapenv:Envelope>"
    )
    requests = parse_outbound_message(body.encode()).to_requests()
    assert [(r.delivery_id, r.opportunity_id) for r in requests] == [(n, to_18(o)) for n, o in notes]
    assert {r.org_id for r in requests} == {to_18(ORG[:15])} and {r.source for r in requests} == {
        "outbound_message"
    }


@VALID
@given(
    record_ids=st.lists(st.one_of(_ids("006"), _ids("001"), st.just("006*")), max_size=6),
    origin=st.sampled_from(["", "com/salesforce/api/soap/66.0;client=SfdcInternalAPI/", "client=sf-bigtime"]),
    sequence=st.integers(min_value=0, max_value=2**31),
)
def test_a_valid_change_event_yields_one_request_per_opportunity_id(
    record_ids: list[str], origin: str, sequence: int
) -> None:
    event = {
        "detail-type": "OpportunityChangeEvent",
        "source": f"aws.partner/salesforce.com/{ORG}/0YL5f000000CabWGAS",
        "detail": {
            "payload": {
                "ChangeEventHeader": {
                    "entityName": "Opportunity",
                    "recordIds": record_ids,
                    "changeType": "UPDATE",
                    "changeOrigin": origin,
                    "transactionKey": "0002bc33-1a2b",
                    "sequenceNumber": sequence,
                }
            }
        },
    }
    result = parse_relay_event(event)
    ours = origin.endswith("sf-bigtime")
    expected = [] if ours else [to_18(r) for r in record_ids if r.startswith("006") and r != "006*"]
    assert [r.opportunity_id for r in result.requests] == expected
    assert len({r.delivery_id for r in result.requests}) == len(set(expected))
    assert len(result.requests) + len(result.skipped) == (1 if ours else len(record_ids))


@VALID
@given(
    opp=_ids("006"),
    name=st.sampled_from(
        ["OpportunityId__c", "Opportunity_Id__c", "ns__Opportunity_ID__c", "opportunityid__c"]
    ),
    uuid=st.one_of(st.none(), st.uuids().map(str)),
    extra=st.dictionaries(
        st.text(max_size=8), st.text(st.characters(codec=None, categories=None), max_size=8), max_size=3
    ),
)
def test_a_valid_platform_event_yields_its_opportunity_whatever_the_field_is_called(
    opp: str, name: str, uuid: str | None, extra: dict[str, str]
) -> None:
    payload = {**extra, name: opp, **({"EventUuid": uuid} if uuid else {})}
    event = {
        "detail-type": "Opportunity_Won__e",
        "source": f"aws.partner/salesforce.com/{ORG}/0YL5f000000CabWGAS",
        "detail": {"payload": payload},
    }
    [request] = parse_relay_event(event).requests
    assert request.opportunity_id == to_18(opp) and request.source == "platform_event"
    assert request.delivery_id == (uuid or parse_relay_event(event).requests[0].delivery_id)
