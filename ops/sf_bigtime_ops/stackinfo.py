"""Which stack a command acts on (the operator commands and ``sf-bigtime check``), and clients for it.

- A deployed stack: ``--stack-name`` (or ``SF_BIGTIME_STACK_NAME``). Everything comes from its
  CloudFormation outputs (queue, dead-letter queue, table, ingest endpoints and generated secrets) and
  parameters (Salesforce and BigTime secret ARNs, trigger stages, mapping, org ids), read with the default AWS
  credentials (``--profile``/``--region`` or the usual environment). The Salesforce credentials are read
  from the stack's Salesforce secret.
- The local stack: ``.local/stack.json`` written by ``sf-bigtime local up`` (``--state-file``), whose
  AWS is moto at ``aws.endpoint_url``. It is translated into the output and parameter names a deployed
  stack has, so the check and the commands read both kinds the same way.

The operator needs: ``cloudformation:DescribeStacks``; ``sqs:GetQueueAttributes``, ``SendMessage``
(backfill, reconcile, redrive), ``ReceiveMessage``, ``DeleteMessage``, ``ChangeMessageVisibility``,
``StartMessageMoveTask``, ``ListMessageMoveTasks`` (redrive); ``dynamodb:GetItem``, ``BatchGetItem``
(``PutItem`` for ``pull``); ``secretsmanager:GetSecretValue`` on the Salesforce secret (and the BigTime
secret for ``pull``); ``ssm:GetParameter`` on the mapping parameter, if the stack has one (backfill,
reconcile, status, pull). docs/operations.md lists them as a policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.mapping.model import MappingError, Trigger
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.queue.send import enqueue
from sf_bigtime.secrets import (
    BigTimeApiKey,
    BigTimeCredentials,
    BigTimeSession,
    SalesforceClientCredentials,
    SalesforceCredentials,
    SalesforceJwtBearer,
    SecretError,
    parse_secret,
)
from sf_bigtime.settings import PullSettings, ReconcileSettings
from sf_bigtime.sfid import to_18

DEFAULT_STATE_FILE = Path(".local/stack.json")
_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
_RECONCILE_DEFAULTS = ReconcileSettings.model_fields
# What the operator commands cannot work without (the smoke check reports missing ones as a failed check).
OPERATOR_OUTPUTS = ("QueueUrl", "DeadLetterQueueUrl", "TableName")
OPERATOR_PARAMETER = "SalesforceSecretArn"


class StackError(RuntimeError):
    """The stack cannot be found or is not an sf-bigtime stack; the message says what to do."""


class StackInfo(BaseModel):
    """One stack: where it is, its CloudFormation outputs, parameters and status, and what the commands
    derive from them. Not frozen: the check's tests vary a stack's status."""

    kind: Literal["aws", "local"]
    name: str
    region: str
    outputs: dict[str, str] = {}
    parameters: dict[str, str] = {}
    status: str | None = None
    endpoint_url: str | None = None  # moto, for the local stack
    # The scheduled function's window: its defaults (template.yaml sets the same, a test checks), or the
    # local stack's shorter ones. Its size is the ReconcileMaxPerRun parameter (below).
    reconcile_lookback_hours: float = _RECONCILE_DEFAULTS["lookback_hours"].default
    reconcile_grace_minutes: float = _RECONCILE_DEFAULTS["grace_minutes"].default

    def describe(self) -> str:
        return f"stack {self.name} ({self.region})" if self.kind == "aws" else f"local stack ({self.name})"

    # Outputs and parameters every sf-bigtime stack has; from_cloudformation checks them for the commands.
    @property
    def queue_url(self) -> str:
        return self.outputs["QueueUrl"]

    @property
    def dlq_url(self) -> str:
        return self.outputs["DeadLetterQueueUrl"]

    @property
    def table_name(self) -> str:
        return self.outputs["TableName"]

    @property
    def salesforce_secret_arn(self) -> str:
        return self.parameters[OPERATOR_PARAMETER]

    @property
    def configured_trigger_stages(self) -> tuple[str, ...]:
        """TriggerStages as the stack sets it (empty: the mapping's trigger.stages decide)."""
        return _split(self.parameters.get("TriggerStages"))

    @property
    def org_ids(self) -> tuple[str, ...]:
        return _split(self.parameters.get("SalesforceOrgIds"))

    @property
    def salesforce_api_version(self) -> str:
        return self.parameters.get("SalesforceApiVersion") or "66.0"

    @property
    def reconcile_max_per_run(self) -> int:
        value = self.parameters.get("ReconcileMaxPerRun")
        return int(value) if value else _RECONCILE_DEFAULTS["max_per_run"].default

    def pull_settings(self) -> PullSettings:
        """What the stack's pull function runs with (the CLI's `pull` runs the same)."""
        bigtime = self.parameters.get("BigTimeSecretArn")
        if not bigtime:
            raise StackError(f"{self.describe()} has no BigTimeSecretArn parameter: it cannot pull")
        values = {
            "table_name": self.table_name,
            "salesforce_secret_arn": self.salesforce_secret_arn,
            "salesforce_api_version": self.salesforce_api_version,
            "bigtime_secret_arn": bigtime,
            "mapping_parameter": self.parameters.get("MappingParameterName") or None,
            "mapping_file": self.parameters.get("MappingFile") or None,
            "bigtime_calls_per_minute": self.parameters.get("BigTimeCallsPerMinute"),
            "api_budget_percent": self.parameters.get("PullApiBudgetPercent"),
        }
        return PullSettings.model_validate({k: v for k, v in values.items() if v is not None})


def from_cloudformation(stack_name: str, session: Any, *, require_resources: bool = True) -> StackInfo:
    """Outputs and parameters of a deployed stack. With ``require_resources`` (the operator commands) a
    stack without the queue, dead-letter queue, table or Salesforce secret is refused; the smoke check
    passes False and reports what is missing among its own checks."""
    cfn = session.client("cloudformation", config=_CONFIG)
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise StackError(f"cannot read stack {stack_name!r}: {message}") from None
    except BotoCoreError as exc:
        raise StackError(f"cannot reach CloudFormation: {exc}") from None
    if not stacks:
        raise StackError(f"no stack named {stack_name!r}")
    stack = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    missing = [k for k in OPERATOR_OUTPUTS if k not in outputs]
    if require_resources and (missing or OPERATOR_PARAMETER not in params):
        raise StackError(
            f"stack {stack_name!r} is not an sf-bigtime stack (missing {', '.join(missing) or OPERATOR_PARAMETER})"
        )
    return StackInfo(
        kind="aws",
        name=stack_name,
        region=session.region_name or cfn.meta.region_name,
        outputs=outputs,
        parameters=params,
        status=stack.get("StackStatus"),
    )


def from_local(path: Path = DEFAULT_STATE_FILE) -> StackInfo:
    """The running local stack, from the file ``sf-bigtime local up`` writes, in the output and parameter
    names a deployed stack has so that every command and check runs unchanged against it."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StackError(
            f"no local stack is running ({path} is missing): start one with `sf-bigtime local up`, "
            "or name a deployed stack with --stack-name"
        ) from None
    except (OSError, ValueError) as exc:
        raise StackError(f"cannot read {path}: {exc}") from None
    aws = data.get("aws") or {}
    ingest = data.get("ingest") or {}
    salesforce = data.get("salesforce") or {}
    settings = data.get("settings") or {}
    max_per_run = settings.get("reconcile_max_per_run")
    try:
        return StackInfo(
            kind="local",
            name=str(path),
            region=aws["region"],
            endpoint_url=aws["endpoint_url"],
            status="CREATE_COMPLETE",  # it answered: the local stack writes its file once it is up
            outputs={
                "QueueUrl": aws["queue_url"],
                "DeadLetterQueueUrl": aws["dlq_url"],
                "TableName": aws["table_name"],
                **_present(
                    EventsEndpoint=ingest.get("events_url"),
                    WebhookSecretArn=aws.get("webhook_secret_arn"),
                    # The deployed stack's output carries no token; the admin appends it (docs/setup.md).
                    OutboundMessageEndpoint=(ingest.get("outbound_message_url") or "").split("?", 1)[0],
                    OutboundMessageTokenSecretArn=aws.get("outbound_message_secret_arn"),
                    SigningSecretArn=aws.get("signing_secret_arn"),
                ),
            },
            parameters={
                OPERATOR_PARAMETER: aws["salesforce_secret_arn"],
                **_present(
                    BigTimeSecretArn=aws.get("bigtime_secret_arn"),
                    SalesforceOrgIds=salesforce.get("org_id"),
                    SalesforceApiVersion=salesforce.get("api_version"),
                    TriggerStages=",".join(settings.get("trigger_stages") or ()),
                    MappingParameterName=settings.get("mapping_parameter"),
                    MappingFile=settings.get("mapping_file"),
                    ReconcileMaxPerRun=None if max_per_run is None else str(max_per_run),
                    BigTimeCallsPerMinute=_text(settings.get("bigtime_calls_per_minute")),
                ),
            },
            **{
                key: settings[key]
                for key in ("reconcile_lookback_hours", "reconcile_grace_minutes")
                if key in settings
            },
        )
    except KeyError as exc:
        raise StackError(f"{path} does not describe a local stack (no {exc})") from None


@dataclass
class Stack:
    """Clients for one stack; created lazily so ``--help`` and dry runs touch only what they need."""

    info: StackInfo
    session: Any = field(repr=False)

    @classmethod
    def open(
        cls,
        *,
        stack_name: str | None,
        state_file: Path | None = None,
        region: str | None = None,
        profile: str | None = None,
        require_resources: bool = True,
    ) -> Stack:
        import boto3

        if stack_name:
            session = boto3.Session(profile_name=profile, region_name=region)
            info = from_cloudformation(stack_name, session, require_resources=require_resources)
            return cls(info, session)
        info = from_local(state_file or DEFAULT_STATE_FILE)
        # moto accepts any credentials; never use the operator's real ones against it.
        session = boto3.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's dummy credentials
            region_name=info.region,
        )
        return cls(info, session)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.info.endpoint_url, config=_CONFIG)

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def store(self) -> StateStore:
        resource = self.session.resource("dynamodb", endpoint_url=self.info.endpoint_url, config=_CONFIG)
        return StateStore(self.info.table_name, table=resource.Table(self.info.table_name))

    @cached_property
    def table(self) -> Any:
        """The state table as a boto3 ``Table`` (the pull keeps its read times there)."""
        resource = self.session.resource("dynamodb", endpoint_url=self.info.endpoint_url, config=_CONFIG)
        return resource.Table(self.info.table_name)

    def _secret(self, arn: str, what: str) -> Any:
        try:
            raw = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
            return json.loads(raw)
        except (ClientError, BotoCoreError, KeyError, ValueError) as exc:
            raise StackError(f"cannot read the {what} secret {arn}: {type(exc).__name__}: {exc}") from None

    @cached_property
    def bigtime(self) -> BigTimeClient:
        """A BigTime client with the stack's own BigTime secret (no rate limiter: the caller adds one)."""
        arn = self.info.pull_settings().bigtime_secret_arn
        try:
            credentials: BigTimeApiKey | BigTimeSession = parse_secret(
                arn, self._secret(arn, "BigTime"), BigTimeCredentials
            )
        except SecretError as exc:
            raise StackError(str(exc)) from None
        return BigTimeClient(credentials)

    @cached_property
    def salesforce(self) -> SalesforceClient:
        arn = self.info.salesforce_secret_arn
        value = self._secret(arn, "Salesforce")
        try:
            credentials: SalesforceClientCredentials | SalesforceJwtBearer = parse_secret(
                arn, value, SalesforceCredentials
            )
        except SecretError as exc:
            raise StackError(str(exc)) from None
        return SalesforceClient(credentials, api_version=self.info.salesforce_api_version)

    @cached_property
    def mappings(self) -> MappingSource:
        return mapping_source(self.info, self.client("ssm"))

    def trigger(self) -> Trigger:
        """The trigger the stack's worker and reconcile function follow (what backfill and reconcile
        sweep); an invalid or unreadable mapping is a StackError saying so."""
        try:
            return self.mappings.load().trigger
        except MappingError as exc:
            raise StackError(f"{exc} (check it with `sf-bigtime config check`)") from None

    def enqueue(self, requests: Sequence[SyncRequest]) -> list[str]:
        """Put sync requests on the stack's queue (backfill and reconcile hand this to the sweep)."""
        return enqueue(self.info.queue_url, requests, client=self.sqs)

    def single_org_id(self) -> str | None:
        """The org id when the stack accepts exactly one org (no Salesforce call needed)."""
        return to_18(self.info.org_ids[0]) if len(self.info.org_ids) == 1 else None


def mapping_source(info: StackInfo, ssm: Any) -> MappingSource:
    """The mapping a stack's functions run with, found as they find it (MappingParameterName or
    MappingFile, TriggerStages on top); an SSM parameter is read with the operator's ``ssm`` client."""
    return MappingSource.for_stack(
        parameter=info.parameters.get("MappingParameterName"),
        file=info.parameters.get("MappingFile"),
        trigger_stages=info.configured_trigger_stages,
        ssm=ssm,
    )


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _present(**values: str | None) -> dict[str, str]:
    """The values that are set: the local stack's file has only some of a deployed stack's outputs."""
    return {k: v for k, v in values.items() if v}
