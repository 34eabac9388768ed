"""The project's realistic routing config (examples/leadflow.yaml: two dozen reps in four
time zones, 9 queues, working hours, holidays, absences, caps, skills, languages) under about
2,000 varied leads, checked against an independent reading of that config
(tests/support/routing_oracle.py) rather than against the router's own routing functions.

The router has no clock setting: the consumer decides at the wall-clock time. So:

- at FIXED instants (weekday mornings and evenings in Europe and the US, a Saturday,
  Christmas, an absence, both daylight-saving switches) the router's own simulation
  endpoint, which takes ``at`` and runs the live decision code, must give exactly the
  decision the oracle predicts for a fresh database;
- for the live stream, each assignment carries the instant it was decided at
  (``assigned_at``), and every check on it (working hours, holidays, caps per local day)
  is evaluated at that instant, so the assertions hold whatever time the test runs. What
  they exercise does depend on it: at night in Europe and the US nearly every lead falls
  back to the always-on general pool (off-hours skips everywhere), in the day the caps
  bind (ben, dan, finn, hans, katrin, olivia, rosa reach theirs) and least_loaded and the
  weighted rotations pick among several reps. The fixed instants and the replica test
  (tests/e2e/test_router_replicas.py: caps on a config of its own) cover what a given
  hour leaves out.

SLA deadlines on the assignments are left to the SLA feature's own tests.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from leadflow.samples import generate_leads
from services.capture.domain.cleaning import clean_lead
from shared import clock
from shared.config import DEFAULT_CONFIG_FILE
from shared.contracts import LeadProfile, LeadScored
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_ROUTED_TO_NURTURE, LEAD_SCORED
from tests.support.auth import admin_client
from tests.support.events import record
from tests.support.kafka import Bus
from tests.support.processes import running_replicas
from tests.support.routing_oracle import RoutingSpec
from tests.support.stack import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

LEADS = 2000
CHOSEN = {
    "round_robin": "next in rotation",
    "weighted_round_robin": "next in weighted rotation",
    "least_loaded": "fewest open leads",
}
WEIGHED_CHOICE = "lightest load"  # least_loaded with load_weights: open leads weigh by bucket
# A least_loaded candidate's load: its open leads, weighed when the config has load_weights.
OPEN_LEADS = re.compile(
    r"(?:fewest open leads \(|lightest load \(|eligible, )(\d+)(?:\)| open leads)"
    r"(?: weighing (\d+))?"
)


def pick_text(spec: RoutingSpec, strategy: str) -> str:
    """How the router words the pick of ``strategy`` under this config."""
    weighed = strategy == "least_loaded" and spec.load_weights is not None
    return WEIGHED_CHOICE if weighed else CHOSEN[strategy]


# Fixed instants (UTC) and what each exercises in the example config.
INSTANTS = {
    "mon-morning-europe": "2026-03-02T10:30:00+00:00",  # London/Berlin at work, US asleep
    "wed-summer-evening-europe": "2026-07-15T16:45:00+00:00",  # 17:45 BST: ana gone, cara in
    "saturday": "2026-03-07T12:00:00+00:00",  # only cara (tue-sat) and will (mon-sat)
    "christmas": "2025-12-25T11:00:00+00:00",  # ana and maya on holiday
    "lukas-away": "2026-08-10T09:30:00+00:00",  # lukas out of office 08-03..08-14
    "eu-dst-monday": "2026-03-30T08:05:00+00:00",  # 09:05 BST: ana starts (08:05 if no DST)
    "new-york-day-ends": "2026-03-03T23:00:00+00:00",  # 18:00 EST: maya's end is exclusive
    "us-dst-monday": "2026-03-09T13:00:00+00:00",  # 09:00 EDT: maya starts (08:00 if no DST)
}
PROBES: list[dict[str, Any]] = [
    {"country": "GB", "interest": "shoes"},
    {"country": "GB", "interest": "apparel", "language": "fr"},
    {"country": "DE", "interest": "apparel", "language": "de"},
    {"country": "AT", "interest": "shoes", "language": "fr"},  # only ines speaks French
    {"country": "CH", "interest": "shoes"},  # no language given: no language constraint
    {"country": "US", "interest": "shoes"},
    {"country": "GB", "interest": "software", "company_size": 50},
    {"country": "DE", "interest": "software", "language": "de", "company_size": 200},
    {"country": "CH", "interest": "software", "language": "en"},  # lukas speaks only German
    {"country": "US", "interest": "software", "company_size": 20},
    {"country": "FR", "interest": "software", "language": "fr"},
    {"country": "GB", "interest": "software", "company_size": 5000},  # enterprise: skill
    {"country": "US", "interest": "software", "company_size": 1000},  # enterprise boundary
    {"country": "JP", "interest": "shoes"},  # no rule: default queue
    {"country": "DE", "interest": "hardware"},
    {},
]


@dataclass(frozen=True)
class ScoredLead:
    lead_id: str
    profile: dict[str, Any]  # LeadProfile as JSON, exactly as capture cleaned it
    score: float
    bucket: str

    @property
    def facts(self) -> dict[str, Any]:
        """What routing rules see: the profile plus score and bucket."""
        return {**self.profile, "score": self.score, "bucket": self.bucket}

    def record(self) -> tuple[bytes, bytes]:
        now = clock.now()
        event = LeadScored(
            lead_id=self.lead_id, score=self.score, fit=self.score / 2,
            engagement=self.score / 2, bucket=self.bucket, qualified=self.score >= 60,
            model_version="realistic-1", contributions=[], scored_at=now, captured_at=now,
            lead=LeadProfile.model_validate(self.profile),
        )  # fmt: skip
        return record(event, source="scorer")


def _language(rng: random.Random, country: str | None) -> str | None:
    if country in ("DE", "AT", "CH"):
        return rng.choice(["de", "de", "de", "en", "fr", None])
    if country in ("GB", "US", "IE"):
        return rng.choice(["en", None])
    return rng.choice([None, "en", "es", "fr"])


def varied_leads(n: int, seed: int) -> list[ScoredLead]:
    """leadflow.samples leads, varied further (more countries, languages, missing fields,
    the Berlin trade-show campaign) and cleaned by capture's own rules, with a score and
    bucket as the scorer would give them (about a quarter in the nurture bucket)."""
    rng = random.Random(seed)
    out = []
    for raw in generate_leads(n, seed=seed, tag="rt"):
        roll = rng.random()
        if roll < 0.15:
            raw["country"] = rng.choice(["IE", "FR", "PL", "SE", "ES", "JP", "BR", "AE"])
        elif roll < 0.18:
            del raw["country"]
        if (language := _language(rng, raw.get("country"))) is not None:
            raw["language"] = language
        if rng.random() < 0.06:
            raw["utm_campaign"] = "fashion-week-berlin"
        roll = rng.random()
        if roll < 0.04:
            del raw["interest"]
        elif roll < 0.08:
            raw["interest"] = "hardware"
        if rng.random() < 0.05:
            del raw["company_size"]
        profile = LeadProfile.model_validate(asdict(clean_lead(raw))).model_dump(mode="json")
        score = round(rng.uniform(5, 100), 1)
        bucket = next(b for floor, b in ((80, "hot"), (60, "warm"), (30, "cold"), (0, "nurture"))
                      if score >= floor)  # fmt: skip
        lead_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        out.append(ScoredLead(lead_id, profile, score, bucket))
    return out


def expected_at_rest(spec: RoutingSpec, facts: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The decision for a lead when no rep has any lead yet and every rotation is at its
    start: the first rule's queue, else down the fallback chain, the first rep in rotation
    who can work then (least loaded: all tie at zero, so also the first)."""
    rule, matched = spec.matching_rule(facts)
    candidates: list[tuple[str, str, bool, str]] = []
    for queue in spec.chain(matched):
        q = spec.queues[queue]
        chosen = None
        for rep in spec.fresh_rotation(queue):
            why = spec.blocked(rep, queue, at, facts)
            if why is not None:
                candidates.append((queue, rep, False, why))
            elif chosen is None:
                chosen = rep
                candidates.append((queue, rep, True, pick_text(spec, q.strategy)))
                if q.strategy != "least_loaded":
                    break
            else:
                candidates.append((queue, rep, True, "eligible, 0 open leads"))
        if chosen is not None:
            return {"outcome": "assigned", "rule": rule, "matched_queue": matched,
                    "queue": queue, "rep_id": chosen, "strategy": q.strategy,
                    "candidates": candidates}  # fmt: skip
    return {"outcome": "waiting", "rule": rule, "queue": matched, "candidates": candidates}


