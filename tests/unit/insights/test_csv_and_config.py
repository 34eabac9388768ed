from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.insights.config import load_insights_config
from services.insights.csv_format import to_csv
from shared.config import ConfigError


def test_csv_is_the_json_flattened_to_metric_value_rows() -> None:
    report = {
        "overall": {"leads": 2, "p": {"p50": None}, "ok": True},
        "trend": [{"day": "2026-11-02", "leads": 1}],
        "reps": [{"rep": "ana", "mark": "high"}],
        "x": [5],
    }
    assert to_csv(report).splitlines() == [
        "metric,value",
        "overall.leads,2",
        "overall.p.p50,",
        "overall.ok,true",
        "trend.2026-11-02.day,2026-11-02",
        "trend.2026-11-02.leads,1",
        "reps.ana.rep,ana",
        "reps.ana.mark,high",
        "x.0,5",
    ]


def test_csv_quotes_text_a_spreadsheet_would_run_as_a_formula() -> None:
    lines = to_csv({"lost_reasons": [{"reason": "=HYPERLINK(1)", "leads": 1}]}).splitlines()
    assert lines[1] == "lost_reasons.=HYPERLINK(1).reason,'=HYPERLINK(1)"  # leads with text


def test_the_insights_section_gives_costs_and_rules(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "insights:\n  campaign_costs:\n    - {campaign: spring, channel: cpc, cost: 12.5}\n"
        "  followup_late_after: 2h\n  performers_min_sample: 3\n  stopped_responding_after: 2\n"
    )
    config = load_insights_config(path)
    assert config.fact_rules().late_after == timedelta(hours=2)
    assert [(c.campaign, c.cost, c.channel) for c in config.costs()] == [
        ("spring", Decimal("12.5"), "cpc")
    ]
    assert config.performers_min_sample == 3
    assert config.stopped_responding_after == 2


def test_no_insights_section_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("capture: {}\n")
    config = load_insights_config(path)
    assert (config.campaign_costs, config.performers_min_sample) == ((), 10)
    assert config.stopped_responding_after == 3


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("campaign_costs: [{campaign: a, cost: -1}]", "insights.campaign_costs[0].cost"),
        ("followup_late_after: 0s", "insights.followup_late_after"),
        ("followup_late_after: soon", "insights.followup_late_after"),
        ("performers_min_sample: 0", "insights.performers_min_sample"),
        ("stopped_responding_after: 0", "insights.stopped_responding_after"),
        ("unknown_key: 1", "insights.unknown_key"),
    ],
)
def test_an_invalid_insights_section_is_refused_naming_the_key(
    tmp_path: Path, body: str, named: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"insights:\n  {body}\n")
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_insights_config(path)
