"""The insights service's settings, and the ``insights`` section of the YAML config.

```yaml
insights:
  campaign_costs:                 # what each campaign cost; a channel makes it count there too
    - {campaign: spring-sale, channel: paid_social, cost: 1200}
  followup_late_after: 1d         # a follow-up touch done later than this after it was due is late
  performers_min_sample: 10       # reps (teams) with fewer leads are never marked high or low
  stopped_responding_after: 3     # a lead that responded, then left this many touches unanswered
```
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.insights.domain.facts import FactRules
from services.insights.domain.value import CampaignCost
from shared.bus.settling import Settling
from shared.config import ServiceSettings, load_section, parse_duration

SECTION = "insights"
NAME_PATTERN = r"^[^\x00]{1,200}$"


class Settings(ServiceSettings):
    """Insights is off the latency path: it fetches in large batches after long waits, so
    its consumer never competes with routing's for the broker (its own group, as always),
    and applies what waits for it once the stream goes quiet (see shared.bus.settling)."""

    def settling(self) -> Settling:
        return Settling(self.apply_quiet_s, self.apply_max_hold_s, self.apply_max_held)

    service_name: str = "insights"
    port: int = 8006
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=1, le=500)
    kafka_fetch_min_bytes: int = Field(default=65_536, ge=1)
    kafka_max_batch: int = Field(default=2000, ge=1, le=10_000)
    process_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        validation_alias="leadflow_insights_nice",
        description="Insights yields the CPU to the services on the latency path when they"
        " share a machine (Unix nice; LEADFLOW_INSIGHTS_NICE, 0 turns it off)",
    )
    apply_quiet_s: float = Field(
        1.0,
        ge=0,
        le=60,
        validation_alias="leadflow_insights_apply_quiet_s",
        description="Insights leaves events on the broker while they keep coming and applies"
        " them once none has come for this long, so it does its work after a burst of leads,"
        " not during it (LEADFLOW_INSIGHTS_APPLY_QUIET_S; 0 applies every batch at once)",
    )
    apply_max_hold_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        validation_alias="leadflow_insights_apply_max_hold_s",
        description="...but never lets an event wait longer than this, so under steady load"
        " the figures are at most this stale (LEADFLOW_INSIGHTS_APPLY_MAX_HOLD_S)",
    )
    apply_max_held: int = Field(
        50_000,
        ge=1,
        le=1_000_000,
        validation_alias="leadflow_insights_apply_max_held",
        description="...nor more events than this, which bounds each catch-up"
        " (LEADFLOW_INSIGHTS_APPLY_MAX_HELD)",
    )
    gauges_interval_s: float = Field(
        60.0,
        gt=0,
        validation_alias="leadflow_insights_gauges_interval_s",
        description="How often the headline figures are recomputed for /metrics"
        " (LEADFLOW_INSIGHTS_GAUGES_INTERVAL_S)",
    )


class CampaignCostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign: str = Field(pattern=NAME_PATTERN, description="Campaign (utm_campaign) name")
    cost: Decimal = Field(ge=0, allow_inf_nan=False, description="What the campaign cost")
    channel: str | None = Field(
        None, pattern=NAME_PATTERN, description="Channel the cost counts towards, if one"
    )


class InsightsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_costs: tuple[CampaignCostConfig, ...] = Field(
        (), description="Campaign costs, for cost per lead, cost per won deal and return"
    )
    followup_late_after: str = Field(
        "1d", description="A follow-up touch done later than this after it was due is late"
    )
    performers_min_sample: int = Field(
        10, ge=1, description="Leads a rep or team needs before it is marked high or low"
    )

    stopped_responding_after: int = Field(
        3,
        ge=1,
        description="A lead that responded and then left this many rep touches unanswered"
        " stopped responding",
    )

    @field_validator("followup_late_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("must be longer than 0s")
        return value

    def fact_rules(self) -> FactRules:
        return FactRules(late_after=parse_duration(self.followup_late_after))

    def costs(self) -> tuple[CampaignCost, ...]:
        return tuple(CampaignCost(c.campaign, c.cost, c.channel) for c in self.campaign_costs)


def load_insights_config(path: Path) -> InsightsConfig:
    """Read and validate the ``insights`` section of the config file at ``path``."""
    return load_section(path, SECTION, InsightsConfig)
