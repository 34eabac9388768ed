"""The digest job: when a period ends on the service clock, each recipient's waiting lines
of a digest subscription become one summary delivery.

One transaction takes the due lines (``FOR UPDATE SKIP LOCKED``, so replicas share them),
inserts the summaries as deliveries (leased for their first attempt, as the consumer does)
and deletes the lines: a crash before it commits changes nothing and the next round does
it again; after, the lines are gone and the deliveries are there. A summary's delivery id
is derived from its period and the events in it, so nothing is sent twice. Time is the
service clock (:func:`shared.clock.now`: ``LEADFLOW_CLOCK_FILE`` drives it in tests and
demos), never the database's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from services.notifier import digest, store
from services.notifier.handlers import delivery_id_for
from shared import clock

if TYPE_CHECKING:
    from services.notifier.delivery import DeliverySettings
    from services.notifier.deps import NotifierRuntime

log = logging.getLogger(__name__)

TICK_S = 1.0
BATCH = 5000


async def send_digests(runtime: NotifierRuntime) -> None:
    """Background job, forever: every tick, turn the lines of ended periods into summaries."""
    while True:
        try:
            await flush(runtime, runtime.deps.delivery, clock.now())
        except Exception:
            log.warning("digest round failed; retrying", exc_info=True)
        await asyncio.sleep(TICK_S)


async def flush(runtime: NotifierRuntime, cfg: DeliverySettings, now: datetime) -> int:
    """Send the summaries of every period ended by ``now``; return how many were made."""
    subs = {s.name: s for s in cfg.rules.subscriptions}
    async with runtime.engine.begin() as conn:
        items = await store.take_due_digest(conn, now, BATCH)
        groups: dict[tuple[str, str, datetime], list[digest.DigestLine]] = defaultdict(list)
        for item in items:
            groups[(item.subscription, item.recipient, item.period_end)].append(
                digest.DigestLine(
                    item.subscription, item.recipient, item.event_id, item.lead_id,
                    item.title, item.body, item.link, digest.person_from_json(item.person),
                    item.role,
                )
            )  # fmt: skip
        planned: list[store.NewDelivery] = []
        for (name, recipient, ends), lines in groups.items():
            sub = subs.get(name)
            if sub is None:
                log.warning("digest of subscription %s dropped: no longer in the config", name)
                continue
            key = digest.summary_id(name, ends, [x.event_id for x in lines])
            body = digest.digest_message(sub, lines, ends, cfg.alerts, now, key)
            planned.append(
                store.NewDelivery(
                    delivery_id=delivery_id_for(name, key, recipient),
                    subscription=name,
                    event_id=key,
                    event_type=digest.EVENT_TYPE,
                    lead_id="",
                    url=sub.shown_target,
                    body=body,
                    channel=sub.channel,
                    recipient=recipient,
                    not_before=digest.quiet_until(now, lines[0]),
                )
            )
        leased = await store.insert_deliveries(conn, planned, cfg.lease_s)
    runtime.deps.handoff.put(leased)
    return len(planned)
