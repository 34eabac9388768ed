"""Issue 14's story across the services as processes, on the example config and one driven clock.

Every service reads the time from one file (``LEADFLOW_CLOCK_FILE``); the test moves it five
weeks on in a minute. Leads and activities go in through capture's public API as a sales
tool would post them; the decisions are read off the topics, and the alerts off a real
webhook receiver (:mod:`leadflow.sink`, the one ``leadflow up`` runs) that the example's
demo subscriptions point at. The cast, all on the example's scoring, routing and nurture:

- ``hot`` (US, software; engaged before it was scored): pete's follow-up plan, call, call a
  day later, meeting three days after that, each in New York business hours; then won.
- ``cold`` (GB, software, mid-market): its rep's follow-up e-mails two weeks apart; it
  unsubscribes after the second, and the third, due while the test still runs, never comes
  (its rep's call in week 2 and its reply in week 4 keep it from going cold).
- ``quiet`` (GB, fashion, warm): contacted once, then left alone; it goes cold after the
  warm bucket's eight days, the notifier alerts once, and a day later the general pool gets it.
- ``lost`` (GB, software, cold): lost at once; after the 30-day cool-off it is back in
  nurture, and the ``cold-revive`` sequence's first e-mail falls due three days later.
- ``opted_out`` (GB, fashion, unsubscribed before it was scored): nurtured, its sequence's
  e-mails skipped, its calls announced.
- ``eager`` (GB, fashion, nurture): the demo sequence wants 7 touches 30 seconds apart; the
  pressure cap spreads them over two weeks, two a day and four a week.

Over the whole run no lead is touched more than twice a day or four times a week.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from leadflow.sink import create_sink
from shared.clock import write_clock_file
from shared.contracts.topics import (
    LEAD_ASSIGNED,
    LEAD_FOLLOWUP_CLOSED,
    LEAD_FOLLOWUP_DUE,
    LEAD_GONE_COLD,
    LEAD_RECYCLED,
    LEAD_ROUTED_TO_NURTURE,
    NURTURE_STEP_DUE,
)
from tests.conftest import create_database
from tests.support.auth import admin_client
from tests.support.http import LocalServer
from tests.support.kafka import Bus, TopicReader
from tests.support.stack import running_stack, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

# Monday 11 January 2027, 14:00 UTC: 09:00 in New York (EST), 14:00 in London (GMT).
T1 = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)
T0 = T1 - timedelta(minutes=1)  # the two leads engaged before they were scored come in here
NEW_YORK, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
SECRET = "whsec_" + base64.b64encode(hashlib.sha256(b"followup story").digest()).decode()

LEADS: dict[str, dict[str, Any]] = {
    # fit 25 (core region, known interest) + engagement 60 (capped) = 85: hot
    "hot": {"email": "hana.hot@story.example", "first_name": "Hana", "country": "US",
            "phone": "+1 212 555 0101", "interest": "software", "source": "web"},
    # fit 37 (core region 15, known interest 10, mid-market 12): cold
    "cold": {"email": "colin.cold@story.example", "first_name": "Colin", "country": "GB",
             "interest": "software", "company_size": 200, "source": "web"},
    # fit 62 -> 60 (capped; + senior title 15, target industry 10): warm
    "quiet": {"email": "quinta.quiet@story.example", "first_name": "Quinta", "country": "GB",
              "interest": "shoes", "company_size": 200, "title": "Head of Buying",
              "industry": "retail", "source": "web"},
    "lost": {"email": "lorna.lost@story.example", "first_name": "Lorna", "country": "GB",
             "interest": "software", "company_size": 200, "source": "web"},
    # fit 25: nurture, the example's nurture-standard sequence: 7 touches 30 s apart
    "eager": {"email": "edda.eager@story.example", "first_name": "Edda", "country": "GB",
              "interest": "apparel", "source": "web"},
    # fit 25 - 50 (unsubscribed): nurture
    "opted_out": {"email": "otto.out@story.example", "first_name": "Otto", "country": "GB",
                  "phone": "+44 20 7946 0102", "interest": "shoes", "source": "web"},
}  # fmt: skip
ZONES = {"hot": NEW_YORK, "cold": LONDON, "quiet": LONDON, "lost": LONDON, "eager": LONDON,
         "opted_out": LONDON}  # fmt: skip
TOPICS = (LEAD_ASSIGNED, LEAD_ROUTED_TO_NURTURE, LEAD_FOLLOWUP_DUE,
          LEAD_FOLLOWUP_CLOSED, NURTURE_STEP_DUE, LEAD_GONE_COLD, LEAD_RECYCLED)  # fmt: skip


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Story:
    """The test's hands: the clock, capture's API, and the topics."""

    def __init__(
        self, clock_file: Path, capture: httpx.AsyncClient, router: httpx.AsyncClient,
        nurture: httpx.AsyncClient, reader: TopicReader,
    ) -> None:  # fmt: skip
        self.clock_file = clock_file
        self.capture, self.router, self.nurture = capture, router, nurture
        self.reader = reader
        self.ids: dict[str, str] = {}

    def set_clock(self, when: datetime) -> None:
        write_clock_file(self.clock_file, when)

    async def post_lead(self, name: str) -> None:
        answer = await self.capture.post("/v1/leads", json=LEADS[name])
        assert answer.status_code == 202, answer.text
        self.ids[name] = answer.json()["lead_id"]

    async def activity(self, name: str, kind: str, **fields: Any) -> None:
        answer = await self.capture.post(
            f"/v1/leads/{self.ids[name]}/activities", json={"kind": kind, **fields}
        )
        assert answer.status_code == 202, answer.text

    def events(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The ``data`` of each event of type ``kind`` (``lead.followup_due``) for a lead."""
        wanted = f"io.leadflow.{kind}.v1"
        lead = self.ids[name]
        return [r["data"] for r in self.reader.records
                if r.get("type") == wanted and r.get("subject") == lead]  # fmt: skip

    async def wait(self, what: str, ready: Callable[[], bool], timeout: float = 20) -> None:
        await self.reader.wait_for(lambda _: ready(), timeout=timeout, what=what)

    async def assignment(self, name: str) -> dict[str, Any]:
        answer = await self.router.get(f"/v1/leads/{self.ids[name]}/assignment")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def until_router(
        self, name: str, what: str, ready: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        """Poll the router's view of a lead until ``ready`` (an activity was applied)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            view = await self.assignment(name)
            if ready(view):
                return view
            if loop.time() > deadline:
                raise AssertionError(f"router: {name}: {what} not seen in {timeout}s: {view}")
            await asyncio.sleep(0.2)


def in_window(due: datetime, zone: ZoneInfo) -> bool:
    """Inside the example's contact window: Monday to Friday, 09:00-18:00 on the lead's clock."""
    local = due.astimezone(zone)
    return local.weekday() < 5 and 9 <= local.hour < 18


def touches(story: Story, name: str) -> list[tuple[int, str, datetime]]:
    """A lead's follow-up touches announced: (step, mode, due time), in order of step."""
    return sorted(
        (d["step"], d["mode"], at(d["due_at"])) for d in story.events("lead.followup_due", name)
    )


async def test_six_leads_live_their_follow_up_story_on_one_driven_clock(
    pg_server_url: str, bus: Bus, tmp_path: Path
) -> None:
    database_url = await create_database(pg_server_url)
    clock_file = tmp_path / "clock"
    write_clock_file(clock_file, T0)
    receiver = LocalServer(create_sink([SECRET]))  # the demo receiver, a real HTTP server
    await receiver.start()
    env = {
        "LEADFLOW_CLOCK_FILE": str(clock_file),
        "LEADFLOW_WEBHOOK_SINK_PORT": str(receiver.port),  # the example's demo subscriptions
        "LEADFLOW_DEMO_WEBHOOK_SECRET": SECRET,
        "LEADFLOW_COLD_TICK_S": "0.3",  # the gone-cold and recycle scans (real seconds)
    }
    try:
        async with running_stack(
            database_url, bus, tmp_path / "home", write_config(tmp_path), extra_env=env
        ) as stack:
            urls = stack.urls()
            async with (
                admin_client(base_url=urls["capture"]) as capture,
                admin_client(base_url=urls["router"]) as router,
                admin_client(base_url=urls["nurture"]) as nurture,
                admin_client(base_url=receiver.url) as sink,
                bus.reader(*TOPICS) as reader,
            ):
                story = Story(clock_file, capture, router, nurture, reader)
                await run_story(story, stack, sink)
    finally:
        await receiver.stop()


async def run_story(story: Story, stack: Any, sink: httpx.AsyncClient) -> None:
    # -- Monday 08:59 New York: two leads arrive with their history before the scorer sees them
    # (a lead reaches 80 only with engagement, and one activity at a time would route it as
    # cold on the way up), so the scorer scores each once, with everything it did.
    await asyncio.to_thread(stack.stop_service, "scorer")
    await story.post_lead("hot")
    await story.post_lead("opted_out")
    history = [{"lead_id": story.ids["hot"], "kind": kind}
               for kind in ["replied", "form_submitted", *["email_clicked"] * 5]]  # fmt: skip
    synced = await story.capture.post("/v1/activities:batch", json={"activities": history})
    assert synced.status_code == 200, synced.text  # a sales tool's sync: one batch, one commit
    await story.activity("opted_out", "unsubscribed")
    await asyncio.sleep(1.0)  # nurture records the unsubscribe (a suppression) before routing
    story.set_clock(T1)
    await asyncio.to_thread(stack.restart_service, "scorer")
    for name in ["cold", "quiet", "lost", "eager"]:
        await story.post_lead(name)

    reps: dict[str, str] = {}
    reps_of = ["hot", "cold", "quiet", "lost"]

    def assigned(name: str) -> list[dict[str, Any]]:
        return story.events("lead.assigned", name)

    await story.wait(
        "every lead decided and its first follow-up due",
        lambda: (
            all(assigned(n) for n in ["hot", "cold", "quiet", "lost"])
            and bool(story.events("lead.routed_to_nurture", "opted_out"))
            and bool(story.events("nurture.step_due", "eager"))
            and all(touches(story, n) for n in ["hot", "cold", "quiet", "lost"])
        ),
        timeout=30,
    )
    buckets = {n: (assigned(n)[0]["bucket"], assigned(n)[0]["score"]) for n in reps_of}
    assert buckets == {"hot": ("hot", 85.0), "cold": ("cold", 37.0), "quiet": ("warm", 60.0),
                       "lost": ("cold", 37.0)}  # fmt: skip
    for name in ["hot", "cold", "quiet", "lost"]:
        reps[name] = assigned(name)[0]["rep"]["rep_id"]
    assert (assigned("hot")[0]["queue"], reps["hot"]) == ("software-us", "pete")
    assert assigned("cold")[0]["queue"] == assigned("lost")[0]["queue"] == "software-uk"
    assert assigned("quiet")[0]["queue"] == "fashion-uk"

    # The sales tool reports the first contacts; the lost lead is lost at once.
    await story.activity("hot", "called", rep_id="pete", channel="call")
    await story.activity("cold", "emailed", rep_id=reps["cold"], channel="email")
    await story.activity("quiet", "called", rep_id=reps["quiet"], channel="call")
    await story.activity("lost", "lost", rep_id=reps["lost"], reason="timing")
    for name in ["hot", "cold", "quiet", "lost"]:
        await story.until_router(name, "first contact", lambda a: a["contacted_at"] is not None)

    # -- the opted-out lead's sequence: e-mails skipped, calls (steps 3 and 6) announced
    story.set_clock(T1 + timedelta(minutes=5))
    await story.wait(
        "the opted-out lead's calls",
        lambda: len(story.events("nurture.step_due", "opted_out")) >= 2,
    )

    # -- Tuesday 09:00 New York: the hot lead's second call
    story.set_clock(T1 + timedelta(days=1))
    await story.wait("hot: second call due", lambda: len(touches(story, "hot")) >= 2)
    await story.activity("hot", "called", rep_id="pete", channel="call")
    await story.wait(
        "hot: second call done",
        lambda: any(c["step"] == 2 for c in story.events("lead.followup_closed", "hot")),
    )
    # -- Wednesday: the hot lead answers (a reply keeps it warm until the meeting)
    replied_at = T1 + timedelta(days=2, hours=4)
    story.set_clock(replied_at)
    await story.activity("hot", "replied")
    await story.until_router("hot", "the reply", lambda a: at(a["warm_at"]) == replied_at)

    # -- Friday 09:00 New York: the meeting; booked and won
    story.set_clock(T1 + timedelta(days=4))
    await story.wait("hot: meeting due", lambda: len(touches(story, "hot")) >= 3)
    await story.activity("hot", "meeting_booked", rep_id="pete", channel="meeting")
    await story.activity("hot", "won", rep_id="pete", amount="12000")
    await story.until_router("hot", "won", lambda a: a["closed_at"] is not None)

    # -- the cold lead: a call in week 2, its second e-mail in week 3, then it unsubscribes
    story.set_clock(T1 + timedelta(days=7))
    await story.activity("cold", "called", rep_id=reps["cold"], channel="call")
    await story.until_router(
        "cold", "the call", lambda a: at(a["warm_at"]) == T1 + timedelta(days=7)
    )
    # -- Tuesday of week 2: the quiet lead has been quiet for the warm bucket's 8 days
    story.set_clock(T1 + timedelta(days=8, hours=1))
    await story.wait("quiet: gone cold", lambda: bool(story.events("lead.gone_cold", "quiet")))
    tally = await until_delivered(sink, "lead.gone_cold", story.ids["quiet"])
    # -- Wednesday: a day after the announcement, the general pool gets it
    story.set_clock(T1 + timedelta(days=9, hours=2))
    await story.wait(
        "quiet: recycled and assigned again",
        lambda: bool(story.events("lead.recycled", "quiet")) and len(assigned("quiet")) >= 2,
    )
    new_owner = assigned("quiet")[1]["rep"]["rep_id"]
    await story.activity("quiet", "won", rep_id=new_owner, amount="900")
    await story.until_router("quiet", "won", lambda a: a["closed_at"] is not None)

    story.set_clock(T1 + timedelta(days=14))
    await story.wait("cold: second e-mail due", lambda: len(touches(story, "cold")) >= 2)
    await story.activity("cold", "emailed", rep_id=reps["cold"], channel="email")
    await story.activity("cold", "unsubscribed")
    await until_followups(
        story, "cold", lambda ts: [t["status"] for t in ts][2:] == ["skipped"] * 2
    )
    # -- week 4: it answers (a fourth touch without a reply would make it cold: no_reply_after 4)
    story.set_clock(T1 + timedelta(days=21))
    await story.activity("cold", "replied")
    await story.until_router(
        "cold", "the reply", lambda a: at(a["warm_at"]) == T1 + timedelta(days=21)
    )

    # -- 30 days after it was lost, the lost lead is back in nurture (Wednesday 10 February)
    story.set_clock(T1 + timedelta(days=30))
    await story.wait(
        "lost: recycled to nurture", lambda: bool(story.events("lead.routed_to_nurture", "lost"))
    )
    # nurture plans the sequence from when it enrolls the lead (its clock, not routed_at):
    # let it enroll before time moves on
    await until_enrolled(story, "lost")
    # -- its cold-revive sequence's first touch, 3 days on (a Saturday: Monday 09:00 London)
    story.set_clock(datetime(2027, 2, 15, 10, 0, tzinfo=UTC))
    await story.wait(
        "lost: cold-revive e-mail", lambda: bool(story.events("nurture.step_due", "lost"))
    )
    await asyncio.sleep(1.0)  # anything else due by now (nothing should be) surfaces
    await story.reader.poll()

    check_story(story, reps, tally)


async def until_delivered(sink: httpx.AsyncClient, kind: str, lead: str) -> dict[str, Any]:
    """The receiver's tally once it holds a delivery of ``kind`` for ``lead``."""
    for _ in range(100):
        tally: dict[str, Any] = (await sink.get("/tally")).json()
        if tally["by_type"].get(kind, {}).get(lead):
            return tally
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {kind} delivered for {lead}: {tally}")


async def until_followups(
    story: Story, name: str, ready: Callable[[list[dict[str, Any]]], bool]
) -> None:
    for _ in range(100):
        answer = await story.nurture.get(f"/v1/leads/{story.ids[name]}/followups")
        assert answer.status_code == 200, answer.text
        plan = answer.json()["plans"][-1]
        if ready(plan["touches"]):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name}: follow-ups never became ready: {plan}")