def agrees(answer: dict[str, Any], expected: dict[str, Any]) -> bool:
    """The simulation's answer is the oracle's decision, candidate by candidate (reasons
    compared by the start the oracle predicts)."""
    if any(answer.get(k) != v for k, v in expected.items() if k != "candidates"):
        return False
    candidates = [
        (c["queue"], c["rep_id"], c["eligible"], c["reason"]) for c in answer["candidates"]
    ]
    return len(candidates) == len(expected["candidates"]) and all(
        g[:3] == e[:3] and g[3].startswith(e[3])
        for g, e in zip(candidates, expected["candidates"], strict=True)
    )


class Assignments:
    """Every assignment seen, indexed to answer "how many had this rep by then?"."""

    def __init__(self, spec: RoutingSpec, events: list[dict[str, Any]]) -> None:
        self.spec = spec
        self.times: dict[str, list[datetime]] = defaultdict(list)
        self.daily: dict[tuple[str, date], list[datetime]] = defaultdict(list)
        self.weighed: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
        for e in events:
            rep, at = e["rep"]["rep_id"], datetime.fromisoformat(e["assigned_at"])
            self.times[rep].append(at)
            self.weighed[rep].append((at, spec.lead_weight(e["bucket"])))
            self.daily[(rep, spec.reps[rep].local_day(at))].append(at)
        for series in [*self.times.values(), *self.daily.values()]:
            series.sort()

    def by(self, rep: str, at: datetime, *, same_day: bool = False, before: bool = False) -> int:
        """Assignments of ``rep`` decided at or before ``at`` (strictly before if ``before``:
        earlier rounds only), counting only ``rep``'s local day of ``at`` if ``same_day``."""
        day = (rep, self.spec.reps[rep].local_day(at))
        series = self.daily[day] if same_day else self.times[rep]
        return (bisect_left if before else bisect_right)(series, at)

    def load(self, rep: str, at: datetime, *, before: bool = False) -> int:
        """The weight of ``rep``'s leads decided at or before ``at`` (strictly before if
        ``before``): their count without load_weights."""
        return sum(w for t, w in self.weighed[rep] if t < at or (t == at and not before))


