"""What ships to Lambda imports nothing that does not ship: the handlers and the layer package never import
the operator package (sf_bigtime_ops), the local stack (sf_bigtime_local), the tests or the CLI's libraries.
Checked statically on every import statement, including imports inside functions, so a lazy import that only
an untested branch reaches cannot slip through; the built layer's file list is checked in
tests/template/test_sam_build.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import LAYER_PACKAGE, REPO_ROOT

LAMBDA_CODE = [LAYER_PACKAGE, REPO_ROOT / "functions"]
# Not in the layer (requirements.txt) or the Lambda runtime: importing them would fail in Lambda.
NOT_SHIPPED = (
    "sf_bigtime_ops",
    "sf_bigtime_local",
    "tests",
    "click",
    "moto",
    "werkzeug",
    "hypothesis",
    "pytest",
)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute module an ``import`` or ``from … import`` statement in the file names."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def lambda_sources() -> list[Path]:
    return sorted(p for root in LAMBDA_CODE for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", lambda_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_lambda_code_imports_only_what_ships(path: Path) -> None:
    offenders = [
        f"line {line}: {name}" for line, name in imported_modules(path) if name.split(".")[0] in NOT_SHIPPED
    ]
    assert offenders == [], f"{path.relative_to(REPO_ROOT)} imports code that is not in the Lambda layer"


def test_the_scan_sees_imports_at_any_depth(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import os\ndef f():\n    from sf_bigtime_ops.cli import main\n    import click.core\n")
    assert imported_modules(sample) == [(1, "os"), (3, "sf_bigtime_ops.cli"), (4, "click.core")]


def test_the_layer_package_has_no_operator_modules_left() -> None:
    # the operator CLI moved to ops/; a stray copy in the layer would ship (and drift)
    names = {p.stem for p in LAYER_PACKAGE.rglob("*.py")}
    assert not names & {"cli", "stack_check", "fieldcheck", "stackinfo", "redrive", "openapi"}
