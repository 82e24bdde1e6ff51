"""`sf-bigtime check --local` against a running local stack, as a developer runs it: a separate process
that knows only the stack file; then with a broken BigTime secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from sf_bigtime_local.template import REPO_ROOT


def _check(stack: dict[str, Any], state_file: Path) -> tuple[int, dict[str, Any]]:
    cli = Path(sys.executable).with_name("sf-bigtime")
    result = subprocess.run(
        [str(cli), "check", "--local", "--state-file", str(state_file), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def state_file(stack: dict[str, Any], tmp_path: Path) -> Path:
    # The fixture's stack file is private to conftest; the description it yields is the same document.
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack))
    return path


def _secrets(stack: dict[str, Any]) -> Any:
    aws = stack["aws"]
    return boto3.client(
        "secretsmanager",
        endpoint_url=aws["endpoint_url"],
        region_name=aws["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_check_passes_on_the_local_stack(stack: dict[str, Any], state_file: Path) -> None:
    code, document = _check(stack, state_file)
    assert code == 0, document
    assert document["kind"] == "local" and document["ok"] is True
    names = [c["name"] for c in document["checks"]]
    assert names[:3] == ["stack", "salesforce-secret", "bigtime-secret"]
    generated = {"outbound-message-secret", "webhook-secret", "signing-secret"}
    endpoints = {"endpoint:OutboundMessageEndpoint", "endpoint:EventsEndpoint"}
    assert generated | endpoints | {"mapping"} <= set(names)  # every entry point the local stack has
    assert {"salesforce-fields", "salesforce-query", "bigtime-login"} <= set(names)
    assert all(c["status"] == "ok" for c in document["checks"])


def test_check_fails_on_the_local_stack_with_a_wrong_bigtime_token(
    stack: dict[str, Any], state_file: Path
) -> None:
    secrets, arn = _secrets(stack), stack["aws"]["bigtime_secret_arn"]
    good = secrets.get_secret_value(SecretId=arn)["SecretString"]
    secrets.put_secret_value(
        SecretId=arn, SecretString=json.dumps({**json.loads(good), "api_token": "wrong"})
    )
    try:
        code, document = _check(stack, state_file)
    finally:
        secrets.put_secret_value(SecretId=arn, SecretString=good)
    assert code == 1
    by_name = {c["name"]: c for c in document["checks"]}
    assert by_name["bigtime-login"]["status"] == "failed"
    assert "HTTP 401" in by_name["bigtime-login"]["detail"]
    assert by_name["salesforce-fields"]["status"] == "ok"
