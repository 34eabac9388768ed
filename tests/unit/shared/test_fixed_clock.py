"""The fixed clock a service runs on when its clock setting is given: it reads one time until
moved, only forward, always in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.router.config.settings import Settings
from shared.clock import FixedClock

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_it_reads_the_set_time_until_moved_forward() -> None:
    clock = FixedClock(T0.astimezone(timezone(timedelta(hours=2))))
    assert clock() == T0 and clock().tzinfo is UTC
    assert clock.advance(timedelta(days=2)) == T0 + timedelta(days=2) == clock()
    clock.set(T0)  # never back: what fired stays fired
    assert clock() == T0 + timedelta(days=2)


def test_it_needs_a_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        FixedClock(datetime(2026, 3, 2, 10))  # noqa: DTZ001 - the point of the test


def test_the_router_takes_it_as_a_setting() -> None:
    assert Settings().fixed_clock is None
    settings = Settings(fixed_clock="2026-03-02T10:00:00+00:00")
    assert settings.fixed_clock == T0
    with pytest.raises(ValueError, match="timezone"):
        Settings(fixed_clock="2026-03-02T10:00:00")
