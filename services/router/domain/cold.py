"""Gone cold: an assigned lead nobody has touched for its bucket's time, or that has not
replied after K touches, is announced once (``LeadGoneCold``); a touch, a reply or a new
assignment warms it up again, and only then can it go cold anew.

What counts (activity kinds, by their names so kinds capture adds later count as soon as
they exist):

- a **touch** is the rep reaching out: ``contacted``, ``called``, ``emailed``,
  ``sms_sent``, ``meeting_booked``;
- a **reply** is the lead answering: ``replied``, ``meeting_booked``. A reply starts the
  touch count again (K touches *without a reply*).

Pure functions over frozen dataclasses: no I/O, no clock; ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.config import duration_text

TOUCH_KINDS = frozenset({"contacted", "called", "emailed", "sms_sent", "meeting_booked"})
REPLY_KINDS = frozenset({"replied", "meeting_booked"})
ColdReason = Literal["no_touch", "no_reply"]


@dataclass(frozen=True)
class ColdPolicy:
    """``routing.gone_cold``: the quiet time per bucket (buckets compare without case;
    ``default`` for unlisted ones, None: unlisted buckets never go cold for silence) and
    the touches without a reply after which a lead is cold (None: never for that)."""

    no_touch: tuple[tuple[str, timedelta], ...] = ()
    default: timedelta | None = None
    no_reply_after: int | None = None

    def limit_for(self, bucket: str) -> timedelta | None:
        wanted = bucket.strip().casefold()
        for name, limit in self.no_touch:
            if name.casefold() == wanted:
                return limit
        return self.default

    @property
    def shortest(self) -> timedelta | None:
        """The shortest quiet time of any bucket: no lead quiet for less can be due."""
        limits = [limit for _, limit in self.no_touch]
        if self.default is not None:
            limits.append(self.default)
        return min(limits) if limits else None


@dataclass(frozen=True)
class Warmth:
    """What the router knows of an assigned lead's contact since it was assigned:
    ``warm_at`` the latest of its assignment, a touch and a reply; ``replied_at`` the last
    reply (None: none since the assignment); ``touches`` the touches since then."""

    lead_id: str
    rep_id: str
    bucket: str
    assigned_at: datetime
    warm_at: datetime
    replied_at: datetime | None
    touches: int
    cold_since: datetime | None = None


@dataclass(frozen=True)
class GoneCold:
    """The lead went cold at ``now``: why, and since when it has been quiet."""

    lead_id: str
    rep_id: str
    bucket: str
    reason: ColdReason
    since: datetime
    touches: int
    detail: str


def is_touch(kind: str) -> bool:
    return str(kind) in TOUCH_KINDS


def is_reply(kind: str) -> bool:
    return str(kind) in REPLY_KINDS


def warms_up(kind: str) -> bool:
    """A touch or a reply: the lead is warm again (and may be announced cold again later)."""
    return is_touch(kind) or is_reply(kind)


def gone_cold(lead: Warmth, policy: ColdPolicy, now: datetime) -> GoneCold | None:
    """The lead is cold now, or None. Already announced: None, until it warms up (the
    store clears ``cold_since`` on a touch, a reply or a new assignment). Silence is
    checked first: a lead both silent and unanswered is cold for silence."""
    if lead.cold_since is not None:
        return None
    limit = policy.limit_for(lead.bucket)
    if limit is not None and now - lead.warm_at >= limit:
        detail = (
            f"no touch for {duration_text(now - lead.warm_at)} (bucket {lead.bucket}: cold"
            f" after {duration_text(limit)}); owner {lead.rep_id}"
        )
        return GoneCold(lead.lead_id, lead.rep_id, lead.bucket, "no_touch", lead.warm_at,
                        lead.touches, detail)  # fmt: skip
    k = policy.no_reply_after
    if k is not None and lead.touches >= k:
        since = lead.replied_at or lead.assigned_at
        detail = f"no reply after {lead.touches} touches (cold after {k}); owner {lead.rep_id}"
        return GoneCold(lead.lead_id, lead.rep_id, lead.bucket, "no_reply", since,
                        lead.touches, detail)  # fmt: skip
    return None


@dataclass(frozen=True)
class Contacts:
    """One lead's touches and replies in a batch of activities: the latest of them, the last
    reply (None: none), and the touches after that reply (all of them without one)."""

    lead_id: str
    latest: datetime
    replied_at: datetime | None
    touches: int


def fold_contacts(activities: Iterable[tuple[str, str, datetime]]) -> list[Contacts]:
    """(lead, kind, occurred at) of a batch, in any order, to one summary per lead that
    touched or replied; other kinds are left out."""
    by_lead: dict[str, list[tuple[datetime, str]]] = {}
    for lead_id, kind, at in activities:
        if warms_up(kind):
            by_lead.setdefault(lead_id, []).append((at, str(kind)))
    out: list[Contacts] = []
    for lead_id, seen in by_lead.items():
        replies = [at for at, kind in seen if is_reply(kind)]
        replied_at = max(replies) if replies else None
        touches = sum(
            1 for at, kind in seen
            if is_touch(kind) and not is_reply(kind) and (replied_at is None or at > replied_at)
        )  # fmt: skip
        out.append(Contacts(lead_id, max(at for at, _ in seen), replied_at, touches))
    return out
