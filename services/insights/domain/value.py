"""Deal value: won amounts by channel and rep, revenue per lead, and what campaigns cost.

Revenue is the won amount of the leads whose latest outcome is a win. A campaign's cost
comes from the config (``insights.campaign_costs``); a cost entry that names a channel
also counts towards that channel's cost, so the return by channel covers the spend the
config attributes to it. Return is (revenue - cost) / cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.insights.domain.facts import LeadFact
from services.insights.domain.filters import label
from services.insights.domain.stats import average, money, rate


@dataclass(frozen=True)
class CampaignCost:
    campaign: str
    cost: Decimal
    channel: str | None = None


def value(facts: Sequence[LeadFact]) -> dict[str, Any]:
    won = [f.won_amount or Decimal(0) for f in facts if f.won_at is not None]
    total = sum(won, Decimal(0))
    return {
        "leads": len(facts),
        "won": len(won),
        "total_won": money(total),
        "average_won": average(won),
        "revenue_per_lead": money(total / len(facts)) if facts else None,
    }


def _grouped(
    facts: Sequence[LeadFact], key: Callable[[LeadFact], str | None]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[LeadFact]] = {}
    for fact in facts:
        groups.setdefault(label(key(fact)), []).append(fact)
    return {name: value(members) for name, members in sorted(groups.items())}


def _returns(spend: Decimal, figures: dict[str, Any]) -> dict[str, Any]:
    revenue = Decimal(str(figures["total_won"]))
    return {
        "cost": money(spend),
        "leads": figures["leads"],
        "won": figures["won"],
        "revenue": figures["total_won"],
        "cost_per_lead": money(spend / figures["leads"]) if figures["leads"] else None,
        "cost_per_won": money(spend / figures["won"]) if figures["won"] else None,
        "return": rate(float(revenue - spend), float(spend)) if spend else None,
    }


def costs_report(
    facts: Sequence[LeadFact], costs: Sequence[CampaignCost]
) -> dict[str, dict[str, Any]]:
    """Per configured campaign and per channel a cost names: spend against what came of it."""
    by_campaign = _grouped(facts, lambda f: f.campaign)
    by_channel = _grouped(facts, lambda f: f.channel)
    empty = value([])
    spend_by_campaign: dict[str, Decimal] = {}
    spend_by_channel: dict[str, Decimal] = {}
    for c in costs:
        spend_by_campaign[c.campaign] = spend_by_campaign.get(c.campaign, Decimal(0)) + c.cost
        if c.channel is not None:
            spend_by_channel[c.channel] = spend_by_channel.get(c.channel, Decimal(0)) + c.cost
    return {
        "by_campaign": {
            name: _returns(spend, by_campaign.get(name, empty))
            for name, spend in sorted(spend_by_campaign.items())
        },
        "by_channel": {
            name: _returns(spend, by_channel.get(name, empty))
            for name, spend in sorted(spend_by_channel.items())
        },
    }


def value_report(facts: Sequence[LeadFact], costs: Sequence[CampaignCost]) -> dict[str, Any]:
    return {
        "overall": value(facts),
        "by_channel": _grouped(facts, lambda f: f.channel),
        "by_rep": _grouped(facts, lambda f: f.rep_id),
        "costs": costs_report(facts, costs),
    }
