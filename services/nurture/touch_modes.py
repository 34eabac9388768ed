"""How a touch is made (its mode), and which reported activities count as making it.

A touch is done when a matching activity arrives through capture's activities API
(``LeadActivityRecorded``). Capture's kinds today are ``contacted`` (with a ``channel``:
call, email, sms, ...) and ``meeting_booked``; issue 14 names the more specific ``called``,
``emailed`` and ``sms_sent``, accepted here already so either reporting style works:

=================  =========================================
activity           completes
=================  =========================================
``called``         call (and task)
``emailed``        email (and task)
``sms_sent``       sms (and task)
``meeting_booked`` meeting (and task)
``contacted``      the mode of its ``channel`` (call/phone, email, sms/text, meeting), and task;
                   without a known channel only a task: a follow-up asks for a call, and an
                   unspecified contact cannot prove one
anything else      nothing (the lead's own actions, outcomes, opt-outs)
=================  =========================================
"""

from __future__ import annotations

from enum import StrEnum


class TouchMode(StrEnum):
    """How a rep (or a sequence) reaches the lead."""

    CALL = "call"
    EMAIL = "email"
    SMS = "sms"
    MEETING = "meeting"
    TASK = "task"


_KIND_MODES: dict[str, TouchMode] = {
    "called": TouchMode.CALL,
    "emailed": TouchMode.EMAIL,
    "sms_sent": TouchMode.SMS,
    "meeting_booked": TouchMode.MEETING,
}

_CHANNEL_MODES: dict[str, TouchMode] = {
    "call": TouchMode.CALL,
    "phone": TouchMode.CALL,
    "email": TouchMode.EMAIL,
    "e-mail": TouchMode.EMAIL,
    "sms": TouchMode.SMS,
    "text": TouchMode.SMS,
    "meeting": TouchMode.MEETING,
}


def modes_completed_by(kind: str, channel: str | None = None) -> frozenset[TouchMode]:
    """The touch modes an activity completes: its own mode plus task for a rep's touch,
    nothing for any other activity."""
    kind = str(kind)
    if kind in _KIND_MODES:
        return frozenset({_KIND_MODES[kind], TouchMode.TASK})
    if kind == "contacted":
        mode = _CHANNEL_MODES.get((channel or "").strip().lower())
        return frozenset({TouchMode.TASK} if mode is None else {mode, TouchMode.TASK})
    return frozenset()
