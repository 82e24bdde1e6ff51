"""The automation an admin deploys: the Closed Won flow and its Outbound Message, and the inactive HTTP
Callout variant with its credentials. Checked against the code they talk to (ingest's routes and JSON
contract, the API key header, the template's trigger stage), and the flow is run in the fake org."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from xml.etree.ElementTree import Element

from werkzeug.wrappers import Request, Response

from sf_bigtime.clients.salesforce import PROJECT_OBJECT
from sf_bigtime.ingest.handler import EVENTS_ROUTE
from sf_bigtime.ingest.json_event import parse_json_events
from sf_bigtime.ingest.outbound_message import SOBJECT_FIELDS, parse_outbound_message
from sf_bigtime.mapping.load import default_mapping
from sf_bigtime.settings import IngestSettings
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.httpserver import BackgroundServer
from sf_bigtime_local.template import Template
from sf_bigtime_ops.fieldcheck import FieldUse, find_problems

from .sfdx import NS, SALESFORCE, children, describe_from, find, objects_dir, parse, text

OM_FLOW = "**/flows/BigTime_Sync_On_Closed_Won.flow-meta.xml"
CALLOUT_FLOW = "**/flows/BigTime_Sync_On_Closed_Won_Callout.flow-meta.xml"
OUTBOUND_PATH = "/salesforce/outbound-message"  # issue 3's route; the token rides in ?token=


def _flow(pattern: str) -> Element:
    return parse(find(pattern))


def _elements(flow: Element) -> dict[str, Element]:
    return {
        text(el, "name"): el for el in flow if text(el, "name") and el.tag != NS + "processMetadataValues"
    }


def _entry(flow: Element) -> dict[str, Any]:
    start = flow.find(NS + "start")
    assert start is not None
    [condition] = children(start, "filters")
    value = condition.find(f"{NS}value/{NS}stringValue")
    return {
        "object": text(start, "object"),
        "trigger": text(start, "triggerType"),
        "records": text(start, "recordTriggerType"),
        "only_when_updated_to_meet": text(start, "doesRequireRecordChangedToMeetCriteria"),
        "condition": (
            text(condition, "field"),
            text(condition, "operator"),
            value.text if value is not None else None,
        ),
    }


def _outbound_message() -> Element:
    [message] = children(parse(find("**/workflows/Opportunity.workflow-meta.xml")), "outboundMessages")
    return message


def _connectors_resolve(flow: Element) -> None:
    names = _elements(flow)
    targets = [t.text for t in flow.iter(NS + "targetReference")]
    assert targets and set(targets) <= set(names), set(targets) - set(names)
    listed = [text(el, "name") for el in flow if text(el, "name") and el.tag != NS + "processMetadataValues"]
    assert len(listed) == len(names)  # element names are unique


def test_closed_won_flow_runs_after_save_only_when_a_record_is_updated_to_meet_the_stage() -> None:
    flow = _flow(OM_FLOW)
    [stage] = default_mapping().trigger.stages  # what the worker syncs unless TriggerStages says otherwise
    assert _entry(flow) == {
        "object": "Opportunity",
        "trigger": "RecordAfterSave",
        "records": "CreateAndUpdate",
        "only_when_updated_to_meet": "true",  # the write-back never re-triggers it
        "condition": ("StageName", "EqualTo", stage),
    }
    assert text(flow, "status") == "Active"
    assert text(flow, "processType") == "AutoLaunchedFlow"
    _connectors_resolve(flow)


def test_closed_won_flow_marks_queued_then_sends_the_outbound_message() -> None:
    flow = _flow(OM_FLOW)
    elements = _elements(flow)
    start = flow.find(NS + "start")
    first = elements[text(start.find(NS + "connector"), "targetReference")]
    assert first.tag == NS + "recordUpdates" and text(first, "inputReference") == "$Record"
    [assignment] = children(first, "inputAssignments")
    status = (text(assignment, "field"), assignment.find(f"{NS}value/{NS}stringValue").text)
    assert status == ("BigTime_Sync_Status__c", "Queued")
    picklist = parse(objects_dir() / "Opportunity" / "fields" / "BigTime_Sync_Status__c.field-meta.xml")
    assert "Queued" in [text(v, "fullName") for v in picklist.iter(NS + "value")]
    # Success and failure of the update both lead to the message: the user's save never fails on our account.
    send = text(first.find(NS + "connector"), "targetReference")
    assert text(first.find(NS + "faultConnector"), "targetReference") == send
    action = elements[send]
    assert text(action, "actionType") == "outboundMessage"
    assert text(action, "actionName") == f"Opportunity.{text(_outbound_message(), 'fullName')}"


def test_outbound_message_sends_exactly_the_fields_ingest_reads_and_they_exist() -> None:
    message = _outbound_message()
    fields = [f.text for f in children(message, "fields")]
    # Ingest reads these and skips anything else; more fields would only make each batch bigger.
    assert set(fields) == SOBJECT_FIELDS
    uses = [FieldUse("Opportunity", f) for f in fields]
    assert find_problems(uses, describe_from(objects_dir())) == []
    assert text(message, "includeSessionId") == "false"  # the worker has its own OAuth login
    assert text(message, "endpointUrl") == "__SF_BIGTIME_OUTBOUND_MESSAGE_URL__"
    assert text(message, "integrationUser") == "__SF_BIGTIME_INTEGRATION_USER__"
    guide = (SALESFORCE.parent / "docs" / "setup.md").read_text()
    # The endpoint is the stack's Outbound Message URL plus its token (docs/setup.md, section 6) ...
    assert 'SF_BIGTIME_OUTBOUND_MESSAGE_URL="$OM_URL?token=$OM_TOKEN"' in guide
    outputs = Template().data["Outputs"]
    assert (
        outputs["OutboundMessageEndpoint"]["Value"].value
        == outputs["ApiBaseUrl"]["Value"].value + OUTBOUND_PATH
    )
    # ... which is the route ingest serves, and the token the secret holds.
    assert ("POST", OUTBOUND_PATH, "IngestFunction") in Template().http_routes()
    token = Template().resource("OutboundMessageTokenSecret")["Properties"]["GenerateSecretString"]
    assert token["GenerateStringKey"] == "token" and token["ExcludePunctuation"] is True  # URL-safe


class _Receiver:
    """Records the SOAP notifications the fake org sends and acknowledges them."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.bodies.append(request.get_data(as_text=True))
        ack = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
            "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(ack, content_type="text/xml")(environ, start_response)

    def wait(self, count: int, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.bodies) >= count:
                    return list(self.bodies)
            time.sleep(0.02)
        with self.lock:
            return list(self.bodies)


