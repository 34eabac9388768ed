"""Which lead facts a KPI question is about: a window on capture time, and attributes.

The window is a cohort (leads captured in [from, to)), so every stage of a lead counts in
the window its capture falls in, and a figure for last week does not change as its leads
progress into this week except by their own progress.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.insights.domain.facts import LeadFact


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    tz: ZoneInfo = ZoneInfo("UTC")
    source: str | None = None
    channel: str | None = None
    campaign: str | None = None
    queue: str | None = None
    team: str | None = None
    rep: str | None = None
    bucket: str | None = None

    def matches(self, fact: LeadFact, team_of: Mapping[str, str]) -> bool:
        """Captured in the window, and equal to every attribute asked for."""
        if fact.captured_at is None:
            return False
        if self.start is not None and fact.captured_at < self.start:
            return False
        if self.end is not None and fact.captured_at >= self.end:
            return False
        team = team_of.get(fact.rep_id) if fact.rep_id else None
        wanted = (
            (self.source, fact.source),
            (self.channel, fact.channel),
            (self.campaign, fact.campaign),
            (self.queue, fact.queue),
            (self.team, team),
            (self.rep, fact.rep_id),
            (self.bucket, fact.bucket),
        )
        return all(asked is None or asked == actual for asked, actual in wanted)


def select(
    facts: Iterable[LeadFact], filters: Filters, team_of: Mapping[str, str]
) -> list[LeadFact]:
    return [f for f in facts if filters.matches(f, team_of)]


def time_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None when there is none: a directory of the zone
    database (``America``) or a data file in it is no zone either."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day a moment falls on in the asker's time zone (trend by day)."""
    return moment.astimezone(tz).date()


def label(value: str | None) -> str:
    """Group key for a missing attribute."""
    return value if value is not None else "(none)"
