"""Secrets stay out of logs: library loggers held above DEBUG, no function logs its raw event, and the log
scan (tests/logscan.py) that the integration tests and the chaos run rely on finds what it must."""

from __future__ import annotations

import ast
import io
import logging
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Logger

from sf_bigtime.logs import QUIET_LOGGERS, quiet_libraries
from tests.logscan import SECRET_PATTERN, LogScan, known_secret
from tests.paths import REPO_ROOT

FUNCTIONS = sorted((REPO_ROOT / "functions").glob("*/app.py"))


@pytest.fixture
def library_levels() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_library_loggers_log_from_info_up_whatever_the_root_level(library_levels: None) -> None:
    root = logging.root.level
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # already stricter: kept
    logging.getLogger("botocore").setLevel(logging.NOTSET)
    try:
        logging.root.setLevel(logging.DEBUG)
        quiet_libraries()
        for name in ("botocore", "botocore.parsers", "botocore.endpoint", "boto3.resources.action"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
        assert logging.getLogger("urllib3.connectionpool").getEffectiveLevel() == logging.ERROR
    finally:
        logging.root.setLevel(root)


@pytest.mark.parametrize("app", FUNCTIONS, ids=[p.parent.name for p in FUNCTIONS])
def test_no_function_logs_its_event_and_each_quiets_the_libraries(app: object) -> None:
    """Powertools logs the raw event when POWERTOOLS_LOGGER_LOG_EVENT is set unless told log_event=False
    (tests/integration/test_secrets_in_logs.py shows ingest staying quiet with it set)."""
    tree = ast.parse(app.read_text())  # type: ignore[attr-defined]
    decorators = [
        d
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for d in node.decorator_list
        if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "inject_lambda_context"
    ]
    assert decorators, "the handler has Powertools' Lambda context"
    for decorator in decorators:
        settings = {k.arg: k.value for k in decorator.keywords}
        assert isinstance(settings.get("log_event"), ast.Constant) and settings["log_event"].value is False
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "quiet_libraries"
    ]
    assert calls, "quiet_libraries() at import"


# -- the scanner itself -----------------------------------------------------------------------------------
def test_known_secrets_fit_every_secret_shape_and_the_pattern() -> None:
    value = known_secret("api-key!")
    assert value.isalnum() and len(value) >= 48 and SECRET_PATTERN.fullmatch(value)
    assert known_secret() != known_secret()


def test_the_scan_finds_secrets_in_messages_arguments_extras_exceptions_and_powertools_loggers() -> None:
    secret = known_secret("x")
    powertools = Logger(service="logscan-self-test", stream=io.StringIO())
    plain = logging.getLogger("logscan.self.test")
    with LogScan() as scan:
        plain.debug("token %s", secret)  # root lowered to DEBUG: debug records are seen
        plain.info("no secret here", extra={"header": f"x-api-key: {secret}"})
        powertools.warning("refused", extra={"reason": secret[:20]})  # Powertools: no propagation
        try:
            raise ValueError(f"bad {secret}")
        except ValueError:
            plain.exception("failed")
        scan.scan("a reply", {"body": f"echo {secret}"})
        plain.info("clean line")
    where = [f.where for f in scan.findings]
    assert where == [
        "log DEBUG logscan.self.test",
        "log INFO logscan.self.test",
        "log WARNING logscan-self-test",
        "log ERROR logscan.self.test",
        "a reply",
    ]
    assert scan.records == 5
    with pytest.raises(AssertionError, match="secrets reached logs"):
        scan.assert_clean()


def test_the_scan_restores_logging_and_passes_a_clean_run() -> None:
    handle, root = logging.Logger.handle, logging.root.level
    with LogScan(level=logging.DEBUG) as scan:
        scan.register("not-a-pattern-but-secret")
        logging.getLogger("logscan.self.test").warning("all is well")
    scan.assert_clean()
    assert logging.Logger.handle is handle and logging.root.level == root and scan.records == 1
