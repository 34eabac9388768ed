"""``leadflow bench``: start (or reach) a Leadflow, run the scenarios and ceilings, report.

A run is: a fresh embedded Leadflow (unless an external one is given), its idle CPU, the
three ceilings, then each scenario in turn (single-lead posts at every offered rate,
single-lead posts at full speed, batches at full speed), each followed by a wait until
every accepted lead has its decision and its webhook, and preceded by a wait until the
services are idle again. ``--runs N`` repeats the run and reports the median of every
figure. The exit status is 1 if any lead was LOST or DOUBLED.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import signal
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvloop
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from leadflow.bench import ceilings, report, scenarios, skeleton, tables
from leadflow.bench.client import HttpPool, authorization, make_pool
from leadflow.bench.collect import TopicCollector
from leadflow.bench.load import (
    BATCH_PATH,
    LEADS_PATH,
    LeadFeed,
    LoadResult,
    batch_loop,
    closed_loop,
    open_batches,
    open_loop,
)
from leadflow.bench.outcomes import doubled_leads
from leadflow.bench.resources import Watched, peak_rss_mib
from leadflow.bench.scenarios import Scenario, Tick, Waits, run_scenario
from leadflow.bench.stats import median_of_runs
from leadflow.bench.target import EmbeddedTarget, Target, external_target
from leadflow.embedded import EMBEDDED_PARTITIONS
from shared import clock
from shared.config import ServiceSettings

SCENARIOS = ("single", "single-max", "batch", "batch-max")
PAUSE_S = 1.0  # between phases, so one's tail does not run into the next one's figures
SINGLE_MAX_GUESS = 3000  # leads/s, for generating leads ahead; topped up if exceeded
BATCH_MAX_GUESS = 8000
IDLE_S = 3.0  # idle CPU baseline measured for this long before each run
API_KEY_ENV = "LEADFLOW_KEY"  # the key for --target-capture when --api-key is not given
NEW_KEY_COMMAND = "leadflow keys new bench --scope leads:write --rate 0"


@dataclass(frozen=True)
class BenchOptions:
    rates: list[float] = field(default_factory=lambda: [200.0, 1000.0])
    batch_rates: list[float] = field(default_factory=lambda: [1000.0])
    rate_batch_size: int = 50  # leads per request of the batch-at-a-rate scenario
    skeleton_events: int = 10_000  # events through the mechanism ceiling (0: skip it)
    duration: float = 10.0
    concurrency: int = 64
    batch_size: int = 500
    batch_concurrency: int = 4
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    runs: int = 1
    client: str = "raw"
    ceiling_duration: float = 5.0
    round_trips: int = 500
    commits: int = 500
    decision_timeout: float = 60.0
    webhook_timeout: float = 30.0
    partitions: int = EMBEDDED_PARTITIONS
    out: Path | None = None
    target_capture: str | None = None
    bootstrap: str | None = None
    database_url: str | None = None
    pids: dict[str, int] = field(default_factory=dict)
    keep_home: bool = False
    without: tuple[str, ...] = ()  # services the embedded stack does not start
    api_key: str | None = field(default=None, repr=False)  # for --target-capture only


def show(path: Path, console: Console, as_markdown: bool = False) -> int:
    """Print the tables of a JSON file an earlier bench wrote (or the same in Markdown)."""
    doc = orjson.loads(path.read_bytes())
    if as_markdown:
        console.print(tables.markdown(doc), markup=False, highlight=False, soft_wrap=True)
    else:
        tables.render(console, doc)
    return 0


def run_bench(opts: BenchOptions, console: Console) -> int:
    """Run the bench; print the table, write the JSON; 1 if a lead was lost or doubled."""
    if opts.target_capture and not opts.bootstrap:
        raise SystemExit("--target-capture needs --bootstrap HOST:PORT")
    if opts.target_capture and not opts.api_key:
        raise SystemExit(
            "--target-capture needs an API key with scope leads:write: --api-key KEY or"
            f" ${API_KEY_ENV} (make one with `{NEW_KEY_COMMAND}`)"
        )
    try:
        authorization(opts.api_key)
    except ValueError as exc:
        raise SystemExit(f"leadflow bench: {exc}") from exc
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            doc = runner.run(_bench(opts, console))
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("bench stopped before it finished; nothing written")
        return 130
    path = opts.out or Path(f"bench-{doc['started_at_compact']}.json")
    report.write_json(path, doc)
    tables.render(console, doc)
    console.print(f"\nFigures written to {path}")
    if doc["lost"] or doc["doubled"]:
        console.print(f"[red]LOST {doc['lost']}  DOUBLED {doc['doubled']}[/red]")
        return 1
    return 0


async def _bench(opts: BenchOptions, console: Console) -> dict[str, Any]:
    """Every run on a Leadflow of its own: the embedded broker keeps every event in memory
    and gets slower as it fills, so a second run on the first one's stack would not be a
    repetition of the same experiment."""
    main = asyncio.current_task()
    if main is not None:  # SIGTERM stops it like Ctrl-C: the embedded stack is stopped too
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    started = clock.now()
    runs: list[dict[str, Any]] = []
    token = secrets.token_hex(3)
    settings: dict[str, Any] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, refresh_per_second=4) as bar:
        phases = bar.add_task("bench", total=opts.runs * _phase_count(opts))
        step = bar.add_task("", total=1)

        def tick(description: str, completed: float, total: float) -> None:
            bar.update(step, description=description, completed=completed, total=total)

        def advance() -> None:
            bar.advance(phases)

        for index in range(opts.runs):
            embedded: EmbeddedTarget | None = None
            failed = True
            try:
                if opts.target_capture and opts.bootstrap and opts.api_key:
                    target = external_target(
                        opts.target_capture,
                        opts.bootstrap,
                        opts.database_url,
                        opts.pids,
                        opts.api_key,
                    )
                else:
                    embedded = EmbeddedTarget(
                        opts.partitions, keep_home=opts.keep_home, without=opts.without
                    )
                    tick(f"run {index + 1}/{opts.runs}: starting the embedded Leadflow", 0, 1)
                    target = await asyncio.to_thread(embedded.start)
                await _check_key(opts, target)
                target.watched.append(Watched("bench", os.getpid()))
                settings = settings or _settings(opts, target)
                runs.append(await _measured_run(opts, target, f"{token}r{index}", tick, advance))
                failed = False
            finally:
                if embedded is not None:
                    if failed:
                        console.print(f"[red]bench failed; logs kept in {embedded.home}[/red]")
                    await asyncio.to_thread(embedded.stop, failed)
    return report.document(
        settings=settings,
        started_at=started,
        runs=runs,
        medians=median_of_runs(runs),
        lost=sum(r["lost"] for r in runs),
        doubled=sum(r["doubled"] for r in runs),
    )


async def _measured_run(
    opts: BenchOptions, target: Target, tag: str, tick: Tick, advance: Callable[[], None]
) -> dict[str, Any]:
    """One run with its own topic reader; then count the leads lost or decided twice."""
    collector = TopicCollector(target.bootstrap, prefix=ServiceSettings().topic_prefix)
    await collector.start()
    try:
        run = await _one_run(opts, target, collector, tag, tick, advance)
        sent: set[str] = set()
        for figures in run["scenarios"].values():
            sent.update(figures.pop("_lead_ids", []))
        await asyncio.sleep(PAUSE_S)  # a late duplicate decision still counts
        doubled = doubled_leads(collector.traces, sent)
        run["lost"] = sum(1 for lead in sent if lead not in collector.decided)
        run["doubled"] = len(doubled)
        run["doubled_examples"] = doubled[:10]
    finally:
        await collector.stop()
    run["peak_rss_mib"] = {w.name: peak_rss_mib(w) for w in target.watched}
    return run


def _phase_count(opts: BenchOptions) -> int:
    single = len(opts.rates) if "single" in opts.scenarios else 0
    batch = len(opts.batch_rates) if "batch" in opts.scenarios else 0
    return 5 + single + batch + sum(1 for s in ("single-max", "batch-max") if s in opts.scenarios)


async def _one_run(
    opts: BenchOptions,
    target: Target,
    collector: TopicCollector,
    tag: str,
    tick: Tick,
    advance: Callable[[], None],
) -> dict[str, Any]:
    arrivals: dict[str, float] = {}  # lead id -> when its assignment webhook arrived
    backlog: set[str] = set()  # assigned leads whose webhook is still owed
    idle: dict[str, float | None] = {}  # the run's idle CPU: what "settled" means
    out: dict[str, Any] = {"ceilings": {}, "scenarios": {}, "settle_s": {}}
    feed = LeadFeed(tag, seed=zlib.crc32(tag.encode()) % 100_000)
    waits = Waits(decisions_s=opts.decision_timeout, webhooks_s=opts.webhook_timeout)

    async def settle(phase: str) -> None:
        if idle:
            tick(f"waiting for the services to finish before {phase}", 0, 1)
            out["settle_s"][phase] = await scenarios.settle(target, collector, backlog, idle, waits)

    tick("idle CPU", 0, 1)
    idle.update(await ceilings.idle_cpu(target.watched, IDLE_S))
    out["ceilings"]["idle_cpu_pct"] = dict(idle)
    advance()
    tick("ceiling: GET /healthz at full speed", 0, opts.ceiling_duration)
    pool = make_pool(opts.client, target.capture_url, opts.concurrency, target.api_key)
    try:
        out["ceilings"]["trivial_endpoint"] = await ceilings.trivial_endpoint(
            pool, opts.concurrency, opts.ceiling_duration, LoadResult("healthz"), target.watched
        )
    finally:
        await pool.aclose()
    advance()
    tick(f"ceiling: {opts.round_trips} broker round trips", 0, 1)
    fetch_wait = ServiceSettings().kafka_fetch_max_wait_ms
    out["ceilings"]["broker_round_trip"] = await ceilings.broker_round_trip(
        target.bootstrap, opts.round_trips, fetch_wait
    )
    advance()
    tick(f"ceiling: {opts.commits} database commits", 0, 1)
    if target.database_url:
        out["ceilings"]["database_commit"] = await ceilings.database_commit(
            target.database_url, opts.commits
        )
    advance()
    tick("ceiling: the delivery mechanism alone (3 do-nothing hops)", 0, 1)
    if target.database_url and opts.skeleton_events > 0:
        out["ceilings"]["skeleton"] = await skeleton.pipeline_skeleton(
            target.bootstrap,
            target.database_url,
            opts.skeleton_events,
            opts.partitions,
            target.watched,
        )
    advance()

    async def scenario(
        sc: Scenario,
        size: int,
        drive: Callable[[HttpPool, LoadResult], Coroutine[Any, Any, LoadResult]],
    ) -> None:
        await asyncio.sleep(PAUSE_S)
        await settle(sc.name)
        pool = make_pool(opts.client, target.capture_url, size, target.api_key)
        try:
            figures = await run_scenario(
                sc, lambda r: drive(pool, r), target, collector, arrivals, backlog, waits, tick
            )
        finally:
            await pool.aclose()
        out["scenarios"][sc.name] = figures
        advance()

    if "single" in opts.scenarios:
        for offered in opts.rates:
            bodies = feed.take(int(offered * opts.duration))
            sc = Scenario(f"single@{offered:g}/s", "single", offered, opts.duration)
            await scenario(sc, opts.concurrency, functools.partial(_open, bodies, offered))
    if "single-max" in opts.scenarios:
        feed.fill(int(SINGLE_MAX_GUESS * opts.duration))
        sc = Scenario("single-max", "single-max", None, opts.duration)
        await scenario(
            sc,
            opts.concurrency,
            lambda p, r: closed_loop(p, feed, opts.concurrency, opts.duration, r),
        )
    missing = await _batch_missing(opts, target)
    if "batch" in opts.scenarios:
        for offered in opts.batch_rates:
            sc = Scenario(f"batch@{offered:g}/s", "batch", offered, opts.duration)
            if missing:
                out["scenarios"][sc.name] = {"kind": "batch", "unavailable": missing}
                advance()
                continue
            bodies = feed.take(int(offered * opts.duration))
            drive = functools.partial(_open_batches, bodies, offered, opts.rate_batch_size)
            await scenario(sc, opts.concurrency, drive)
    if "batch-max" in opts.scenarios:
        sc = Scenario("batch-max", "batch-max", None, opts.duration)
        if missing:
            out["scenarios"][sc.name] = {"kind": "batch-max", "unavailable": missing}
            advance()
        else:
            feed.fill(int(BATCH_MAX_GUESS * opts.duration))
            await scenario(
                sc,
                opts.batch_concurrency,
                lambda p, r: batch_loop(
                    p, feed, opts.batch_size, opts.batch_concurrency, opts.duration, r
                ),
            )
    await settle("idle after")
    tick("idle CPU after the scenarios", 0, 1)
    out["idle_after_cpu_pct"] = await ceilings.idle_cpu(target.watched, IDLE_S)
    out["ratios"] = report.ratios(out)
    return out


async def _open(
    bodies: list[bytes], offered: float, pool: HttpPool, result: LoadResult
) -> LoadResult:
    return await open_loop(pool, bodies, offered, result)


async def _open_batches(
    bodies: list[bytes], offered: float, size: int, pool: HttpPool, result: LoadResult
) -> LoadResult:
    return await open_batches(pool, bodies, offered, size, result)


async def _batch_missing(opts: BenchOptions, target: Target) -> str | None:
    """Why the batch endpoint cannot be benchmarked (an empty batch answers 404/405), or None."""
    pool = make_pool(opts.client, target.capture_url, 1, target.api_key)
    try:
        status, _ = await pool.request("POST", BATCH_PATH, b'{"leads":[]}')
    finally:
        await pool.aclose()
    return f"POST {BATCH_PATH} answered {status}" if status in (404, 405) else None


async def _check_key(opts: BenchOptions, target: Target) -> None:
    """Stop before measuring if capture refuses the bench's key (every lead would be a 401
    or 403): an empty lead is answered 422 once the key got past the gate."""
    pool = make_pool(opts.client, target.capture_url, 1, target.api_key)
    try:
        status, body = await pool.request("POST", LEADS_PATH, b"{}")
    finally:
        await pool.aclose()
    if status in (401, 403, 429):
        message = orjson.loads(body).get("message", "") if body.startswith(b"{") else ""
        raise SystemExit(
            f"leadflow bench: {target.capture_url} refused the bench's API key"
            f" ({status}: {message or body[:200]!r}); it needs scope leads:write and no rate"
            f" limit: `{NEW_KEY_COMMAND}`"
        )


def _settings(opts: BenchOptions, target: Target) -> dict[str, Any]:
    settings = asdict(opts)
    settings.pop("api_key")  # a secret: not in the JSON file
    settings["out"] = str(opts.out) if opts.out else None
    settings["target"] = target.description
    settings["watched"] = {w.name: w.pid for w in target.watched}
    settings["fetch_max_wait_ms_services"] = ServiceSettings().kafka_fetch_max_wait_ms
    return settings
