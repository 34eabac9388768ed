"""Which reported activities complete which touch modes."""

from __future__ import annotations

import pytest

from services.nurture.touch_modes import TouchMode, modes_completed_by
from shared.contracts.capture import ActivityKind

CALL, EMAIL, SMS, MEETING, TASK = (
    TouchMode.CALL,
    TouchMode.EMAIL,
    TouchMode.SMS,
    TouchMode.MEETING,
    TouchMode.TASK,
)


@pytest.mark.parametrize(
    ("kind", "channel", "modes"),
    [
        ("called", None, {CALL, TASK}),
        ("emailed", None, {EMAIL, TASK}),
        ("sms_sent", None, {SMS, TASK}),
        ("meeting_booked", None, {MEETING, TASK}),
        ("contacted", "call", {CALL, TASK}),
        ("contacted", "Phone", {CALL, TASK}),
        ("contacted", "email", {EMAIL, TASK}),
        ("contacted", "sms", {SMS, TASK}),
        ("contacted", "meeting", {MEETING, TASK}),
        # a contact without a known channel proves only a task
        ("contacted", None, {TASK}),
        ("contacted", "linkedin", {TASK}),
        # the lead's own actions, outcomes and opt-outs are not a rep's touch
        ("replied", None, set()),
        ("email_opened", None, set()),
        ("won", None, set()),
        ("unsubscribed", "email", set()),
    ],
)
def test_an_activity_completes_its_own_mode_and_any_task(
    kind: str, channel: str | None, modes: set[TouchMode]
) -> None:
    assert modes_completed_by(kind, channel) == modes


def test_capture_activity_kinds_are_understood() -> None:
    rep_kinds = {k for k in ActivityKind if modes_completed_by(k.value, "call")}
    assert rep_kinds == {
        ActivityKind.CONTACTED,
        ActivityKind.MEETING_BOOKED,
        ActivityKind.CALLED,
        ActivityKind.EMAILED,
        ActivityKind.SMS_SENT,
    }


def test_every_nurture_sequence_mode_is_a_touch_mode() -> None:
    from typing import get_args

    from services.nurture.config import Mode
    from services.nurture.domain import MODES

    assert set(get_args(Mode)) == set(MODES)
    assert {TouchMode(mode).value for mode in MODES} == set(MODES)
