"""The local stack: everything the deployed stack has, on 127.0.0.1, in one process.

- moto in server mode for SQS, DynamoDB and Secrets Manager, with the queue, DLQ, table and secrets
  created from template.yaml's own properties;
- the fake Salesforce and fake BigTime (real wire formats), with a record-triggered "Flow" in the fake
  org that calls the ingest endpoint when an Opportunity is updated to Closed Won;
- an API Gateway front door and an EventBridge (the template's rule) for the ingest function, and an SQS
  poller for the worker function, loading ``functions/*/app.py`` exactly as Lambda would, with the
  environment the template gives them.

``.local/stack.json`` describes the running stack; pointing it at a real Salesforce sandbox or BigTime
firm is a matter of the secrets' values (``instance_url``/``base_url``), not code.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from sf_bigtime.ingest.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER
from sf_bigtime_local.eventbridge import EventBus, rules_for
from sf_bigtime_local.frontdoor import FrontDoor
from sf_bigtime_local.httpserver import BackgroundServer
from sf_bigtime_local.lambda_runtime import load_handler
from sf_bigtime_local.poller import Poller
from sf_bigtime_local.scheduler import Scheduler
from sf_bigtime_local.template import REPO_ROOT, Tag, Template

log = logging.getLogger(__name__)

REGION = "us-east-1"
STACK_NAME = "sf-bigtime-local"
LOCAL_DIR = REPO_ROOT / ".local"
STACK_FILE = LOCAL_DIR / "stack.json"
ORG_ID = "00D5w000004abcdEAA"
API_VERSION = "66.0"
BIGTIME_REALM = "local-firm"
API_KEY_HEADER = "x-api-key"


@dataclass
class StackOptions:
    """Knobs for tests and demos; defaults give a stack that behaves like the deployed one, only faster."""

    # Long enough that a slow batch on a busy laptop is not redelivered mid-flight (which Lambda's 1800 s
    # never does); failed records still come back within seconds, through the worker's own backoff below.
    visibility_timeout: int = 30
    max_receive_count: int | None = None  # None: the template's default
    worker_concurrency: int | None = None  # None: the template's MaximumConcurrency default
    retry_backoff_base: float = 1.0
    retry_backoff_max: float = 4.0
    bigtime_calls_per_minute: int = 6000  # the firm's budget, all worker instances together
    flow: bool = True  # the fake org's Flow posts to the ingest endpoint on Closed Won
    salesforce_page_size: int = 2000
    state_file: Path | None = STACK_FILE
    extra_env: dict[str, str] = field(default_factory=dict)
    reconcile_every: float = 0.0  # seconds between scheduled reconcile runs; 0 = only by hand
    reconcile_grace_minutes: float = 0.05  # the template's 10 minutes would hide every local test
    pull_every: float = 0.0  # seconds between scheduled pulls of BigTime's figures; 0 = only by hand
    worker_timeout: int | None = None  # the worker's Lambda timeout in seconds; None: the template's
    # Makes each generated secret (API key, HMAC key, tokens, client secret) from its label; None: random.
    # A log scan gives secrets of a known pattern here (tests/logscan.py).
    secret: Callable[[str], str] | None = None


class LocalStack:
    def __init__(self, options: StackOptions | None = None, template: Template | None = None) -> None:
        self.options = options or StackOptions()
        self.template = template or Template()
        self.description: dict[str, Any] = {}
        self._moto: ThreadedMotoServer | None = None
        self._servers: list[BackgroundServer] = []
        self._scheduler: Scheduler | None = None
        self._pull_scheduler: Scheduler | None = None
        self._pull_handler: Any = None
        self.poller: Poller | None = None  # the worker's event source mapping (a chaos run crashes it)
        self.fake_salesforce: Any = None
        self.fake_bigtime: Any = None
        self.worker_app: Any = None  # the worker function's module, as loaded (benchmarks read its state)
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> dict[str, Any]:
        from sf_bigtime_local.fake_bigtime import FakeBigTime
        from sf_bigtime_local.fake_bigtime.seed import DEFAULT_STAFF
        from sf_bigtime_local.fake_salesforce import FakeSalesforce

        # moto's server and werkzeug log every request at INFO (moto each DynamoDB expression it parses at
        # DEBUG, tens of thousands of lines under load); the fakes keep their own call logs.
        # The level is set even when the root's is stricter: werkzeug sets INFO on a logger left at NOTSET.
        for name in ("werkzeug", "moto"):
            if logging.getLogger(name).level < logging.WARNING:
                logging.getLogger(name).setLevel(logging.WARNING)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        server = self._moto._server  # moto offers no hook for wrapping its WSGI app
        assert server is not None
        server.app = OneDynamoDBRequestAtATime(server.app)
        host, port = self._moto.get_host_and_port()
        aws_url = f"http://{host}:{port}"
        self._set_env(
            AWS_ENDPOINT_URL=aws_url,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto's dummy credentials
        )
        # Lambda-created-client caches must not outlive a previous stack in the same process.
        boto3.setup_default_session()

        secret = self.options.secret
        sf_client_id = "local-consumer-key"
        sf_client_secret = secret("sfsecret") if secret else secrets.token_urlsafe(24)
        self.fake_salesforce = FakeSalesforce(
            org_id=ORG_ID,
            api_version=API_VERSION,
            client_id=sf_client_id,
            client_secret=sf_client_secret,
            page_size=self.options.salesforce_page_size,
            token_factory=(lambda: secret("sftoken")) if secret else None,
        )
        sf_server = self._serve(self.fake_salesforce, "fake-salesforce")
        bt_token = secret("bttoken") if secret else secrets.token_urlsafe(24)
        # The fake org's account executive (its Opportunities' owner) is a BigTime staffer too, by the
        # same e-mail: the project team's owner in the demo and the end-to-end tests.
        owner = {
            "StaffSID": 20,
            "FName": "Olivia",
            "SName": "Owner",
            "EMail": self.fake_salesforce.owner_username,
            "Title": "Account Executive",
        }
        self.fake_bigtime = FakeBigTime(
            realm=BIGTIME_REALM, api_tokens={bt_token: {"staffsid": 1}}, staff=[*DEFAULT_STAFF, owner]
        )
        bt_server = self._serve(self.fake_bigtime, "fake-bigtime")
        bigtime_base = f"{bt_server.url}/BigtimeData/api/v2"

        aws = self._create_aws_resources(
            webhook={"api_key": secret("apikey") if secret else secrets.token_urlsafe(32)},
            # Letters and digits, like the template's generated secrets (ExcludePunctuation).
            signing={"hmac_key": secret("hmac") if secret else secrets.token_hex(32)},
            outbound_message={"token": secret("omtoken") if secret else secrets.token_hex(24)},
            salesforce={
                "auth": "client_credentials",
                "domain": "local.my",
                "consumer_key": sf_client_id,
                "consumer_secret": sf_client_secret,
                "instance_url": sf_server.url,
            },
            bigtime={
                "auth": "api_key",
                "api_token": bt_token,
                "realm": BIGTIME_REALM,
                "base_url": bigtime_base,
            },
        )
        api_key = aws.pop("_api_key")
        hmac_key, om_token = aws.pop("_hmac_key"), aws.pop("_outbound_message_token")

        front, bus = self._start_functions(aws)
        front_server = self._serve(front, "api-gateway")
        bus_server = self._serve(bus, "eventbridge")
        events_url = f"{front_server.url}/salesforce/events"
        if self.options.flow:
            self.fake_salesforce.add_flow(
                object="Opportunity",
                field="StageName",
                value="Closed Won",
                action="json",
                url=events_url,
                headers={API_KEY_HEADER: api_key, "Content-Type": "application/json"},
            )

        self.description = {
            "pid": os.getpid(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "ingest": {
                "base_url": front_server.url,
                "events_url": events_url,
                "api_key_header": API_KEY_HEADER,
                "api_key": api_key,
                # The other entry points (docs/ingest.md): HMAC-signed JSON, Outbound Message, Event Relay.
                "signature_header": SIGNATURE_HEADER,
                "signature_timestamp_header": TIMESTAMP_HEADER,
                "hmac_key": hmac_key,
                "outbound_message_url": f"{front_server.url}/salesforce/outbound-message?token={om_token}",
                "eventbridge_url": f"{bus_server.url}/events",
            },
            "salesforce": {
                "instance_url": sf_server.url,
                "access_token": self.fake_salesforce.issue_token(),
                "api_version": API_VERSION,
                "org_id": ORG_ID,
                "client_id": sf_client_id,
                "client_secret": sf_client_secret,
            },
            "bigtime": {"base_url": bigtime_base, "api_token": bt_token, "realm": BIGTIME_REALM},
            "aws": {k: v for k, v in aws.items() if not k.startswith("_")},
            # What the operator commands need beyond resource names (a deployed stack has them as parameters).
            "settings": {
                "trigger_stages": [s.strip() for s in os.environ["TRIGGER_STAGES"].split(",") if s.strip()],
                "mapping_parameter": os.environ.get("MAPPING_PARAMETER", ""),
                "mapping_file": os.environ.get("MAPPING_FILE", ""),
                "reconcile_lookback_hours": float(os.environ["RECONCILE_LOOKBACK_HOURS"]),
                "reconcile_grace_minutes": float(os.environ["RECONCILE_GRACE_MINUTES"]),
                "reconcile_max_per_run": int(os.environ["RECONCILE_MAX_PER_RUN"]),
                "bigtime_calls_per_minute": float(os.environ["BIGTIME_CALLS_PER_MINUTE"]),
            },
        }
        if self.options.state_file:
            self.options.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.options.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.description, indent=2) + "\n")
            tmp.chmod(0o600)
            tmp.replace(self.options.state_file)
        return self.description

    def stop(self) -> None:
        for scheduler in (self._scheduler, self._pull_scheduler):
            if scheduler is not None:
                scheduler.stop()
        self._scheduler = self._pull_scheduler = None
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        for fake in (self.fake_salesforce, self.fake_bigtime):
            close = getattr(fake, "close", None)
            if close is not None:
                close()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        state_file = self.options.state_file
        if state_file and state_file.exists():
            try:
                if json.loads(state_file.read_text()).get("pid") == os.getpid():
                    state_file.unlink()
            except (OSError, ValueError):
                pass
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def run_pull(self) -> dict[str, Any]:
        """One run of the pull function, as its schedule would start it (its handler, its environment)."""
        from sf_bigtime_local.lambda_runtime import LambdaContext

        if self._pull_handler is None:
            _, self._pull_handler = load_handler(
                REPO_ROOT / "functions/pull/app.py", "sf_bigtime_local_pull_app"
            )
        timeout = self.template.function_timeout("PullFunction")
        event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        result: dict[str, Any] = self._pull_handler(event, LambdaContext(f"{STACK_NAME}-pull", timeout))
        return result

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop cleanly."""
        done = threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            log.info("signal %s: stopping the local stack", signum)
            done.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            done.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    # -- pieces -----------------------------------------------------------------------------------
    def _serve(self, app: Any, name: str) -> BackgroundServer:
        server = BackgroundServer(app, name=name).start()
        self._servers.append(server)
        return server

    def _set_env(self, **values: str) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _create_aws_resources(
        self,
        *,
        webhook: dict[str, Any],
        signing: dict[str, Any],
        outbound_message: dict[str, Any],
        salesforce: dict[str, Any],
        bigtime: dict[str, Any],
    ) -> dict[str, Any]:
        t = self.template
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_props = t.props("DeadLetterQueue")
        dlq_url = sqs.create_queue(
            QueueName=f"{STACK_NAME}-events-dlq.fifo",
            Attributes=_queue_attributes(dlq_props, t),
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        q_props = t.props("EventsQueue")
        redrive = q_props["RedrivePolicy"]
        max_receive = self.options.max_receive_count or int(t.resolve(redrive["maxReceiveCount"]))
        attributes = _queue_attributes(q_props, t)
        attributes["VisibilityTimeout"] = str(self.options.visibility_timeout)
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}
        )
        queue_url = sqs.create_queue(QueueName=f"{STACK_NAME}-events.fifo", Attributes=attributes)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

        table_props = t.props("StateTable")
        ddb = boto3.client("dynamodb", region_name=REGION)
        table_name = f"{STACK_NAME}-state"
        ddb.create_table(
            TableName=table_name,
            AttributeDefinitions=table_props["AttributeDefinitions"],
            KeySchema=table_props["KeySchema"],
            BillingMode=table_props["BillingMode"],
        )
        ttl = table_props["TimeToLiveSpecification"]
        ddb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)

        sm = boto3.client("secretsmanager", region_name=REGION)
        arns = {
            name: sm.create_secret(Name=f"{STACK_NAME}/{name}", SecretString=json.dumps(value))["ARN"]
            for name, value in (
                ("webhook", webhook),
                ("signing", signing),
                ("outbound-message-token", outbound_message),
                ("salesforce", salesforce),
                ("bigtime", bigtime),
            )
        }
        return {
            "endpoint_url": os.environ["AWS_ENDPOINT_URL"],
            "region": REGION,
            "queue_url": queue_url,
            "queue_arn": queue_arn,
            "dlq_url": dlq_url,
            "table_name": table_name,
            "max_receive_count": max_receive,
            "webhook_secret_arn": arns["webhook"],
            "signing_secret_arn": arns["signing"],
            "outbound_message_secret_arn": arns["outbound-message-token"],
            "salesforce_secret_arn": arns["salesforce"],
            "bigtime_secret_arn": arns["bigtime"],
            "_api_key": webhook["api_key"],
            "_hmac_key": signing["hmac_key"],
            "_outbound_message_token": outbound_message["token"],
        }

    def _function_env(self, function: str, refs: dict[str, str]) -> dict[str, str]:
        """The function's environment as the template defines it, references resolved locally."""
        env: dict[str, str] = {}
        for key, value in self.template.function_env(function).items():
            if isinstance(value, Tag):
                ref = value.value if value.name == "Ref" else None
                if ref in refs:
                    env[key] = refs[ref]
                    continue
                resolved = self.template.resolve(value)
                if isinstance(resolved, Tag):
                    raise ValueError(f"{function}: cannot resolve {key}={value} locally")
                env[key] = str(resolved)
            else:
                env[key] = str(value)
        return env

    def _start_functions(self, aws: dict[str, Any]) -> tuple[FrontDoor, EventBus]:
        refs = {
            "EventsQueue": aws["queue_url"],
            "DeadLetterQueue": aws["dlq_url"],
            "StateTable": aws["table_name"],
            "WebhookSecret": aws["webhook_secret_arn"],
            "SigningSecret": aws["signing_secret_arn"],
            "OutboundMessageTokenSecret": aws["outbound_message_secret_arn"],
            "SalesforceSecretArn": aws["salesforce_secret_arn"],
            "BigTimeSecretArn": aws["bigtime_secret_arn"],
            "SalesforceOrgIds": ORG_ID,
            # The local EventBridge runs every optional rule (sf_bigtime_local.eventbridge): Event Relay is on.
            "SalesforceEventBusName": f"aws.partner/salesforce.com/{ORG_ID}/local-relay",
            "BigTimeCallsPerMinute": str(self.options.bigtime_calls_per_minute),
        }
        sqs_event = self.template.sqs_event("WorkerFunction")
        concurrency = self.options.worker_concurrency or int(
            self.template.resolve(sqs_event["ScalingConfig"]["MaximumConcurrency"])
        )
        refs["WorkerMaxConcurrency"] = str(concurrency)  # the budget's fallback share per instance
        names = ("IngestFunction", "WorkerFunction", "ReconcileFunction", "PullFunction")
        envs = {name: self._function_env(name, refs) for name in names}
        # The functions share this process; their variables do not conflict except the service name,
        # which each handler sets on its own Logger.
        merged = {k: v for name in names for k, v in envs[name].items()}
        merged.pop("POWERTOOLS_SERVICE_NAME", None)
        merged |= {
            "RECONCILE_GRACE_MINUTES": str(self.options.reconcile_grace_minutes),
            "RETRY_BACKOFF_BASE_SECONDS": str(self.options.retry_backoff_base),
            "RETRY_BACKOFF_MAX_SECONDS": str(self.options.retry_backoff_max),
            # One process runs every function, so their stdout is this terminal (a demo's output), and
            # Powertools' metric set is shared by all of them and by concurrent pollers, which it is not
            # written for. Metrics are not published here; each emit goes to the stack's log at debug
            # level instead (`sf-bigtime -v local up`), see sf_bigtime.observability.Emitter.
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        if self.options.worker_timeout:
            # A claim is stale once no worker can still hold it: the template's margin over its timeout,
            # scaled to this one.
            template_timeout = self.template.function_timeout("WorkerFunction")
            stale = int(merged["CLAIM_STALE_AFTER_SECONDS"]) * self.options.worker_timeout / template_timeout
            merged["CLAIM_STALE_AFTER_SECONDS"] = str(max(self.options.worker_timeout + 1, round(stale)))
        merged |= self.options.extra_env
        self._set_env(**merged)

        _, ingest = load_handler(REPO_ROOT / "functions/ingest/app.py", "sf_bigtime_local_ingest_app")
        self.worker_app, worker = load_handler(
            REPO_ROOT / "functions/worker/app.py", "sf_bigtime_local_worker_app"
        )
        routes = {
            (method, path): (ingest, f"{STACK_NAME}-ingest", self.template.function_timeout(fn))
            for method, path, fn in self.template.http_routes()
            if fn == "IngestFunction"
        }
        self.poller = Poller(
            boto3.client("sqs", region_name=REGION),
            aws["queue_url"],
            aws["queue_arn"],
            worker,
            function_name=f"{STACK_NAME}-worker",
            timeout_seconds=self.options.worker_timeout or self.template.function_timeout("WorkerFunction"),
            batch_size=int(sqs_event.get("BatchSize", 10)),
            concurrency=concurrency,
            region=REGION,
        )
        self.poller.start()
        if self.options.reconcile_every > 0:
            _, reconcile = load_handler(
                REPO_ROOT / "functions/reconcile/app.py", "sf_bigtime_local_reconcile_app"
            )
            self._scheduler = Scheduler(
                reconcile,
                every=self.options.reconcile_every,
                function_name=f"{STACK_NAME}-reconcile",
                timeout_seconds=self.template.function_timeout("ReconcileFunction"),
            )
            self._scheduler.start()
        if self.options.pull_every > 0:
            _, self._pull_handler = load_handler(
                REPO_ROOT / "functions/pull/app.py", "sf_bigtime_local_pull_app"
            )
            self._pull_scheduler = Scheduler(
                self._pull_handler,
                every=self.options.pull_every,
                function_name=f"{STACK_NAME}-pull",
                timeout_seconds=self.template.function_timeout("PullFunction"),
            )
            self._pull_scheduler.start()
        ingest_target = (ingest, f"{STACK_NAME}-ingest", self.template.function_timeout("IngestFunction"))
        bus = EventBus(rules_for(self.template), {"IngestFunction": ingest_target}, region=REGION)
        return FrontDoor(routes), bus


class OneDynamoDBRequestAtATime:
    """DynamoDB applies each request atomically; moto checks a condition and writes in separate Python steps,
    so two worker threads could both pass one conditional write (a claim, a rate-budget slot). Serialising
    moto's DynamoDB requests restores that guarantee, and nothing more (SQS and the rest stay concurrent)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self._lock:
            return list(self.app(environ, start_response))  # the body is produced inside the lock


def _queue_attributes(props: dict[str, Any], template: Template) -> dict[str, str]:
    names = ("FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout", "MessageRetentionPeriod")
    attributes = {}
    for name in names:
        if name in props:
            value = template.resolve(props[name])
            attributes[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return attributes


def read_stack_file(path: Path = STACK_FILE) -> dict[str, Any]:
    """The running local stack's description; a clear error when none is running."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RuntimeError(
            f"no local stack is running ({path} is missing): start one with `sf-bigtime local up`"
        ) from None
