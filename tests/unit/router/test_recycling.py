"""Recycling, pure: which policy applies (a lost reason's own first), where the lead goes
(a pool queue's rep other than the last owner, nurture, or waiting), and the old owner's
load freed; and ``routing.gone_cold`` / ``routing.recycling`` validated at their keys."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.config.changes import DeleteQueue, DeleteRep, Refused, apply_change
from services.router.config.document import Problem, to_document
from services.router.config.model import RoutingConfig, to_domain
from services.router.domain.cold import ColdPolicy
from services.router.domain.model import Queue, Rep, RepLoad, Routing
from services.router.domain.recycling import (
    RECYCLED_RULE,
    RecyclePolicy,
    Recycling,
    recycle,
    release,
)
from services.router.domain.routing import Assigned, ToNurture, Waiting
from shared.config import ConfigError, validate_section

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
ROUTING = Routing(
    reps={r: Rep(r, r.title(), LONDON) for r in ("ana", "ben", "pat")},
    queues={
        "sales": Queue("sales", "sales", "uk", ("ana", "ben")),
        "pool": Queue("pool", "sales", "uk", ("pat", "ana")),
    },
    rules=(),
    default_queue="sales",
)
NURTURE = RecyclePolicy("nurture", after=timedelta(days=30))
POOL = RecyclePolicy("queue", "pool")


def test_a_lost_reason_has_its_own_policy_and_none_means_not_recycled() -> None:
    recycling = Recycling(
        gone_cold=POOL,
        lost=NURTURE,
        lost_reasons=(("no_budget", RecyclePolicy("nurture", after=timedelta(days=90))),
                      ("spam", RecyclePolicy("none"))),
    )  # fmt: skip
    assert recycling.for_lost("price") == NURTURE
    assert recycling.for_lost(None) == NURTURE
    assert recycling.for_lost(" No_Budget ") == RecyclePolicy("nurture", after=timedelta(days=90))
    assert recycling.for_lost("SPAM") is None
    assert recycling.for_cold() == POOL
    assert Recycling().for_lost("price") is None and Recycling().for_cold() is None
    assert NURTURE.target == "nurture after 30d" and POOL.target == "queue pool"


def test_to_the_pool_queue_never_back_to_the_last_owner() -> None:
    d = recycle(POOL, ROUTING, {}, {"pool": 1}, T0, {}, "hot", "pat", "gone cold (no_touch)")
    assert isinstance(d, Assigned)
    assert (d.rule, d.queue, d.rep_id) == (RECYCLED_RULE, "pool", "ana")
    assert d.trace.startswith("gone cold (no_touch); recycled to queue pool; ")
    other = recycle(POOL, ROUTING, {}, {}, T0, {}, "hot", "ana", "lost (price)")
    assert isinstance(other, Assigned) and other.rep_id == "pat"


def test_nobody_in_the_pool_the_lead_waits_there() -> None:
    only_pat = {**ROUTING.queues, "pool": Queue("pool", "sales", "uk", ("pat",))}
    routing = Routing(ROUTING.reps, only_pat, (), "sales")
    d = recycle(POOL, routing, {}, {}, T0, {}, "hot", "pat", "gone cold (no_touch)")
    assert isinstance(d, Waiting) and (d.queue, d.rule) == ("pool", RECYCLED_RULE)


def test_to_nurture_says_why() -> None:
    d = recycle(NURTURE, ROUTING, {}, {}, T0, {}, "warm", "ana", "lost (price) with ana")
    assert d == ToNurture("lost (price) with ana; recycled to nurture")


def test_the_old_owner_is_freed_by_the_leads_weight() -> None:
    loads = {"ana": RepLoad("ana", open_leads=3, assigned_today=2, open_weight=7)}
    freed = release(loads, "ana", weight=3)
    assert freed["ana"] == RepLoad("ana", open_leads=2, assigned_today=2, open_weight=4)
    assert release({}, "ben")["ben"] == RepLoad("ben")


BASE: dict[str, Any] = {
    "reps": [{"id": "ana", "name": "Ana", "timezone": "Europe/London"}],
    "queues": [
        {"name": "sales", "department": "sales", "region": "uk", "members": ["ana"]},
        {"name": "pool", "department": "sales", "region": "uk", "members": ["ana"]},
    ],
    "default_queue": "sales",
    "gone_cold": {"no_touch": {"Hot": "2d", "default": "14d"}, "no_reply_after": 4},
    "recycling": {
        "gone_cold": {"to": "queue", "queue": "pool"},
        "lost": {"to": "nurture", "after": "30d"},
        "lost_reasons": {"Spam": {"to": "none"}},
        "disqualified": {"to": "none"},
    },
}


def validate(data: dict[str, Any]) -> RoutingConfig:
    return validate_section(Path("leadflow.yaml"), {"routing": data}, "routing", RoutingConfig)


def with_(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def test_the_sections_become_domain_values() -> None:
    routing = to_domain(validate(BASE))
    assert routing.gone_cold == ColdPolicy((("hot", timedelta(days=2)),), timedelta(days=14), 4)
    assert routing.recycling == Recycling(
        gone_cold=POOL,
        lost=NURTURE,
        lost_reasons=(("spam", RecyclePolicy("none")),),
        disqualified=RecyclePolicy("none"),
    )
    assert to_domain(validate(BASE)).recycling.for_disqualified() is None  # type: ignore[union-attr]
    absent = {k: v for k, v in BASE.items() if k not in ("gone_cold", "recycling")}
    assert to_domain(validate(absent)).gone_cold is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("recycling", "gone_cold"), {"to": "queue", "queue": "nope"},
         "routing.recycling.gone_cold.queue: unknown queue 'nope'"),
        (("recycling", "lost_reasons"), {"x": {"to": "queue", "queue": "gone"}},
         "routing.recycling.lost_reasons.x.queue: unknown queue 'gone'"),
        (("recycling", "lost"), {"to": "queue"},
         "routing.recycling.lost: to: queue needs queue"),
        (("recycling", "lost"), {"to": "nurture", "queue": "pool"},
         "routing.recycling.lost: queue is only for to: queue (this says to: nurture)"),
        (("recycling", "lost"), {"to": "sideways"}, "routing.recycling.lost.to"),
        (("recycling", "lost"), {"to": "rep"},
         "routing.recycling.lost: to: rep needs rep, e.g. {to: rep, rep: zoe}"),
        (("recycling", "gone_cold"), {"to": "rep", "rep": "zed", "after": "1d"},
         "routing.recycling.gone_cold.rep: unknown rep 'zed'"),
        (("recycling", "lost_reasons"), {"x": {"to": "rep", "rep": "zed"}},
         "routing.recycling.lost_reasons.x.rep: unknown rep 'zed'"),
        (("recycling", "lost"), {"to": "queue", "queue": "pool", "rep": "ana"},
         "routing.recycling.lost: rep is only for to: rep (this says to: queue)"),
        (("recycling", "disqualified"), {"to": "queue", "queue": "x"},
         "routing.recycling.disqualified.queue: unknown queue 'x'"),
        (("gone_cold",), {}, "routing.gone_cold: give no_touch (time per bucket)"),
        (("gone_cold", "no_touch"), {"hot": "soon"}, "routing.gone_cold.no_touch.hot"),
        (("gone_cold", "no_touch"), {"nurture": "2d"},
         "routing.gone_cold.no_touch.nurture: bucket 'nurture' is a nurture bucket"),
        (("gone_cold", "no_reply_after"), 0, "routing.gone_cold.no_reply_after"),
    ],
)  # fmt: skip
def test_problems_are_reported_at_their_keys(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(with_(path, value))
    assert message in str(caught.value)


# ---- to a named rep -----------------------------------------------------------------------

ZOE = RecyclePolicy("rep", after=timedelta(days=1), rep="pat")


def test_to_a_named_rep_in_the_leads_queue_without_moving_its_rotation() -> None:
    d = recycle(ZOE, ROUTING, {}, {"sales": 1}, T0, {}, "hot", "ana", "gone cold (no_touch)",
                "sales")  # fmt: skip
    assert isinstance(d, Assigned)
    assert (d.rule, d.queue, d.rep_id, d.choice.strategy) == (
        RECYCLED_RULE, "sales", "pat", "named_rep",
    )  # fmt: skip
    assert d.next_cursor == 1  # sales' rotation stays where it was
    assert d.trace.startswith("gone cold (no_touch); recycled to rep pat in queue sales; pat: ")
    assert ZOE.target == "rep pat after 1d"


def test_a_named_rep_whose_queue_is_gone_takes_it_in_the_default_queue() -> None:
    d = recycle(ZOE, ROUTING, {}, {}, T0, {}, "hot", "ana", "lost (price)", "removed")
    assert isinstance(d, Assigned) and (d.queue, d.rep_id) == ("sales", "pat")


@pytest.mark.parametrize(
    ("routing", "loads", "previous", "why"),
    [
        (ROUTING, {}, "pat", "pat cannot take the lead now (had the lead last)"),
        (Routing({**ROUTING.reps, "pat": Rep("pat", "Pat", LONDON, online=False)},
                 ROUTING.queues, (), "sales"), {}, "ana",
         "pat cannot take the lead now (unavailable: offline)"),
        (Routing({**ROUTING.reps, "pat": Rep("pat", "Pat", LONDON, max_open=2)},
                 ROUTING.queues, (), "sales"), {"pat": RepLoad("pat", open_leads=2)}, "ana",
         "pat cannot take the lead now (at capacity"),
        (Routing({r: p for r, p in ROUTING.reps.items() if r != "pat"}, ROUTING.queues, (),
                 "sales"), {}, "ana", "pat cannot take the lead now (not configured)"),
    ],
)  # fmt: skip
def test_a_named_rep_who_cannot_take_it_now_leaves_it_waiting_in_its_queue(
    routing: Routing, loads: dict[str, RepLoad], previous: str, why: str
) -> None:
    d = recycle(ZOE, routing, loads, {}, T0, {}, "hot", previous, "lost (price)", "pool")
    assert isinstance(d, Waiting)
    assert (d.queue, d.rule) == ("pool", RECYCLED_RULE)
    assert d.reason.startswith(why)


def test_to_rep_becomes_a_domain_policy() -> None:
    data = with_(("recycling", "gone_cold"), {"to": "rep", "rep": "ana", "after": "1d"})
    recycling = to_domain(validate(data)).recycling
    assert recycling is not None
    assert recycling.for_cold() == RecyclePolicy("rep", after=timedelta(days=1), rep="ana")


def test_deleting_a_rep_or_queue_a_recycling_policy_names_is_refused_at_its_key() -> None:
    data = copy.deepcopy(BASE)
    data["reps"].append({"id": "zoe", "name": "Zoe", "timezone": "Europe/London"})
    data["recycling"]["lost_reasons"]["price"] = {"to": "rep", "rep": "zoe", "after": "7d"}
    document = to_document(validate(data))
    rep = apply_change(document, DeleteRep("zoe"))
    assert isinstance(rep, Refused)
    assert rep.problems == (
        Problem("recycling.lost_reasons.price.rep", "still names rep 'zoe'; change it first"),
    )
    queue = apply_change(document, DeleteQueue("pool"))
    assert isinstance(queue, Refused)
    assert queue.problems == (
        Problem("recycling.gone_cold.queue", "still names queue 'pool'; change it first"),
    )
