"""Surviving a broker that forgot: adopting a broker, and keeping the outbox to what may be
needed again.

When the :class:`~shared.bus.watch.BrokerWatch` sees a broker it has not adopted yet (every
start, and whenever the cluster id changes or our topics are gone), :func:`adopt` runs:

1. create the topics with the configured partitions (never left to the broker, see
   :func:`shared.bus.admin.forbid_topic_auto_creation`);
2. compare with the broker this schema last published to (``broker_identity``). If it is
   another one, or it lost our topics, wait ``republish_settle_s`` — so that every other
   service's consumer notices the new broker and starts its log from the beginning before
   the log fills up — then mark every retained outbox row unpublished: the relay's sweep
   publishes them again in their original order, and every consumer's inbox drops the ones it
   had already applied.

Consumers reconnect by themselves when the watch moves to the new broker (see
``shared.bus.consumer``). Retained rows are pruned by :func:`prune_outbox_forever`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.admin import committed_offsets, ensure_topics_with_retry
from shared.bus.watch import BrokerChange, BrokerView, broker_change
from shared.config import ServiceSettings
from shared.contracts.topics import TOPOLOGY, all_topics, consumer_group_id, topic_name
from shared.db.outbox import OutboxRelay, adopt_broker, adopted_broker, safe_offsets
from shared.observability import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerAdoption:
    """What one service needs to adopt a broker."""

    settings: ServiceSettings
    engine: AsyncEngine
    service: str

    async def adopt(self, view: BrokerView) -> None:
        """Create the topics; republish the retained outbox if the broker forgot it."""
        s = self.settings
        wanted = all_topics(s.topic_prefix)
        await ensure_topics_with_retry(
            s.kafka_bootstrap, wanted, s.kafka_partitions, s.kafka_replication, timeout=10
        )
        async with self.engine.connect() as conn:
            remembered = await adopted_broker(conn)
        change = broker_change(remembered, view, wanted)
        if change in (BrokerChange.NEW_CLUSTER, BrokerChange.TOPICS_MISSING):
            metrics.broker_changes.labels(change.value).inc()
            log.warning(
                "the broker is not the one this service published to (%s: %s -> %s);"
                " republishing retained events in %.1fs",
                change.value,
                remembered,
                view.cluster_id,
                s.republish_settle_s,
            )
            await asyncio.sleep(s.republish_settle_s)
        async with self.engine.begin() as conn:
            previous, requeued = await adopt_broker(
                conn, view.cluster_id, lost_topics=change is BrokerChange.TOPICS_MISSING
            )
        if requeued:
            metrics.outbox_republished.inc(requeued)
            log.warning(
                "queued %d retained event(s) again for broker %s", requeued, view.cluster_id
            )
        elif previous is None:
            log.info("adopted broker %s", view.cluster_id)


def readers_of(producer: str) -> dict[str, tuple[str, ...]]:
    """The consumer groups reading each topic ``producer`` publishes (group = service name)."""
    return {t: spec.consumers for t, spec in TOPOLOGY.items() if spec.producer == producer}


async def prune_once(
    relay: OutboxRelay, bootstrap: str, readers: dict[str, tuple[str, ...]], prefix: str
) -> int:
    """Delete the retained rows every reading group has read past (and those past the window
    for topics nobody in Leadflow reads, or past the maximum retention).

    ``readers`` and the outbox name topics and groups by their contract names; on the broker
    they are under the deployment's ``prefix``."""
    groups = sorted({g for gs in readers.values() for g in gs})
    committed = {}
    for g in groups:
        read = [topic_name(t, prefix) for t, gs in readers.items() if g in gs]
        offsets = await committed_offsets(bootstrap, consumer_group_id(g, prefix), read)
        committed[g] = {(t.removeprefix(prefix), p): off for (t, p), off in offsets.items()}
    unread: Sequence[str] = [t for t, gs in readers.items() if not gs]
    return await relay.prune_once(safe_offsets(committed, readers), unread)
