"""The ``leadflow`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from leadflow import clock_cli, dlq_cli, keys_cli
from leadflow.bench import cli as bench_cli
from leadflow.chaos import cli as chaos_cli
from leadflow.embedded import EMBEDDED_PARTITIONS
from shared.config import DEFAULT_CONFIG_FILE, ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leadflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run everything on the embedded PostgreSQL and broker")
    up.add_argument("--home", type=Path, default=Path(".leadflow"), help="data and logs")
    up.add_argument("--config", type=Path, default=DEFAULT_CONFIG_FILE, help="YAML config")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000, help="capture's port; others follow")
    up.add_argument("--kafka-port", type=int, default=9092)
    up.add_argument("--pg-port", type=int, default=54329)
    up.add_argument("--database-url", help="use this PostgreSQL instead of the embedded one")
    up.add_argument("--kafka-bootstrap", help="use this Kafka instead of the embedded broker")
    up.add_argument(
        "--partitions", type=int, default=EMBEDDED_PARTITIONS,
        help="partitions of each topic when the topics are created",
    )  # fmt: skip
    up.add_argument(
        "--webhook-sink-port", type=int, default=8099,
        help="demo webhook receiver (the example subscription points here); 0 to skip",
    )  # fmt: skip
    up.add_argument(
        "--recycle-broker-every", type=float, default=3600.0, metavar="SECONDS",
        help="replace the embedded broker with an empty one this often, once every consumer"
        " group has caught up (bounds its memory; services republish); 0 never",
    )  # fmt: skip

    run = sub.add_parser("run", help="run one service against external Kafka and PostgreSQL")
    run.add_argument("service")
    run.add_argument("--host")
    run.add_argument("--port", type=int)

    sub.add_parser("migrate", help="apply every service's migrations (LEADFLOW_DATABASE_URL)")
    topics = sub.add_parser("topics", help="create every topic (LEADFLOW_KAFKA_BOOTSTRAP)")
    topics.add_argument("--partitions", type=int, default=6)
    topics.add_argument("--replication", type=int, default=1)
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("file", type=Path, nargs="?", default=DEFAULT_CONFIG_FILE)
    keys_cli.add_parser(sub)
    clock_cli.add_parser(sub)
    dlq_cli.add_parser(sub)
    docs = sub.add_parser(
        "docs", help="write docs/asyncapi.yaml, docs/openapi/*.json and the k8s ConfigMap"
    )
    docs.add_argument("--check", action="store_true", help="exit 1 if a committed file is stale")
    docs.add_argument("--root", type=Path, default=Path("."), help="repository root")
    insights = sub.add_parser("insights", help="the insights read model")
    insights_sub = insights.add_subparsers(dest="insights_command", required=True)
    insights_sub.add_parser(
        "rebuild",
        help="recompute the read model from the topics into fresh tables, then swap them in"
        " (LEADFLOW_DATABASE_URL, LEADFLOW_KAFKA_BOOTSTRAP)",
    )
    bench_cli.add_parser(sub)
    chaos_cli.add_parser(sub)

    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "run":
            return _run(args)
        if args.command == "migrate":
            return asyncio.run(_migrate())
        if args.command == "topics":
            return asyncio.run(_topics(args.partitions, args.replication))
        if args.command == "check-config":
            return _check_config(args.file)
        if args.command == "keys":
            return keys_cli.run(args)
        if args.command == "clock":
            return clock_cli.run(args)
        if args.command == "dlq":
            return dlq_cli.run(args)
        if args.command == "docs":
            return _docs(args.root, check=args.check)
        if args.command == "insights":
            return asyncio.run(_insights_rebuild())
        if args.command == "bench":
            return bench_cli.run(args)
        if args.command == "chaos":
            return chaos_cli.run(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    return 1


def _up(args: argparse.Namespace) -> int:
    from leadflow.demo_secrets import demo_secret_env
    from leadflow.supervisor import UpOptions, run_up
    from shared.config import ServiceSettings

    home = args.home.resolve()
    # The example config's demo secrets: made once in the home, inherited by every child.
    os.environ.update(demo_secret_env(home, os.environ))
    _check_config(args.config, quiet=True)
    return run_up(
        UpOptions(
            home=home,
            config_file=args.config.resolve(),
            host=args.host,
            capture_port=args.port,
            kafka_port=args.kafka_port,
            pg_port=args.pg_port,
            database_url=args.database_url,
            kafka_bootstrap=args.kafka_bootstrap,
            partitions=args.partitions,
            sink_port=args.webhook_sink_port or None,
            recycle_broker_s=args.recycle_broker_every,
            topic_prefix=ServiceSettings().topic_prefix,
        )
    )


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from leadflow.services import service_entry
    from shared.bus.admin import forbid_topic_auto_creation

    forbid_topic_auto_creation()  # a service process: only ensure_topics makes topics
    entry = service_entry(args.service)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = entry.settings_cls(**overrides)
    if settings.process_nice:  # a background service gives way to the latency path
        os.nice(settings.process_nice)
    app = entry.create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    return 0


async def _migrate() -> int:
    from leadflow.services import available_services, service_entry
    from shared.config import ServiceSettings
    from shared.db.engine import make_engine
    from shared.db.migrate import migrate

    url = ServiceSettings().asyncpg_url
    for name in available_services():
        engine = make_engine(url, name)
        try:
            applied = await migrate(engine, name, service_entry(name).migrations)
        finally:
            await engine.dispose()
        print(f"{name}: {len(applied)} migration(s) applied")
    return 0


async def _insights_rebuild() -> int:
    from services.insights.config import Settings
    from services.insights.rebuild import rebuild

    report = await rebuild(Settings())
    print(
        f"insights rebuilt: {report.events} event(s) replayed, {report.caught_up} caught up"
        f" after the swap, {report.leads} lead(s)"
    )
    return 0


async def _topics(partitions: int, replication: int) -> int:
    from shared.bus.admin import ensure_topics
    from shared.config import ServiceSettings
    from shared.contracts.topics import all_topics

    settings = ServiceSettings()
    created = await ensure_topics(
        settings.kafka_bootstrap, all_topics(settings.topic_prefix), partitions, replication
    )
    print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
    return 0


def _check_config(path: Path, quiet: bool = False) -> int:
    import importlib

    from leadflow.services import available_services
    from shared.config import read_config_file

    read_config_file(path)  # YAML errors first
    for name in available_services():
        config = importlib.import_module(f"services.{name}.config")
        loader = getattr(config, f"load_{name}_config", None)
        if loader is not None:
            loader(path)
    if not quiet:
        print(f"{path}: valid")
    return 0


def _docs(root: Path, *, check: bool) -> int:
    from leadflow.docgen import generated_files, stale_files, write_files

    files = generated_files(root)
    if check:
        stale = stale_files(root, files)
        if stale:
            names = "\n  ".join(str(p) for p in stale)
            print(f"stale generated file(s); run `leadflow docs`:\n  {names}", file=sys.stderr)
            return 1
        print(f"{len(files)} generated file(s) up to date")
        return 0
    touched = write_files(root, files)
    print(f"{len(touched)} file(s) written or removed: {', '.join(map(str, touched)) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
