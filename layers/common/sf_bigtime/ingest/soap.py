"""The SOAP 1.1 replies to an Outbound Message: the ``Ack`` and the Fault (docs/ingest.md#replies).

Apart from the parser (``sf_bigtime.ingest.outbound_message``) because every reply on that route needs
them, including the refusals that never parse a body.
"""

from __future__ import annotations

from html import escape

SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"

_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body>"
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


def ack() -> str:
    """The acknowledgement Salesforce needs to stop redelivering (docs/ingest.md#replies): one ``Ack`` covers
    every notification of the request, so send it only once all of them are on the queue."""
    return _ACK


def fault(message: str, *, server: bool = False) -> str:
    """A SOAP 1.1 Fault. Salesforce shows ``faultstring`` as the delivery failure reason in Setup's
    Outbound Messages queue, so it must tell an admin what to fix; ``server`` faults mean "try again"."""
    code = "soapenv:Server" if server else "soapenv:Client"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{code}</faultcode><faultstring>{escape(message, quote=False)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
