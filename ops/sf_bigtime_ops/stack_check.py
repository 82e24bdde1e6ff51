"""The post-deploy smoke check (``sf-bigtime check``): is this stack wired to Salesforce and BigTime?

It reads the stack's outputs and parameters, then, with the very secrets the functions use:

- the three secrets are readable and have every key (the message names a missing key, never a value);
- the stack's mapping (the bundled default, its SSM parameter or file, and TriggerStages) is valid;
- each ingest endpoint answers, and refuses a request without credentials;
- Salesforce: the worker's login works (which org, sandbox or not), the org is one the stack accepts,
  every field the functions read or write exists and is accessible to the integration user (a describe
  walk over :func:`sf_bigtime_ops.fieldcheck.stack_field_uses` for the stack's mapping), the worker's own
  query runs, and the trigger stages are active values of the Stage picklist;
- BigTime: the API key and firm id are accepted, every picklist value the mapping names resolves (with
  none named, the standard "Field Values" lists answer), the project templates it names exist and the
  staff list the team is matched against answers (:mod:`sf_bigtime_ops.bigtime_lookups`); with the mapping's ``pull.mode: report``, the
  saved report answers and has every column ``pull.report.columns`` names (its ``FieldList``).

Each check is reported ok, failed (with the reason and what to do) or skipped (an earlier check it needs
failed). Nothing is written anywhere: the calls are logins, describes, one query and BigTime list reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import requests

from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.errors import SyncError
from sf_bigtime.mapping.model import Mapping, MappingError, Trigger, configured_picklists
from sf_bigtime.secrets import (
    BigTimeCredentials,
    OutboundMessageSecret,
    SalesforceCredentials,
    SecretError,
    SigningSecret,
    WebhookSecret,
    parse_secret,
)
from sf_bigtime.sfid import same_org
from sf_bigtime_ops.bigtime_lookups import lookup_checks
from sf_bigtime_ops.fieldcheck import (
    CachedDescribe,
    FieldProblem,
    ResolvedField,
    resolve_all,
    stack_field_uses,
)
from sf_bigtime_ops.stackinfo import StackInfo, mapping_source

Status = Literal["ok", "failed", "skipped"]

# Read when the mapping names no BigTime picklist values: the lists a project mapping typically uses.
STANDARD_PICKLISTS = ("LookupProjectType", "StatusProduction", "StatusBilling")
# Ingest endpoints the stack exposes (outputs), each of which must refuse an unauthenticated call.
ENDPOINT_OUTPUTS = ("OutboundMessageEndpoint", "EventsEndpoint")
# The secrets the stack generates for ingest: check name, output naming it, shape.
GENERATED_SECRETS = (
    ("outbound-message-secret", "OutboundMessageTokenSecretArn", OutboundMessageSecret),
    ("webhook-secret", "WebhookSecretArn", WebhookSecret),
    ("signing-secret", "SigningSecretArn", SigningSecret),
)
REQUIRED_PARAMETERS = ("SalesforceSecretArn", "BigTimeSecretArn", "SalesforceOrgIds")
HEALTHY_STATUSES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
HTTP_TIMEOUT = 10.0
MAX_LISTED = 8  # problems named in one line; --json carries them all


@dataclass
class CheckResult:
    name: str
    status: Status
    detail: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class Checker:
    """Runs every check against one stack; ``secretsmanager`` reads the secrets (boto3 client)."""

    stack: StackInfo
    secretsmanager: Any
    ssm: Any = None  # reads the mapping when the stack keeps it in an SSM parameter
    http: requests.Session = field(default_factory=requests.Session)
    results: list[CheckResult] = field(default_factory=list)

    def run(self) -> list[CheckResult]:
        self._stack()
        salesforce = self._secret("salesforce-secret", "SalesforceSecretArn", SalesforceCredentials)
        bigtime = self._secret("bigtime-secret", "BigTimeSecretArn", BigTimeCredentials)
        for name, output, shape in GENERATED_SECRETS:
            if output in self.stack.outputs:
                self._secret(name, output, shape, source=self.stack.outputs)
        mapping = self._mapping()
        self._endpoints()
        self._salesforce(salesforce, mapping)
        self._bigtime(bigtime, mapping)
        return self.results

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def _add(self, name: str, status: Status, detail: str, problems: Iterable[str] = ()) -> CheckResult:
        result = CheckResult(name, status, detail, list(problems))
        self.results.append(result)
        return result

    # -- stack and secrets --------------------------------------------------------------------------------
    def _stack(self) -> None:
        missing = [p for p in REQUIRED_PARAMETERS if not self.stack.parameters.get(p)]
        status = self.stack.status or "unknown"
        if missing:
            self._add("stack", "failed", f"not an sf-bigtime stack: no parameter {', '.join(missing)}")
        elif status not in HEALTHY_STATUSES:
            hint = (
                "the last update was rolled back, so the stack runs its previous version; see the "
                "stack's events in the CloudFormation console"
                if "ROLLBACK" in status
                else "wait for the deployment to finish, or see the stack's events"
            )
            self._add("stack", "failed", f"{status}: {hint}")
        else:
            outputs = ", ".join(sorted(self.stack.outputs)) or "none"
            self._add("stack", "ok", f"{status}; outputs: {outputs}")

    def _secret(self, name: str, key: str, shape: object, *, source: dict[str, str] | None = None) -> Any:
        arn = (self.stack.parameters if source is None else source).get(key)
        if not arn:
            self._add(name, "failed", f"the stack has no {key}")
            return None
        try:
            raw = self.secretsmanager.get_secret_value(SecretId=arn)["SecretString"]
        except Exception as exc:  # ClientError (not found, access denied) or an unreachable endpoint
            reason = getattr(exc, "response", {}).get("Error", {}).get("Message") or type(exc).__name__
            self._add(name, "failed", f"cannot read {arn}: {reason}")
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            self._add(name, "failed", f"{arn} is not valid JSON (expected an object of keys and values)")
            return None
        try:
            parsed: Any = parse_secret(arn, value, shape)
        except SecretError as exc:
            self._add(name, "failed", f"{exc} (docs/setup.md shows the shape)")
            return None
        self._add(name, "ok", f"{arn}: {_secret_summary(parsed)}")
        return parsed

    def _mapping(self) -> Mapping | None:
        """The mapping the stack's worker runs with, found as the worker finds it; an SSM parameter is
        read with the operator's AWS session (profile, region, or the local stack's moto), not Lambda's."""
        try:
            source = mapping_source(self.stack, self.ssm)
            mapping = source.load()
        except MappingError as exc:
            self._add("mapping", "failed", f"{exc} (check it with `sf-bigtime config check`)")
            return None
        self._add("mapping", "ok", f"{source.name}: trigger {mapping.trigger.describe()}")
        return mapping

    # -- ingest ---------------------------------------------------------------------------------------------
    def _endpoints(self) -> None:
        for output in ENDPOINT_OUTPUTS:
            url = self.stack.outputs.get(output)
            if not url:
                continue
            name = f"endpoint:{output}"
            try:
                reply = self.http.post(
                    url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT
                )
            except requests.RequestException as exc:
                self._add(name, "failed", f"{url} cannot be reached: {type(exc).__name__}")
                continue
            if reply.status_code in (401, 403):
                self._add(name, "ok", f"{url} answers and refuses a call without credentials")
            elif reply.status_code < 300:
                self._add(
                    name, "failed", f"{url} ACCEPTED a call without credentials (HTTP {reply.status_code})"
                )
            else:
                self._add(name, "failed", f"{url} answered HTTP {reply.status_code} instead of 401")

    # -- Salesforce -----------------------------------------------------------------------------------------
    def _salesforce(self, credentials: Any, mapping: Mapping | None) -> None:
        names = (
            "salesforce-login",
            "salesforce-org",
            "salesforce-fields",
            "salesforce-query",
            "trigger-stages",
        )
        if credentials is None:
            for name in names:
                self._add(name, "skipped", "the Salesforce secret is not usable")
            return
        version = self.stack.salesforce_api_version
        client = SalesforceClient(credentials, api_version=version, timeout=HTTP_TIMEOUT)
        try:
            org = next(iter(client.query_all("SELECT Id, Name, IsSandbox FROM Organization")), None)
        except SyncError as exc:
            self._add("salesforce-login", "failed", f"{exc.reason} (domain {credentials.domain!r})")
            for name in names[1:]:
                self._add(name, "skipped", "cannot log in to Salesforce")
            return
        org = org or {}
        kind = "sandbox" if org.get("IsSandbox") else "production or developer org"
        self._add(
            "salesforce-login",
            "ok",
            f"logged in to {org.get('Name')} ({org.get('Id')}, {kind}) through {credentials.domain}, API {version}",
        )
        org_id = str(org.get("Id") or "")
        if any(same_org(org_id, allowed) for allowed in self.stack.org_ids):
            self._add("salesforce-org", "ok", f"{org_id} is in SalesforceOrgIds")
        else:
            self._add(
                "salesforce-org",
                "failed",
                f"the credentials log in to org {org_id}, but SalesforceOrgIds is "
                f"{','.join(self.stack.org_ids) or 'empty'}: events from this org would be refused, or the "
                "worker reads a different org than the one sending events",
            )
        if mapping is None:
            for name in names[2:]:
                self._add(name, "skipped", "the mapping is not valid")
            return
        describe = CachedDescribe(client.describe)
        self._fields(describe, mapping)
        try:
            client.read_opportunity("006000000000000AAA", *mapping.query_fields())
        except SyncError as exc:
            self._add("salesforce-query", "failed", exc.reason)
        else:
            self._add(
                "salesforce-query", "ok", "the worker's Opportunity query runs for the integration user"
            )
        self._stages(describe, mapping.trigger)

    def _fields(self, describe: Callable[[str], Any], mapping: Mapping) -> None:
        uses = stack_field_uses(mapping)
        try:
            resolved = resolve_all(uses, describe)
        except SyncError as exc:
            self._add("salesforce-fields", "failed", f"describe failed: {exc.reason}")
            return
        problems = [str(r) for r in resolved if isinstance(r, FieldProblem)]
        if problems:
            shown = "; ".join(problems[:MAX_LISTED]) + (" …" if len(problems) > MAX_LISTED else "")
            self._add(
                "salesforce-fields",
                "failed",
                f"{len(problems)} field(s) missing or not accessible: {shown}. Deploy the salesforce/ "
                "metadata and assign the BigTime Integration permission set to the integration user",
                problems,
            )
            return
        custom = sorted(
            {f"{r.sobject}.{r.name}" for r in resolved if isinstance(r, ResolvedField) and r.custom}
        )
        reads = sum(1 for u in uses if u.access == "read")
        self._add(
            "salesforce-fields",
            "ok",
            f"all {reads} fields the functions read and {len(uses) - reads} they write are there "
            f"({len(custom)} custom)",
        )

    def _stages(self, describe: Callable[[str], Any], trigger: Trigger) -> None:
        if trigger.any_won:
            self._add("trigger-stages", "ok", "the mapping syncs every won stage (any_won)")
            return
        stages = tuple(trigger.stages)
        try:
            opportunity = describe("Opportunity") or {}
        except SyncError as exc:
            self._add("trigger-stages", "failed", f"describe failed: {exc.reason}")
            return
        stage: dict[str, Any] = next(
            (f for f in opportunity.get("fields") or [] if f.get("name") == "StageName"), {}
        )
        active = {
            str(v.get("value")).casefold() for v in stage.get("picklistValues") or [] if v.get("active")
        }
        missing = [s for s in stages if s.casefold() not in active]
        if missing:
            self._add(
                "trigger-stages",
                "failed",
                f"trigger stage(s) {', '.join(map(repr, missing))} not an active Opportunity stage "
                "(Setup > Object Manager > Opportunity > Fields > Stage); they come from TriggerStages "
                "or the mapping's trigger.stages",
            )
        else:
            self._add("trigger-stages", "ok", f"{', '.join(map(repr, stages))} active in the Stage picklist")

    # -- BigTime --------------------------------------------------------------------------------------------
    def _bigtime(self, credentials: Any, mapping: Mapping | None) -> None:
        if credentials is None:
            self._add("bigtime-login", "skipped", "the BigTime secret is not usable")
            return
        client = BigTimeClient(credentials, timeout=HTTP_TIMEOUT)
        wanted = configured_picklists(mapping) if mapping is not None else {}
        lists = list(wanted) or list(STANDARD_PICKLISTS)
        logged_in = False
        for name in lists:
            items: list[Any] | None = None
            try:
                items = client.picklist(name)
            except SyncError as exc:
                if exc.code == "bigtime_auth":
                    self._add("bigtime-login", "failed", f"{exc.reason} (firm id {credentials.realm!r})")
                    for rest in lists[lists.index(name) :]:
                        self._add(f"bigtime-picklist:{rest}", "skipped", "cannot log in to BigTime")
                    return
                if exc.code != "bigtime_not_found":  # unreachable, throttled: login not proven either way
                    self._add(f"bigtime-picklist:{name}", "failed", exc.reason)
                    continue
            # A list, or a 404 for a list the firm lacks: either way BigTime accepted the key.
            if not logged_in:
                logged_in = True
                self._add("bigtime-login", "ok", f"API key accepted for firm {credentials.realm}")
            if items is None:
                self._add(f"bigtime-picklist:{name}", "failed", f"BigTime has no Field Values list {name!r}")
            else:
                self._picklist(name, items, wanted.get(name, set()))
        if not logged_in and not any(r.name == "bigtime-login" for r in self.results):
            self._add("bigtime-login", "failed", "no BigTime call succeeded (see the picklist checks)")
        for name, status, detail in lookup_checks(client, mapping) if mapping is not None else []:
            self._add(name, status, detail)
        if mapping is not None and mapping.pull.mode == "report":
            self._report(client, mapping)

    def _report(self, client: BigTimeClient, mapping: Mapping) -> None:
        """The pull's saved report answers with the columns the mapping reads (its FieldList)."""
        from sf_bigtime.pull.bigtime import BigTimeReader

        report_id, columns = mapping.pull.report.id, mapping.pull.report.column_of()
        name = f"bigtime-report:{report_id}"
        try:
            rows = BigTimeReader(client).report(int(report_id or 0), columns)
        except SyncError as exc:
            self._add(name, "failed", f"report {report_id} (pull.report.id) cannot be read: {exc.reason}")
            return
        if rows.unknown_shape:
            self._add(name, "failed", "; ".join(rows.problems))
        elif rows.missing_columns:
            have = ", ".join(rows.columns[: MAX_LISTED * 3]) or "none"
            self._add(
                name,
                "failed",
                f"report {report_id} has no column {', '.join(rows.missing_columns)} named in "
                f"pull.report.columns (its columns: {have}); fix the mapping or the report",
                rows.missing_columns,
            )
        else:
            self._add(
                name,
                "ok",
                f"report {report_id} has all {len(columns)} columns the pull reads ({len(rows.rows)} project rows)",
            )

    def _picklist(self, name: str, items: list[Any], values: set[str]) -> None:
        names = {str(i.get("Name")).casefold(): str(i.get("Name")) for i in items if i.get("Name")}
        missing = sorted(v for v in values if v.casefold() not in names)
        if missing:
            have = ", ".join(sorted(names.values())[:MAX_LISTED]) or "nothing"
            self._add(
                f"bigtime-picklist:{name}",
                "failed",
                f"{', '.join(map(repr, missing))} not in BigTime's {name} list (it has: {have})",
            )
        elif values:
            self._add(f"bigtime-picklist:{name}", "ok", f"{', '.join(sorted(map(repr, values)))} resolved")
        else:
            self._add(f"bigtime-picklist:{name}", "ok", f"answers ({len(items)} active value(s))")


def _secret_summary(secret: Any) -> str:
    """Which kind of credential, and the non-secret facts about it."""
    auth = getattr(secret, "auth", None)
    if isinstance(secret, WebhookSecret):
        return "has an api_key"
    if isinstance(secret, OutboundMessageSecret):
        return "has a token"
    if isinstance(secret, SigningSecret):
        return "has an hmac_key"
    if auth in ("client_credentials", "jwt"):
        return f"{auth} for My Domain {secret.domain!r}"
    if auth in ("api_key", "session"):
        return f"{auth} for BigTime firm {secret.realm!r}"
    return "usable"
