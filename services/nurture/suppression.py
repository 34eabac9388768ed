"""The suppression list: which touch modes a lead can no longer receive, and why.

An unsubscribe or a bounce stops the **e-mail** touches of a lead for good (every follow-up
plan and nurture sequence), not the whole plan: its calls and meetings go on. An SMS opt-out
stops SMS the same way. Nothing lifts a suppression here: a new opt-in would have to be an
explicit, separate decision.

How it is meant to be wired:

- ``LeadActivityRecorded`` with kind ``unsubscribed`` / ``bounced``:
  :func:`suppression_for_activity` gives the ``(mode, reason)`` to add to the lead's list;
- a vendor's webhook: capture records Mailchimp ``unsubscribe`` / ``cleaned`` of a known
  lead as the matching activity (``unsubscribed`` / ``bounced``, details carrying the
  reason; services/capture/sources/opt_outs.py, its own mapping: services share no code),
  so every service sees one kind of event. :func:`suppression_for_vendor_event` states the
  fuller rule (other vendors' bounces and complaints) that capture does not read yet;
- planning and firing touches: :func:`suppressed_by` says whether a touch of a mode is
  skipped and why; the follow-up schedule keeps skipped steps (step k of N stays stable)
  and marks them, the nurture timer job cancels them.

Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.nurture.touch_modes import TouchMode


class SuppressionReason(StrEnum):
    """Why a lead gets no more touches of a mode."""

    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINED = "complained"


@dataclass(frozen=True)
class Suppression:
    """A lead's ``mode`` is suppressed since ``at`` for ``reason``."""

    mode: TouchMode
    reason: SuppressionReason
    at: datetime


# A channel a sales tool or vendor reports, mapped to the touch mode it suppresses.
_CHANNEL_MODES: dict[str, TouchMode] = {
    "email": TouchMode.EMAIL,
    "e-mail": TouchMode.EMAIL,
    "sms": TouchMode.SMS,
    "text": TouchMode.SMS,
}


def suppression_for_activity(
    kind: str, channel: str | None = None
) -> tuple[TouchMode, SuppressionReason] | None:
    """``unsubscribed`` suppresses the reported channel (e-mail when none is given);
    ``bounced`` suppresses it as a hard bounce; every other activity suppresses nothing."""
    mode = _CHANNEL_MODES.get((channel or "email").strip().lower())
    if mode is None:
        return None
    if kind == "unsubscribed":
        return mode, SuppressionReason.UNSUBSCRIBED
    if kind == "bounced":
        return mode, SuppressionReason.HARD_BOUNCE
    return None


# Mailchimp audience webhooks: https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/
# ``cleaned`` carries data[reason] "hard" (hard bounce) or "abuse" (spam complaint).
_MAILCHIMP_CLEANED = {"hard": SuppressionReason.HARD_BOUNCE, "abuse": SuppressionReason.COMPLAINED}
# Generic e-mail service events: a bounce suppresses only when it is permanent (hard).
_HARD_BOUNCE_TYPES = frozenset({"hard", "hardbounce", "permanent", "bounce"})


def suppression_for_vendor_event(
    vendor: str, event_type: str, details: Mapping[str, str] | None = None
) -> SuppressionReason | None:
    """A vendor's e-mail event as a suppression reason: Mailchimp ``unsubscribe`` →
    unsubscribed, ``cleaned`` → hard bounce (``reason: abuse`` → complained); any vendor's
    ``bounce``/``failed`` with a permanent/hard type → hard bounce (a soft bounce is retried,
    never suppresses); ``spamreport``/``complaint`` → complained. None for everything else."""
    vendor = vendor.strip().lower()
    kind = event_type.strip().lower()
    extra = {k.lower(): str(v).strip().lower() for k, v in (details or {}).items()}
    if vendor == "mailchimp":
        if kind == "unsubscribe":
            return SuppressionReason.UNSUBSCRIBED
        if kind == "cleaned":
            reason = extra.get("reason", "hard")
            return _MAILCHIMP_CLEANED.get(reason, SuppressionReason.HARD_BOUNCE)
        return None
    if kind in {"unsubscribe", "unsubscribed", "group_unsubscribe"}:
        return SuppressionReason.UNSUBSCRIBED
    if kind in {"spamreport", "complaint", "complained", "spam_complaint"}:
        return SuppressionReason.COMPLAINED
    if kind in {"bounce", "bounced", "hardbounce", "hard_bounce", "failed"}:
        bounce_type = extra.get("type", extra.get("severity", "hard" if "hard" in kind else ""))
        return SuppressionReason.HARD_BOUNCE if bounce_type in _HARD_BOUNCE_TYPES else None
    return None


def suppressed_by(
    mode: TouchMode, suppressions: Iterable[Suppression], at: datetime | None = None
) -> Suppression | None:
    """The earliest suppression of ``mode`` (in force at ``at``, when given), or None: a touch
    of that mode is skipped for that reason."""
    matching = [s for s in suppressions if s.mode is mode and (at is None or s.at <= at)]
    return min(matching, key=lambda s: s.at) if matching else None
