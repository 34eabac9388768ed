"""Who joins a sequence (by bucket, or by recycle cause), and when a stop counts."""

from datetime import UTC, datetime, timedelta

import pytest

from services.nurture.domain import (
    Sequence,
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


REVIVE = Sequence(
    "cold-revive", frozenset({"cold"}), 24, 6, recycled=frozenset({"lost", "gone_cold"})
)


@pytest.mark.parametrize(
    ("bucket", "recycled", "sequence"),
    [
        ("nurture", None, "standard"),  # a first routing: its bucket's
        ("cold", None, "cold-revive"),
        ("hot", "lost", "cold-revive"),  # lost while hot: no hot sequence, the cause's
        ("nurture", "gone_cold", "cold-revive"),  # the cause wins over the bucket
        ("nurture", "disqualified", "standard"),  # no sequence takes the cause: the bucket's
        ("hot", "disqualified", None),  # neither
        ("hot", None, None),
    ],
)
def test_a_recycled_lead_joins_the_sequence_of_its_cause_else_of_its_bucket(
    bucket: str, recycled: str | None, sequence: str | None
) -> None:
    decision = decide_enrollment(
        bucket, ROUTED, [SEQ, REVIVE], already_active=False, last_stop_at=None, recycled=recycled
    )
    assert (decision.sequence.name if decision.sequence else None) == sequence
    if sequence is None:
        assert decision.skipped == f"no sequence takes bucket {bucket!r}" + (
            f" nor recycle cause {recycled!r}" if recycled else ""
        )


def test_a_manual_stop_says_so() -> None:
    assert manual_stop_reason("  asked us to stop ") == "manual: asked us to stop"
