"""Long outages, compressed: the router (or the broker) is down while leads keep coming.

Capture keeps accepting (every lead answered 202), and once the process is back the
backlog drains on its own: every lead decided exactly once, every webhook delivered once,
without delivery timeouts piling up or anything dead-lettered (the dead-letter topics are
empty and every service's dead-letter counter is 0).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from leadflow.chaos.evidence import Collector, dead_letter_counters, dead_letter_records
from leadflow.chaos.proof import judge
from leadflow.chaos.run import Load, settle, supervised_stack
from leadflow.samples import generate_leads

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

LEADS = 300
RATE = 40.0  # leads/s: the whole load arrives while the target is down


async def _outage_while_posting(tmp_path: Path, target: str, down_s: float) -> None:
    lines: list[str] = []
    async with supervised_stack(tmp_path / "home", say=lines.append) as (stack, watchdog, key):
        urls = stack.urls()
        watchdog.hold(target, down_s)
        stack.kill(target)
        load = Load(urls["capture"], generate_leads(LEADS, seed=5, tag=f"bp-{target}"), key)
        await load.run(RATE)
        assert stack.exit_status(target) is not None, "the load outlasted the outage"
        assert (len(load.acknowledged), load.refused) == (LEADS, 0), "capture stopped accepting"
        loaded = time.monotonic()
        collector = Collector(urls, urls["webhooks"], load.acknowledged, key)
        try:
            settle_s = await settle(collector, 120, loaded, lines.append)
            figures = judge(await collector.collect(final=True))
        finally:
            await collector.aclose()
        services = {n: u for n, u in urls.items() if n != "webhooks"}
        counters = await dead_letter_counters(services, key)
        topics = await dead_letter_records(stack.bootstrap)
    summary = json.dumps(
        {"figures": figures.as_dict(), "settle_s": settle_s, "counters": counters,
         "topics": topics, "supervisor": lines}, indent=1,
    )  # fmt: skip
    print(summary)  # the figures, with pytest -s
    assert any(f"{target} restarted" in line for line in lines), summary
    assert settle_s is not None and figures.ok, summary
    assert figures.decided == LEADS and figures.webhooks_redelivered == 0, summary
    assert not any(counters.values()) and not any(topics.values()), summary


async def test_with_the_router_down_capture_accepts_and_the_backlog_drains(
    tmp_path: Path,
) -> None:
    await _outage_while_posting(tmp_path, "router", down_s=LEADS / RATE + 5)


async def test_with_the_broker_down_capture_accepts_and_the_backlog_drains(
    tmp_path: Path,
) -> None:
    await _outage_while_posting(tmp_path, "broker", down_s=LEADS / RATE + 5)