def candidate_ok(
    spec: RoutingSpec, book: Assignments, queue: str, rep_id: str, eligible: bool, reason: str,
    at: datetime, facts: dict[str, Any],
) -> bool:  # fmt: skip
    """One candidate of a trace agrees with the config at ``at``: a skip reason the rep's
    hours, skills, language or cap explain (a cap only once the rep really had that many
    leads), or eligible when nothing stands in the way (and its caps not yet reached)."""
    rep = spec.reps[rep_id]
    incoming = spec.lead_weight(str(facts.get("bucket", "")))
    if reason.startswith("at capacity: max_open"):
        return (rep.unavailable(at) is None and rep.max_open is not None
                and reason.startswith(f"at capacity: max_open {rep.max_open} ")
                and book.load(rep_id, at) + incoming > rep.max_open)  # fmt: skip
    if reason.startswith("at capacity: max_per_day"):
        return (rep.unavailable(at) is None and rep.max_per_day is not None
                and reason.startswith(f"at capacity: max_per_day {rep.max_per_day} ")
                and book.by(rep_id, at, same_day=True) >= rep.max_per_day)  # fmt: skip
    blocked = spec.blocked(rep_id, queue, at, facts)
    if blocked is not None:
        return not eligible and reason.startswith(blocked)
    under_open = rep.max_open is None or (
        book.load(rep_id, at, before=True) + incoming <= rep.max_open
    )
    under_day = rep.max_per_day is None or (
        book.by(rep_id, at, same_day=True, before=True) < rep.max_per_day
    )
    return eligible and under_open and under_day


