"""What the pages show, shaped from the reports: charts, feed rows, a lead's timeline.
Pure functions (no I/O); the routes in :mod:`services.insights.web.pages` call them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from services.insights.domain.facts import STAGES, LeadFact, Observation, reached
from services.insights.web import charts
from services.insights.web.charts import COLOURS, Bar
from services.insights.web.render import money, percent

NAV = (
    ("/", "Overview"),
    ("/funnel", "Funnel"),
    ("/channels", "Channels"),
    ("/reps", "Reps & teams"),
    ("/queues", "Queues & SLAs"),
    ("/feed", "Live feed"),
)
# The filter form: (query name, label, hint), the same filters the API takes.
FILTER_FIELDS = (
    ("from", "From", "2026-10-05T00:00:00Z"),
    ("to", "To", "2026-11-02T00:00:00Z"),
    ("tz", "Time zone", "UTC"),
    ("source", "Source", "web"),
    ("channel", "Channel", "cpc"),
    ("campaign", "Campaign", "spring"),
    ("queue", "Queue", ""),
    ("team", "Team", ""),
    ("rep", "Rep", ""),
    ("bucket", "Bucket", "hot"),
)


def charts_for(report: Mapping[str, Any]) -> dict[str, Markup]:
    """The four at-a-glance charts, plus the channel-value and SLA ones."""
    funnel = report["funnel"]["overall"]
    by_channel = report["funnel"]["by"]["channel"]
    reps = [r for r in report["leaderboard"]["reps"]]
    return {
        "speed": charts.columns(
            "Leads by time from capture to first contact",
            [
                Bar(name, n, str(n), COLOURS[0] if name != "not yet" else "#9ca3af")
                for name, n in report["distribution"]
            ],
        ),  # fmt: skip
        "funnel": charts.bars(
            "Leads reaching each stage",
            [
                Bar(s, funnel["counts"][s], f"{funnel['counts'][s]}", COLOURS[i % len(COLOURS)])
                for i, s in enumerate(STAGES)
            ],
        ),  # fmt: skip
        "channels": charts.bars(
            "Share of leads won, by channel",
            [
                Bar(name, g["lead_rates"]["won"] or 0, percent(g["lead_rates"]["won"]), COLOURS[1])
                for name, g in by_channel.items()
            ],
        ),  # fmt: skip
        "value": charts.bars(
            "Won value by channel",
            [
                Bar(name, v["total_won"] or 0, money(v["total_won"]), COLOURS[3])
                for name, v in report["value"]["by_channel"].items()
            ],
        ),  # fmt: skip
        "reps": charts.bars(
            "Share of assigned leads won, by rep",
            [
                Bar(
                    f"{r['rep']}{_mark(r['mark'])}",
                    r["conversion"] or 0,
                    percent(r["conversion"]),
                    _mark_colour(r["mark"]),
                )
                for r in reps
            ],
        ),  # fmt: skip
        "sla": charts.bars(
            "Share of first contacts within the SLA, by rep",
            [
                Bar(r["rep"], r["within_sla_rate"] or 0, percent(r["within_sla_rate"]), COLOURS[2])
                for r in reps
            ],
            scale=1.0,
        ),  # fmt: skip
    }


def _mark(mark: str | None) -> str:
    return {"high": " ▲", "low": " ▼"}.get(mark or "", "")


def _mark_colour(mark: str | None) -> str:
    return {"high": "#15803d", "low": "#b91c1c"}.get(mark or "", COLOURS[0])


def queues_of(report: Mapping[str, Any]) -> list[str]:
    flow = report["flow"]
    names = set(flow["waiting_by_queue"]) | set(flow["sla_running_by_queue"])
    names |= {q for q in report["speed"]["by_queue"] if q != "(none)"}
    return sorted(names)


def stage_of(fact: LeadFact) -> str:
    """The furthest funnel stage the lead reached; lost when its outcome is a loss."""
    if fact.lost_at is not None:
        return "lost"
    return next((s for s in reversed(STAGES) if reached(fact, s)), "lead")


def _moment(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S %Z")


def decision_row(
    lead_id: str, at: datetime, assigned: Mapping[str, Any], scored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One line of the live feed: who got the lead, by which rule and strategy, and the
    score's largest reasons (rule names of the scoring model, with their points)."""
    reasons = (scored or {}).get("reasons") or []
    why = ", ".join(f"{rule} {points:+g}" for rule, _group, points in reasons[:3])
    return {
        "lead_id": lead_id, "at": _moment(at), "queue": assigned.get("queue"),
        "rep": assigned.get("rep_id"), "multiplier": assigned.get("multiplier"),
        "rule": assigned.get("rule") or "–", "strategy": assigned.get("strategy") or "–",
        "explanation": assigned.get("explanation"),
        "score": assigned.get("score", (scored or {}).get("score")),
        "bucket": assigned.get("bucket"), "reasons": why or "–",
    }  # fmt: skip


