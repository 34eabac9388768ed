"""``leadflow chaos``: post leads at a steady rate into an embedded Leadflow while killing
(SIGKILL) its processes in turn, let the supervisor restart them, then prove that every
acknowledged lead came out exactly once (:mod:`leadflow.chaos.proof`).

The stack is ``leadflow up``'s own (:class:`leadflow.supervisor.Stack` and
:class:`leadflow.watchdog.Watchdog`), in a temporary home on free ports, with the demo
receiver counting the webhooks. A fault kills its target only once the previous target is
back, so each kill is a separate outage. The stack checks a key ring of its own in the
home, holding one key for this tool (post leads, read decisions, nurture state and metrics;
no rate limit, so the limiter refuses nothing the proof would then miss).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import yaml

from leadflow.chaos.evidence import (
    Collector,
    bearer,
    dead_letter_counters,
    dead_letter_records,
)
from leadflow.chaos.plan import Fault, fault_times
from leadflow.chaos.proof import Figures, judge, settled
from leadflow.embedded import EMBEDDED_PARTITIONS, free_port, free_port_block
from leadflow.local_keys import issue
from leadflow.samples import generate_leads
from leadflow.supervisor import Stack, UpOptions
from leadflow.watchdog import Watchdog, print_line
from shared.auth.scopes import Scope
from shared.config import DEFAULT_CONFIG_FILE

CHAOS_KEY_ID = "chaos"
CHAOS_SCOPES = (Scope.LEADS_WRITE.value, Scope.LEADS_READ.value, Scope.METRICS_READ.value)


@dataclass
class ChaosOptions:
    leads: int = 10_000
    rate: float = 50.0  # leads per second, open loop
    faults: list[Fault] = field(default_factory=list)
    settle_timeout: float = 300.0
    partitions: int = EMBEDDED_PARTITIONS
    seed: int = 11
    home: Path | None = None  # default: a temporary directory, removed unless keep_home
    keep_home: bool = False


@dataclass
class Report:
    figures: Figures
    posted: int
    refused: int  # not acknowledged: the client was told, nothing to prove for these
    refusals: dict[str, int]  # how: "503", "connection" (nothing listening), or another status
    load_s: float
    settle_s: float | None  # from the last answer to every lead settled; None = timed out
    faults: list[dict[str, Any]]
    dead_letters: dict[str, Any]
    receiver_rejected: int

    @property
    def ok(self) -> bool:
        dead = sum(self.dead_letters["counters"].values()) + sum(
            self.dead_letters["topics"].values()
        )
        return self.figures.ok and self.settle_s is not None and not dead

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "figures": self.figures.as_dict(), "posted": self.posted,
            "refused": self.refused, "refusals": self.refusals, "load_s": self.load_s,
            "settle_s": self.settle_s,
            "faults": self.faults, "dead_letters": self.dead_letters,
            "receiver_rejected": self.receiver_rejected,
        }  # fmt: skip


def chaos_config(home: Path) -> Path:
    """The example config without the demo's 30-second nurture touches (a stream of
    webhooks unrelated to the run); its subscriptions still follow the receiver's port."""
    config: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    for seq in config.get("nurture", {}).get("sequences", []):
        seq.pop("touch_interval", None)
    path = home / "leadflow.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Supervised(NamedTuple):
    stack: Stack
    watchdog: Watchdog
    api_key: str  # the tool's key, for the services (not for the demo receiver)


@asynccontextmanager
async def supervised_stack(
    home: Path, partitions: int = EMBEDDED_PARTITIONS, say: Callable[[str], None] = print_line
) -> AsyncIterator[Supervised]:
    """``leadflow up`` in-process: the embedded stack on free ports with the demo receiver,
    every child watched by a :class:`Watchdog` in a thread; all stopped on exit. Its key
    ring is ``<home>/api-keys.json`` (never a shared ``$LEADFLOW_API_KEYS_FILE``)."""
    home.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        UpOptions(
            home=home, config_file=chaos_config(home), capture_port=free_port_block(),
            kafka_port=free_port(), pg_port=free_port(), sink_port=free_port(),
            partitions=partitions, ready_timeout=120, api_keys_file=home / "api-keys.json",
        )
    )  # fmt: skip
    # Before the services start, so their first look at the ring finds the key.
    api_key = issue(stack.key_ring, CHAOS_KEY_ID, CHAOS_SCOPES, rate_per_s=0)
    stop = threading.Event()
    watcher: threading.Thread | None = None
    try:
        await asyncio.to_thread(stack.start_infrastructure)
        await asyncio.to_thread(stack.start_sink)
        await asyncio.to_thread(stack.start_services_on_free_ports)
        watchdog = Watchdog(stack, say=say)
        watcher = threading.Thread(target=watchdog.run, args=(stop,), daemon=True)
        watcher.start()
        yield Supervised(stack, watchdog, api_key)
    finally:
        stop.set()
        if watcher is not None:
            await asyncio.to_thread(watcher.join, 60)
        await asyncio.to_thread(stack.stop)


