"""Lifecycle stages, pure: forward moves only, skipping in one move, won final, a lost lead
re-entering at mql only when placed again, and a batch's facts folded in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.router.domain.lifecycle import (
    STAGES,
    Stage,
    StageChange,
    StageFact,
    fold_stages,
    next_stage,
    placed_again,
    qualified,
    stage_of_activity,
)
from shared.contracts import ActivityKind, LifecycleStage

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
LEAD = "lead-1"


def fact(to: Stage, cause: str = "x", minutes: int = 0) -> StageFact:
    return StageFact(LEAD, to, cause, T0 + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("kind", "stage"),
    [
        ("contacted", "sql"),
        ("called", "sql"),
        ("emailed", "sql"),
        ("sms_sent", "sql"),
        ("replied", "sql"),
        ("meeting_booked", "opportunity"),
        ("won", "won"),
        ("lost", "lost"),
        ("email_opened", None),
        ("email_clicked", None),
        ("page_visited", None),
        ("form_submitted", None),
        ("unsubscribed", None),
        ("bounced", None),
    ],
)
def test_a_reps_contact_is_sql_a_meeting_opportunity_an_outcome_itself(
    kind: str, stage: Stage | None
) -> None:
    assert stage_of_activity(kind) == stage


def test_every_activity_kind_is_mapped_or_deliberately_left_out() -> None:
    moving = {k for k in ActivityKind if stage_of_activity(k) is not None}
    assert moving == {
        ActivityKind.CONTACTED, ActivityKind.CALLED, ActivityKind.EMAILED,
        ActivityKind.SMS_SENT, ActivityKind.REPLIED, ActivityKind.MEETING_BOOKED,
        ActivityKind.WON, ActivityKind.LOST,
    }  # fmt: skip


def test_the_domain_stages_are_the_contract_stages_in_funnel_order() -> None:
    assert STAGES == tuple(s.value for s in LifecycleStage)


@pytest.mark.parametrize(
    ("current", "to", "expected"),
    [
        ("captured", "mql", "mql"),
        ("captured", "sql", "sql"),  # a lead below the threshold a rep reached: skips mql
        ("mql", "sql", "sql"),
        ("mql", "opportunity", "opportunity"),  # a meeting on an MQL: one move
        ("sql", "opportunity", "opportunity"),
        ("mql", "won", "won"),
        ("opportunity", "won", "won"),
        ("sql", "lost", "lost"),
        ("captured", "lost", "lost"),
        ("mql", "mql", None),  # a second qualifying score
        ("sql", "sql", None),  # a second call
        ("opportunity", "sql", None),  # a call reported after the meeting
        ("sql", "mql", None),  # a re-score never moves a lead back
        ("won", "lost", None),  # final
        ("lost", "won", None),  # final
        ("won", "mql", None),
        ("lost", "sql", None),  # a call on a lost lead does not reopen it
        ("lost", "mql", None),  # a new qualifying score alone does not either
    ],
)
def test_stages_only_move_forward_and_won_and_lost_are_final(
    current: Stage, to: Stage, expected: Stage | None
) -> None:
    assert next_stage(current, fact(to)) == expected


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("lost", "mql"),  # a lost lead recycled (or whose snooze ended) re-enters at mql
        ("won", None),  # a customer is never recycled into the funnel
        ("captured", None),  # placing an open lead again keeps its stage
        ("mql", None),
        ("sql", None),  # a gone-cold lead recycled to the pool stays sql
        ("opportunity", None),
    ],
)
def test_only_a_lost_lead_placed_again_re_enters_at_mql(
    current: Stage, expected: Stage | None
) -> None:
    assert next_stage(current, placed_again(LEAD, "recycled", T0)) == expected


def test_a_batch_moves_a_lead_once_per_fact_that_moves_it_in_order() -> None:
    facts = [
        qualified(LEAD, T0, "env-1"),
        fact("sql", "called", 5),
        fact("sql", "emailed", 6),  # already sql
        fact("opportunity", "meeting_booked", 7),
        fact("won", "won", 9),
        fact("lost", "lost", 10),  # final
    ]
    stages, changes = fold_stages({LEAD: "captured"}, facts)
    assert stages == {LEAD: "won"}
    assert changes == [
        StageChange(LEAD, "captured", "mql", "qualified", T0, "env-1"),
        StageChange(LEAD, "mql", "sql", "called", T0 + timedelta(minutes=5)),
        StageChange(LEAD, "sql", "opportunity", "meeting_booked", T0 + timedelta(minutes=7)),
        StageChange(LEAD, "opportunity", "won", "won", T0 + timedelta(minutes=9)),
    ]


def test_a_meeting_on_an_mql_is_one_move_and_the_same_facts_again_move_nothing() -> None:
    facts = [fact("opportunity", "meeting_booked")]
    stages, changes = fold_stages({LEAD: "mql"}, facts)
    assert [(c.from_stage, c.to_stage) for c in changes] == [("mql", "opportunity")]
    again, none = fold_stages(stages, facts)  # a redelivered batch
    assert (again, none) == ({LEAD: "opportunity"}, [])


def test_a_lost_lead_recycled_re_enters_and_moves_on_again() -> None:
    facts = [placed_again(LEAD, "recycled", T0), fact("sql", "called", 1)]
    stages, changes = fold_stages({LEAD: "lost"}, facts)
    assert stages == {LEAD: "sql"}
    assert [(c.from_stage, c.to_stage, c.cause) for c in changes] == [
        ("lost", "mql", "recycled"),
        ("mql", "sql", "called"),
    ]


def test_facts_for_leads_without_a_stage_are_ignored() -> None:
    stages, changes = fold_stages({}, [qualified(LEAD, T0), fact("won", "won")])
    assert (stages, changes) == ({}, [])
