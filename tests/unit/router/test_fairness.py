"""The fairness ledger: a rep's record folded into a share multiplier that fades linearly over
the window, held between floor and ceiling, unless a manual override is in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.router.domain.fairness import (
    EVENT_KINDS,
    EventKind,
    FairnessPolicy,
    InvalidOverride,
    LedgerEntry,
    clear_override,
    contributions_by_kind,
    explain,
    first_contact_kind,
    left_at,
    multiplier_at,
    multipliers,
    record,
    set_override,
    share_units,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Defaults: breach -0.10, late -0.02, missed -0.05, cold -0.05, fast +0.02, won +0.10.
POLICY = FairnessPolicy()


def ledger(*events: tuple[EventKind, datetime], rep: str = "ana") -> list[LedgerEntry]:
    """Entries recorded one after another, each seeing the ones before."""
    entries: list[LedgerEntry] = []
    for i, (kind, at) in enumerate(events):
        entry = record(entries, rep, kind, at, f"{kind} #{i}", POLICY, f"event-{i}")
        assert entry is not None
        entries.append(entry)
    return entries


def test_a_rep_without_entries_has_the_neutral_multiplier() -> None:
    assert multiplier_at([], T0, POLICY) == 1.0


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["sla_breach"], 0.9),
        (["sla_breach", "sla_breach", "sla_breach"], 0.7),
        (["won"], 1.1),
        (["fast_first_contact"] * 5, 1.1),
        (["touch_late", "touch_missed", "gone_cold"], 0.88),
        (["sla_breach", "won"], 1.0),
        (["sla_breach", "fast_first_contact", "fast_first_contact"], 0.94),
    ],
)
def test_fresh_effects_add_up_to_the_multiplier(kinds: list[EventKind], expected: float) -> None:
    entries = ledger(*((k, T0) for k in kinds))
    assert multiplier_at(entries, T0, POLICY) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("age", "left"),
    [
        (timedelta(0), 1.0),
        (7.5 * DAY, 0.75),
        (15 * DAY, 0.5),
        (29 * DAY, 1 / 30),
        (30 * DAY, 0.0),
        (90 * DAY, 0.0),
        (-DAY, 0.0),  # not happened yet
    ],
)
def test_an_effect_fades_linearly_to_nothing_over_the_window(age: timedelta, left: float) -> None:
    (breach,) = ledger(("sla_breach", T0))
    assert left_at(breach, T0 + age, POLICY.window) == pytest.approx(left)
    assert multiplier_at([breach], T0 + age, POLICY) == pytest.approx(1 - 0.1 * left, abs=1e-4)


def test_a_breach_half_a_window_ago_counts_half_beside_a_fresh_one() -> None:
    entries = ledger(("sla_breach", T0), ("sla_breach", T0 + 15 * DAY))
    assert multiplier_at(entries, T0 + 15 * DAY, POLICY) == pytest.approx(0.85)
    assert multiplier_at(entries, T0 + 30 * DAY, POLICY) == pytest.approx(0.95)
    assert multiplier_at(entries, T0 + 45 * DAY, POLICY) == 1.0


@pytest.mark.parametrize(
    ("kind", "count", "expected", "bound"),
    [
        ("sla_breach", 8, 0.5, "floor"),
        ("sla_breach", 5, 0.5, None),  # exactly at the floor is not held there
        ("won", 9, 1.5, "ceiling"),
        ("won", 3, 1.3, None),
    ],
)
def test_the_multiplier_is_held_between_floor_and_ceiling(
    kind: EventKind, count: int, expected: float, bound: str | None
) -> None:
    entries = ledger(*((kind, T0) for _ in range(count)))
    why = explain(entries, T0, POLICY)
    assert why.multiplier == pytest.approx(expected)
    assert why.bound == bound


def test_a_rep_at_the_floor_climbs_back_only_once_the_raw_sum_does() -> None:
    entries = ledger(*(("sla_breach", T0) for _ in range(8)))  # raw 0.2
    assert multiplier_at(entries, T0 + 10 * DAY, POLICY) == 0.5  # raw 0.47
    # halfway through the window the raw sum is 0.6: above the floor again.
    assert multiplier_at(entries, T0 + 15 * DAY, POLICY) == pytest.approx(0.6)


def test_each_entry_records_the_multiplier_just_after_it() -> None:
    entries = ledger(("sla_breach", T0), ("sla_breach", T0 + 15 * DAY), ("won", T0 + 15 * DAY))
    assert [e.multiplier_after for e in entries] == pytest.approx([0.9, 0.85, 0.95])
    assert [e.effect for e in entries] == [-0.1, -0.1, 0.1]
    assert entries[0].source_event_id == "event-0" and entries[0].reason == "sla_breach #0"


def test_entries_keep_the_effect_in_force_when_written() -> None:
    (breach,) = ledger(("sla_breach", T0))
    harsher = FairnessPolicy(effects=(("sla_breach", -0.3),))
    assert multiplier_at([breach], T0, harsher) == pytest.approx(0.9)


def test_a_kind_the_policy_gives_no_effect_records_nothing() -> None:
    policy = FairnessPolicy(effects=(("sla_breach", -0.1), ("won", 0.0)))
    assert record([], "ana", "won", T0, "won", policy) is None
    assert record([], "ana", "gone_cold", T0, "went cold", policy) is None


def test_another_reps_entries_do_not_move_the_multiplier_after() -> None:
    ben = ledger(("sla_breach", T0), rep="ben")
    entry = record(ben, "ana", "won", T0, "won a deal", POLICY)
    assert entry is not None and entry.multiplier_after == pytest.approx(1.1)


def test_multipliers_for_a_batch_group_entries_by_rep_and_default_to_neutral() -> None:
    entries = [*ledger(("sla_breach", T0), rep="ana"), *ledger(("won", T0), rep="ben")]
    got = multipliers(entries, ["ana", "ben", "cara"], T0, POLICY)
    assert got == pytest.approx({"ana": 0.9, "ben": 1.1, "cara": 1.0})


def test_an_override_wins_while_in_force_and_expires_at_its_end() -> None:
    entries = ledger(*(("sla_breach", T0) for _ in range(3)))
    override = set_override(
        entries, "ana", 1.2, T0 + DAY, "new territory", "zoe", POLICY, until=T0 + 8 * DAY
    )
    entries.append(override)
    assert override.multiplier_after == 1.2 and override.by == "zoe"
    before = multiplier_at(entries, T0 + DAY - timedelta(seconds=1), POLICY)
    assert before == pytest.approx(1 - 0.3 * 29 / 30, abs=1e-4)
    assert multiplier_at(entries, T0 + DAY, POLICY) == 1.2
    assert multiplier_at(entries, T0 + 8 * DAY - timedelta(seconds=1), POLICY) == 1.2
    # at its end the record decides again, faded by then
    assert multiplier_at(entries, T0 + 8 * DAY, POLICY) == pytest.approx(1 - 0.3 * 22 / 30)


def test_an_override_is_not_held_to_the_bounds() -> None:
    entry = set_override([], "ana", 0.2, T0, "onboarding", "zoe", POLICY)
    assert multiplier_at([entry], T0 + 365 * DAY, POLICY) == 0.2  # no end: until cleared


def test_clearing_an_override_hands_back_to_the_record() -> None:
    entries = ledger(("won", T0))
    entries.append(set_override(entries, "ana", 0.6, T0, "probation", "zoe", POLICY))
    cleared = clear_override(entries, "ana", T0 + DAY, "probation over", "zoe", POLICY)
    entries.append(cleared)
    assert cleared.multiplier_after == pytest.approx(1 + 0.1 * 29 / 30, abs=1e-4)
    assert multiplier_at(entries, T0 + DAY, POLICY) == cleared.multiplier_after
    assert multiplier_at(entries, T0 + DAY / 2, POLICY) == 0.6


def test_the_latest_override_replaces_an_earlier_one() -> None:
    first = set_override([], "ana", 0.6, T0, "probation", "zoe", POLICY)
    second = set_override([first], "ana", 1.4, T0 + DAY, "top closer", "max", POLICY)
    assert multiplier_at([second, first], T0 + 2 * DAY, POLICY) == 1.4
    assert multiplier_at([second, first], T0 + DAY / 2, POLICY) == 0.6


@pytest.mark.parametrize(
    ("value", "until"),
    [(0.0, None), (-1.0, None), (10.5, None), (1.2, T0), (1.2, T0 - DAY)],
)
def test_an_override_must_be_positive_and_end_after_it_starts(
    value: float, until: datetime | None
) -> None:
    with pytest.raises(InvalidOverride):
        set_override([], "ana", value, T0, "why", "zoe", POLICY, until=until)


def test_the_explanation_lists_each_contribution_still_in_force() -> None:
    entries = ledger(("sla_breach", T0 - 40 * DAY), ("sla_breach", T0 - 15 * DAY), ("won", T0))
    why = explain(entries, T0, POLICY)
    assert [(c.entry.kind, c.left, c.value) for c in why.contributions] == [
        ("sla_breach", 0.5, -0.05),
        ("won", 1.0, 0.1),
    ]
    assert why.raw == pytest.approx(1.05)
    assert why.text == (
        "1.05 = 1 -0.050 sla_breach 2026-02-15 (50% left) +0.100 won 2026-03-02 (100% left) = 1.050"
    )
    assert contributions_by_kind(why) == {"sla_breach": -0.05, "won": 0.1}


def test_the_explanation_names_a_bound_and_an_override() -> None:
    entries = ledger(*(("sla_breach", T0) for _ in range(6)))
    assert explain(entries, T0, POLICY).text.endswith("= 0.400, held at the floor")
    entries.append(set_override(entries, "ana", 1.0, T0, "reviewed", "zoe", POLICY, until=T0 + DAY))
    assert explain(entries, T0, POLICY).text == (
        "1.00: override by zoe until 2026-03-03T09:00:00+00:00 (reviewed)"
    )
    assert explain([], T0, POLICY).text == "1.00 = 1 (no entries in the window) = 1.000"


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (timedelta(minutes=2), "fast_first_contact"),
        (timedelta(minutes=5), "fast_first_contact"),
        (timedelta(minutes=5, seconds=1), None),
        (None, None),  # a contact by someone other than the owner
    ],
)
def test_a_first_contact_within_the_fast_time_is_rewarded(
    response: timedelta | None, kind: str | None
) -> None:
    assert first_contact_kind(response, POLICY) == kind


def test_every_event_kind_has_a_default_effect_of_the_right_sign() -> None:
    penalties = {"sla_breach", "touch_late", "touch_missed", "gone_cold"}
    for kind in EVENT_KINDS:
        effect = POLICY.effect_of(kind)
        assert effect < 0 if kind in penalties else effect > 0


@pytest.mark.parametrize(
    ("weight", "multiplier", "units"),
    [(1, 1.0, 100), (3, 1.0, 300), (1, 0.7, 70), (2, 1.155, 231), (1, 0.001, 1)],
)
def test_share_units_are_weight_times_multiplier_in_hundredths(
    weight: int, multiplier: float, units: int
) -> None:
    assert share_units(weight, multiplier) == units
