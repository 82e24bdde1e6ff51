"""Ingest: Salesforce's deliveries (Outbound Message, JSON callout, Event Relay) -> one SyncRequest each on the queue.

Runs in the ingest function, which imports no Salesforce, BigTime or DynamoDB code
(docs/decisions.md#ingest-only-enqueues).
"""
