"""Insights on a real broker and database: a generated history of a few hundred leads over
four weeks (fixed timestamps in the events) is published to the topics; every KPI the API
answers, per filter, equals what an independent oracle computes from the same inputs.
Then: a rebuild from the topics gives identical answers, and an erased lead's personal
data is in no insights table while the counts stay."""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from services.insights import schemas
from services.insights.config import Settings
from services.insights.dead_letters import count_dead_letters
from services.insights.jobs import measure_headlines
from services.insights.main import create_app
from services.insights.rebuild import rebuild
from shared.contracts import LeadErased
from shared.contracts.envelope import Event
from tests.support import insights_oracle as oracle
from tests.support.app import running_app
from tests.support.events import record
from tests.support.insights_history import START, WEIGHTS, Truth, generate
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.timeout(240)]

LEADS = 300
MIN_SAMPLE = 10
STOPPED_AFTER = 2
TZ = "America/New_York"
CONFIG = f"""
insights:
  campaign_costs:
    - {{campaign: spring, channel: cpc, cost: 5000}}
    - {{campaign: autumn, cost: 1234.5}}
  followup_late_after: 1d
  performers_min_sample: {MIN_SAMPLE}
  stopped_responding_after: {STOPPED_AFTER}
"""
WINDOW = (START + timedelta(days=7), START + timedelta(days=14))
ASKS = [
    oracle.Ask({}),
    oracle.Ask({"channel": "cpc"}),
    oracle.Ask({"rep": "ana"}),
    oracle.Ask({"team": "uk"}),
    oracle.Ask({"bucket": "hot"}),
    oracle.Ask({"campaign": "spring", "source": "meta"}),
    oracle.Ask({"queue": "us"}),
    oracle.Ask({"from": WINDOW[0].isoformat(), "to": WINDOW[1].isoformat()}, *WINDOW),
]
# Letters the test puts on the dead-letter topics: per consuming service (capture has none).
LETTERS = {"scorer": 0, "router": 2, "nurture": 1, "notifier": 0, "insights": 0}
REPORTS = ("speed", "funnel", "value", "effort", "leaderboard", "fairness", "flow")
PERSONAL = ("erasable@example.org", "Zebedee")


def gauge(name: str, **labels: str) -> float | None:
    value: float | None = REGISTRY.get_sample_value(name, labels)
    return value


def settings(database_url: str, bus: Bus, config: Path) -> Settings:
    return Settings(database_url=database_url, config_file=config, kafka_partitions=3,
                    **bus.settings)  # fmt: skip


async def publish(bus: Bus, events: list[Event]) -> None:
    by_topic: dict[str, list[tuple[bytes, bytes]]] = defaultdict(list)
    for event in events:
        by_topic[event.TOPIC].append(record(event, source="generator"))
    await asyncio.gather(*(bus.produce(topic, items) for topic, items in by_topic.items()))


async def applied(pg: asyncpg.Connection, count: int, timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        have = await pg.fetchval("SELECT count(*) FROM insights.observations")
        if have >= count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"insights applied {have} of {count} events")
        await asyncio.sleep(0.2)


async def answers(client: httpx.AsyncClient, ask: oracle.Ask) -> dict[str, Any]:
    params = {**ask.params, "tz": TZ}
    out = {}
    for report in REPORTS:
        resp = await client.get(f"/v1/insights/{report}", params=params)
        assert resp.status_code == 200, resp.text
        out[report] = resp.json()
        published = schemas.REPORT_MODELS[report].model_validate_json(resp.text, strict=True)
        assert published.model_dump(mode="json", by_alias=True) == out[report], report
    return out


def costs(ts: list[Truth]) -> dict[str, Any]:
    """What the config's costs give, by campaign and by the channel one of them names."""

    def returns(spend: Decimal, group: list[Truth]) -> dict[str, Any]:
        v = oracle.value(group)
        return {
            "cost": float(spend), "leads": v["leads"], "won": v["won"],
            "revenue": v["total_won"],
            "cost_per_lead": oracle.cents(spend / v["leads"]) if v["leads"] else None,
            "cost_per_won": oracle.cents(spend / v["won"]) if v["won"] else None,
            "return": oracle.ratio(float(Decimal(str(v["total_won"])) - spend), float(spend)),
        }  # fmt: skip

    return {
        "by_campaign": {
            "autumn": returns(Decimal("1234.5"), [t for t in ts if t.campaign == "autumn"]),
            "spring": returns(Decimal("5000"), [t for t in ts if t.campaign == "spring"]),
        },
        "by_channel": {"cpc": returns(Decimal("5000"), [t for t in ts if t.channel == "cpc"])},
    }


