"""``sf-bigtime status``: what the stack knows about one Opportunity, and what to do about it.

Reads the worker's state item (mapping, claim, last outcome, attempts, last error, timestamps, API calls
spent) and, unless told not to, the Opportunity as Salesforce shows it now (one API call), judged by the
stack's trigger as the worker would judge it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simple_salesforce import format_soql

from sf_bigtime.clients.salesforce import OpportunitySnapshot, SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.errors import SyncError
from sf_bigtime.mapping.model import Trigger
from sf_bigtime.mapping.transform import trigger_check
from sf_bigtime.sfid import to_18

STATUS_FIELDS = (
    "Id",
    "Name",
    "StageName",
    "IsWon",
    "LastModifiedDate",
    "BigTime_Project_Id__c",
    "BigTime_Project_URL__c",
    "BigTime_Sync_Status__c",
    "BigTime_Sync_Message__c",
    "BigTime_Last_Synced__c",
    "Account.Name",
)


def opportunity_status(
    store: StateStore,
    org_id: str,
    opportunity_id: str,
    *,
    salesforce: SalesforceClient | None = None,
    trigger: Trigger | None = None,
) -> dict[str, Any]:
    """``trigger`` (the stack's mapping's) says whether the Opportunity as Salesforce shows it should have
    a project; without it the advice does not guess."""
    org_id, opportunity_id = to_18(org_id), to_18(opportunity_id)
    state = store.get("opp", org_id, opportunity_id) or {}
    sf_view: dict[str, Any] | None = None
    if salesforce is not None:
        sf_view = _salesforce_view(salesforce, opportunity_id, trigger)
    claim = (
        {"since": _iso(state.get("claimed_at")), "needs_lookup": bool(state.get("needs_lookup"))}
        if state.get("claim_token")
        else None
    )
    return {
        "opportunity_id": opportunity_id,
        "org_id": org_id,
        "known": bool(state),
        "mapping": {
            "project_id": state.get("project_id"),
            "client_id": state.get("client_id"),
            "contacts_synced": bool(state.get("contacts_synced")),
        },
        "last_outcome": {
            "status": state.get("last_status"),
            "reason": state.get("last_reason"),
            "at": _iso(state.get("last_attempt_at")),
            "source": state.get("last_source"),
            "delivery_id": state.get("last_delivery_id"),
        },
        "attempts": int(state.get("attempts") or 0),
        "last_error": state.get("last_error"),
        "last_error_at": _iso(state.get("last_error_at")),
        "last_success_at": _iso(state.get("last_success_at")),
        "first_seen_at": _iso(state.get("created_at")),
        "updated_at": _iso(state.get("updated_at")),
        "claim": claim,
        "api_calls_last_sync": {
            "salesforce": state.get("last_salesforce_calls"),
            "bigtime": state.get("last_bigtime_calls"),
        },
        "warnings": list(state.get("contact_warnings") or []),
        "salesforce": sf_view,
        "advice": _advice(state, sf_view),
    }


def _salesforce_view(
    salesforce: SalesforceClient, opportunity_id: str, trigger: Trigger | None
) -> dict[str, Any]:
    fields: dict[str, str] = {}  # each once: SOQL field names are case-insensitive
    for name in (*STATUS_FIELDS, *_condition_fields(trigger)):
        fields.setdefault(name.lower(), name)
    soql = format_soql(
        f"SELECT {', '.join(fields.values())} FROM Opportunity WHERE Id = {{}}",  # noqa: S608
        opportunity_id,
    )
    try:
        records = list(salesforce.query_all(soql))
    except SyncError as exc:
        return {"error": exc.reason}
    if not records:
        return {"error": "no such Opportunity in Salesforce (deleted, or another org)"}
    record = records[0]
    return {
        "name": record.get("Name"),
        "account": (record.get("Account") or {}).get("Name"),
        "stage": record.get("StageName"),
        "last_modified": record.get("LastModifiedDate"),
        "project_id": record.get("BigTime_Project_Id__c"),
        "project_url": record.get("BigTime_Project_URL__c"),
        "sync_status": record.get("BigTime_Sync_Status__c"),
        "sync_message": record.get("BigTime_Sync_Message__c"),
        "last_synced": record.get("BigTime_Last_Synced__c"),
        # None: the trigger holds; otherwise the worker's reason for skipping it ("unknown": no trigger).
        "not_triggered": "unknown"
        if trigger is None
        else trigger_check(OpportunitySnapshot(dict(record)), trigger),
    }


def _condition_fields(trigger: Trigger | None) -> list[str]:
    return [c.field for c in trigger.conditions] if trigger is not None else []


def _advice(state: dict[str, Any], sf: dict[str, Any] | None) -> str:
    if state.get("claim_token"):
        return "A worker is syncing it right now; look again in a minute."
    status = state.get("last_status")
    if state.get("project_id"):
        if (
            sf is not None
            and "error" not in sf
            and str(sf.get("project_id") or "") != str(state["project_id"])
        ):
            return (
                f"BigTime project {state['project_id']} exists but Salesforce does not show it yet: the "
                "write-back is pending or failing (see last error; `sf-bigtime redrive` if it is in the DLQ)."
            )
        return f"Synced: BigTime project {state['project_id']}, client {state.get('client_id')}."
    if status == "Failed":
        return (
            "Failed permanently; the reason is above and on the Opportunity. Fix it, then run "
            "`sf-bigtime backfill --include-failed` (or edit the Opportunity: the reconcile sweep picks it up)."
        )
    if status == "Retrying":
        return (
            "Being retried after a transient error. If it exhausted its retries it is in the dead-letter "
            "queue: fix the cause, then `sf-bigtime redrive`."
        )
    if status == "Skipped":
        return f"Nothing to do: {state.get('last_reason')}"
    if sf is not None and "error" not in sf:
        if sf["not_triggered"] is None:
            return (
                "It meets the trigger but no event reached the stack: `sf-bigtime reconcile` (or the "
                "schedule) will enqueue it."
            )
        if sf["not_triggered"] == "unknown":
            return f"The stack has no record of it (stage {sf.get('stage')})."
        return f"Nothing to sync: {sf['not_triggered']} (stage {sf.get('stage')})."
    return "The stack has no record of this Opportunity."


def _iso(epoch: Any) -> str | None:
    if epoch in (None, ""):
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
