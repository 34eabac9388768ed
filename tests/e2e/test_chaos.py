"""The permanent fault suite at CI size: `leadflow chaos` with a few hundred leads.

Leads are posted at a steady rate while every service, then PostgreSQL, then the broker
(a longer and a shorter outage) are SIGKILLed in turn and restarted by `leadflow up`'s
supervisor; then every acknowledged lead must be decided exactly once, every assignment
webhook delivered once and every nurture lead enrolled once (leadflow/chaos/proof.py),
with nothing dead-lettered. The by-hand run at 10,000 leads is in docs/operations.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadflow.chaos.plan import parse_faults
from leadflow.chaos.run import ChaosOptions, Report, run_chaos

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


def _assert_nothing_lost_or_doubled(report: Report, home: Path | None = None) -> None:
    figures = report.figures
    summary = json.dumps(report.as_dict(), indent=1)
    assert figures.acknowledged > 0.8 * report.posted, summary  # outages refuse only a few
    assert set(report.refusals) <= {"503", "connection"}, summary  # never a 4xx or a 500
    assert report.settle_s is not None, summary
    assert (figures.lost, figures.undecided) == (0, 0), summary
    assert figures.decided == figures.acknowledged, summary
    assert (figures.webhooks_missing, figures.webhooks_doubled) == (0, 0), summary
    assert figures.webhooks_unexpected == 0, summary
    assert (figures.nurture_missing, figures.nurture_doubled) == (0, 0), summary
    assert report.receiver_rejected == 0, summary
    dead = sum(report.dead_letters["counters"].values()) + sum(
        report.dead_letters["topics"].values()
    )
    if dead and home is not None:
        summary += "\ndead letters:\n" + "\n".join(_dead_letter_lines(home))
    assert not dead, summary
    assert report.ok, summary


def _dead_letter_lines(home: Path) -> list[str]:
    return [
        line
        for log in home.glob("*.log")
        for line in log.read_text(errors="replace").splitlines()
        if "dead-lettered" in line
    ]


async def test_every_service_and_postgres_killed_in_turn_lose_and_double_nothing(
    tmp_path: Path,
) -> None:
    faults = parse_faults("services,postgres", broker_long_s=0, broker_short_s=0)
    report = await run_chaos(
        ChaosOptions(leads=240, rate=6.0, faults=faults, settle_timeout=120, home=tmp_path)
    )
    assert [f["fault"] for f in report.faults] == [f.name for f in faults]
    _assert_nothing_lost_or_doubled(report, tmp_path)


async def test_the_broker_killed_twice_long_and_short_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    faults = parse_faults("broker", broker_long_s=15, broker_short_s=5)
    report = await run_chaos(
        ChaosOptions(leads=200, rate=6.0, faults=faults, settle_timeout=90, home=tmp_path)
    )
    assert [f["fault"] for f in report.faults] == ["broker-long", "broker-short"]
    assert report.faults[0]["down_s"] >= 15
    assert report.faults[1]["at_s"] < report.load_s, "the second kill came after the load"
    _assert_nothing_lost_or_doubled(report, tmp_path)
