"""Both rotation stages of a Secrets Manager secret, read and cached together (ingest's credentials).

When a secret is rotated (``put-secret-value``), Secrets Manager moves the ``AWSCURRENT`` label to the new
value and ``AWSPREVIOUS`` to the old one, which Salesforce keeps sending until it is switched over. Ingest
accepts both, so no delivery is refused while that happens (docs/operations.md#rotating-the-ingest-secrets).

Why not ``parameters.get_secret(arn, VersionStage=...)``: Powertools caches by name (and transform) only,
so the second stage asked for would be answered from the first one's cache. This is a Powertools provider
of its own (its cache, ``max_age`` and ``force_fetch`` are Powertools'), whose value is both stages read
together: they expire together, so after a rotation the new current and the old previous appear at the same
moment in every warm instance (docs/decisions.md#accepting-the-previous-value-of-a-rotated-secret).
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters.base import BaseProvider

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


class SecretStagesProvider(BaseProvider):
    """``get(arn)`` -> ``{"current": str, "previous": str | None}``: the raw secret strings of both stages;
    ``previous`` is None when no version has the label (never rotated, or the label was removed when a
    rotation was finished). Any other error (access denied, throttling) is raised: the caller answers 503
    and Salesforce retries, rather than refusing the old value for five minutes."""

    def __init__(self, client: Any = None) -> None:
        self.client = client if client is not None else boto3.client("secretsmanager")
        # Powertools leaves it unannotated: an untyped call under --strict only (make typecheck runs both).
        super().__init__(client=self.client)  # type: ignore[no-untyped-call,unused-ignore]

    def _get(self, name: str, **sdk_options: Any) -> dict[str, Any]:
        current = self._stage(name, CURRENT)
        try:
            previous: str | None = self._stage(name, PREVIOUS)
        except self.client.exceptions.ResourceNotFoundException:
            previous = None
        return {"current": current, "previous": previous}

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        raise NotImplementedError("read one secret at a time")

    def _stage(self, name: str, stage: str) -> str:
        value = self.client.get_secret_value(SecretId=name, VersionStage=stage)
        if "SecretString" not in value:
            raise ValueError(f"the {stage} version is binary; store the secret as a JSON string")
        text: str = value["SecretString"]
        return text