def trace_problems(
    spec: RoutingSpec, book: Assignments, lead: ScoredLead, event: dict[str, Any]
) -> list[str]:
    """What in one assignment and its decision trace disagrees with the config."""
    at = datetime.fromisoformat(event["assigned_at"])
    rule, matched = spec.matching_rule(lead.facts)
    trace, queue, rep = event["trace"], event["queue"], event["rep"]["rep_id"]
    chain = spec.chain(matched)
    problems = []
    if (trace["rule"], trace["queue"]) != (rule, matched):
        problems.append(f"rule {trace['rule']}->{trace['queue']}, the rules say {rule}->{matched}")
    if queue not in chain or rep not in spec.queues[queue].members:
        return [f"{lead.lead_id}: {rep} in {queue}, outside the fallback chain {chain}"]
    if (why := spec.blocked(rep, queue, at, lead.facts)) is not None:
        problems.append(f"assigned to {rep}, who could not take it: {why}")
    q, r = spec.queues[queue], spec.reps[rep]
    if trace["strategy"] != q.strategy:
        problems.append(f"strategy {trace['strategy']}, but {queue} uses {q.strategy}")
    if (event["rep"]["name"], event["rep"]["email"]) != (r.name, r.email):
        problems.append(f"rep {event['rep']} does not match the config")
    tried: dict[str, list[tuple[str, bool, str]]] = defaultdict(list)
    for c in trace["candidates"]:
        where, _, reason = c["reason"].partition(": ")
        tried[where].append((c["rep_id"], c["eligible"], reason))
    if list(tried) != chain[: chain.index(queue) + 1]:
        problems.append(f"queues tried {list(tried)}; the fallback chain is {chain}")
    for where, candidates in tried.items():
        if where not in spec.queues:
            continue  # reported above: not in the fallback chain
        for cand, eligible, reason in candidates:
            if cand not in spec.queues[where].members or not candidate_ok(
                spec, book, where, cand, eligible, reason, at, lead.facts
            ):
                problems.append(f"{where}: {cand} {'eligible' if eligible else 'skipped'}"
                                f" ({reason}) disagrees with the config")  # fmt: skip
        picked = [c for c, eligible, _ in candidates if eligible]
        members = set(spec.queues[where].members)
        if where != queue and (picked or {c for c, _, _ in candidates} != members):
            problems.append(f"fell back from {where} without ruling out every member")
    final = tried.get(queue, [])
    if q.strategy != "least_loaded" and [c for c, ok, _ in final if ok] != [rep]:
        problems.append(f"{q.strategy}: the one eligible rep tried must be {rep}: {final}")
    if q.strategy == "least_loaded":
        open_leads = {c: int(m[2] or m[1]) for c, ok, reason in final
                      if ok and (m := OPEN_LEADS.match(reason))}  # fmt: skip
        mine = next((reason for c, _, reason in final if c == rep), "")
        if not mine.startswith(pick_text(spec, "least_loaded")) or open_leads.get(rep) != min(
            open_leads.values(), default=None
        ):
            problems.append(f"least_loaded chose {rep}, but the loads were {open_leads}")
    return [f"{lead.lead_id} at {at.isoformat()}: {p}" for p in problems]


