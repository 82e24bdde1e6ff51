"""The layer's lock (layers/common/requirements.lock, written by `make lock`) matches requirements.txt, pins
every package with hashes, and leaves out only packages no code path of ours imports.

The layer build installs the lock with `pip install --require-hashes` (layers/common/Makefile); the built
layer itself is checked in tests/template/test_sam_build.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.paths import REPO_ROOT

LAYER = REPO_ROOT / "layers/common"
LOCK = LAYER / "requirements.lock"
FIX = "run `make lock` (after editing layers/common/requirements.txt) and commit requirements.lock"


def _entries() -> dict[str, dict[str, object]]:
    """name -> {"version", "hashes", "via"} from the lock (uv's pip-compatible output)."""
    entries: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    for line in LOCK.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^ \\]+)", line):
            current = {"version": match[2], "hashes": [], "via": []}
            entries[canonicalize_name(match[1])] = current
        elif current is not None and (hashed := re.match(r"^\s+--hash=sha256:([0-9a-f]{64})", line)):
            current["hashes"].append(hashed[1])  # type: ignore[attr-defined]
        elif current is not None and (via := re.match(r"^\s+#\s+(?:via\s+)?(\S.*)$", line)):
            current["via"].append(via[1].strip())  # type: ignore[attr-defined]
        elif line.strip() and not line.startswith("#"):
            raise AssertionError(f"unexpected line in {LOCK.name}: {line!r}")
    return entries


def _requirements() -> dict[str, Requirement]:
    lines = (LAYER / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(r.name): r for r in reqs}


def _not_shipped() -> list[str]:
    makefile = (REPO_ROOT / "Makefile").read_text()
    match = re.search(r"^LAYER_NOT_SHIPPED\s*:=\s*(.*)$", makefile, re.MULTILINE)
    assert match, "the Makefile defines LAYER_NOT_SHIPPED"
    return match[1].split()


def test_the_lock_was_written_from_the_current_requirements_txt() -> None:
    digest = hashlib.sha256((LAYER / "requirements.txt").read_bytes()).hexdigest()
    header = LOCK.read_text().splitlines()[0]
    assert header == f"# requirements.txt sha256: {digest}", f"requirements.lock is out of date: {FIX}"


def test_every_requirement_is_locked_at_its_pinned_version() -> None:
    entries = _entries()
    for name, req in _requirements().items():
        assert name in entries, f"{name} is in requirements.txt but not in the lock: {FIX}"
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        assert pinned == [entries[name]["version"]], (
            f"{name}: requirements.txt {req}, lock {entries[name]}: {FIX}"
        )
    direct = {name for name, entry in entries.items() if "-r requirements.txt" in entry["via"]}  # type: ignore[operator]
    assert direct == set(_requirements()), f"direct requirements differ from requirements.txt: {FIX}"


def test_every_locked_package_is_pinned_with_hashes() -> None:
    entries = _entries()
    assert (
        len(entries) >= len(_requirements()) + 10
    )  # the transitive packages are there, not only the direct ones
    for name, entry in entries.items():
        assert entry["hashes"], f"{name} has no --hash in the lock: pip --require-hashes would refuse it"
        assert entry["via"], f"{name}: the lock says nothing about why it is there"
    # boto3 and botocore come with the Lambda runtime; nothing we ship may bring its own copy.
    assert not {"boto3", "botocore", "s3transfer"} & set(entries)


def test_left_out_packages_are_recorded_in_the_lock_and_absent_from_it() -> None:
    not_shipped = _not_shipped()
    assert LOCK.read_text().splitlines()[1] == (
        f"# not shipped (Makefile, LAYER_NOT_SHIPPED): {' '.join(not_shipped)}"
    ), FIX
    assert not {canonicalize_name(n) for n in not_shipped} & set(_entries())


# A fresh interpreter in which the left-out packages cannot be imported loads every module of the layer's
# package and the three handlers, and does what our code does with the libraries beyond importing them
# (a JWT bearer assertion is signed with cryptography, YAML parsed, models validated).
PROBE = r"""
import importlib, importlib.abc, importlib.util, json, pkgutil, sys
from pathlib import Path

BLOCKED = set(sys.argv[2].split(","))

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is not in the layer", name=name)
        return None

sys.meta_path.insert(0, Blocker())
root = Path(sys.argv[1])
import sf_bigtime
modules = [m.name for m in pkgutil.walk_packages(sf_bigtime.__path__, "sf_bigtime.")]
for name in modules:
    importlib.import_module(name)
for function in ("ingest", "worker", "reconcile"):
    spec = importlib.util.spec_from_file_location(f"{function}_app", root / "functions" / function / "app.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
token = jwt.encode({"iss": "x", "sub": "u", "aud": "https://login.salesforce.com", "exp": 1}, pem, algorithm="RS256")
from sf_bigtime.mapping.load import default_mapping
default_mapping()
print(json.dumps({"modules": len(modules), "jwt": token.count("."), "loaded": sorted(sys.modules)}))
"""


def test_no_code_path_imports_a_left_out_package() -> None:
    import importlib.metadata

    top_level = importlib.metadata.packages_distributions()
    blocked = sorted(
        module
        for module, dists in top_level.items()
        if {canonicalize_name(d) for d in dists} & {canonicalize_name(n) for n in _not_shipped()}
    )
    assert blocked, "the left-out packages are installed in .venv (moto and the SAM CLI use some of them)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT), ",".join(blocked)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["modules"] > 40 and probe["jwt"] == 2
    # the libraries that pulled the left-out packages in were really loaded
    assert {"zeep", "simple_salesforce.api", "cryptography", "yaml"} <= set(probe["loaded"])
