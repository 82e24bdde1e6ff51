"""The worker: one SQS batch -> one idempotent sync per Opportunity -> BigTime, and the result written back."""