async def test_fixed_instants_decide_exactly_as_the_config_says(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    """At fixed instants, on a fresh database, the router's simulation (the live decision
    code with ``at`` as its clock) gives the oracle's decision, candidate by candidate."""
    config = write_config(tmp_path)  # the example config as it is
    spec = RoutingSpec.read(config)
    asked = [(name, probe) for name in INSTANTS for probe in PROBES]
    async with (
        running_replicas("router", 1, database_url=database_url,
                         bus=bus, config_file=config,
                         home=tmp_path / "home") as (router,),
        admin_client(base_url=router.url, timeout=10) as client,
    ):  # fmt: skip
        answers = await asyncio.gather(*(
            client.post("/v1/routing:simulate", json={
                "lead": {"source": "web", **probe}, "score": 85, "bucket": "hot",
                "at": INSTANTS[name],
            })
            for name, probe in asked
        ))  # fmt: skip
        nurture = await client.post("/v1/routing:simulate", json={
            "lead": {"source": "web", "country": "GB", "interest": "shoes"},
            "bucket": "Nurture", "at": INSTANTS["mon-morning-europe"],
        })  # fmt: skip
    mismatches = []
    exercised: Counter[str] = Counter()
    for (name, probe), resp in zip(asked, answers, strict=True):
        assert resp.status_code == 200, resp.text
        at = datetime.fromisoformat(INSTANTS[name])
        expected = expected_at_rest(spec, {"source": "web", **probe, "score": 85, "bucket": "hot"},
                                    at)  # fmt: skip
        if not agrees(resp.json(), expected):
            mismatches.append(f"{name} {probe}:\n  router {resp.json()}\n  oracle {expected}")
        exercised.update(c[3] for c in expected["candidates"] if not c[2])
        if expected.get("queue") != expected.get("matched_queue"):
            exercised["fell back"] += 1
    assert not mismatches, f"{len(mismatches)} mismatch(es):\n" + "\n".join(mismatches[:5])
    assert set(exercised) >= {
        "unavailable: off hours", "unavailable: day off", "unavailable: on holiday",
        "unavailable: out of office", "unavailable: offline", "language mismatch", "fell back",
    }, f"the instants no longer exercise every reason: {exercised}"  # fmt: skip
    assert nurture.json()["outcome"] == "nurture", nurture.json()


async def test_live_leads_land_where_the_rules_say_within_hours_and_caps(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    """About 2,000 varied scored leads through a router process: one decision each; each in
    its rule's queue or down the fallback chain for a reason the config gives; never with a
    rep who is off hours, away, offline, without the skill or language; no cap exceeded;
    every trace consistent with the config at the instant it was decided."""
    config = write_config(tmp_path)
    spec = RoutingSpec.read(config)
    leads = varied_leads(LEADS, seed=2026)
    by_id = {lead.lead_id: lead for lead in leads}
    async with (
        running_replicas("router", 1, database_url=database_url, bus=bus,
                         config_file=config, home=tmp_path / "home") as (router,),
        admin_client(base_url=router.url, timeout=10) as client,
    ):  # fmt: skip
        async with bus.reader(LEAD_ASSIGNED, LEAD_ROUTED_TO_NURTURE) as out:
            await bus.produce(LEAD_SCORED, [lead.record() for lead in leads])
            await out.wait_for(
                lambda r: len({x["subject"] for x in r}) >= LEADS, timeout=90,
                what=f"a decision for each of the {LEADS} leads",
            )  # fmt: skip
            await asyncio.sleep(1.0)  # a second decision for a lead would show by now
            await out.poll()
        reps = {r["rep_id"]: r for r in (await client.get("/v1/reps")).json()}
        sample = random.Random(5).sample(
            [r for r in out.records if r["type"] == "io.leadflow.lead.assigned.v1"], 50
        )
        stored = await asyncio.gather(
            *(client.get(f"/v1/leads/{r['subject']}/assignment") for r in sample)
        )

    # One decision per lead (the same event id twice is one decision); nurture exactly for
    # the nurture bucket, an assignment for every other lead (the general pool never sleeps).
    per_lead: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in out.records:
        per_lead[r["subject"]][r["id"]] = r
    doubled = {lead: [e["type"] for e in d.values()] for lead, d in per_lead.items() if len(d) > 1}
    assert not doubled, f"leads decided more than once: {doubled}"
    assert set(per_lead) == set(by_id)
    decided = {lead: next(iter(d.values())) for lead, d in per_lead.items()}
    nurtured = {lead for lead, e in decided.items() if e["type"].endswith("routed_to_nurture.v1")}
    assert nurtured == {lead.lead_id for lead in leads if lead.bucket == "nurture"}
    assigned = [e["data"] for lead, e in decided.items() if lead not in nurtured]

    # The rules' queue, hours, skills, languages and every candidate of every trace.
    book = Assignments(spec, assigned)
    problems = [p for a in assigned for p in trace_problems(spec, book, by_id[a["lead_id"]], a)]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:10])
    matched = Counter(a["trace"]["queue"] for a in assigned)
    targets = {queue for _, _, queue in spec.rules} | {spec.default_queue}
    assert set(matched) == targets, f"the leads should reach every rule's queue: {matched}"

    # Caps: nothing was closed, so a rep's assignments are its open leads.
    per_rep = Counter(a["rep"]["rep_id"] for a in assigned)
    for rep_id, rep in spec.reps.items():
        assert reps[rep_id]["open_leads"] == per_rep[rep_id], reps[rep_id]
        assert per_rep[rep_id] <= (rep.max_open or LEADS), (rep_id, per_rep[rep_id])
        days = Counter(rep.local_day(t) for t in book.times[rep_id])
        assert max(days.values(), default=0) <= (rep.max_per_day or LEADS), (rep_id, days)

    # A sample of 50: the decision the router stored is the one it announced.
    for event, resp in zip(sample, stored, strict=True):
        data, row = event["data"], resp.json()
        assert (row["status"], row["queue"], row["rep_id"], row["rule"], row["assignment_id"]) == (
            "assigned", data["queue"], data["rep"]["rep_id"], data["trace"]["rule"],
            data["assignment_id"],
        ), row  # fmt: skip


def test_berlin_trade_show_campaign_from_capture_reaches_its_rule() -> None:
    """A lead posted with utm_campaign=fashion-week-berlin, cleaned by capture, must match
    the example config's berlin-trade-show rule (queue fashion-dach)."""
    spec = RoutingSpec.read(DEFAULT_CONFIG_FILE)
    raw = {"email": "ana@acme.example", "source": "web", "country": "GB", "interest": "shoes",
           "utm_campaign": "fashion-week-berlin"}  # fmt: skip
    profile = LeadProfile.model_validate(asdict(clean_lead(raw))).model_dump(mode="json")
    facts = {**profile, "score": 85, "bucket": "hot"}
    assert spec.matching_rule(facts) == ("berlin-trade-show", "fashion-dach"), profile["utm"]
