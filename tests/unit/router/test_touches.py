"""Late and missed follow-up touches become ledger entries for the rep who owed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.router.domain.touches import SettledTouch, TouchEntry, touch_entry

DUE = datetime(2026, 12, 7, 14, tzinfo=UTC)
CLOSES = DUE + timedelta(days=1)


def settled(outcome: str, done_at: datetime | None = None) -> SettledTouch:
    return SettledTouch(outcome, "call", 2, 3, DUE, CLOSES, done_at)


@pytest.mark.parametrize(
    ("touch", "entry"),
    [
        (settled("done", DUE + timedelta(hours=1)), None),  # in time: no entry
        (
            settled("late", DUE + timedelta(hours=3)),
            TouchEntry(
                "touch_late",
                DUE + timedelta(hours=3),
                "follow-up touch 2 of 3 (call) due 2026-12-07T14:00Z done 3.0h after it was due",
            ),
        ),
        (
            settled("missed"),
            TouchEntry(
                "touch_missed",
                CLOSES,
                "follow-up touch 2 of 3 (call) due 2026-12-07T14:00Z missed: not done by "
                "2026-12-08T14:00Z",
            ),
        ),
        (settled("late"), None),  # a late touch without its done time is malformed: no entry
    ],
)
def test_a_late_touch_is_dated_when_done_and_a_missed_one_when_it_closed(
    touch: SettledTouch, entry: TouchEntry | None
) -> None:
    assert touch_entry(touch) == entry
