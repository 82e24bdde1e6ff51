"""`sam build` (make builds, no Docker) produces the deployable artifacts: the layer carries the library with
exactly its locked dependencies, never the local stack, fakes or tests, and byte code Lambda can use for
every module it ships (layers/common/bytecode.mk says why hash-based)."""

from __future__ import annotations

import email.parser
import importlib.util
import marshal
import os
import re
import subprocess
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sf_bigtime_local.template import REPO_ROOT

SAM = Path(os.environ.get("SAM_CLI", REPO_ROOT / ".venv-sam/bin/sam"))
LOCK = "layers/common/requirements.lock"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sam")]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert SAM.exists(), f"{SAM} is missing: run `make install` (the SAM CLI venv)"
    out = tmp_path_factory.mktemp("sam-build")
    env = {
        **os.environ,
        # The layer and function makefiles call python3.13; the SAM venv has one (as `make build` does).
        "PATH": f"{SAM.parent}:{os.environ.get('PATH', '')}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [str(SAM), "build", "--template", str(REPO_ROOT / "template.yaml"), "--build-dir", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


FUNCTIONS = ("IngestFunction", "WorkerFunction", "ReconcileFunction", "PullFunction")


def test_functions_are_thin(build_dir: Path) -> None:
    for name in FUNCTIONS:
        files = sorted(
            str(p.relative_to(build_dir / name)) for p in (build_dir / name).rglob("*") if p.is_file()
        )
        assert files == ["__pycache__/app.cpython-313.pyc", "app.py"], f"{name}: only its handler: {files}"


def _check_byte_code(root: Path, mounted_at: str) -> int:
    """Every .py under root has its .pyc for CPython 3.13, hash-based and unchecked, compiled from exactly
    that source, recording the path Lambda mounts it at; no .pyc without its source. Returns the count."""
    sources = sorted(root.rglob("*.py"))
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert pyc.exists(), f"no byte code for {source.relative_to(root)}"
        data = pyc.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER, f"{pyc}: not CPython 3.13 byte code"
        # PEP 552 flags: bit 0 = hash-based, bit 1 = check the source. 0b01: trusted as shipped.
        assert int.from_bytes(data[4:8], "little") == 0b01, f"{pyc}: not an unchecked hash-based .pyc"
        assert data[8:16] == importlib.util.source_hash(source.read_bytes()), (
            f"{pyc}: compiled from other source"
        )
        code = marshal.loads(data[16:])
        assert code.co_filename == f"{mounted_at}/{source.relative_to(root)}", code.co_filename
    pycs = list(root.rglob("*.pyc"))
    for pyc in pycs:
        assert re.fullmatch(r"[^.]+\.cpython-313\.pyc", pyc.name), (
            f"{pyc}: not level-0 CPython 3.13 byte code"
        )
        assert (pyc.parent.parent / f"{pyc.name.split('.')[0]}.py").exists(), f"{pyc} has no source"
    assert len(pycs) == len(sources)
    return len(sources)


def test_every_module_the_layer_ships_has_byte_code_lambda_can_use(build_dir: Path) -> None:
    modules = _check_byte_code(build_dir / "CommonLayer" / "python", "/opt/python")
    assert modules > 500  # the dependencies, not only our package
    for name in FUNCTIONS:
        assert _check_byte_code(build_dir / name, "/var/task") == 1


def test_layer_has_the_library_and_pinned_dependencies(build_dir: Path) -> None:
    python = build_dir / "CommonLayer" / "python"
    assert (python / "sf_bigtime" / "sync" / "worker.py").exists()
    assert (python / "sf_bigtime" / "py.typed").exists()
    # the bundled mapping is read with importlib.resources at cold start: it must ship, byte for byte
    bundled = python / "sf_bigtime" / "mapping" / "default.yaml"
    assert bundled.read_bytes() == (REPO_ROOT / "layers/common/sf_bigtime/mapping/default.yaml").read_bytes()
    shipped = _distributions(python)
    # exactly the lock: every package at its locked version, nothing else
    locked = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", (REPO_ROOT / LOCK).read_text(), re.MULTILINE))
    assert {canonicalize_name(n): v for n, v in locked.items()} == {n: v for n, (v, _) in shipped.items()}
    # arm64 wheels, not the build host's
    assert list(python.glob("pydantic_core/*aarch64*.so"))
    assert not list(python.rglob("*x86_64*.so"))


def _distributions(python: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, Requires-Dist lines) of every distribution installed in the layer."""
    found: dict[str, tuple[str, list[str]]] = {}
    for info in python.glob("*.dist-info"):
        metadata = email.parser.Parser().parsestr((info / "METADATA").read_text(), headersonly=True)
        found[canonicalize_name(metadata["Name"])] = (
            metadata["Version"],
            metadata.get_all("Requires-Dist", []),
        )
    return found


def test_the_layer_holds_every_dependency_but_the_ones_left_out_on_purpose(build_dir: Path) -> None:
    """Walk the dependencies from requirements.txt as pip would for Lambda's python3.13 on arm64: each one
    is in the layer, or left out on purpose (the Makefile's LAYER_NOT_SHIPPED, which a unit test proves no
    code path imports)."""
    shipped = _distributions(build_dir / "CommonLayer" / "python")
    makefile = (REPO_ROOT / "Makefile").read_text()
    not_shipped = {
        canonicalize_name(n) for n in re.search(r"^LAYER_NOT_SHIPPED\s*:=(.*)$", makefile, re.M)[1].split()
    }
    lambda_env = default_environment() | {
        "platform_machine": "aarch64",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "python_version": "3.13",
        "python_full_version": "3.13.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    lines = (REPO_ROOT / "layers/common/requirements.txt").read_text().splitlines()
    todo = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    seen: set[tuple[str, frozenset[str]]] = set()
    missing: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        if name not in shipped:
            if name not in not_shipped:
                missing.add(name)
            continue
        version, requires = shipped[name]
        assert req.specifier.contains(version, prereleases=True), f"{name} {version} does not satisfy {req}"
        for line in requires:
            dep = Requirement(line)
            if dep.marker is None or any(
                dep.marker.evaluate(lambda_env | {"extra": extra}) for extra in {"", *req.extras}
            ):
                todo.append(dep)
    assert not missing, f"dependencies missing from the layer: {sorted(missing)} (run `make lock`)"
    assert not_shipped <= {name for name, _ in seen}  # still dependencies somewhere: the exclusion is needed


def test_layer_has_no_operator_code_local_stack_fakes_or_tests(build_dir: Path) -> None:
    python = build_dir / "CommonLayer" / "python"
    top = {p.name for p in python.iterdir()}
    assert not {"sf_bigtime_ops", "sf_bigtime_local", "tests", "click"} & top
    # the package ships exactly the layer's sources: the operator CLI lives in ops/, outside the layer
    source = REPO_ROOT / "layers/common/sf_bigtime"
    shipped = {
        p.relative_to(python / "sf_bigtime") for p in (python / "sf_bigtime").rglob("*") if p.is_file()
    }
    expected = {
        p.relative_to(source) for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert {p for p in shipped if "__pycache__" not in p.parts} == expected
    assert not [p for p in (python / "sf_bigtime").rglob("*") if p.name.startswith(("fake", "test"))]
    # the Lambda runtime provides boto3 and botocore; moto is test-only; console scripts are not for Lambda
    assert (
        not {"boto3", "botocore", "s3transfer", "moto", "bin", "requirements.txt", "requirements.lock"} & top
    )
