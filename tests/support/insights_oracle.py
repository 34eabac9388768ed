"""The KPIs computed straight from the generated truths (:mod:`tests.support.insights_history`),
with none of the service's code: what the insights API must answer, per filter."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.insights_history import (
    LATE_AFTER,
    MULTIPLIERS,
    TEAMS,
    Truth,
    opportunity_at,
    settled_touch,
)


@dataclass(frozen=True)
class Ask:
    """A question: the API's query parameters, and the same as a predicate on truths."""

    params: dict[str, str]
    start: datetime | None = None
    end: datetime | None = None

    @property
    def window(self) -> tuple[datetime | None, datetime | None]:
        return self.start, self.end

    def wants(self, t: Truth, teams: dict[str, str]) -> bool:
        p = self.params
        values = {"source": t.source, "channel": t.channel, "campaign": t.campaign,
                  "queue": t.queue, "rep": t.rep, "bucket": t.bucket,
                  "team": teams.get(t.rep) if t.rep else None}  # fmt: skip
        if self.start is not None and t.captured_at < self.start:
            return False
        if self.end is not None and t.captured_at >= self.end:
            return False
        return all(values[k] == v for k, v in p.items() if k in values)


def known_teams(truths: list[Truth]) -> dict[str, str]:
    """Teams are known from the events that named them: every assignment names the owner's."""
    return {t.rep: TEAMS[t.rep] for t in truths if t.rep in TEAMS}


def nearest_rank(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered) / 100), 1) - 1]


def ratio(a: float, b: float) -> float | None:
    return None if b == 0 else round(a / b, 6)


def cents(d: Decimal) -> float:
    return float(round(d, 2))


def first_contact(t: Truth) -> datetime | None:
    return min(t.touches) if t.touches else None


def speed(ts: list[Truth]) -> dict[str, Any]:
    assigned = [(t.assigned_at - t.captured_at).total_seconds() for t in ts if t.assigned_at]
    contact = [(fc - t.captured_at).total_seconds() for t in ts if (fc := first_contact(t))]
    return {
        "leads": len(ts), "assigned": len(assigned), "contacted": len(contact),
        "captured_to_assigned_s": {f"p{p}": nearest_rank(assigned, p) for p in (50, 90, 99)},
        "captured_to_first_contact_s": {f"p{p}": nearest_rank(contact, p) for p in (50, 90, 99)},
        "contacted_within_5m": ratio(len([s for s in contact if s <= 300]), len(ts)),
        "contacted_within_1h": ratio(len([s for s in contact if s <= 3600]), len(ts)),
    }  # fmt: skip


def trend(ts: list[Truth], tz: str) -> list[dict[str, Any]]:
    days: dict[str, list[Truth]] = {}
    for t in ts:
        days.setdefault(t.captured_at.astimezone(ZoneInfo(tz)).date().isoformat(), []).append(t)
    return [{"day": d, **speed(days[d])} for d in sorted(days)]


def funnel(ts: list[Truth]) -> dict[str, Any]:
    def stages(t: Truth) -> list[bool]:
        # The router's stages when it announced them (a meeting after the outcome moves
        # nothing), else insights' own derivation (any meeting is an opportunity).
        meeting = opportunity_at(t) if t.announced else t.meeting_at
        times = [t.captured_at, t.qualified_at, first_contact(t), meeting, t.won_at]
        return [any(x is not None for x in times[i:]) for i in range(5)]

    names = ("lead", "mql", "sql", "opportunity", "won")
    counts = dict(zip(names, (sum(col) for col in zip(*(stages(t) for t in ts), strict=True)),
                      strict=True)) if ts else dict.fromkeys(names, 0)  # fmt: skip
    return {
        "counts": counts,
        "lost": len([t for t in ts if t.lost_at]),
        "step_rates": {
            names[i]: ratio(counts[names[i]], counts[names[i - 1]]) for i in range(1, 5)
        },
        "lead_rates": {n: ratio(counts[n], counts["lead"]) for n in names[1:]},
    }


def lost_reasons(ts: list[Truth]) -> list[dict[str, Any]]:
    c = Counter(t.reason for t in ts if t.lost_at)
    return [{"reason": r, "leads": n} for r, n in sorted(c.items(), key=lambda x: (-x[1], x[0]))]


def value(ts: list[Truth]) -> dict[str, Any]:
    won = [t.amount or Decimal(0) for t in ts if t.won_at]
    total = sum(won, Decimal(0))
    return {
        "leads": len(ts), "won": len(won), "total_won": cents(total),
        "average_won": cents(total / len(won)) if won else None,
        "revenue_per_lead": cents(total / len(ts)) if ts else None,
    }  # fmt: skip


def by(ts: list[Truth], key: Callable[[Truth], str | None], f: Callable[[list[Truth]], Any]
       ) -> dict[str, Any]:  # fmt: skip
    groups: dict[str, list[Truth]] = {}
    for t in ts:
        groups.setdefault(key(t) or "(none)", []).append(t)
    return {k: f(groups[k]) for k in sorted(groups)}


def lateness(t: Truth) -> tuple[int, int]:
    if t.followup_due_at is None:
        return 0, 0
    if t.announced:  # nurture settled it: its grace, and missed once its window ended
        outcome, _ = settled_touch(t)
        return int(outcome == "late"), int(outcome == "missed")
    after = sorted(x for x in t.touches if x >= t.followup_due_at)
    if after:
        return (1 if after[0] - t.followup_due_at > LATE_AFTER else 0), 0
    return 0, (1 if t.won_at or t.lost_at else 0)


def stopped(t: Truth, after: int) -> bool:
    """Responded (a reply or a meeting), then ``after`` touches or more since the last one."""
    answers = [x for x in (t.replied_at, t.meeting_at) if x is not None]
    return bool(answers) and len([x for x in t.touches if x > max(answers)]) >= after


