"""Runtime settings of the Lambda functions, read from their environment (set by template.yaml).

Only names and ARNs live in the environment; secrets live in Secrets Manager (docs/decisions.md#secrets-in-secrets-manager).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sf_bigtime.sfid import is_salesforce_id


class SettingsError(RuntimeError):
    """A required setting is missing or malformed: the function cannot start."""


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class IngestSettings(BaseModel):
    """What the ingest function needs: where to enqueue, which orgs may call, where its secret is."""

    # Each function builds its own settings model on first use, never the other functions'.
    model_config = ConfigDict(frozen=True, defer_build=True)

    queue_url: str = Field(min_length=1)
    webhook_secret_arn: str = Field(min_length=1)
    # The HMAC signing key (JSON events from Apex) and the Outbound Message URL token each live in a
    # generated secret of their own; without one, that way of authenticating is refused.
    signing_secret_arn: str | None = None
    outbound_message_secret_arn: str | None = None
    allowed_org_ids: tuple[str, ...] = Field(min_length=1)
    api_key_header: str = "x-api-key"
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    # The partner event bus Event Relay publishes to (SalesforceEventBusName); without one, the stack has
    # no Event Relay and an EventBridge-shaped event (only a direct invocation can bring one) is refused.
    event_bus_name: str | None = None

    @field_validator("allowed_org_ids", mode="before")
    @classmethod
    def _orgs(cls, value: object) -> object:
        value = _split(value)
        for org in value if isinstance(value, tuple | list) else ():
            if not is_salesforce_id(org, "00D"):
                raise ValueError(f"{org!r} is not a Salesforce org id (00D…, 15 or 18 characters)")
        return value

    @classmethod
    def from_env(cls) -> IngestSettings:
        return _load(
            cls,
            {
                "queue_url": "QUEUE_URL",
                "webhook_secret_arn": "WEBHOOK_SECRET_ARN",
                "signing_secret_arn": "SIGNING_SECRET_ARN",
                "outbound_message_secret_arn": "OUTBOUND_MESSAGE_SECRET_ARN",
                "allowed_org_ids": "SALESFORCE_ORG_IDS",
                "api_key_header": "API_KEY_HEADER",
                "max_body_bytes": "MAX_BODY_BYTES",
                "event_bus_name": "SALESFORCE_EVENT_BUS_NAME",
            },
        )


class _SalesforceReader(BaseModel):
    """Settings shared by the functions that read Salesforce and use the state table and the queue."""

    model_config = ConfigDict(frozen=True, defer_build=True)  # as IngestSettings

    # Field name -> environment variable; subclasses add their own.
    ENV: ClassVar[dict[str, str]] = {
        "table_name": "TABLE_NAME",
        "queue_url": "QUEUE_URL",
        "salesforce_secret_arn": "SALESFORCE_SECRET_ARN",
        "salesforce_api_version": "SALESFORCE_API_VERSION",
        "trigger_stages": "TRIGGER_STAGES",
        "mapping_parameter": "MAPPING_PARAMETER",
        "mapping_file": "MAPPING_FILE",
        "http_timeout_seconds": "HTTP_TIMEOUT_SECONDS",
    }

    table_name: str = Field(min_length=1)
    queue_url: str = Field(min_length=1)
    salesforce_secret_arn: str = Field(min_length=1)
    salesforce_api_version: str = Field(default="66.0", pattern=r"^\d{2}\.0$")
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Which Opportunities make projects: the stack's mapping (SSM parameter or file in the layer, else the
    # bundled default) with TriggerStages on top. The worker and the reconcile sweep both read it through
    # MappingSource.for_stack, so they cannot disagree about the trigger.
    trigger_stages: tuple[str, ...] = ()  # overrides the mapping's trigger.stages when set
    mapping_parameter: str | None = None  # SSM parameter holding the mapping YAML
    mapping_file: str | None = None  # or a YAML file in the layer (relative to /opt/python)

    @field_validator("trigger_stages", mode="before")
    @classmethod
    def _stages(cls, value: object) -> object:
        return _split(value)

    @classmethod
    def from_env(cls) -> Self:
        return _load(cls, cls.ENV)


class WorkerSettings(_SalesforceReader):
    """What the worker needs: the state table, the queue (for backoff), credentials and BigTime's limits."""

    ENV: ClassVar[dict[str, str]] = {
        **_SalesforceReader.ENV,
        "bigtime_secret_arn": "BIGTIME_SECRET_ARN",
        "bigtime_calls_per_minute": "BIGTIME_CALLS_PER_MINUTE",
        "worker_max_concurrency": "WORKER_MAX_CONCURRENCY",
        "bigtime_burst": "BIGTIME_BURST",
        "claim_stale_after_seconds": "CLAIM_STALE_AFTER_SECONDS",
        "idempotency_ttl_seconds": "IDEMPOTENCY_TTL_SECONDS",
        "bigtime_project_url": "BIGTIME_PROJECT_URL",
        "retry_backoff_base_seconds": "RETRY_BACKOFF_BASE_SECONDS",
        "retry_backoff_max_seconds": "RETRY_BACKOFF_MAX_SECONDS",
    }

    bigtime_secret_arn: str = Field(min_length=1)
    # The firm's total across every function (docs/decisions.md#one-bigtime-rate-budget-for-the-firm).
    bigtime_calls_per_minute: float = Field(default=25.0, gt=0)
    # Worker instances at most: the rate budget's local fallback gives each a share of the firm's rate.
    worker_max_concurrency: int = Field(default=2, ge=1)
    # BigTime calls that may start back to back (BigTimeBurst); the sustained rate makes room for them.
    bigtime_burst: int | None = Field(default=None, ge=1)
    claim_stale_after_seconds: int = Field(default=960, gt=0)
    idempotency_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    retry_backoff_base_seconds: float = Field(default=30.0, gt=0)
    retry_backoff_max_seconds: float = Field(default=900.0, gt=0, le=43200)
    bigtime_project_url: str | None = None  # e.g. "https://iq.bigtime.net/Bigtime/Project/{project_id}"