def test_the_shipped_flow_in_the_fake_org_sends_one_message_per_closed_won_and_none_for_the_write_back() -> (
    None
):
    entry, message = _entry(_flow(OM_FLOW)), _outbound_message()
    receiver = _Receiver()
    with (
        BackgroundServer(receiver, name="om-receiver") as server,
        FakeSalesforce(metadata_dir=objects_dir()) as org,
    ):
        field, _, value = entry["condition"]
        org.add_flow(
            object=entry["object"],
            field=field,
            value=value,
            action="outbound_message",
            url=f"{server.url}{OUTBOUND_PATH}?token=t",
            fields=[f.text for f in children(message, "fields")],
            batch_interval=0.01,
        )
        account = org.create("Account", {"Name": "Acme"})
        opp = org.create(
            "Opportunity",
            {"Name": "Deal", "AccountId": account, "StageName": "Prospecting", "CloseDate": "2026-12-01"},
        )
        org.update("Opportunity", opp, {"StageName": "Closed Won"})
        assert len(receiver.wait(1)) == 1
        # What ingest makes of it: one sync request for this Opportunity, carrying the fields it reads.
        [request] = parse_outbound_message(receiver.bodies[0].encode()).to_requests()
        assert (request.org_id, request.opportunity_id, request.source) == (
            org.org_id,
            opp,
            "outbound_message",
        )
        assert request.stage_name == "Closed Won" and request.account_id == account
        assert request.last_modified_date is not None
        # sf-bigtime's write-back (and any other save that stays in the stage) sends nothing.
        org.update("Opportunity", opp, {"BigTime_Sync_Status__c": "Synced", "BigTime_Project_Id__c": "42"})
        org.update("Opportunity", opp, {"Description": "edited"})
        time.sleep(0.3)
        assert len(receiver.bodies) == 1


