"""The KPI API's response shapes, for OpenAPI and the clients generated from it.

The reports are built as plain dicts by the pure functions in ``domain`` (the dashboard
and the CSV writer read the same dicts); these models only describe them. They forbid
extra keys, so the published schema is exact, and ``tests/integration/insights`` checks
every report of a generated history against its model: a report that grows a field
without its model fails there, before a client sees it.

Rates and shares are fractions in [0, 1], ``None`` where there is nothing to divide by
(unknown, not zero); durations are seconds; amounts are numbers with cents. Keys of the
``by_*`` maps are the group's name (``(none)`` for leads without one).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Rate = float | None


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Percentiles(_Shape):
    """Nearest-rank percentiles of a sample; ``None`` for an empty one."""

    p50: float | None
    p90: float | None
    p99: float | None


class Speed(_Shape):
    leads: int = Field(description="Leads of the cohort")
    assigned: int = Field(description="Of them, leads with an owner")
    contacted: int = Field(description="Of them, leads with a first contact")
    captured_to_assigned_s: Percentiles
    captured_to_first_contact_s: Percentiles
    contacted_within_5m: Rate = Field(description="Share of all the cohort's leads")
    contacted_within_1h: Rate = Field(description="Share of all the cohort's leads")


class SpeedDay(Speed):
    day: str = Field(description="Calendar day of capture in the asked time zone (ISO date)")


class SpeedReport(_Shape):
    overall: Speed
    by_rep: dict[str, Speed]
    by_queue: dict[str, Speed]
    by_source: dict[str, Speed]
    trend: list[SpeedDay] = Field(description="Per day of capture, oldest first")


class StageCounts(_Shape):
    lead: int
    mql: int
    sql: int
    opportunity: int
    won: int


class StepRates(_Shape):
    """Each stage over the one before it."""

    mql: Rate
    sql: Rate
    opportunity: Rate
    won: Rate


class Funnel(_Shape):
    counts: StageCounts = Field(description="Leads that reached each stage")
    lost: int = Field(description="Leads whose latest outcome is a loss")
    step_rates: StepRates
    lead_rates: StepRates = Field(description="Each stage over the leads")


class FunnelBy(_Shape):
    source: dict[str, Funnel]
    channel: dict[str, Funnel]
    campaign: dict[str, Funnel]
    rep: dict[str, Funnel]
    queue: dict[str, Funnel]
    bucket: dict[str, Funnel]


class LostReason(_Shape):
    reason: str
    leads: int


class FunnelReport(_Shape):
    overall: Funnel
    by: FunnelBy
    lost_reasons: list[LostReason] = Field(description="Most frequent first")


class Value(_Shape):
    leads: int
    won: int
    total_won: float
    average_won: float | None
    revenue_per_lead: float | None


class Returns(_Shape):
    cost: float
    leads: int
    won: int
    revenue: float
    cost_per_lead: float | None
    cost_per_won: float | None
    return_: Rate = Field(alias="return", description="(revenue - cost) / cost")


class Costs(_Shape):
    by_campaign: dict[str, Returns] = Field(description="Per campaign with a configured cost")
    by_channel: dict[str, Returns] = Field(description="Per channel a configured cost names")


class ValueReport(_Shape):
    overall: Value
    by_channel: dict[str, Value]
    by_rep: dict[str, Value]
    costs: Costs


class EffortReport(_Shape):
    won: int
    touches_to_close_avg: float | None
    touches_to_close_p50: float | None
    touches: int
    contacted: int
    response_rate: Rate = Field(description="Over contacted leads")
    never_responded: Rate = Field(description="Over contacted leads")
    stopped_responding: Rate = Field(description="Over contacted leads")
    stopped_responding_after: int = Field(description="Unanswered touches that count as stopped")
    late_touches: int
    missed_touches: int


Mark = Literal["high", "low"] | None


class _Figures(_Shape):
    assigned: int
    contacted: int
    contacted_within_sla: int
    within_sla_rate: Rate
    breaches: int
    won: int
    conversion: Rate
    value: float


class RepRow(_Figures):
    rep: str
    team: str | None
    mark: Mark
    multiplier: float = Field(description="Fairness multiplier last applied (1 when none)")


class TeamRow(_Figures):
    team: str
    members: list[str]
    mark: Mark


class Leaderboard(_Shape):
    rule: str = Field(description="How high and low performers are marked")
    reps: list[RepRow]
    teams: list[TeamRow]


class FairShare(_Shape):
    assigned: int
    expected: float = Field(description="Sum of the rep's probabilities over the decisions")
    ratio: Rate = Field(description="assigned / expected; 1 is the promised share")


class QueueFairness(_Shape):
    decisions: int
    by_rep: dict[str, FairShare]


class FairnessReport(_Shape):
    decisions: int = Field(description="Decisions with a recorded pool")
    unmeasured: int = Field(description="Decisions without one (owner match, older traces)")
    by_rep: dict[str, FairShare]
    by_queue: dict[str, QueueFairness]


class FlowReport(_Shape):
    waiting: int
    waiting_by_queue: dict[str, int]
    sla_running: int
    sla_running_by_queue: dict[str, int]
    nurture_active: int
    snoozed: int
    dead_letters: int = Field(description="Letters on the consuming services' DLQ topics")
    dead_letters_by_service: dict[str, int]
    dead_letter_leads: int = Field(description="Selected leads some letter is about")


REPORT_MODELS: dict[str, type[BaseModel]] = {
    "speed": SpeedReport,
    "funnel": FunnelReport,
    "value": ValueReport,
    "effort": EffortReport,
    "leaderboard": Leaderboard,
    "fairness": FairnessReport,
    "flow": FlowReport,
}
