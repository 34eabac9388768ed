"""``leadflow bench`` on the command line: its options, and turning them into a run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from leadflow.embedded import EMBEDDED_PARTITIONS


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``leadflow bench`` and its options."""
    bench = sub.add_parser(
        "bench",
        help="measure throughput, latency and CPU (starts its own embedded Leadflow)",
        description="Print throughput, latency percentiles, per-stage latency, CPU per 1,000"
        " leads and the machine's ceilings; write them all to a JSON file. See"
        " docs/performance.md.",
    )
    bench.add_argument(
        "--rates",
        default="200,1000",
        help="offered rates of the single scenario, leads/s (open loop)",
    )
    bench.add_argument(
        "--batch-rates",
        default="1000",
        help="offered rates of the batch scenario, leads/s (open loop)",
    )
    bench.add_argument(
        "--rate-batch-size", type=int, default=50, help="leads per request of the batch scenario"
    )
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    bench.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="connections: single-max workers, /healthz ceiling, pool",
    )
    bench.add_argument("--batch-size", type=int, default=500, help="leads per batch request")
    bench.add_argument("--batch-concurrency", type=int, default=4, help="batch requests at once")
    bench.add_argument(
        "--scenarios",
        default="single,single-max,batch,batch-max",
        help="comma-separated: single, single-max, batch, batch-max",
    )
    bench.add_argument("--runs", type=int, default=1, help="repeat everything; report medians")
    bench.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="load generator HTTP client"
    )
    bench.add_argument(
        "--ceiling-duration", type=float, default=5.0, help="seconds of GET /healthz"
    )
    bench.add_argument("--round-trips", type=int, default=500, help="broker round trips")
    bench.add_argument(
        "--skeleton-events",
        type=int,
        default=10_000,
        help="events through the mechanism ceiling (3 do-nothing hops); 0 skips it",
    )
    bench.add_argument("--commits", type=int, default=500, help="database commits")
    bench.add_argument(
        "--decision-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for every decision after the load",
    )
    bench.add_argument(
        "--webhook-timeout",
        type=float,
        default=30.0,
        help="then seconds to wait for the assignment webhooks",
    )
    bench.add_argument(
        "--partitions", type=int, default=EMBEDDED_PARTITIONS, help="embedded topics' partitions"
    )
    bench.add_argument("--out", type=Path, help="JSON file (default bench-<UTC time>.json)")
    bench.add_argument(
        "--keep-home", action="store_true", help="keep the embedded stack's data and logs"
    )
    bench.add_argument(
        "--without",
        action="append",
        default=[],
        choices=["insights"],
        help="do not start this service: what it costs the others (the read model only)",
    )
    bench.add_argument("--target-capture", help="drive this running capture URL instead")
    bench.add_argument("--bootstrap", help="its Kafka bootstrap (with --target-capture)")
    bench.add_argument("--database-url", help="its PostgreSQL, for the commit ceiling")
    bench.add_argument("--pids", help="name=pid,... of its processes, for CPU figures")
    bench.add_argument(
        "--api-key",
        help="its API key, scope leads:write, no rate limit (with --target-capture; default:"
        " $LEADFLOW_KEY). The embedded Leadflow makes its own",
    )
    bench.add_argument(
        "--show", type=Path, help="print the tables of an earlier JSON file and exit"
    )
    bench.add_argument("--markdown", action="store_true", help="with --show: as Markdown")


def run(args: argparse.Namespace) -> int:
    """Run the bench (or show an earlier result) as the options say."""
    from rich.console import Console

    from leadflow.bench.run import API_KEY_ENV, SCENARIOS, BenchOptions, run_bench, show
    from leadflow.bench.target import parse_pids

    console = Console() if sys.stdout.isatty() else Console(width=120)
    if args.show:
        return show(args.show, console, as_markdown=args.markdown)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
        batch_rates = [float(r) for r in args.batch_rates.split(",") if r.strip()]
        pids = parse_pids(args.pids)
    except ValueError as exc:
        raise SystemExit(f"leadflow bench: {exc}") from exc
    api_key = (args.api_key or os.environ.get(API_KEY_ENV, "")).strip() or None
    opts = BenchOptions(
        rates=rates,
        batch_rates=batch_rates,
        skeleton_events=args.skeleton_events,
        rate_batch_size=args.rate_batch_size,
        duration=args.duration,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        batch_concurrency=args.batch_concurrency,
        scenarios=scenarios,
        runs=args.runs,
        client=args.client,
        ceiling_duration=args.ceiling_duration,
        round_trips=args.round_trips,
        commits=args.commits,
        decision_timeout=args.decision_timeout,
        webhook_timeout=args.webhook_timeout,
        partitions=args.partitions,
        out=args.out,
        target_capture=args.target_capture,
        bootstrap=args.bootstrap,
        database_url=args.database_url,
        pids=pids,
        keep_home=args.keep_home,
        without=tuple(args.without),
        api_key=api_key if args.target_capture else None,
    )
    return run_bench(opts, console)
