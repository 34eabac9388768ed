"""Who joins a sequence, when a stop counts, and when an enrollment completes."""

from datetime import UTC, datetime, timedelta

import pytest

from services.nurture.domain import (
    Sequence,
    completes_enrollment,
    decide_enrollment,
    manual_stop_reason,
    stop_applies,
)

ROUTED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SEQ = Sequence("standard", frozenset({"nurture"}), 12, 2)


@pytest.mark.parametrize(
    ("bucket", "already_active", "last_stop_at", "joins"),
    [
        ("nurture", False, None, True),
        ("NURTURE", False, None, True),
        ("cold", False, None, False),  # no sequence takes it
        ("nurture", True, None, False),  # already in one
        ("nurture", False, ROUTED, False),  # stopped at the moment it was routed
        ("nurture", False, ROUTED + timedelta(seconds=1), False),  # stopped after routing
        ("nurture", False, ROUTED - timedelta(seconds=1), True),  # an older stop does not count
    ],
)
def test_a_routed_lead_joins_its_buckets_sequence_unless_stopped_or_enrolled(
    bucket: str, already_active: bool, last_stop_at: datetime | None, joins: bool
) -> None:
    decision = decide_enrollment(
        bucket, ROUTED, [SEQ], already_active=already_active, last_stop_at=last_stop_at
    )
    assert (decision.sequence is not None) is joins
    assert (decision.skipped is None) is joins


@pytest.mark.parametrize(("signal_offset_s", "applies"), [(-1, False), (0, True), (1, True)])
def test_a_stop_counts_only_against_a_routing_made_at_or_before_it(
    signal_offset_s: int, applies: bool
) -> None:
    assert stop_applies(ROUTED + timedelta(seconds=signal_offset_s), ROUTED) is applies


@pytest.mark.parametrize(("step", "total", "done"), [(1, 3, False), (2, 3, False), (3, 3, True)])
def test_sending_the_last_touch_completes_the_enrollment(step: int, total: int, done: bool) -> None:
    assert completes_enrollment(step, total) is done


def test_a_manual_stop_says_so() -> None:
    assert manual_stop_reason("  asked us to stop ") == "manual: asked us to stop"