def _load[T: BaseModel](model: type[T], env_names: dict[str, str]) -> T:
    values = {field: os.environ[name] for field, name in env_names.items() if os.environ.get(name)}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{env_names.get(str(err['loc'][0]), err['loc'][0])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{model.__name__} is incomplete: {problems}") from None


@lru_cache(maxsize=1)
def worker_settings() -> WorkerSettings:
    return WorkerSettings.from_env()


class ReconcileSettings(_SalesforceReader):
    """What the scheduled reconcile needs: Salesforce (read), the state table (read), the queue (send) and
    the mapping (its trigger: which Opportunities should have a project)."""

    ENV: ClassVar[dict[str, str]] = {
        **_SalesforceReader.ENV,
        "lookback_hours": "RECONCILE_LOOKBACK_HOURS",
        "grace_minutes": "RECONCILE_GRACE_MINUTES",
        "max_per_run": "RECONCILE_MAX_PER_RUN",
    }

    # Salesforce's own redelivery gives up after 24 h (Outbound Messages) to 3 days (Event Relay).
    lookback_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    # Leave events in flight alone: only a change older than this without a delivery counts as missed.
    grace_minutes: float = Field(default=10.0, ge=0)
    max_per_run: int = Field(default=100, gt=0, le=10_000)


@lru_cache(maxsize=1)
def reconcile_settings() -> ReconcileSettings:
    return ReconcileSettings.from_env()


class PullSettings(BaseModel):
    """What the scheduled pull needs: Salesforce and BigTime credentials, the mapping (its ``pull`` section),
    the state table (read times), BigTime's rate (the pull takes half) and the org's API budget."""

    model_config = ConfigDict(frozen=True)

    ENV: ClassVar[dict[str, str]] = {
        "table_name": "TABLE_NAME",
        "salesforce_secret_arn": "SALESFORCE_SECRET_ARN",
        "salesforce_api_version": "SALESFORCE_API_VERSION",
        "http_timeout_seconds": "HTTP_TIMEOUT_SECONDS",
        "bigtime_secret_arn": "BIGTIME_SECRET_ARN",
        "mapping_parameter": "MAPPING_PARAMETER",
        "mapping_file": "MAPPING_FILE",
        "bigtime_calls_per_minute": "BIGTIME_CALLS_PER_MINUTE",
        "worker_max_concurrency": "WORKER_MAX_CONCURRENCY",
        "bigtime_burst": "BIGTIME_BURST",
        "api_budget_percent": "PULL_API_BUDGET_PERCENT",
    }

    table_name: str = Field(min_length=1)
    salesforce_secret_arn: str = Field(min_length=1)
    salesforce_api_version: str = Field(default="66.0", pattern=r"^\d{2}\.0$")
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    bigtime_secret_arn: str = Field(min_length=1)
    mapping_parameter: str | None = None
    mapping_file: str | None = None
    bigtime_calls_per_minute: float = Field(default=25.0, gt=0)  # the firm's total; the pull takes <= half
    worker_max_concurrency: int = Field(default=2, ge=1)  # the budget's fallback share when DynamoDB is out
    bigtime_burst: int | None = Field(default=None, ge=1)  # BigTimeBurst: calls that may start back to back
    # Scheduled pulls wait while the org has used this share of its daily API calls (Sforce-Limit-Info).
    api_budget_percent: float = Field(default=80.0, gt=0, le=100)

    @classmethod
    def from_env(cls) -> PullSettings:
        return _load(cls, cls.ENV)


@lru_cache(maxsize=1)
def pull_settings() -> PullSettings:
    return PullSettings.from_env()