# -- the HTTP Callout variant ---------------------------------------------------------------------------------
def test_callout_flow_is_inactive_has_the_same_entry_and_calls_out_on_the_async_path() -> None:
    flow = _flow(CALLOUT_FLOW)
    assert text(flow, "status") == "Draft"  # inactive: only one of the two flows may run
    assert _entry(flow) == _entry(_flow(OM_FLOW))
    start = flow.find(NS + "start")
    # Nothing on the immediate path: a callout must wait until the save has committed.
    assert start.find(NS + "connector") is None
    [path] = children(start, "scheduledPaths")
    assert text(path, "pathType") == "AsyncAfterCommit"
    _connectors_resolve(flow)
    elements = _elements(flow)
    build = elements[text(path.find(NS + "connector"), "targetReference")]
    assigned = {
        text(i, "assignToReference"): i.find(f"{NS}value/{NS}elementReference").text
        for i in children(build, "assignmentItems")
    }
    assert assigned == {
        "SyncEvent.orgId": "$Organization.Id",
        "SyncEvent.opportunityId": "$Record.Id",
        "SyncEvent.eventId": "$Flow.InterviewGuid",
    }
    call = elements[text(build.find(NS + "connector"), "targetReference")]
    assert text(call, "actionType") == "externalService"
    [body] = children(call, "inputParameters")
    assert (text(body, "name"), body.find(f"{NS}value/{NS}elementReference").text) == ("body", "SyncEvent")


def _registration() -> tuple[Element, dict[str, Any]]:
    root = parse(
        find("**/externalServiceRegistrations/BigTime_Sync_Events.externalServiceRegistration-meta.xml")
    )
    return root, json.loads(text(root, "schema"))


def test_callout_registration_matches_the_ingest_json_contract() -> None:
    root, spec = _registration()
    assert text(root, "schemaType") == "OpenApi3" and text(root, "status") == "Complete"
    [(route, operations)] = spec["paths"].items()
    assert route == EVENTS_ROUTE and list(operations) == ["post"]
    operation = operations["post"]
    flow_action = text(_elements(_flow(CALLOUT_FLOW))["Post_to_sf_bigtime"], "actionName")
    assert flow_action == f"BigTime_Sync_Events.{operation['operationId']}"
    assert [text(o, "name") for o in children(root, "operations")] == [operation["operationId"].lower()]
    schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert set(schema["required"]) == {"orgId", "opportunityId", "eventId"}
    assert set(schema["properties"]) == {"orgId", "opportunityId", "eventId", "action", "projectId"}
    assert schema["properties"]["action"]["enum"] == ["sync", "pull"]
    # A body of that shape is what ingest accepts ...
    sample = {"orgId": "00D5w000004abcdEAA", "opportunityId": "0065w000023abcdAAA", "eventId": "0f5e-guid"}
    [event] = parse_json_events(json.dumps(sample).encode())
    assert event.event_id == "0f5e-guid"
    # ... and the variable the flow fills has the type External Services generates for it.
    variable = _elements(_flow(CALLOUT_FLOW))["SyncEvent"]
    assert (
        text(variable, "apexClass") == f"ExternalService__BigTime_Sync_Events_{schema_ref.rsplit('/', 1)[-1]}"
    )
    assert "202" in operation["responses"]  # ingest answers 202 Accepted