def fairness(truths: list[Truth], ask: oracle.Ask, teams: dict[str, str]) -> dict[str, Any]:
    """Over the decisions of the leads the filters but rep and team select; rep and team
    pick the rows."""
    p = ask.params
    rest = oracle.Ask({k: v for k, v in p.items() if k not in ("rep", "team")}, *ask.window)
    shown = None
    if "rep" in p or "team" in p:
        shown = {r for r in WEIGHTS if p.get("rep", r) == r
                 and ("team" not in p or teams.get(r) == p["team"])}  # fmt: skip
    return oracle.fairness([t for t in truths if rest.wants(t, teams)], shown)


async def dead_letter(bus: Bus, lead_id: str) -> None:
    """Two letters about ``lead_id`` (a CloudEvent with it as subject) and one record that
    never was an event, as consumers dead-letter them."""
    event = json.dumps({"specversion": "1.0", "id": "dead-1", "source": "scorer",
                        "type": "io.leadflow.lead.scored.v1", "subject": lead_id,
                        "data": {}}).encode()  # fmt: skip
    await bus.produce("leadflow.dlq.router", [(lead_id.encode(), event), (b"x", b"not json")])
    await bus.produce("leadflow.dlq.nurture", [(lead_id.encode(), event)])


def expected(truths: list[Truth], ask: oracle.Ask) -> dict[str, Any]:
    teams = oracle.known_teams(truths)
    ts = [t for t in truths if ask.wants(t, teams)]
    board = oracle.leaderboard(ts, teams, MIN_SAMPLE)
    return {
        "speed": {
            "overall": oracle.speed(ts),
            "by_rep": oracle.by(ts, lambda t: t.rep, oracle.speed),
            "by_queue": oracle.by(ts, lambda t: t.queue, oracle.speed),
            "by_source": oracle.by(ts, lambda t: t.source, oracle.speed),
            "trend": oracle.trend(ts, TZ),
        },
        "funnel": {
            "overall": oracle.funnel(ts),
            "by_channel": oracle.by(ts, lambda t: t.channel, oracle.funnel),
            "by_campaign": oracle.by(ts, lambda t: t.campaign, oracle.funnel),
            "by_rep": oracle.by(ts, lambda t: t.rep, oracle.funnel),
            "by_bucket": oracle.by(ts, lambda t: t.bucket, oracle.funnel),
            "lost_reasons": oracle.lost_reasons(ts),
        },
        "value": {
            "overall": oracle.value(ts),
            "by_channel": oracle.by(ts, lambda t: t.channel, oracle.value),
            "by_rep": oracle.by(ts, lambda t: t.rep, oracle.value),
            "costs": costs(ts),
        },
        "effort": oracle.effort(ts, STOPPED_AFTER),
        "leaderboard": board,
        "fairness": fairness(truths, ask, teams),
        "flow": oracle.flow(ts, LETTERS, frozenset({truths[1].lead_id})),
    }


def comparable(got: dict[str, Any]) -> dict[str, Any]:
    """The API's answers in the oracle's shape."""
    funnel = got["funnel"]
    return {
        "speed": got["speed"],
        "funnel": {
            "overall": funnel["overall"],
            **{f"by_{k}": funnel["by"][k] for k in ("channel", "campaign", "rep", "bucket")},
            "lost_reasons": funnel["lost_reasons"],
        },
        "value": got["value"],
        "effort": got["effort"],
        "leaderboard": {k: got["leaderboard"][k] for k in ("reps", "teams")},
        "fairness": got["fairness"],
        "flow": got["flow"],
    }


async def personal_data_rows(pg: asyncpg.Connection) -> list[str]:
    tables = await pg.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'insights'"
    )
    assert {"observations", "lead_facts", "rep_teams", "inbox"} <= {t[0] for t in tables}
    found = []
    for (table,) in tables:
        for text in PERSONAL:
            n = await pg.fetchval(
                f'SELECT count(*) FROM insights."{table}" AS x WHERE x::text ILIKE $1',
                f"%{text}%",
            )
            if n:
                found.append(f"{table}: {n} row(s) with {text}")
    return found


