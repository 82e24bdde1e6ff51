"""``Retry-After`` in both of its forms (RFC 9110, 10.2.3), as both API clients read it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sf_bigtime.clients.http import parse_retry_after

NOW = datetime(2026, 10, 21, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("120", None, 120.0),
        (" 7 ", None, 7.0),
        ("0", None, 0.0),
        ("1.5", None, 1.5),
        ("Wed, 21 Oct 2026 07:30:00 GMT", None, 120.0),  # from our clock
        ("Wed, 21 Oct 2026 07:30:00 GMT", "Wed, 21 Oct 2026 07:29:00 GMT", 60.0),  # from the server's
        ("Wednesday, 21-Oct-26 07:30:00 GMT", None, 120.0),  # RFC 850, obsolete but allowed
        ("Wed Oct 21 07:30:00 2026", None, 120.0),  # asctime
        ("Wed, 21 Oct 2026 07:00:00 GMT", None, 0.0),  # already past: no wait, never negative
        ("Wed, 21 Oct 2026 07:30:00 GMT", "not a date", 120.0),  # an unreadable Date: our clock
        ("-5", None, None),
        ("nan", None, None),
        ("inf", None, None),
        ("soon", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_both_forms(value: str | None, date: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, date=date, now=lambda: NOW) == expected


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=60)))
def test_any_header_reads_as_a_wait_or_as_no_advice(value: str, date: str | None) -> None:
    seconds = parse_retry_after(value, date=date, now=lambda: NOW)
    assert seconds is None or (seconds >= 0 and seconds == seconds and seconds != float("inf"))
