"""Metric names the code emits (namespace ``SfBigtime``). The dashboard and alarms in template.yaml are
checked against this module by the template tests, so the two cannot drift."""

from __future__ import annotations

NAMESPACE = "SfBigtime"

SYNC_SUCCEEDED = "SyncSucceeded"
SYNC_SKIPPED = "SyncSkipped"
SYNC_FAILED = "SyncFailed"  # permanent: a person must act (alarm)
SYNC_RETRIED = "SyncRetried"  # transient: retried through SQS with backoff
PROJECTS_CREATED = "ProjectsCreated"
CLIENTS_CREATED = "ClientsCreated"
BIGTIME_CALLS = "BigTimeCalls"
SALESFORCE_CALLS = "SalesforceCalls"

# Ingest (functions/ingest). Counts, dimension "service" only.
INGEST_ACCEPTED = "IngestAccepted"  # messages put on the queue
INGEST_REJECTED = "IngestRejected"  # requests/events refused as the sender's error (4xx), auth included
INGEST_AUTH_FAILED = (
    "IngestAuthFailed"  # 401/403: wrong key, signature, URL token or org (probing shows here)
)
INGEST_ENQUEUE_FAILED = "IngestEnqueueFailed"  # SQS or a secret failed: 5xx / raised, the sender retries
INGEST_INTERNAL_ERRORS = "IngestInternalErrors"  # a bug answered with 500 (traceback in the log)
RELAY_EVENTS_IGNORED = "RelayEventsIgnored"  # EventBridge events not about an Opportunity we sync
CDC_ECHOES_IGNORED = "CdcEchoesIgnored"  # our own write-backs coming back as change events
CDC_GAP_EVENTS = "CdcGapEvents"  # GAP_* change events: the listed records are re-read
CDC_LEFT_TO_RECONCILE = (
    "CdcLeftToReconcile"  # wildcard record ids and GAP_OVERFLOW: the reconcile sweep's job
)