async def test_every_kpi_equals_the_oracle_rebuild_is_identical_and_erasure_leaves_counts(
    database_url: str, bus: Bus, tmp_path: Path, pg_conn: asyncpg.Connection
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    truths, events = generate(LEADS)
    app_settings = settings(database_url, bus, config)
    app = create_app(app_settings)
    async with running_app(app) as client:
        await publish(bus, events)
        await dead_letter(bus, truths[1].lead_id)
        await applied(pg_conn, len(events))
        await count_dead_letters(app.state.runtime)  # as its timer would
        overview = await client.get("/")
        assert overview.status_code == 200
        stamp = re.search(r'Events last applied at <time datetime="([^"]+)"', overview.text)
        assert stamp is not None, "the page does not say how fresh its figures are"
        now = await pg_conn.fetchval("SELECT now()")
        assert (now - datetime.fromisoformat(stamp.group(1))).total_seconds() < 120

        before: dict[int, dict[str, Any]] = {}
        for index, ask in enumerate(ASKS):
            before[index] = await answers(client, ask)
            got, want = comparable(before[index]), expected(truths, ask)
            for report in want:
                assert got[report] == want[report], f"{report} for {ask.params}"
        overall = before[0]
        assert overall["funnel"]["overall"]["counts"]["lead"] == LEADS
        assert {r["mark"] for r in overall["leaderboard"]["reps"]} >= {"high", "low"}
        assert overall["flow"]["sla_running"] > 0 and overall["flow"]["waiting"] > 0
        assert overall["effort"]["stopped_responding"] > 0
        assert (overall["flow"]["dead_letters"], overall["flow"]["dead_letter_leads"]) == (3, 1)

        await measure_headlines(app.state.runtime)  # the gauges say what the API says
        p90 = overall["speed"]["overall"]["captured_to_first_contact_s"]["p90"]
        assert gauge("leadflow_insights_leads") == LEADS
        assert (
            gauge("leadflow_insights_funnel_leads", stage="won")
            == (overall["funnel"]["overall"]["counts"]["won"])
        )
        first_contact = {"measure": "captured_to_first_contact", "percentile": "p90"}
        assert gauge("leadflow_insights_speed_seconds", **first_contact) == p90
        assert gauge("leadflow_insights_won_value") == overall["value"]["overall"]["total_won"]
        assert gauge("leadflow_insights_sla_timers_running") == overall["flow"]["sla_running"]

        csv = await client.get("/v1/insights/funnel", headers={"accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert f"overall.counts.lead,{LEADS}" in csv.text.splitlines()
        same = await client.get("/v1/insights/funnel", params={"format": "csv"})
        assert same.text == csv.text
        fair = await client.get("/v1/insights/fairness", params={"format": "csv"})
        ana = overall["fairness"]["by_rep"]["ana"]
        assert f"by_rep.ana.ratio,{ana['ratio']}" in fair.text.splitlines()

        rebuilt = await rebuild(app_settings)
        assert (rebuilt.events, rebuilt.leads) == (len(events), LEADS)
        for index, ask in enumerate(ASKS):
            assert await answers(client, ask) == before[index], f"rebuilt {ask.params}"

        # The live consumer goes on after the swap: a second wave lands on the rebuilt rows.
        more_truths, more = generate(40, seed=16)
        await publish(bus, more)
        await applied(pg_conn, len(events) + len(more))
        truths += more_truths
        overall = await answers(client, ASKS[0])
        assert comparable(overall) == expected(truths, ASKS[0])

        erased = next(t for t in truths if t.won_at and t.lost_at is None)
        await bus.send(LeadErased(lead_id=erased.lead_id, erased_at=START + timedelta(days=40)))
        deadline = asyncio.get_running_loop().time() + 30
        while not await pg_conn.fetchval(
            "SELECT erased FROM insights.lead_facts WHERE lead_id = $1", erased.lead_id
        ):
            assert asyncio.get_running_loop().time() < deadline, "erasure not applied"
            await asyncio.sleep(0.2)
        assert await personal_data_rows(pg_conn) == []
        assert await pg_conn.fetchval(
            "SELECT count(*) FROM insights.observations WHERE lead_id = $1", erased.lead_id
        ) == 0  # fmt: skip
        after = await answers(client, ASKS[0])
        assert after["funnel"]["overall"] == overall["funnel"]["overall"]  # counts kept
        assert after["value"]["overall"] == overall["value"]["overall"]

        await rebuild(app_settings)
        assert await answers(client, ASKS[0]) == after
        assert await personal_data_rows(pg_conn) == []


@pytest.mark.parametrize(
    ("params", "error", "field"),
    [
        ({"tz": "Mars/Olympus"}, "unknown_time_zone", "query:tz"),
        ({"tz": "America"}, "unknown_time_zone", "query:tz"),  # a directory, not a zone
        (
            {"from": "2026-10-05T00:00:00Z", "to": "2026-10-05T00:00:00Z"},
            "empty_window",
            "query:to",
        ),  # fmt: skip
        ({"from": "2026-10-05"}, "invalid_request", "query:from"),  # a day is not a moment
        ({"format": "xml"}, "invalid_request", "query:format"),
    ],
)
async def test_a_bad_filter_is_refused_naming_it(
    database_url: str, bus: Bus, tmp_path: Path, params: dict[str, str], error: str, field: str
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG)
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        resp = await client.get("/v1/insights/speed", params=params)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"] == error
    assert [p["field"] for p in body["problems"]] == [field]
