"""Headline figures as Prometheus gauges, recomputed on a timer (all leads, no filter), so
Grafana users see them without calling the API (deploy/grafana/insights.json)."""

from __future__ import annotations

from prometheus_client import Gauge

from services.insights import queries
from services.insights.deps import InsightsRuntime
from services.insights.domain.filters import Filters
from shared.periodic import Job

LEADS = Gauge("leadflow_insights_leads", "Leads in the read model (captured)")
SPEED = Gauge(
    "leadflow_insights_speed_seconds",
    "Captured -> first contact / assigned, seconds, by percentile",
    ["measure", "percentile"],
)
CONTACTED_WITHIN = Gauge(
    "leadflow_insights_contacted_within_ratio", "Share of leads contacted within", ["within"]
)
STAGE = Gauge("leadflow_insights_funnel_leads", "Leads that reached each stage", ["stage"])
WON_VALUE = Gauge("leadflow_insights_won_value", "Total won amount")
WAITING = Gauge("leadflow_insights_leads_waiting", "Leads waiting in a queue with nobody free")
SLA_RUNNING = Gauge("leadflow_insights_sla_timers_running", "First-contact clocks running")
NURTURE = Gauge("leadflow_insights_nurture_active", "Leads enrolled in nurture")


async def measure_headlines(runtime: InsightsRuntime) -> None:
    """Set every headline gauge from one read of the facts."""
    everything = Filters()
    async with runtime.engine.connect() as conn:
        speed = (await queries.speed_report(conn, everything))["overall"]
        funnel = (await queries.funnel_report(conn, everything))["overall"]
        value = (await queries.value_report(conn, everything, ()))["overall"]
        flow = await queries.flow_report(conn, everything)
    LEADS.set(speed["leads"])
    for measure in ("captured_to_assigned_s", "captured_to_first_contact_s"):
        for name, figure in speed[measure].items():
            SPEED.labels(measure.removesuffix("_s"), name).set(figure or 0)
    CONTACTED_WITHIN.labels("5m").set(speed["contacted_within_5m"] or 0)
    CONTACTED_WITHIN.labels("1h").set(speed["contacted_within_1h"] or 0)
    for stage, count in funnel["counts"].items():
        STAGE.labels(stage).set(count)
    WON_VALUE.set(value["total_won"])
    WAITING.set(flow["waiting"])
    SLA_RUNNING.set(flow["sla_running"])
    NURTURE.set(flow["nurture_active"])


def measuring_headlines(every_s: float) -> Job[InsightsRuntime]:
    return Job("measuring headline figures", every_s, measure_headlines)
