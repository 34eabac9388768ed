"""Teams against a real broker and database: SLA events name the owner's team and manager,
and GET /v1/reports/teams sums the team's rep figures."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.router.main import create_app
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_SCORED, LEAD_SLA_BREACHED, LEAD_SLA_WARNING
from tests.integration.router.test_sla import of, scored, settings
from tests.support.app import running_app
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
routing:
  default_queue: sales
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
    - {id: cara, name: Cara, timezone: Europe/London}
    - {id: boss, name: Boss, timezone: Europe/London}
  teams:
    - name: uk
      manager: {name: Uma Manager, email: uma@example.com, slack_user_id: U024BE7LH}
      members: [ana, cara]
    - name: us
      manager: {name: Max Manager, email: max@example.com}
      members: [ben]
  queues:
    - name: sales
      department: sales
      region: uk
      members: [ana, ben]
      sla: {first_contact: 2s, warn_before: 1s, max_attempts: 2, then: {rep: boss}}
"""
UK = {"name": "uk", "manager": {"name": "Uma Manager", "email": "uma@example.com",
                                "slack_user_id": "U024BE7LH", "rep_id": None}}  # fmt: skip
US = {"name": "us", "manager": {"name": "Max Manager", "email": "max@example.com",
                                "slack_user_id": None, "rep_id": None}}  # fmt: skip
COUNTS = ("assigned", "contacted", "contacted_within_sla", "breached", "reassigned_away", "won")


async def test_breaches_name_the_owners_manager_and_teams_sum_their_reps(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    lead = str(uuid.uuid4())
    topics = (LEAD_ASSIGNED, LEAD_SLA_WARNING, LEAD_SLA_BREACHED)
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        async with bus.reader(*topics) as out:
            await bus.produce(LEAD_SCORED, [scored(lead, "warm")])
            await out.wait_for(
                lambda r: len(of(r, lead, "sla_breached")) >= 3, timeout=30,
                what="three breaches: ana (uk), ben (us), then boss (no team)",
            )  # fmt: skip
            reps = (await client.get("/v1/reports/reps")).json()["reps"]
            teams = (await client.get("/v1/reports/teams")).json()

    breaches = of(out.records, lead, "sla_breached")
    owners = [(b["rep"]["rep_id"], b.get("team")) for b in breaches]
    assert owners == [("ana", UK), ("ben", US), ("boss", None)]
    warned = [(w["rep"]["rep_id"], w.get("team")) for w in of(out.records, lead, "sla_warning")]
    assert ("ana", UK) in warned

    by_rep = {r["rep_id"]: r for r in reps}
    assert teams["since"] is None
    assert [(t["team"], t["members"]) for t in teams["teams"]] == [
        ("uk", ["ana", "cara"]),
        ("us", ["ben"]),
    ]
    uk, us = teams["teams"]
    assert uk["manager"] == UK["manager"]
    for counter in COUNTS:
        assert uk["figures"][counter] == by_rep["ana"][counter] + by_rep["cara"][counter]
        assert us["figures"][counter] == by_rep["ben"][counter]
    assert (uk["figures"]["assigned"], uk["figures"]["breached"]) == (1, 1)
    assert uk["figures"]["sla_met_rate"] == 0.0


async def test_the_team_report_needs_a_day_for_since(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        bad = await client.get("/v1/reports/teams", params={"since": "last week"})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["field"] == "query:since"