async def until_enrolled(story: Story, name: str) -> None:
    for _ in range(100):
        answer = await story.nurture.get(f"/v1/leads/{story.ids[name]}/nurture")
        if answer.status_code == 200:
            return
        assert answer.status_code == 404, answer.text
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} never enrolled")


def check_story(story: Story, reps: dict[str, str], tally: dict[str, Any]) -> None:
    day = timedelta(days=1)
    # The hot lead: call, call a day after the first was made, meeting three days after the
    # second; each announced once, to pete, inside New York's business hours.
    assert touches(story, "hot") == [
        (1, "call", T1), (2, "call", T1 + day), (3, "meeting", T1 + 4 * day),
    ]  # fmt: skip
    hot_due = story.events("lead.followup_due", "hot")
    assert {(d["rep"]["rep_id"], d["of"], d["bucket"]) for d in hot_due} == {("pete", 3, "hot")}
    assert all(in_window(due, NEW_YORK) for _, _, due in touches(story, "hot"))
    assert [d["due_at"] for d in hot_due] == sorted(d["due_at"] for d in hot_due)  # in order
    closed = sorted((c["step"], c["outcome"]) for c in story.events("lead.followup_closed", "hot"))
    assert closed == [(1, "done"), (2, "done"), (3, "done")]

    # The cold lead: e-mails two weeks apart; after its unsubscribe no third one (due on
    # 8 February, a week before the test ends).
    assert touches(story, "cold") == [(1, "email", T1), (2, "email", T1 + 14 * day)]
    assert {d["of"] for d in story.events("lead.followup_due", "cold")} == {4}
    assert all(in_window(due, LONDON) for _, _, due in touches(story, "cold"))

    # The quiet lead: cold once, with why; alerted once; recycled to the general pool.
    cold = story.events("lead.gone_cold", "quiet")
    assert len(cold) == 1, cold
    assert (cold[0]["reason"], at(cold[0]["since"]), cold[0]["bucket"]) == ("no_touch", T1, "warm")
    assert cold[0]["rep"]["rep_id"] == reps["quiet"]
    assert at(cold[0]["gone_cold_at"]) == T1 + timedelta(days=8, hours=1)
    assert cold[0]["explanation"] == (
        f"no touch for 8d1h (bucket warm: cold after 8d); owner {reps['quiet']}"
    )
    assert cold[0]["recycling"] == "queue general-global after 1d"
    assert {
        r["subject"] for r in story.reader.records if r.get("type", "").endswith("gone_cold.v1")
    } == {story.ids["quiet"]}
    deliveries = tally["by_type"]["lead.gone_cold"]
    assert list(deliveries) == [story.ids["quiet"]]
    assert list(deliveries[story.ids["quiet"]].values()) == [1]  # one webhook, delivered once
    (recycled,) = story.events("lead.recycled", "quiet")
    assert (recycled["cause"], recycled["to"], recycled["queue"]) == (
        "gone_cold",
        "assigned",
        "general-global",
    )
    assert recycled["previous_rep"]["rep_id"] == reps["quiet"]
    again = story.events("lead.assigned", "quiet")[1]
    assert (again["queue"], again["trace"]["rule"]) == ("general-global", "recycled")
    assert again["rep"] == recycled["rep"]
    assert at(recycled["recycled_at"]) == T1 + timedelta(days=9, hours=2)  # due a day after

    # The lost lead: back in nurture after the 30-day cool-off, into cold-revive.
    (back,) = story.events("lead.recycled", "lost")
    assert (back["cause"], back["to"], back["reason"]) == ("lost", "nurture", "timing")
    assert (at(back["recycled_at"]), back["previous_rep"]["rep_id"]) == (
        T1 + 30 * day,
        reps["lost"],
    )
    (nurtured,) = story.events("lead.routed_to_nurture", "lost")
    assert (nurtured["recycled"], at(nurtured["routed_at"])) == ("lost", T1 + 30 * day)
    (revive,) = story.events("nurture.step_due", "lost")
    assert (revive["sequence"], revive["step"], revive["total_steps"], revive["mode"]) == (
        "cold-revive", 1, 5, "email",
    )  # fmt: skip
    assert revive["template"] == "cold-revive-whats-new"
    # planned for Saturday 13 February 14:00, the next moment inside London's hours
    assert at(revive["due_at"]) == datetime(2027, 2, 15, 9, 0, tzinfo=UTC)

    # The opted-out lead: in nurture-standard, no e-mail; its calls (steps 3 and 6) go on.
    steps = sorted(
        (d["step"], d["mode"], at(d["due_at"]))
        for d in story.events("nurture.step_due", "opted_out")
    )
    assert steps == [
        (3, "call", T1 + timedelta(seconds=60)),
        (6, "call", T1 + timedelta(seconds=150)),
    ]
    assert {d["sequence"] for d in story.events("nurture.step_due", "opted_out")} == {
        "nurture-standard"
    }
    assert not story.events("lead.followup_due", "opted_out")

    # The eager lead: 7 touches wanted within 3 minutes; the cap gives 2 on Monday, 2 on
    # Tuesday (the week's 4), then 2 and 1 the next week, each at the window's first moment
    # (a step waits for the one before it, never ahead of it).
    eager = sorted((d["step"], at(d["due_at"])) for d in story.events("nurture.step_due", "eager"))
    monday, next_monday = T1.replace(hour=9), T1.replace(hour=9) + 7 * day
    assert eager == [
        (1, T1), (2, T1 + timedelta(seconds=30)), (3, monday + day), (4, monday + day),
        (5, next_monday), (6, next_monday), (7, next_monday + day),
    ], eager  # fmt: skip

    # The pressure cap, over everything announced to every lead in the run: at most 2 touches
    # a day and 4 a week on the lead's own calendar, follow-ups and sequences together.
    for name, lead in story.ids.items():
        dues = [at(d["due_at"]).astimezone(ZONES[name])
                for kind in ("lead.followup_due", "nurture.step_due")
                for d in story.events(kind, name)]  # fmt: skip
        per_day = Counter(d.date() for d in dues)
        per_week = Counter(d.isocalendar()[:2] for d in dues)
        assert max(per_day.values(), default=0) <= 2, (name, lead, per_day)
        assert max(per_week.values(), default=0) <= 4, (name, lead, per_week)
