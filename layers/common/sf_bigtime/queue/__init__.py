"""The queue between ingest and the worker: the versioned SyncRequest message and sending it to SQS FIFO."""
