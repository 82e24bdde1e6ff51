"""Check salesforce/ and the guide with the real Salesforce CLI (offline; `make salesforce-validate`).

1. ``sf project convert source`` accepts every package directory (every file is a known metadata type in
   the right place) and names every source file in the package it builds;
2. the deploy-time replacements work: with the variables set nothing of ``__SF_BIGTIME_…__`` is left,
   without them the CLI stops and names the variable;
3. every ``sf`` command the guide and README use exists with the flags they use, and
   ``tests/docs/sf_cli_commands.json`` (which ``make test`` checks the guide against, without the CLI)
   matches this CLI; ``--write-snapshot`` rewrites it.

The CLI does not validate XML content; tests/salesforce parse and cross-check it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.docs.guide import commands, inline_commands  # noqa: E402

SALESFORCE = REPO / "salesforce"
SNAPSHOT = REPO / "tests" / "docs" / "sf_cli_commands.json"
QUIET = {
    "SF_DISABLE_TELEMETRY": "true",
    "SF_AUTOUPDATE_DISABLE": "true",
    "SF_SKIP_NEW_VERSION_CHECK": "true",
    "SF_HIDE_RELEASE_NOTES": "true",
}
SAMPLE = {
    "SF_BIGTIME_OUTBOUND_MESSAGE_URL": "https://abc123.execute-api.eu-west-1.amazonaws.com/salesforce/outbound-message?token=T0ken",
    "SF_BIGTIME_INTEGRATION_USER": "bigtime-sync@acme.com.uat",
    "SF_BIGTIME_API_URL": "https://abc123.execute-api.eu-west-1.amazonaws.com",
}


def run(sf: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SAMPLE}
    return subprocess.run(  # noqa: S603 - the sf executable the Makefile installed
        [sf, *args],
        cwd=SALESFORCE,
        env={**clean, **QUIET, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def check_convert(sf: str) -> list[str]:
    problems = []
    project = json.loads((SALESFORCE / "sfdx-project.json").read_text())
    for package in project["packageDirectories"]:
        source = package["path"]
        files = [p for p in (SALESFORCE / source).rglob("*-meta.xml")]
        with tempfile.TemporaryDirectory() as out:
            result = run(
                sf,
                "project",
                "convert",
                "source",
                "--source-dir",
                source,
                "--output-dir",
                f"{out}/x",
                "--json",
            )
            if result.returncode != 0:
                problems.append(f"convert {source}: {result.stdout[-2000:]}{result.stderr[-500:]}")
                continue
            members = re.findall(r"<members>(.*?)</members>", (Path(out) / "x" / "package.xml").read_text())
            print(f"convert {source}: ok, {len(files)} source files, {len(members)} package members")
            if len(members) < len(files):
                problems.append(f"convert {source}: {len(files)} files but only {len(members)} members")
        with tempfile.TemporaryDirectory() as out:
            replaced = run(
                sf,
                "project",
                "convert",
                "source",
                "--source-dir",
                source,
                "--output-dir",
                f"{out}/x",
                "--json",
                env={"SF_APPLY_REPLACEMENTS_ON_CONVERT": "true", **SAMPLE},
            )
            leftovers = [
                str(p) for p in Path(out).rglob("*") if p.is_file() and "__SF_BIGTIME_" in p.read_text()
            ]
            if replaced.returncode != 0 or leftovers:
                problems.append(f"replacements in {source}: exit {replaced.returncode}, left in {leftovers}")
        for replacement in project.get("replacements", []):
            if not replacement["filename"].startswith(source + "/"):
                continue
            with tempfile.TemporaryDirectory() as out:
                unset = run(
                    sf,
                    "project",
                    "convert",
                    "source",
                    "--source-dir",
                    source,
                    "--output-dir",
                    f"{out}/x",
                    "--json",
                    env={
                        "SF_APPLY_REPLACEMENTS_ON_CONVERT": "true",
                        **{k: v for k, v in SAMPLE.items() if k != replacement["replaceWithEnv"]},
                    },
                )
            if unset.returncode == 0 or replacement["replaceWithEnv"] not in unset.stdout + unset.stderr:
                problems.append(
                    f"{source}: deploying without {replacement['replaceWithEnv']} must stop and name it"
                )
    return problems


def used_commands() -> list[tuple[str, ...]]:
    docs = [(REPO / "docs" / "setup.md").read_text(), (REPO / "README.md").read_text()]
    found = [c.words for text in docs for c in [*commands(text), *inline_commands(text)] if c.tool == "sf"]
    return sorted(set(found))


def snapshot(sf: str) -> dict[str, object]:
    result = run(sf, "commands", "--json")
    if result.returncode != 0:
        raise SystemExit(f"sf commands --json failed: {result.stderr[-1000:]}")
    catalog = {c["id"]: c for c in json.loads(result.stdout)}
    version = run(sf, "--version").stdout.split()[0]
    wanted: dict[str, object] = {}
    for words in used_commands():
        topic = list(itertools.takewhile(lambda w: not w.startswith("-"), words[1:]))
        if not topic:  # `sf --version`
            continue
        ids = [":".join(topic[:n]) for n in range(len(topic), 0, -1)]
        found = next((i for i in ids if i in catalog), None)
        if found is None:
            raise SystemExit(f"the guide uses `{' '.join(words)}`, which this CLI does not have")
        flags = catalog[found]["flags"]
        wanted[found] = {
            "flags": sorted(flags),
            "chars": sorted(f["char"] for f in flags.values() if f.get("char")),
        }
    return {"cli": version, "commands": dict(sorted(wanted.items()))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", required=True, help="path to the sf executable")
    parser.add_argument("--write-snapshot", action="store_true", help=f"rewrite {SNAPSHOT.relative_to(REPO)}")
    args = parser.parse_args()
    problems = check_convert(args.sf)
    current = snapshot(args.sf)
    if args.write_snapshot:
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
        print(f"wrote {SNAPSHOT.relative_to(REPO)} ({current['cli']})")
    else:
        committed = json.loads(SNAPSHOT.read_text())
        if committed["commands"] != current["commands"]:
            problems.append(
                f"{SNAPSHOT.relative_to(REPO)} differs from sf {current['cli']}: run this with --write-snapshot "
                "(`make salesforce-snapshot`) and review the diff"
            )
        else:
            print(f"the guide's sf commands and flags match sf {current['cli']}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
