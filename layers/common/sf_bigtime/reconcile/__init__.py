"""The safety net: sweep Salesforce for Opportunities that should have a project but never reached the worker."""
