"""Replacing the embedded broker with a fresh one, to bound its memory.

The embedded broker cannot drop old records, and each read costs more as its topics fill
(docs/performance.md). Since the services survive a broker that forgot everything
(``shared.recovery``), ``leadflow up`` can replace it now and then: it waits until every
consumer group has caught up (committed up to the end of every partition it reads), stops
the broker and starts an empty one on the same port with a new cluster id. The services then
re-create their topics and republish their retained events, which their consumers skip as
already applied; events not yet read by then would be republished the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from leadflow.embedded import EmbeddedKafka
from shared.bus.admin import committed_offsets
from shared.contracts.topics import TOPOLOGY, consumer_group_id, topic_name

log = logging.getLogger("leadflow.up")


@dataclass(frozen=True)
class GroupLag:
    group: str
    behind: int  # records between the group's committed offsets and the partition ends


def lag_of(
    group: str, committed: dict[tuple[str, int], int | None], ends: dict[tuple[str, int], int]
) -> GroupLag:
    """How far a group is behind; a partition it never committed on counts from its start."""
    behind = sum(max(end - (committed.get(tp) or 0), 0) for tp, end in ends.items())
    return GroupLag(group, behind)


async def group_lags(bootstrap: str, prefix: str = "") -> list[GroupLag]:
    """Every Leadflow consumer group's lag, asked of the broker (topics under ``prefix``)."""
    readers: dict[str, list[str]] = {}
    for topic, spec in TOPOLOGY.items():
        for group in spec.consumers:
            readers.setdefault(group, []).append(topic_name(topic, prefix))
    ends = await _end_offsets(bootstrap, sorted(topic_name(t, prefix) for t in TOPOLOGY))
    out = []
    for group, topics in sorted(readers.items()):
        committed = await committed_offsets(bootstrap, consumer_group_id(group, prefix), topics)
        mine = {tp: end for tp, end in ends.items() if tp[0] in topics}
        out.append(lag_of(group, committed, mine))
    return out


async def _end_offsets(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="leadflow-recycle")
    try:
        await consumer.start()
        known = await consumer.topics()
        partitions = [
            TopicPartition(t, p)
            for t in topics
            if t in known
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


async def wait_caught_up(bootstrap: str, timeout_s: float, prefix: str = "") -> bool:
    """True once every group has caught up; False if they have not within the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            lags = await group_lags(bootstrap, prefix)
            if all(lag.behind == 0 for lag in lags):
                return True
        except Exception as exc:  # a broker that does not answer is not caught up
            log.debug("group lag not read: %s", exc)
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)


def recycle_broker(
    kafka: EmbeddedKafka,
    caught_up_timeout_s: float = 60.0,
    prefix: str = "",
    *,
    before_stop: Callable[[], None] = lambda: None,
    say: Callable[[str], None] = log.warning,
) -> bool:
    """Replace the embedded broker with an empty one once every group has caught up (on the
    topics under ``prefix``). Answers whether it was replaced (not when the groups did not
    catch up in time). ``before_stop`` runs just before the old broker stops (the supervisor
    holds its own restart then)."""
    if not asyncio.run(wait_caught_up(kafka.bootstrap, caught_up_timeout_s, prefix)):
        say(f"broker not recycled: consumer groups still behind after {caught_up_timeout_s:.0f}s")
        return False
    old = kafka.cluster_id
    before_stop()
    kafka.stop()
    kafka.start()
    say(f"broker recycled: {old} -> {kafka.cluster_id} (services republish and carry on)")
    return True


def recycle_every(
    kafka: EmbeddedKafka,
    every_s: float,
    stopping: threading.Event,
    *,
    hold: Callable[[float], None],
    say: Callable[[str], None],
    prefix: str = "",
) -> None:
    """``leadflow up``'s recycling loop (a thread): every ``every_s``, replace the broker once
    the groups have caught up; the supervisor's restart is held meanwhile."""
    while not stopping.wait(every_s):
        try:
            recycle_broker(kafka, prefix=prefix, before_stop=lambda: hold(120.0), say=say)
        except Exception as exc:  # the supervisor brings a broker back that did not start
            say(f"broker recycle failed: {exc}")
