"""Which stack the operator commands act on, and clients for it.

- A deployed stack: ``--stack-name`` (or ``SF_BIGTIME_STACK_NAME``). Its resources come from the
  CloudFormation outputs (queue, dead-letter queue, table) and parameters (Salesforce secret ARN,
  trigger stages, org ids), read with the default AWS credentials (``--profile``/``--region`` or the
  usual environment). The Salesforce credentials are read from the stack's Salesforce secret.
- The local stack: ``.local/stack.json`` written by ``sf-bigtime local up`` (``--state-file``), whose
  AWS is moto at ``aws.endpoint_url``.

The operator needs: ``cloudformation:DescribeStacks``; ``sqs:GetQueueAttributes``, ``SendMessage``
(backfill, reconcile, redrive), ``ReceiveMessage``, ``DeleteMessage``, ``ChangeMessageVisibility``,
``StartMessageMoveTask``, ``ListMessageMoveTasks`` (redrive); ``dynamodb:GetItem``, ``BatchGetItem``;
``secretsmanager:GetSecretValue`` on the Salesforce secret. docs/operations.md lists them as a policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from sf_bigtime.salesforce import SalesforceClient
from sf_bigtime.secrets import SalesforceCredentials, SecretError, parse_secret
from sf_bigtime.settings import ReconcileSettings
from sf_bigtime.sfid import to_18
from sf_bigtime.store import StateStore

DEFAULT_STATE_FILE = Path(".local/stack.json")
_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
_RECONCILE_DEFAULTS = ReconcileSettings.model_fields


class StackError(RuntimeError):
    """The stack cannot be found or is not an sf-bigtime stack; the message says what to do."""


class StackInfo(BaseModel):
    """What the commands need to know about one stack."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["aws", "local"]
    name: str
    region: str
    queue_url: str
    dlq_url: str
    table_name: str
    salesforce_secret_arn: str
    trigger_stages: tuple[str, ...] = ("Closed Won",)
    org_ids: tuple[str, ...] = ()
    salesforce_api_version: str = "66.0"
    endpoint_url: str | None = None  # moto, for the local stack
    dashboard_url: str | None = None
    # The scheduled function's window: its defaults (template.yaml sets the same, a test checks), or the
    # local stack's shorter ones.
    reconcile_lookback_hours: float = _RECONCILE_DEFAULTS["lookback_hours"].default
    reconcile_grace_minutes: float = _RECONCILE_DEFAULTS["grace_minutes"].default
    reconcile_max_per_run: int = _RECONCILE_DEFAULTS["max_per_run"].default

    def describe(self) -> str:
        return f"stack {self.name} ({self.region})" if self.kind == "aws" else f"local stack ({self.name})"


def from_cloudformation(stack_name: str, session: Any) -> StackInfo:
    """Outputs and parameters of a deployed sf-bigtime stack."""
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
    missing = [k for k in ("QueueUrl", "DeadLetterQueueUrl", "TableName") if k not in outputs]
    if missing or "SalesforceSecretArn" not in params:
        raise StackError(
            f"stack {stack_name!r} is not an sf-bigtime stack (missing {', '.join(missing) or 'SalesforceSecretArn'})"
        )
    return StackInfo(
        kind="aws",
        name=stack_name,
        region=session.region_name or cfn.meta.region_name,
        queue_url=outputs["QueueUrl"],
        dlq_url=outputs["DeadLetterQueueUrl"],
        table_name=outputs["TableName"],
        salesforce_secret_arn=params["SalesforceSecretArn"],
        trigger_stages=_split(params.get("TriggerStages")) or ("Closed Won",),
        org_ids=_split(params.get("SalesforceOrgIds")),
        salesforce_api_version=params.get("SalesforceApiVersion") or "66.0",
        dashboard_url=outputs.get("DashboardUrl"),
        **(
            {"reconcile_max_per_run": int(params["ReconcileMaxPerRun"])}
            if params.get("ReconcileMaxPerRun")
            else {}
        ),
    )


def from_local(path: Path = DEFAULT_STATE_FILE) -> StackInfo:
    """The running local stack, from the file ``sf-bigtime local up`` writes."""
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
    settings = data.get("settings") or {}
    salesforce = data.get("salesforce") or {}
    try:
        return StackInfo(
            kind="local",
            name=str(path),
            region=aws["region"],
            endpoint_url=aws["endpoint_url"],
            queue_url=aws["queue_url"],
            dlq_url=aws["dlq_url"],
            table_name=aws["table_name"],
            salesforce_secret_arn=aws["salesforce_secret_arn"],
            trigger_stages=tuple(settings.get("trigger_stages") or ("Closed Won",)),
            org_ids=(salesforce["org_id"],) if salesforce.get("org_id") else (),
            salesforce_api_version=salesforce.get("api_version") or "66.0",
            **{
                key: settings[key]
                for key in ("reconcile_lookback_hours", "reconcile_grace_minutes", "reconcile_max_per_run")
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
    ) -> Stack:
        import boto3

        if stack_name:
            session = boto3.Session(profile_name=profile, region_name=region)
            return cls(from_cloudformation(stack_name, session), session)
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
    def salesforce(self) -> SalesforceClient:
        arn = self.info.salesforce_secret_arn
        try:
            raw = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
            value = json.loads(raw)
        except (ClientError, BotoCoreError, KeyError, ValueError) as exc:
            raise StackError(
                f"cannot read the Salesforce secret {arn}: {type(exc).__name__}: {exc}"
            ) from None
        try:
            credentials = parse_secret(arn, value, SalesforceCredentials)
        except SecretError as exc:
            raise StackError(str(exc)) from None
        return SalesforceClient(credentials, api_version=self.info.salesforce_api_version)

    def single_org_id(self) -> str | None:
        """The org id when the stack accepts exactly one org (no Salesforce call needed)."""
        return to_18(self.info.org_ids[0]) if len(self.info.org_ids) == 1 else None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())