def timeline(observed: Sequence[Observation], personal: bool) -> list[dict[str, str]]:
    """The lead's life across services, oldest first; free text only for ``personal``."""
    return [{"at": _moment(o.at), **describe(o, personal)} for o in observed]


def describe(o: Observation, personal: bool) -> dict[str, str]:
    """A title and one line of detail for an observation."""
    d = o.data
    title = o.kind.replace("_", " ")
    detail = ""
    if o.kind in ("captured", "scored"):
        detail = " · ".join(str(d.get(k)) for k in ("source", "channel", "campaign") if d.get(k))
        if o.kind == "scored":
            reasons = ", ".join(f"{r} {p:+g}" for r, _g, p in (d.get("reasons") or []))
            detail = f"score {d.get('score', '–')}, bucket {d.get('bucket')}" + (
                f" ({reasons})" if reasons else ""
            )
    elif o.kind == "assigned":
        detail = (f"to {d.get('rep_id')} in {d.get('queue')} by rule {d.get('rule', '–')},"
                  f" {d.get('strategy', '–')}")  # fmt: skip
        if personal and d.get("explanation"):
            detail += f": {d['explanation']}"
    elif o.kind == "activity":
        title = f"activity: {d.get('activity')}"
        parts = [f"by {d['rep_id']}" if d.get("rep_id") else ""]
        if d.get("amount"):
            parts.append(f"amount {d['amount']}")
        if d.get("reason"):
            parts.append(f"reason: {d['reason']}" if personal else "reason: (needs leads:read)")
        detail = ", ".join(p for p in parts if p)
    elif o.kind == "stage_changed":
        detail = f"{d.get('from_stage')} → {d.get('to_stage')} ({d.get('cause')})"
    elif o.kind == "followup_closed":
        detail = f"step {d.get('step')} ({d.get('mode')}): {d.get('outcome')}"
    elif o.kind in ("sla_breached", "sla_warning", "gone_cold", "followup_due"):
        detail = ", ".join(f"{k} {v}" for k, v in d.items() if k in ("rep_id", "team", "action"))
    elif o.kind == "recycled":
        detail = f"{d.get('cause')} → {d.get('to')} {d.get('queue') or ''}".strip()
    elif o.kind in ("qualified", "disqualified", "bucket_changed", "routed_to_nurture"):
        detail = f"bucket {d.get('bucket')}"
    elif o.kind in ("nurture_step_due", "nurture_stopped"):
        detail = f"{d.get('sequence')} step {d.get('step', '')} {d.get('reason', '')}".strip()
    elif o.kind == "notification_delivered":
        detail = f"{d.get('event_type')} via {d.get('subscription')}"
    return {"title": title, "detail": detail}


def first_contact_s(fact: LeadFact) -> float | None:
    if fact.captured_at is None or fact.first_contact_at is None:
        return None
    return (fact.first_contact_at - fact.captured_at).total_seconds()
