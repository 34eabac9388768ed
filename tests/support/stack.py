"""The five services as real processes on a test's own database and broker."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from leadflow.embedded import EmbeddedKafka, port_open
from leadflow.supervisor import Stack, UpOptions
from shared.config import DEFAULT_CONFIG_FILE


def free_port_block(size: int = 5) -> int:
    """A base port with ``size`` free consecutive ports (the services' layout)."""
    for _ in range(200):
        base = random.randint(20_000, 40_000)
        if not any(port_open("127.0.0.1", base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    """The example config with some sections replaced (e.g. the notifier's receiver URL)."""
    config = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    for key, value in overrides.items():
        config[key] = value
    path = tmp_path / "leadflow.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@asynccontextmanager
async def running_stack(
    database_url: str, broker: EmbeddedKafka, home: Path, config_file: Path
) -> AsyncIterator[Stack]:
    for attempt in range(3):
        stack = Stack(
            UpOptions(
                home=home,
                config_file=config_file,
                capture_port=free_port_block(),
                database_url=database_url,
                kafka_bootstrap=broker.bootstrap,
                partitions=3,
                ready_timeout=60,
                extra_env={"LEADFLOW_LOG_LEVEL": "INFO"},
            )
        )
        try:
            await asyncio.to_thread(stack.start_infrastructure)
            await asyncio.to_thread(stack.start_services)
            await asyncio.to_thread(stack.wait_ready)
        except SystemExit:
            await asyncio.to_thread(stack.stop)
            # a port of the block was taken between the check and the bind: another block
            if attempt == 2 or not _lost_a_port(home):
                raise
            continue
        break
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


def _lost_a_port(home: Path) -> bool:
    return any(
        "address already in use" in log.read_text(errors="replace") for log in home.glob("*.log")
    )
