"""Stacks on chosen free ports (tests, the bench) survive a port taken before the bind."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from leadflow.embedded import free_port_block
from leadflow.supervisor import Stack, UpOptions, service_ports
from tests.conftest import create_database
from tests.support import stack as stack_support
from tests.support.auth import admin_client
from tests.support.kafka import Bus
from tests.support.stack import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


async def test_services_move_to_another_block_when_one_of_their_ports_is_taken(
    pg_server_url: str, bus: Bus, tmp_path: Path
) -> None:
    base = free_port_block()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", service_ports(base)["nurture"]))
    squatter.listen()
    stack = Stack(
        UpOptions(
            home=tmp_path, config_file=write_config(tmp_path), capture_port=base,
            database_url=await create_database(pg_server_url),
            kafka_bootstrap=bus.bootstrap, topic_prefix=bus.prefix, partitions=2, ready_timeout=60,
        )
    )  # fmt: skip
    try:
        await asyncio.to_thread(stack.start_infrastructure)
        await asyncio.to_thread(stack.start_services_on_free_ports)
        assert stack.opts.capture_port != base
        async with admin_client() as client:
            for name, url in stack.urls().items():
                assert (await client.get(f"{url}/readyz")).status_code == 200, name
    finally:
        squatter.close()
        await asyncio.to_thread(stack.stop)


async def test_leadflow_up_in_a_test_starts_again_when_a_port_was_taken_before_its_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test helper around ``leadflow up`` (tests/support/stack.py) takes another block
    when a service finds its port taken, and a first start stays a first start (its key)."""
    base = free_port_block()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", service_ports(base)["router"]))
    squatter.listen()
    blocks = iter([base])
    monkeypatch.setattr(
        stack_support, "free_port_block", lambda: next(blocks, None) or free_port_block()
    )
    try:
        async with stack_support.leadflow_up(tmp_path / "home", own_keys=True) as up:
            assert up.capture_port != base
            key = await up.wait_line(r"export LEADFLOW_KEY=lfk_")
            assert key.strip().startswith("export LEADFLOW_KEY=lfk_")
    finally:
        squatter.close()
