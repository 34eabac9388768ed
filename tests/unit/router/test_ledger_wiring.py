"""The ledger as a transaction sees it (``handlers.ledger.Ledger``) and a rep's load brought
to now (``handlers.routing.load_now``): pure parts of the wiring, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.router.domain.fairness import FairnessPolicy
from services.router.domain.load import PeriodStarts, period_starts
from services.router.domain.model import LoadWeights, Rep, RepLoad
from services.router.handlers.ledger import Ledger, RepEvent
from services.router.handlers.routing import load_now
from services.router.store.leads import StoredLoad

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # a Saturday
POLICY = FairnessPolicy(
    effects=(("sla_breach", -0.2), ("fast_first_contact", 0.1), ("won", 0.0)),
    floor=0.5,
    ceiling=1.5,
)
LONDON = ZoneInfo("Europe/London")


def event(kind: str, minutes_ago: int, source: str, rep: str = "ana") -> RepEvent:
    at = NOW - timedelta(minutes=minutes_ago)
    return RepEvent(rep, kind, at, f"{kind} {source}", source)  # type: ignore[arg-type]


def test_entries_noted_out_of_time_order_read_in_recording_order() -> None:
    ledger = Ledger(POLICY, NOW)
    later = ledger.note(event("fast_first_contact", 1, "a"))
    earlier = ledger.note(event("fast_first_contact", 5, "b"))
    assert later is not None and earlier is not None
    # The second one recorded happened first, yet the rep stands at 1.2 once it is in.
    assert (later.multiplier_after, earlier.multiplier_after) == (1.1, 1.2)
    assert ledger.multiplier_of("ana", NOW) == 1.2


def test_a_kind_without_effect_a_repeat_and_fairness_off_note_nothing() -> None:
    ledger = Ledger(POLICY, NOW)
    assert ledger.note(event("won", 0, "w")) is None
    assert ledger.note(event("sla_breach", 0, "s")) is not None
    assert ledger.note(event("sla_breach", 0, "s")) is None  # the same source again
    assert [s.entry.kind for s in ledger.new] == ["sla_breach"]
    off = Ledger(None, NOW)
    assert off.note(event("sla_breach", 0, "s")) is None
    assert off.multipliers(["ana", "ben"], NOW) == {"ana": 1.0, "ben": 1.0}


def test_multipliers_hold_at_the_bounds_per_rep() -> None:
    ledger = Ledger(POLICY, NOW)
    for i in range(4):
        ledger.note(event("sla_breach", 0, f"s{i}", rep="ben"))
    assert ledger.multipliers(["ana", "ben"], NOW) == {"ana": 1.0, "ben": 0.5}


def test_load_now_weighs_open_leads_and_rolls_periods() -> None:
    rep = Rep("ana", "Ana", LONDON)
    weights = LoadWeights((("hot", 3), ("warm", 2)), 1)
    current = period_starts(LONDON, NOW)
    last_week = PeriodStarts(
        current.day - timedelta(days=7), current.week - timedelta(days=7), current.month
    )
    stored = StoredLoad(
        RepLoad("ana", 3, 4, assigned_week=9, assigned_month=20),
        last_week,
        {"hot": 2, "cold": 1},
    )
    load, periods = load_now(rep, stored, weights, NOW)
    assert (load.open_leads, load.open_weight) == (3, 7)  # 2 hot (6) + 1 cold (1)
    assert (load.assigned_today, load.assigned_week, load.assigned_month) == (0, 0, 20)
    assert periods == current
    unweighted, _ = load_now(rep, stored, None, NOW)
    assert unweighted.open_weight is None and unweighted.effort == 3


def test_a_rep_never_counted_starts_every_period_at_zero() -> None:
    load, periods = load_now(Rep("ben", "Ben", LONDON), None, None, NOW)
    assert (load.assigned_today, load.assigned_week, load.assigned_month) == (0, 0, 0)
    assert periods == period_starts(LONDON, NOW)
    assert load.plus_one(3).assigned_week == 1
