"""A worker that dies mid-sync, for the exactly-once tests (unit and integration alike): BigTime has created
the client, project or task, and the worker dies before the state table records its id."""

from __future__ import annotations

from typing import Any


class Crash(BaseException):
    """Stands for the worker process dying: no ``except Exception`` and no claim release catches it."""


def die_on_record(store: Any, kind: str) -> None:
    """Make ``store.record`` (a StateStore or the in-memory one) raise :class:`Crash` when asked to record a
    ``kind`` ("acct", "opp", "task"); every other record goes through. :func:`revive` undoes it."""
    record = store.record

    def dying(k: str, *args: Any, **kwargs: Any) -> None:
        if k == kind:
            raise Crash(f"the worker died after BigTime created the {kind}, before recording it")
        record(k, *args, **kwargs)

    store.record = dying


def revive(store: Any) -> None:
    del store.record  # the instance attribute goes; the class's method is back
