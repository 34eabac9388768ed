"""``leadflow keys``: the API keys of the key ring every service checks (new, list, rotate,
revoke, scopes), and ``source`` for a capture source's own key.

The ring is ``--file``, else ``LEADFLOW_API_KEYS_FILE``, else ``.leadflow/api-keys.json``
(where ``leadflow up`` keeps it). A new or rotated key is printed once; only its hash is
written. Services see the change within a second (``shared.auth.keyring``)."""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from shared import clock
from shared.auth import keyring, keys
from shared.auth.scopes import SCOPE_HELP, parse_scopes
from shared.config import parse_duration


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keys", help="API keys: new, list, rotate, revoke, scopes, source")
    cmds = parser.add_subparsers(dest="keys_command", required=True)

    def ring_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--file", type=Path,
            help="the key ring (default: $LEADFLOW_API_KEYS_FILE, else .leadflow/api-keys.json)",
        )  # fmt: skip

    new = cmds.add_parser("new", help="make a key; it is printed once")
    new.add_argument("id", help="the key's id, recorded in the audit trail as key:<id>")
    new.add_argument(
        "--scope", action="append", required=True, dest="scopes",
        help="a scope it may use (repeat; `leadflow keys scopes` lists them; * for all)",
    )  # fmt: skip
    new.add_argument("--owner", default="", help="who holds it (a team, a tool)")
    new.add_argument("--expires", help="expiry: a date/time (2027-06-01) or a duration (90d)")
    new.add_argument("--rate", type=float, help="requests/second it may make (0: no limit)")
    new.add_argument("--burst", type=int, help="requests it may make in a burst")
    ring_option(new)

    listing = cmds.add_parser("list", help="the keys, their scopes and state (no secrets)")
    ring_option(listing)

    rotate = cmds.add_parser("rotate", help="a new secret; the old one works for --overlap")
    rotate.add_argument("id")
    rotate.add_argument("--overlap", default="24h", help="how long the old secret keeps working")
    ring_option(rotate)

    revoke = cmds.add_parser("revoke", help="stop a key at once (every secret of it)")
    revoke.add_argument("id")
    ring_option(revoke)

    cmds.add_parser("scopes", help="the scopes and what each allows")

    source = cmds.add_parser("source", help="a key for a capture source (config line)")
    source.add_argument("--id", default="key-1", help="the key's id in the source's config")
    source.add_argument("--expires", help="optional expiry, e.g. 2027-06-01")


def run(args: argparse.Namespace) -> int:
    command = args.keys_command
    if command == "scopes":
        for scope, help_text in SCOPE_HELP.items():
            print(f"{scope.value:<18} {help_text}")
        print(f"{'*':<18} every scope (the local admin key of `leadflow up`)")
        return 0
    if command == "source":
        return _source_key(args.id, args.expires)
    ring = _ring(args.file)
    try:
        if command == "list":
            return _list(ring)
        with keyring.locked(ring):
            current = keyring.read_keys(ring)
            now = clock.now()
            secret: str | None = None
            if command == "new":
                secret = keys.new_secret()
                updated = keys.create(
                    current, key_id=args.id, owner=args.owner, now=now, secret=secret,
                    scopes=parse_scopes(args.scopes), expires_at=_expiry(args.expires, now),
                    rate_per_s=args.rate, burst=args.burst,
                )  # fmt: skip
            elif command == "rotate":
                secret = keys.new_secret()
                overlap = parse_duration(args.overlap)
                updated = keys.rotate(current, args.id, now=now, overlap=overlap, secret=secret)
            else:
                updated = keys.revoke(current, args.id, now=now)
            keyring.write_keys(ring, updated)
    except (keys.KeyRingError, ValueError) as exc:
        raise SystemExit(f"leadflow keys {command}: {exc}") from None
    if secret is not None:
        print(f"key {args.id} (shown once; only its hash is stored in {ring}):")
        print(secret)
        if command == "rotate":
            print(f"the previous secret keeps working for {args.overlap}")
    else:
        print(f"key {args.id} revoked")
    return 0


def _ring(given: Path | None) -> Path:
    if given is not None:
        return given
    env = os.environ.get("LEADFLOW_API_KEYS_FILE")
    return Path(env) if env else Path(".leadflow") / "api-keys.json"


def _expiry(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=now.tzinfo)


def _list(ring: Path) -> int:
    now = clock.now()
    found = keyring.read_keys(ring)
    if not found:
        print(f"no keys in {ring}")
        return 0
    print(f"{'ID':<20} {'STATE':<8} {'SCOPES':<40} {'SECRETS':<8} {'EXPIRES':<26} OWNER")
    for key in found:
        live = [s for s in key.secrets if s.expires_at is None or s.expires_at > now]
        expires = key.expires_at.isoformat() if key.expires_at else "-"
        print(
            f"{key.id:<20} {key.status(now):<8} {','.join(key.scopes):<40} "
            f"{len(live):<8} {expires:<26} {key.owner}"
        )
    return 0


def _source_key(key_id: str, expires: str | None) -> int:
    """A random key for a source: shown once; only its hash goes in the config file."""
    from services.capture.sources.auth import hash_api_key, new_api_key

    if expires is not None:
        try:
            datetime.fromisoformat(expires)
        except ValueError:
            raise SystemExit(f"leadflow keys source: --expires {expires!r} is not a date") from None
    key = new_api_key()
    entry = f'{{id: {key_id}, hash: "{hash_api_key(key)}"' + (
        f", expires: {expires}}}" if expires else "}"
    )
    print(f"key (give it to the sender; it is not stored anywhere): {key}")
    print("add under the source's auth.api_keys:")
    print(f"  - {entry}")
    return 0
