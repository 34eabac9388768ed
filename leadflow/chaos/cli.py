"""``leadflow chaos`` on the command line: its options, and turning them into a run."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from leadflow.embedded import EMBEDDED_PARTITIONS


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``leadflow chaos`` and its options."""
    chaos = sub.add_parser(
        "chaos",
        help="post leads while killing every process in turn; prove nothing lost or doubled",
        description="Start an embedded Leadflow (supervised like `leadflow up`), post leads"
        " at a steady rate while SIGKILLing each service, PostgreSQL and the broker (twice)"
        " in turn, wait until the pipeline settles, then compare the acknowledged leads with"
        " the router's decisions, the webhooks the demo receiver got and the nurture"
        " enrolments. Exit 0 when nothing was lost or doubled. See docs/operations.md.",
    )
    chaos.add_argument("--leads", type=int, default=10_000, help="leads to post")
    chaos.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="leads per second (the outages must fit in leads / rate seconds)",
    )
    chaos.add_argument(
        "--targets", default="all",
        help="comma-separated, in order: all, services, capture, scorer, router, nurture,"
        " notifier, postgres, broker (= broker-long,broker-short), broker-long, broker-short",
    )  # fmt: skip
    chaos.add_argument(
        "--broker-long", type=float, default=90.0, help="seconds the broker stays down, first kill"
    )
    chaos.add_argument(
        "--broker-short", type=float, default=20.0, help="seconds it stays down, second kill"
    )
    chaos.add_argument(
        "--settle-timeout", type=float, default=600.0, help="seconds to wait after the load"
    )
    chaos.add_argument("--partitions", type=int, default=EMBEDDED_PARTITIONS)
    chaos.add_argument("--home", type=Path, help="data and logs (default: a temporary one)")
    chaos.add_argument("--keep-home", action="store_true", help="keep the temporary home")
    chaos.add_argument("--out", type=Path, help="also write the figures as JSON here")


def run(args: argparse.Namespace) -> int:
    """Run the fault suite as the options say."""
    import json

    from leadflow.chaos.plan import parse_faults
    from leadflow.chaos.run import ChaosOptions, run_chaos

    try:
        faults = parse_faults(args.targets, args.broker_long, args.broker_short)
    except ValueError as exc:
        raise SystemExit(f"leadflow chaos: {exc}") from exc
    opts = ChaosOptions(
        leads=args.leads, rate=args.rate, faults=faults, settle_timeout=args.settle_timeout,
        partitions=args.partitions, home=args.home, keep_home=args.keep_home,
    )  # fmt: skip
    report = asyncio.run(run_chaos(opts))
    print(json.dumps(report.as_dict(), indent=2))
    if args.out:
        args.out.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    print("OK: nothing lost, nothing doubled" if report.ok else "FAILED: see the figures above")
    return 0 if report.ok else 1
