"""`sam build` (python builder, no Docker) produces the deployable artifacts, and the layer carries the
library with its pinned dependencies but never the local stack, fakes or tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sf_bigtime_local.template import REPO_ROOT

SAM = Path(os.environ.get("SAM_CLI", REPO_ROOT / ".venv-sam/bin/sam"))

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sam")]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert SAM.exists(), f"{SAM} is missing: run `make install` (the SAM CLI venv)"
    out = tmp_path_factory.mktemp("sam-build")
    env = {
        **os.environ,
        # `sam build` looks for python3.13 on PATH; the SAM venv has one.
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


def test_functions_are_thin(build_dir: Path) -> None:
    for name in ("IngestFunction", "WorkerFunction", "ReconcileFunction"):
        files = sorted(p.name for p in (build_dir / name).iterdir())
        assert files == ["app.py"], f"{name} should only carry its handler: {files}"


def test_layer_has_the_library_and_pinned_dependencies(build_dir: Path) -> None:
    python = build_dir / "CommonLayer" / "python"
    assert (python / "sf_bigtime" / "sync" / "worker.py").exists()
    assert (python / "sf_bigtime" / "py.typed").exists()
    # the bundled mapping is read with importlib.resources at cold start: it must ship, byte for byte
    bundled = python / "sf_bigtime" / "mapping" / "default.yaml"
    assert bundled.read_bytes() == (REPO_ROOT / "layers/common/sf_bigtime/mapping/default.yaml").read_bytes()
    pins = {
        line.split("==")[0].split("[")[0].lower().replace("-", "_"): line.split("==")[1]
        for line in (REPO_ROOT / "layers/common/requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for package, version in pins.items():
        assert list(python.glob(f"{package}-{version}.dist-info")), f"{package}=={version} not in the layer"
    # arm64 wheels, not the build host's
    assert list(python.glob("pydantic_core/*aarch64*.so"))


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
    assert "boto3" not in top and "moto" not in top  # the Lambda runtime provides boto3; moto is test-only
