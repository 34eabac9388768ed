"""Accountability: a leaderboard per rep and per team, with high and low performers marked.

A rep's figures are over the leads they own now (the latest assignment); breaches are the
first-contact deadlines the rep missed, whoever owns the lead since. The marking rule:
among the reps with at least ``min_sample`` leads, ranked by conversion (won / assigned),
then by the share contacted within the SLA, then by rep id, the top quarter (rounded down)
is marked ``high`` and the bottom quarter ``low``; with fewer than four such reps nobody is
marked, since a quarter of three is no one. Reps under the sample size are never marked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from services.insights.domain.facts import LeadFact
from services.insights.domain.stats import money, rate


def figures(facts: Sequence[LeadFact], breaches: int) -> dict[str, Any]:
    with_due = [f for f in facts if f.sla_due_at is not None]
    within = sum(
        1
        for f in with_due
        if f.first_contact_at is not None
        and f.sla_due_at is not None
        and f.first_contact_at <= f.sla_due_at
    )
    won = [f for f in facts if f.won_at is not None]
    total = sum((f.won_amount or Decimal(0) for f in won), Decimal(0))
    return {
        "assigned": len(facts),
        "contacted": sum(1 for f in facts if f.first_contact_at is not None),
        "contacted_within_sla": within,
        "within_sla_rate": rate(within, len(with_due)),
        "breaches": breaches,
        "won": len(won),
        "conversion": rate(len(won), len(facts)),
        "value": money(total),
    }


def mark(rows: dict[str, dict[str, Any]], min_sample: int) -> dict[str, str | None]:
    """high / low / None per row, by the rule in the module docstring."""
    eligible = [name for name, row in rows.items() if row["assigned"] >= min_sample]
    ranked = sorted(
        eligible,
        key=lambda n: (-(rows[n]["conversion"] or 0), -(rows[n]["within_sla_rate"] or 0), n),
    )
    quarter = len(ranked) // 4
    marks: dict[str, str | None] = dict.fromkeys(rows)
    if quarter:
        for name in ranked[:quarter]:
            marks[name] = "high"
        for name in ranked[-quarter:]:
            marks[name] = "low"
    return marks


def leaderboard(
    facts: Sequence[LeadFact],
    breaches: Iterable[tuple[str, str]],
    team_of: Mapping[str, str],
    min_sample: int,
    multipliers: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """``breaches``: ``(lead_id, rep_id)`` per missed deadline; only the leads in ``facts``
    count, so the filters apply to breaches too. ``multipliers``: each rep's fairness
    multiplier as last applied (the router's ledger), shown beside their figures; 1 when
    none was applied."""
    multipliers = multipliers or {}
    leads = {f.lead_id for f in facts}
    missed = Counter(rep for lead, rep in breaches if lead in leads)
    owned: dict[str, list[LeadFact]] = {}
    for fact in facts:
        if fact.rep_id is not None:
            owned.setdefault(fact.rep_id, [])
            owned[fact.rep_id].append(fact)
    for rep in missed:
        owned.setdefault(rep, [])
    reps = {rep: figures(owned[rep], missed[rep]) for rep in sorted(owned)}
    rep_marks = mark(reps, min_sample)
    teams: dict[str, list[str]] = {}
    for rep in reps:
        if rep in team_of:
            teams.setdefault(team_of[rep], []).append(rep)
    team_rows = {
        team: figures([f for r in members for f in owned[r]], sum(missed[r] for r in members))
        for team, members in sorted(teams.items())
    }
    team_marks = mark(team_rows, min_sample)
    return {
        "rule": f"top and bottom quarter by conversion among those with >= {min_sample} leads",
        "reps": [
            {
                "rep": rep,
                "team": team_of.get(rep),
                "mark": rep_marks[rep],
                "multiplier": multipliers.get(rep, 1.0),
                **row,
            }  # fmt: skip
            for rep, row in reps.items()
        ],
        "teams": [
            {"team": team, "members": teams[team], "mark": team_marks[team], **row}
            for team, row in team_rows.items()
        ],
    }
