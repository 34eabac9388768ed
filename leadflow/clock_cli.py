"""``leadflow clock``: drive the clock of a deployment started with ``LEADFLOW_CLOCK_FILE``.

Every service given that setting reads the time from the file (``shared.clock.FileClock``),
so ``leadflow clock advance 1d`` moves all of them a day forward at once: SLA timers, follow-up
touches, gone-cold scans and cool-offs fall due as they would a day later. Time only moves
forward. For tests and demos; a production deployment leaves the setting unset.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from shared import clock
from shared.config import parse_duration


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("clock", help="show, set or advance a driven clock (tests, demos)")
    parser.add_argument("--file", type=Path, help="the clock file (default: $LEADFLOW_CLOCK_FILE)")
    cmds = parser.add_subparsers(dest="clock_command", required=True)
    cmds.add_parser("show", help="the time the services read")
    at = cmds.add_parser("set", help="set the time (ISO-8601 with a zone); never back")
    at.add_argument("time", help="e.g. 2026-03-02T08:00:00+00:00")
    step = cmds.add_parser("advance", help="move the time forward by a duration")
    step.add_argument("by", help="a duration: 30s, 15m, 2h, 3d, 1w or combined (1h30m)")


def _file(args: argparse.Namespace) -> Path:
    path: Path | None = args.file
    if path is None and os.environ.get("LEADFLOW_CLOCK_FILE"):
        path = Path(os.environ["LEADFLOW_CLOCK_FILE"])
    if path is None:
        raise SystemExit("leadflow clock: give --file or set LEADFLOW_CLOCK_FILE")
    return path


def run(args: argparse.Namespace) -> int:
    """Show, set or advance the clock file; prints the time it holds afterwards."""
    path = _file(args)
    try:
        if args.clock_command == "set":
            at = datetime.fromisoformat(args.time)
            if at.tzinfo is None:
                raise SystemExit(f"leadflow clock set: {args.time!r} needs a zone (+00:00)")
            if path.exists() and at.astimezone(UTC) < clock.read_clock_file(path):
                raise SystemExit("leadflow clock set: the clock never goes back")
            clock.write_clock_file(path, at)
        elif args.clock_command == "advance":
            by = parse_duration(args.by)
            clock.write_clock_file(path, clock.read_clock_file(path) + by)
        print(clock.read_clock_file(path).isoformat())
    except (clock.FileClockError, ValueError) as exc:
        raise SystemExit(f"leadflow clock: {exc}") from None
    return 0
