"""Operator tools (the sf-bigtime command): installed with pip beside the CLI, never shipped in the Lambda layer."""