async def run_chaos(opts: ChaosOptions, say: Callable[[str], None] = print_line) -> Report:
    home = opts.home or Path(tempfile.mkdtemp(prefix="leadflow-chaos-"))
    try:
        async with supervised_stack(home, opts.partitions, say) as (stack, watchdog, key):
            say(f"stack up in {home}; posting {opts.leads} leads at {opts.rate:g}/s")
            return await _drive(opts, stack, watchdog, key, say)
    finally:
        if opts.home is None and not opts.keep_home:
            shutil.rmtree(home, ignore_errors=True)


async def _drive(
    opts: ChaosOptions, stack: Stack, watchdog: Watchdog, key: str, say: Callable[[str], None]
) -> Report:
    urls = stack.urls()
    load = Load(urls["capture"], generate_leads(opts.leads, seed=opts.seed, tag="chaos"), key)
    started = time.monotonic()
    load_s = opts.leads / opts.rate
    faults_task = asyncio.create_task(_inject(opts.faults, load_s, stack, watchdog, say, started))
    await load.run(opts.rate)
    loaded = time.monotonic()
    say(f"load done in {loaded - started:.1f}s: {len(load.acknowledged)} acknowledged,"
        f" {load.refused} refused {load.refusals}")  # fmt: skip
    faults = await faults_task
    collector = Collector(urls, urls["webhooks"], load.acknowledged, key)
    try:
        settle_s = await settle(collector, opts.settle_timeout, loaded, say)
        await asyncio.sleep(2.0)  # anything doubled late still arrives before the final look
        figures = judge(await collector.collect(final=True))
    finally:
        await collector.aclose()
    dead = {
        "counters": await dead_letter_counters(
            {n: u for n, u in urls.items() if n != "webhooks"}, key
        ),
        "topics": await dead_letter_records(stack.bootstrap),
    }
    return Report(
        figures=figures, posted=opts.leads, refused=load.refused, refusals=load.refusals,
        load_s=loaded - started,
        settle_s=settle_s, faults=faults, dead_letters=dead,
        receiver_rejected=collector.rejected,
    )  # fmt: skip


async def settle(
    collector: Collector, timeout: float, loaded: float, say: Callable[[str], None]
) -> float | None:
    deadline = loaded + timeout
    while True:
        evidence = await collector.collect()
        if settled(evidence):
            return time.monotonic() - loaded
        if time.monotonic() > deadline:
            say(f"not settled after {timeout:.0f}s")
            return None
        await asyncio.sleep(1.0)


async def _inject(
    faults: list[Fault], load_s: float, stack: Stack, watchdog: Watchdog,
    say: Callable[[str], None], started: float,
) -> list[dict[str, Any]]:  # fmt: skip
    """Kill each target at its time (or once the previous one is back, if later)."""
    done = []
    times = fault_times(load_s, [f.down_s for f in faults])
    for fault, at in zip(faults, times, strict=True):
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        before = watchdog.restarts.get(fault.target, 0)
        if fault.down_s:
            watchdog.hold(fault.target, fault.down_s)
        killed = time.monotonic()
        say(f"chaos: kill -9 {fault.target} ({fault.name}) at {killed - started:.1f}s")
        stack.kill(fault.target)
        while watchdog.restarts.get(fault.target, 0) == before:
            if time.monotonic() - killed > max(120.0, 2 * fault.down_s):
                raise RuntimeError(f"{fault.target} was not restarted")
            await asyncio.sleep(0.1)
        back = time.monotonic()
        await asyncio.to_thread(stack.wait_ready, _ready_names(stack, fault.target))
        ready = time.monotonic()
        done.append({
            "fault": fault.name, "at_s": round(killed - started, 1),
            "down_s": round(back - killed, 1), "ready_s": round(ready - killed, 1),
        })  # fmt: skip
    return done


def _ready_names(stack: Stack, target: str) -> list[str]:
    """What to wait for after ``target`` came back: itself, or for PostgreSQL and the
    broker every service (their readiness depends on them)."""
    return (
        [n for n in stack.procs if n != "webhooks"]
        if target in ("postgres", "broker")
        else [target]
    )


class Load:
    """Posts leads at a steady rate, open loop; remembers which were acknowledged."""

    def __init__(self, capture_url: str, leads: list[dict[str, Any]], api_key: str) -> None:
        self.capture_url = capture_url
        self._headers = bearer(api_key)
        self.leads = leads
        self.acknowledged: list[str] = []
        self.refusals: dict[str, int] = {}

    async def run(self, rate: float, concurrency: int = 64) -> None:
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=self.capture_url, timeout=30, limits=limits, headers=self._headers
        ) as client:
            start = time.monotonic()
            tasks = []
            for i, lead in enumerate(self.leads):
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                await gate.acquire()
                tasks.append(asyncio.create_task(self._post(client, lead, gate)))
            await asyncio.gather(*tasks)

    @property
    def refused(self) -> int:
        return sum(self.refusals.values())

    async def _post(
        self, client: httpx.AsyncClient, lead: dict[str, Any], gate: asyncio.Semaphore
    ) -> None:
        try:
            resp = await client.post("/v1/leads", json=lead)
            if resp.status_code in (200, 202):
                self.acknowledged.append(str(resp.json()["lead_id"]))
            else:
                self._refused(str(resp.status_code))
        except httpx.TransportError:
            self._refused("connection")
        finally:
            gate.release()

    def _refused(self, how: str) -> None:
        self.refusals[how] = self.refusals.get(how, 0) + 1
