"""Gone cold, pure: quiet time per bucket, K touches without a reply, announced once until
the lead warms up; a batch's touches and replies folded per lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.router.domain.cold import (
    ColdPolicy,
    Contacts,
    Warmth,
    fold_contacts,
    gone_cold,
    is_reply,
    is_touch,
    warms_up,
)

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
POLICY = ColdPolicy(
    no_touch=(("hot", timedelta(days=2)), ("Warm", timedelta(days=5))),
    default=None,
    no_reply_after=3,
)


def lead(
    bucket: str = "hot",
    *,
    quiet_since: datetime = T0,
    touches: int = 0,
    replied_at: datetime | None = None,
    cold_since: datetime | None = None,
) -> Warmth:
    return Warmth("l-1", "ana", bucket, T0, quiet_since, replied_at, touches, cold_since)


def test_a_lead_quiet_for_its_buckets_time_is_cold_for_no_touch() -> None:
    assert gone_cold(lead(), POLICY, T0 + timedelta(days=2) - timedelta(seconds=1)) is None
    cold = gone_cold(lead(), POLICY, T0 + timedelta(days=2))
    assert cold is not None
    assert (cold.reason, cold.since, cold.rep_id, cold.touches) == ("no_touch", T0, "ana", 0)
    assert cold.detail == "no touch for 2d (bucket hot: cold after 2d); owner ana"


def test_buckets_compare_without_case_and_unlisted_ones_use_the_default() -> None:
    assert gone_cold(lead("WARM"), POLICY, T0 + timedelta(days=4)) is None
    assert gone_cold(lead("warm"), POLICY, T0 + timedelta(days=5)) is not None
    assert gone_cold(lead("cold"), POLICY, T0 + timedelta(days=365)) is None  # no default
    with_default = ColdPolicy(POLICY.no_touch, timedelta(days=14), None)
    assert gone_cold(lead("cold"), with_default, T0 + timedelta(days=14)) is not None
    assert with_default.shortest == timedelta(days=2)
    assert ColdPolicy(no_reply_after=2).shortest is None


def test_the_quiet_time_counts_from_the_last_touch_or_reply() -> None:
    touched = lead(quiet_since=T0 + timedelta(days=1))
    assert gone_cold(touched, POLICY, T0 + timedelta(days=2, hours=23)) is None
    cold = gone_cold(touched, POLICY, T0 + timedelta(days=3))
    assert cold is not None and cold.since == T0 + timedelta(days=1)


@pytest.mark.parametrize(("touches", "cold"), [(2, False), (3, True), (7, True)])
def test_k_touches_without_a_reply_make_a_lead_cold(touches: int, cold: bool) -> None:
    replied = T0 + timedelta(hours=1)
    went = gone_cold(lead(touches=touches, replied_at=replied), POLICY, T0 + timedelta(hours=5))
    assert (went is not None) is cold
    if went is not None:
        assert (went.reason, went.since, went.touches) == ("no_reply", replied, touches)
        assert went.detail == f"no reply after {touches} touches (cold after 3); owner ana"


def test_silence_is_reported_before_unanswered_touches() -> None:
    went = gone_cold(lead(touches=5), POLICY, T0 + timedelta(days=3))
    assert went is not None and went.reason == "no_touch"


def test_a_lead_already_cold_is_not_announced_again() -> None:
    cold = lead(touches=9, cold_since=T0 + timedelta(days=2))
    assert gone_cold(cold, POLICY, T0 + timedelta(days=30)) is None


def test_touches_and_replies_by_activity_kind() -> None:
    assert all(is_touch(k) for k in ("contacted", "called", "emailed", "sms_sent"))
    assert is_reply("replied") and is_reply("meeting_booked") and not is_touch("replied")
    for kind in ("email_opened", "page_visited", "won", "lost", "unsubscribed"):
        assert not warms_up(kind)


def test_a_batch_folds_to_the_latest_contact_and_the_touches_after_the_last_reply() -> None:
    at = [T0 + timedelta(minutes=i) for i in range(6)]
    folded = fold_contacts([
        ("a", "contacted", at[0]), ("a", "replied", at[2]), ("a", "called", at[3]),
        ("a", "emailed", at[4]), ("a", "page_visited", at[5]),
        ("b", "contacted", at[1]), ("b", "sms_sent", at[0]),
        ("c", "email_opened", at[0]),
    ])  # fmt: skip
    assert sorted(folded, key=lambda c: c.lead_id) == [
        Contacts("a", at[4], at[2], 2),
        Contacts("b", at[1], None, 2),
    ]
