"""Run-time settings of the fake that tests may change (also over ``POST /__fake/config``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

CONTACT_ID_KEYS = ("SystemId", "Id", "id")


@dataclass
class FakeConfig:
    """Knobs for behaviour BigTime's documentation does not settle ([Unknown]), so clients can be tested
    against each variant (docs/decisions.md#what-we-assume-about-bigtime)."""

    session_ttl: float = 7 * 24 * 3600  # the current Session page says 7 days, an older one 24 h
    rate_limit_per_minute: int = 0  # 0 = unlimited; beyond it: 503
    retry_after: float | None = None  # seconds sent in Retry-After with a throttling 503; None = no header
    auto_number_projects: bool = False  # firm setting: assign ProjectCode when a create omits it
    contact_id_key: str = "SystemId"  # the contact id's name in responses: SystemId | Id | id
    require_client_code: bool = False  # client code (ClientId) mandatory on create

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError on a setting the fake cannot honour (also wrong types from JSON)."""
        for name in ("auto_number_projects", "require_client_code"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if isinstance(self.rate_limit_per_minute, bool) or not isinstance(self.rate_limit_per_minute, int):
            raise ValueError("rate_limit_per_minute must be an integer")
        for name in ("session_ttl", "retry_after"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{name} must be a number")
        if self.contact_id_key not in CONTACT_ID_KEYS:
            raise ValueError(f"contact_id_key must be one of {CONTACT_ID_KEYS}, not {self.contact_id_key!r}")
        if self.rate_limit_per_minute < 0:
            raise ValueError("rate_limit_per_minute must be >= 0")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be >= 0 or None")
        if self.session_ttl is None or self.session_ttl <= 0:
            raise ValueError("session_ttl must be > 0")

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (all or nothing); unknown keys or bad values raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        candidate = FakeConfig(**{**asdict(self), **changes})  # validates
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data."""
        return asdict(self)
