"""Metric names the code emits (namespace ``SfBigtime``). The dashboard and alarms in template.yaml are
checked against this module by the template tests, so the two cannot drift."""

from __future__ import annotations

NAMESPACE = "SfBigtime"

SYNC_SUCCEEDED = "SyncSucceeded"
SYNC_SKIPPED = "SyncSkipped"
SYNC_FAILED = "SyncFailed"  # permanent: a person must act (alarm)
SYNC_RETRIED = "SyncRetried"  # transient: retried through SQS with backoff
SYNC_REPLAYED = "SyncReplayed"  # a duplicate delivery: the first outcome was replayed, nothing ran
PROJECTS_CREATED = "ProjectsCreated"
CLIENTS_CREATED = "ClientsCreated"
PROJECTS_UPDATED = "ProjectsUpdated"  # sync fields or a lifecycle action changed an existing project
CLIENTS_UPDATED = "ClientsUpdated"
BIGTIME_CALLS = "BigTimeCalls"
SALESFORCE_CALLS = "SalesforceCalls"
