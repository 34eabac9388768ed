"""A delivery's signature carries the machine's time, whatever clock the deployment runs on.

A receiver checks ``webhook-timestamp`` against its own clock (Standard Webhooks: within five
minutes, against replays). Under a driven clock (``LEADFLOW_CLOCK_FILE``, days ahead in the
end-to-end stories and demos) every delivery used to be signed with the driven time and
refused with 401 by the demo receiver (:mod:`leadflow.sink`), so no alert ever arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from leadflow.sink import create_sink
from services.notifier.delivery import post_once
from services.notifier.domain import Subscription
from services.notifier.store import ClaimedDelivery
from shared import clock
from shared.net.egress import AllowEntry, EgressPolicy
from tests.support.http import serving

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


async def test_a_delivery_under_a_driven_clock_is_signed_with_the_real_time() -> None:
    driven = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    previous = clock.install(clock.FixedClock(driven))
    try:
        async with serving(create_sink([SECRET])) as sink:
            sub = Subscription(
                name="crm",
                url=f"http://127.0.0.1:{sink.port}/hooks/crm",
                secret=SECRET,
                event_types=frozenset({"io.leadflow.lead.gone_cold.v1"}),
            )
            policy = EgressPolicy((AllowEntry.parse(f"127.0.0.1:{sink.port}"),))
            claimed = ClaimedDelivery(
                delivery_id="3b0e5c1e-0000-4000-8000-000000000002",
                subscription="crm",
                event_id="e-2",
                event_type="io.leadflow.lead.gone_cold.v1",
                lead_id="lead-2",
                body=b'{"type": "io.leadflow.lead.gone_cold.v1", "subject": "lead-2"}',
                attempts=1,
                round_start=1,
            )
            async with aiohttp.ClientSession() as client:
                record = await post_once(client, sub, claimed, policy)
    finally:
        clock.install(previous)
    assert (record.status_code, record.error) == (200, None)  # the receiver verified it
    assert record.at == driven  # the attempt is recorded on the deployment's clock
