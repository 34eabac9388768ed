"""``leadflow dlq list|show|replay``: a service's dead letters, through its API.

The CLI is a client of ``/v1/dead-letters`` (``shared/dead_letter_api.py``) rather than of the
broker, so a replay from the terminal is checked, audited and counted like one from any other
tool. The service is ``--service`` at its default local port, or ``--url``; the key is
``--key`` or ``$LEADFLOW_KEY`` (scopes ``deadletters:read``, and ``deadletters:manage`` to
replay).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

from leadflow.services import DEFAULT_PORTS

CONSUMERS = ("scorer", "router", "nurture", "notifier", "insights")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("dlq", help="dead letters: list, show, replay (through the API)")
    parser.add_argument("--service", choices=CONSUMERS, required=True, help="whose letters")
    parser.add_argument("--url", help="the service's base URL (default: its local port)")
    parser.add_argument("--key", help="API key (default: $LEADFLOW_KEY)")
    cmds = parser.add_subparsers(dest="dlq_command", required=True)
    listing = cmds.add_parser("list", help="letters, newest first")
    listing.add_argument("--type", dest="event_type", help="event type, e.g. io.leadflow...")
    listing.add_argument("--lead", dest="subject", help="lead id")
    listing.add_argument("--error", help="text in the error")
    listing.add_argument("--since", help="dead from this time (ISO 8601)")
    listing.add_argument("--limit", type=int, default=100)
    show = cmds.add_parser("show", help="one letter: event, error, origin")
    show.add_argument("id", help="partition-offset, as list prints it")
    replay = cmds.add_parser("replay", help="put letters back on their original topic")
    replay.add_argument("ids", nargs="*", help="letter ids (or a filter below)")
    replay.add_argument("--type", dest="event_type")
    replay.add_argument("--lead", dest="subject")
    replay.add_argument("--error", dest="error_contains")
    replay.add_argument("--since")
    replay.add_argument("--all", action="store_true", help="every letter of the service")
    replay.add_argument("--reason", required=True, help="why (kept in the audit trail)")


def _client(args: argparse.Namespace) -> httpx.Client:
    key = args.key or os.environ.get("LEADFLOW_KEY")
    if not key:
        raise SystemExit("leadflow dlq: give --key or set LEADFLOW_KEY")
    url = args.url or f"http://127.0.0.1:{DEFAULT_PORTS[args.service]}"
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) not in (None, False)}


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        print(f"leadflow dlq: {response.status_code} {response.text}", file=sys.stderr)
        raise SystemExit(1)
    return response.json()


def run(args: argparse.Namespace) -> int:
    """List, show or replay; prints what the service answered."""
    with _client(args) as client:
        if args.dlq_command == "list":
            params = _given(args, "event_type", "subject", "error", "since", "limit")
            page = _answer(client.get("/v1/dead-letters", params=params))
            for x in page["letters"]:
                replays = f" replayed x{x['replays']}" if x["replays"] else ""
                head = f"{x['id']:>10}  {x['dead_at']}  {x['event_type'] or '-'}"
                print(f"{head}  {x['subject'] or '-'}{replays}\n{'':12}{x['error'][:160]}")
            print(f"{page['matched']} of {page['scanned']} letter(s)")
        elif args.dlq_command == "show":
            print(json.dumps(_answer(client.get(f"/v1/dead-letters/{args.id}")), indent=2))
        else:
            body = _given(args, "event_type", "subject", "error_contains", "since", "all")
            if args.ids:
                body["ids"] = args.ids
            body["reason"] = args.reason
            done = _answer(client.post("/v1/dead-letters:replay", json=body))
            print(f"replayed {len(done['replayed'])}: {' '.join(done['replayed'])}")
    return 0
