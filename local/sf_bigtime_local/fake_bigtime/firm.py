"""One fake firm: its records and rules, one component per route family, wired together.

The app builds a new :class:`Firm` at construction and on every reset; route handlers receive it.
Components that keep per-project records register as the store's project hooks, so deleting a project
is refused while work is logged on it and otherwise takes their records along.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .auth import Auth
from .config import FakeConfig
from .customfields import CustomFields
from .figures import Figures
from .invoices import Invoices
from .models import ApiError
from .picklists import Picklists
from .reports import Reports
from .seed import DEFAULT_CUSTOM_FIELDS, DEFAULT_PICKLISTS, DEFAULT_REPORTS, DEFAULT_STAFF, DEFAULT_TEMPLATES
from .staff import Staff
from .store import Store
from .tasks import Tasks
from .templates import Templates
from .timesheet import Timesheet


@dataclass
class Seed:
    """What a new firm starts with (each part replaces the matching default in :mod:`.seed`)."""

    picklists: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: dict(DEFAULT_PICKLISTS))
    custom_fields: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_CUSTOM_FIELDS))
    staff: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_STAFF))
    templates: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    reports: dict[int, dict[str, Any]] = field(default_factory=lambda: dict(DEFAULT_REPORTS))


class Firm:
    """Store plus the components of every route family, sharing one config and clock."""

    def __init__(self, config: FakeConfig, clock: Callable[[], float], auth: Auth, seed: Seed) -> None:
        self.config = config
        self.auth = auth
        self.picklists = Picklists(seed.picklists)
        self.store = Store(config, clock, self.picklists, seed.custom_fields)
        self.custom_fields = CustomFields(self.store)
        try:
            self.staff = Staff(self.store, seed.staff)
            self.tasks = Tasks(self.store, self.staff)
            self.timesheet = Timesheet(self.store, self.tasks, self.staff)
            self.invoices = Invoices(self.store, self.timesheet)
            self.figures = Figures(self.store, self.tasks, self.timesheet, self.invoices)
            self.templates = Templates(self.store, self.tasks, seed.templates)
            self.reports = Reports(self.store, self.figures, self.staff, self.custom_fields, seed.reports)
        except ApiError as error:  # a seed that the API would refuse is a construction error
            raise ValueError(f"bad seed data: {error.message}") from error
        # Refusals first (logged work, invoices), then the cascades, then the view extension.
        self.store.hooks = [
            self.timesheet,
            self.invoices,
            self.custom_fields,
            self.tasks,
            self.staff,
            self.figures,
        ]