def effort(ts: list[Truth], stopped_after: int = 3) -> dict[str, Any]:
    won = [t for t in ts if t.won_at]
    to_close = [len([x for x in t.touches if t.won_at and x <= t.won_at]) for t in won]
    contacted = [t for t in ts if t.touches]
    responded = [t for t in contacted if t.replied_at or t.meeting_at]
    return {
        "won": len(won),
        "touches_to_close_avg": ratio(sum(to_close), len(to_close)),
        "touches_to_close_p50": nearest_rank([float(n) for n in to_close], 50),
        "touches": sum(len(t.touches) for t in ts),
        "contacted": len(contacted),
        "response_rate": ratio(len(responded), len(contacted)),
        "never_responded": ratio(len(contacted) - len(responded), len(contacted)),
        "stopped_responding": ratio(
            len([t for t in contacted if stopped(t, stopped_after)]), len(contacted)
        ),
        "stopped_responding_after": stopped_after,
        "late_touches": sum(lateness(t)[0] for t in ts),
        "missed_touches": sum(lateness(t)[1] for t in ts),
    }


def rep_row(ts: list[Truth]) -> dict[str, Any]:
    with_due = [t for t in ts if t.sla_due_at]
    within = [
        t for t in with_due if (fc := first_contact(t)) and t.sla_due_at and fc <= t.sla_due_at
    ]
    won = [t for t in ts if t.won_at]
    return {
        "assigned": len(ts), "contacted": len([t for t in ts if t.touches]),
        "contacted_within_sla": len(within), "within_sla_rate": ratio(len(within), len(with_due)),
        "breaches": len([t for t in ts if t.breached]), "won": len(won),
        "conversion": ratio(len(won), len(ts)),
        "value": cents(sum((t.amount or Decimal(0) for t in won), Decimal(0))),
    }  # fmt: skip


def marks(rows: dict[str, dict[str, Any]], min_sample: int) -> dict[str, str | None]:
    eligible = sorted(
        (n for n, r in rows.items() if r["assigned"] >= min_sample),
        key=lambda n: (-(rows[n]["conversion"] or 0), -(rows[n]["within_sla_rate"] or 0), n),
    )
    q = len(eligible) // 4
    out: dict[str, str | None] = dict.fromkeys(rows)
    out.update(dict.fromkeys(eligible[:q], "high") if q else {})
    out.update(dict.fromkeys(eligible[len(eligible) - q :], "low") if q else {})
    return out


def members(ts: list[Truth], teams: dict[str, str], team: str) -> list[str]:
    return sorted({t.rep for t in ts if t.rep and teams.get(t.rep) == team})


def leaderboard(ts: list[Truth], teams: dict[str, str], min_sample: int) -> dict[str, Any]:
    reps = by([t for t in ts if t.rep], lambda t: t.rep, rep_row)
    rep_marks = marks(reps, min_sample)
    team_rows = by([t for t in ts if t.rep in teams], lambda t: teams.get(t.rep or ""), rep_row)
    team_marks = marks(team_rows, min_sample)
    return {
        "reps": [{"rep": r, "team": teams.get(r), "mark": rep_marks[r],
                  "multiplier": MULTIPLIERS.get(r, 1.0), **row}
                 for r, row in reps.items()],
        "teams": [{"team": n, "members": members(ts, teams, n), "mark": team_marks[n], **row}
                  for n, row in team_rows.items()],
    }  # fmt: skip


def fairness(ts: list[Truth], shown: set[str] | None = None) -> dict[str, Any]:
    """Every decision is weighted round robin: a member's chance is weight x multiplier over
    the eligible members' (exact fractions), summed per rep; ratio = assigned / expected."""

    def rows(group: list[Truth]) -> dict[str, Any]:
        want: dict[str, Fraction] = {}
        got: Counter[str] = Counter()
        for t in group:
            shares = {r: Fraction(w) * Fraction(m if m is not None else 1)
                      for r, e, w, m in t.pool if e}  # fmt: skip
            for r, s in shares.items():
                want[r] = want.get(r, Fraction(0)) + s / sum(shares.values())
            got[t.rep or ""] += 1
        return {r: {"assigned": got[r], "expected": round(float(want[r]), 6),
                    "ratio": round(float(got[r] / want[r]), 6)}
                for r in sorted(want) if shown is None or r in shown}  # fmt: skip

    decided = [t for t in ts if t.rep]
    queues = sorted({t.queue for t in decided if t.queue})
    return {
        "decisions": len(decided), "unmeasured": 0, "by_rep": rows(decided),
        "by_queue": {q: {"decisions": len([t for t in decided if t.queue == q]),
                         "by_rep": rows([t for t in decided if t.queue == q])}
                     for q in queues},
    }  # fmt: skip


def flow(
    ts: list[Truth], letters: dict[str, int] | None = None, lettered: frozenset[str] = frozenset()
) -> dict[str, Any]:
    waiting = Counter(t.waiting_queue for t in ts if t.waiting_queue)
    running = Counter(
        t.queue for t in ts
        if t.sla_due_at and not t.touches and not t.breached and not (t.won_at or t.lost_at)
    )  # fmt: skip
    return {
        "waiting": sum(waiting.values()), "waiting_by_queue": dict(sorted(waiting.items())),
        "sla_running": sum(running.values()),
        "sla_running_by_queue": dict(sorted(running.items())),
        "nurture_active": len([t for t in ts if t.nurture_active]), "snoozed": 0,
        "dead_letters": sum((letters or {}).values()),
        "dead_letters_by_service": dict(sorted((letters or {}).items())),
        "dead_letter_leads": len([t for t in ts if t.lead_id in lettered]),
    }  # fmt: skip
