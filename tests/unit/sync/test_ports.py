"""The ports (sf_bigtime.sync.ports) say exactly what a sync uses; the real clients and the in-memory
ones of these tests both have every member, with the same parameters. A renamed or re-ordered parameter
on either side fails here, not in production."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.sync.ports import BigTimePort, SalesforcePort, StatePort
from tests.clock import Clock
from tests.unit.sync.memory import MemoryBigTime, MemorySalesforce, MemoryStore

PORTS = [
    pytest.param(SalesforcePort, SalesforceClient, MemorySalesforce("00D5w000004abcdEAA"), id="salesforce"),
    pytest.param(BigTimePort, BigTimeClient, MemoryBigTime(), id="bigtime"),
    pytest.param(StatePort, StateStore, MemoryStore(Clock()), id="store"),
]


def _members(port: type) -> tuple[list[str], list[str]]:
    """(methods, attributes and properties) a port declares."""
    methods = [n for n, v in vars(port).items() if not n.startswith("_") and inspect.isfunction(v)]
    properties = [n for n, v in vars(port).items() if isinstance(v, property)]
    return methods, properties + list(port.__annotations__)


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("port", "real", "memory"), PORTS)
def test_real_and_memory_implement_every_member_alike(port: type, real: type, memory: Any) -> None:
    methods, attributes = _members(port)
    assert methods  # the port is not empty
    for name in methods:
        expected = _parameters(getattr(port, name))
        assert _parameters(getattr(real, name)) == expected, f"{real.__name__}.{name}"
        assert _parameters(getattr(type(memory), name)) == expected, f"{type(memory).__name__}.{name}"
    for name in attributes:
        assert name in getattr(real, "__dataclass_fields__", {}) or isinstance(
            getattr(real, name, None), property
        ), f"{real.__name__}.{name}"
        assert hasattr(memory, name), f"{type(memory).__name__}.{name}"


@pytest.mark.parametrize(("port", "real", "memory"), PORTS)
def test_every_port_member_is_used_by_the_sync(port: type, real: type, memory: Any) -> None:
    """Exactly what the sync uses: a member no module of sf_bigtime.sync names is one too many."""
    from pathlib import Path

    import sf_bigtime.sync

    source = "\n".join(
        p.read_text() for p in Path(sf_bigtime.sync.__file__).parent.glob("*.py") if p.name != "ports.py"
    )
    methods, attributes = _members(port)
    for name in methods + attributes:
        assert f".{name}" in source, f"{port.__name__}.{name} is not used by the sync"