def test_callout_credentials_send_the_api_key_header_ingest_checks() -> None:
    named = parse(find("**/namedCredentials/BigTime_Sync.namedCredential-meta.xml"))
    external = parse(find("**/externalCredentials/BigTime_Sync.externalCredential-meta.xml"))
    registration, _ = _registration()
    assert text(registration, "namedCredentialReference") == "BigTime_Sync"
    assert text(named, "namedCredentialType") == "SecuredEndpoint"
    params = {text(p, "parameterType"): p for p in children(named, "namedCredentialParameters")}
    assert text(params["Url"], "parameterValue") == "__SF_BIGTIME_API_URL__"
    assert text(params["Authentication"], "externalCredential") == "BigTime_Sync"
    assert text(external, "authenticationProtocol") == "Custom"
    by_type: dict[str, list[Element]] = {}
    for p in children(external, "externalCredentialParameters"):
        by_type.setdefault(text(p, "parameterType"), []).append(p)
    [principal] = by_type["NamedPrincipal"]
    [header] = by_type["AuthHeader"]
    header_name = IngestSettings.model_fields["api_key_header"].default
    assert text(header, "parameterName").lower() == header_name.lower()
    assert text(header, "parameterValue") == "{!$Credential.BigTime_Sync.ApiKey}"
    callout = parse(find("**/permissionsets/BigTime_Sync_Callout.permissionset-meta.xml"))
    [access] = children(callout, "externalCredentialPrincipalAccesses")
    assert text(access, "externalCredentialPrincipal") == f"BigTime_Sync-{text(principal, 'parameterName')}"
    assert text(access, "enabled") == "true"
    # The Named Credential URL is the stack's API base; the registration adds the route.
    base = Template().data["Outputs"]["ApiBaseUrl"]["Value"].value
    events = Template().data["Outputs"]["EventsEndpoint"]["Value"].value
    assert events == base + EVENTS_ROUTE


PULL_FLOW = "**/flows/BigTime_Pull_From_BigTime.flow-meta.xml"


def test_pull_from_bigtime_is_a_quick_action_on_the_project_record_that_posts_a_pull_event() -> None:
    action = parse(find("**/quickActions/BigTime_Project__c.Pull_From_BigTime.quickAction-meta.xml"))
    assert (text(action, "type"), text(action, "flowDefinition")) == ("Flow", "BigTime_Pull_From_BigTime")
    flow = _flow(PULL_FLOW)
    assert text(flow, "processType") == "Flow" and text(flow, "status") == "Active"  # a screen flow
    _connectors_resolve(flow)
    elements = _elements(flow)
    record_id = elements["recordId"]
    assert text(record_id, "isInput") == "true" and text(record_id, "dataType") == "String"
    lookup = elements["Get_Project"]
    assert text(lookup, "object") == PROJECT_OBJECT and text(lookup, "getFirstRecordOnly") == "true"
    queried = [q.text for q in children(lookup, "queriedFields")]
    assert find_problems([FieldUse(PROJECT_OBJECT, f) for f in queried], describe_from(objects_dir())) == []
    build = elements["Build_Pull_Event"]
    assigned = {}
    for item in children(build, "assignmentItems"):
        ref, literal = item.find(f"{NS}value/{NS}elementReference"), item.find(f"{NS}value/{NS}stringValue")
        assigned[text(item, "assignToReference")] = ref.text if ref is not None else f"'{literal.text}'"
    assert assigned == {
        "PullEvent.orgId": "$Organization.Id",
        "PullEvent.opportunityId": "Get_Project.Opportunity__c",
        "PullEvent.eventId": "$Flow.InterviewGuid",
        "PullEvent.action": "'pull'",
        "PullEvent.projectId": "Get_Project.BigTime_Project_Id__c",
    }
    call = elements[text(build.find(NS + "connector"), "targetReference")]
    assert text(call, "actionName") == text(
        _elements(_flow(CALLOUT_FLOW))["Post_to_sf_bigtime"], "actionName"
    )
    assert text(elements["PullEvent"], "apexClass") == text(
        _elements(_flow(CALLOUT_FLOW))["SyncEvent"], "apexClass"
    )
    # A body of that shape is a pull request of that one project, as ingest reads it.
    sample = {
        "orgId": "00D5w000004abcdEAA",
        "opportunityId": "0065w000023abcdAAA",
        "eventId": "0f5e-guid",
        "action": "pull",
        "projectId": "5001",
    }
    [event] = parse_json_events(json.dumps(sample).encode())
    request = event.to_request()
    assert (request.kind, request.bigtime_project_id) == ("pull", "5001")
