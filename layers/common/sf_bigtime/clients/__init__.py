"""The systems the worker talks to: Salesforce, BigTime, the state table, and the HTTP and rate-limit glue."""
