"""The ``routing`` section read independently of the router, to check its decisions against.

Nothing here comes from ``services/router``: availability in the rep's own time zone, the
eligibility checks, the fallback chain and the order in which a fresh queue tries its reps
are written out again from the config's documented meaning. Only the rule language is
shared (``shared.conditions``), because it is the contract both sides implement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from shared.conditions import Condition, evaluate, parse_condition

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)  # "24:00" -> 1440, the end of the day


@dataclass(frozen=True)
class RepSpec:
    id: str
    name: str
    email: str | None
    zone: ZoneInfo
    days: frozenset[int] | None  # None: no working hours, available around the clock
    start: int
    end: int
    holidays: frozenset[date]
    away: tuple[tuple[date, date], ...]
    online: bool
    languages: frozenset[str]
    skills: frozenset[str]
    weight: int
    max_open: int | None
    max_per_day: int | None

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> RepSpec:
        hours = raw.get("working_hours")
        return cls(
            id=raw["id"],
            name=raw["name"],
            email=raw.get("email"),
            zone=ZoneInfo(raw["timezone"]),
            days=None
            if hours is None
            else frozenset(DAYS.index(d.lower()) for d in hours.get("days", DAYS[:5])),
            start=_minute(hours["start"]) if hours else 0,
            end=_minute(hours["end"]) if hours else 1440,
            holidays=frozenset(raw.get("holidays", [])),
            away=tuple((a["from"], a["to"]) for a in raw.get("out_of_office", [])),
            online=raw.get("online", True),
            languages=frozenset(lang.lower() for lang in raw.get("languages", [])),
            skills=frozenset(s.lower() for s in raw.get("skills", [])),
            weight=raw.get("weight", 1),
            max_open=raw.get("max_open"),
            max_per_day=raw.get("max_per_day"),
        )

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def unavailable(self, at: datetime) -> str | None:
        """Why the rep cannot work at ``at`` (offline, on holiday, out of office, day off,
        off hours), or None. Dates and hours are the rep's own local ones; the end of the
        working window is exclusive."""
        if not self.online:
            return "offline"
        local = at.astimezone(self.zone)
        if local.date() in self.holidays:
            return "on holiday"
        if any(first <= local.date() <= last for first, last in self.away):
            return "out of office"
        if self.days is None:
            return None
        if local.weekday() not in self.days:
            return "day off"
        if not self.start <= local.hour * 60 + local.minute < self.end:
            return "off hours"
        return None


@dataclass(frozen=True)
class QueueSpec:
    name: str
    members: tuple[str, ...]
    strategy: str
    required_skills: frozenset[str]
    match_language: bool
    fallback: str | None


@dataclass(frozen=True)
class RoutingSpec:
    reps: dict[str, RepSpec]
    queues: dict[str, QueueSpec]
    rules: tuple[tuple[str, Condition, str], ...]
    default_queue: str
    nurture_buckets: frozenset[str]
    load_weights: Mapping[str, int] | None = None  # an open lead's weight by bucket

    def lead_weight(self, bucket: str) -> int:
        """What a lead of ``bucket`` weighs on its rep: 1 without load_weights; unlisted
        buckets weigh ``default`` (1 when absent)."""
        if self.load_weights is None:
            return 1
        return self.load_weights.get(bucket.lower(), self.load_weights.get("default", 1))

    @classmethod
    def read(cls, path: Path) -> RoutingSpec:
        section = yaml.safe_load(path.read_text())["routing"]
        return cls(
            reps={r["id"]: RepSpec.read(r) for r in section["reps"]},
            queues={
                q["name"]: QueueSpec(
                    name=q["name"],
                    members=tuple(q["members"]),
                    strategy=q.get("strategy", "round_robin"),
                    required_skills=frozenset(s.lower() for s in q.get("required_skills", [])),
                    match_language=q.get("match_language", False),
                    fallback=q.get("fallback"),
                )
                for q in section["queues"]
            },
            rules=tuple(
                (r["name"], parse_condition(r.get("when")), r["queue"])
                for r in section.get("rules", [])
            ),
            default_queue=section["default_queue"],
            nurture_buckets=frozenset(b.lower() for b in section.get("nurture_buckets", [])),
            load_weights=(
                {str(b).lower(): w for b, w in section["load_weights"].items()}
                if section.get("load_weights")
                else None
            ),
        )

    def matching_rule(self, facts: Mapping[str, Any]) -> tuple[str, str]:
        """First rule whose condition holds, and its queue; else ``default`` and the default
        queue."""
        for name, condition, queue in self.rules:
            if evaluate(condition, facts):
                return name, queue
        return "default", self.default_queue

    def chain(self, queue: str) -> list[str]:
        """The queue, then its fallback, and so on (the config refuses cycles)."""
        out = [queue]
        while (fallback := self.queues[out[-1]].fallback) is not None and fallback not in out:
            out.append(fallback)
        return out

    def blocked(
        self, rep_id: str, queue: str, at: datetime, facts: Mapping[str, Any]
    ) -> str | None:
        """Why the rep cannot take this lead in this queue whatever its workload, as the
        start of the router's reason (``unavailable: off hours``, ``missing skill``...)."""
        rep, q = self.reps[rep_id], self.queues[queue]
        why = rep.unavailable(at)
        if why is not None:
            return f"unavailable: {why}"
        if q.required_skills - rep.skills:
            return "missing skill"
        language = facts.get("language")
        if q.match_language and isinstance(language, str) and language.strip():
            if language.strip().lower() not in rep.languages:
                return "language mismatch"
        return None

    def fresh_rotation(self, queue: str) -> list[str]:
        """The order in which a queue nobody has used yet tries its reps: member order, or
        for weighted round robin the smooth (nginx) weighted ring from its first slot."""
        q = self.queues[queue]
        if q.strategy != "weighted_round_robin":
            return list(q.members)
        weights = [self.reps[m].weight for m in q.members]
        current = [0] * len(weights)
        ring: list[str] = []
        for _ in range(sum(weights)):
            current = [c + w for c, w in zip(current, weights, strict=True)]
            best = max(range(len(weights)), key=lambda i: (current[i], -i))
            current[best] -= sum(weights)
            ring.append(q.members[best])
        return list(dict.fromkeys(ring))
