"""What a run prints: the figures (measured while it ran and checked after) and the failures, with its seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.checks import Results
from chaos.deliver import Deliverer
from chaos.faults import bigtime_kinds
from chaos.plan import Size
from sf_bigtime_local.stack import LocalStack


@dataclass
class Report:
    seed: int
    size: Size
    results: Results = field(default_factory=Results)
    log_file: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.results.failures

    def render(self) -> str:
        lines = [
            f"chaos run, seed {self.seed} (replay: make chaos SEED={self.seed})",
            f"  {self.size.describe()}",
        ]
        width = max((len(what) for what, _ in self.results.figures), default=0)
        lines += [f"  {what:<{width}}  {value}" for what, value in self.results.figures]
        if self.log_file:
            lines.append(f"  captured logs: {self.log_file}")
        if self.results.failures:
            lines.append(f"FAILED ({len(self.results.failures)}), seed {self.seed}:")
            lines += [f"  - {f}" for f in self.results.failures[:40]]
            if len(self.results.failures) > 40:
                lines.append(f"  … and {len(self.results.failures) - 40} more")
        else:
            lines.append("PASSED")
        return "\n".join(lines)


def deliveries(results: Results, deliverer: Deliverer, sf: Any) -> None:
    flow = [d for d in sf.deliveries if d["kind"] == "json"]
    extra = deliverer.sent.by_format
    results.figure(
        "deliveries",
        f"Flow callouts {len(flow)}; again: "
        + ", ".join(f"{k} {v}" for k, v in sorted(extra.items()))
        + f" ({deliverer.sent.envelopes} SOAP envelopes)",
    )
    results.figure("deliveries refused by ingest", len(deliverer.sent.refused))
    for refused in deliverer.sent.refused[:10]:
        results.failures.append(f"ingest refused a delivery: {refused}")


def fault_figures(
    results: Results,
    bt_faults: dict[str, Any],
    hits: dict[str, int],
    bt_calls: list[Any],
    sf_fault: Any,
    sf_calls: list[Any],
    size: Size,
) -> None:
    kinds = {k.name: k.what for k in bigtime_kinds(size.http_timeout)}
    throttled = sum(1 for c in bt_calls if c.status == 503 and not c.fault)
    faulted = sum(hits.values())
    results.figure(
        "BigTime calls / faulted / throttled by its limit",
        f"{len(bt_calls)} / {faulted} ({faulted / max(1, len(bt_calls)):.1%}) / {throttled}",
    )
    results.figure("BigTime faults by kind", ", ".join(f"{name} {hits[name]}" for name in kinds))
    results.expect(all(hits[name] > 0 for name in kinds), f"a BigTime fault kind never struck: {hits}")
    api = [c for c in sf_calls if c.counted]
    logins = sum(1 for c in sf_calls if c.path == "/services/oauth2/token")
    expired = sum(1 for c in api if c.status == 401)
    results.figure(
        "Salesforce API calls / 503s / 401s (expired tokens) / logins",
        f"{len(api)} / {sf_fault.hits} / {expired} / {logins}",
    )
    results.expect(sf_fault.hits > 0 and expired > 0, "Salesforce faults never struck")


def worker_figures(
    results: Results, stack: LocalStack, size: Size, parked: int, redrive: dict[str, Any]
) -> None:
    poller = stack.poller
    assert poller is not None
    crashes = [k for k in poller.kills if k.reason == "crash"]
    results.figure(
        "worker invocations / crashed / timed out",
        f"{poller.invocations} / {len(crashes)} / {sum(1 for k in poller.kills if k.reason == 'timeout')}",
    )
    for n, kill in enumerate(crashes, 1):
        where = "just after BigTime answered a create, in" if "chaos/crash.py" in kill.where else "at"
        results.figure(
            f"  crash {n}",
            f"{kill.seconds:.2f}s into a batch of {kill.messages}, {where} {kill.where_ours or kill.where}",
        )
    results.expect(
        len(crashes) == size.crashes, f"{len(crashes)} of the {size.crashes} worker crashes happened"
    )
    results.figure(
        "messages parked in the DLQ, then redriven",
        f"{parked}, {redrive.get('moved', 0)} ({redrive.get('method')})",
    )


def figures_on_timeout(results: Results, stack: LocalStack, bt_faults: dict[str, Any], sf_fault: Any) -> None:
    results.figure("BigTime faults by kind so far", ", ".join(f"{n} {f.hits}" for n, f in bt_faults.items()))
    results.figure("Salesforce 503s so far", sf_fault.hits)
    if stack.poller is not None:
        results.figure(
            "worker invocations / kills", f"{stack.poller.invocations} / {len(stack.poller.kills)}"
        )
