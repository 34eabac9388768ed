"""Real infrastructure for tests: PostgreSQL and a Kafka-protocol broker, never fakes.

By default both are embedded (started here, on free ports). Point
``LEADFLOW_TEST_DATABASE_URL`` (a server URL; each test gets its own fresh database on it)
and ``LEADFLOW_TEST_KAFKA_BOOTSTRAP`` at external ones to use those instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from leadflow.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from tests.support.auth import install_test_ring
from tests.support.kafka import Bus

# Per-test deadline of e2e tests (the five services as processes); others get pytest's
# `timeout` from pyproject.toml.
E2E_TIMEOUT_S = 300

# The embedded broker holds a consumer-group join for half the session timeout: keep it short
# in tests (services started in-process and as subprocesses both read these).
os.environ.setdefault("LEADFLOW_KAFKA_SESSION_TIMEOUT_MS", "3000")
os.environ.setdefault("LEADFLOW_KAFKA_HEARTBEAT_INTERVAL_MS", "500")
# Every service started by a test (in-process or as a process) checks this key ring.
install_test_ring()
# The example config names its demo webhook secret (${LEADFLOW_DEMO_WEBHOOK_SECRET}); services a
# test starts on that config get this one (leadflow up makes its own when none is set).
os.environ.setdefault(
    "LEADFLOW_DEMO_WEBHOOK_SECRET", "whsec_bGVhZGZsb3ctdGVzdC1zZXNzaW9uLXNlY3JldC0xMjM0"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database."""
    external = os.environ.get("LEADFLOW_TEST_DATABASE_URL")
    if external:
        yield external
        return
    # Not under pytest's basetemp: pytest makes its root 0700 whenever a session starts, which
    # would lock out the unprivileged user PostgreSQL runs as (when tests run as root).
    home = Path(tempfile.mkdtemp(prefix="leadflow-test-pg-"))
    home.chmod(0o755)
    pg = EmbeddedPostgres(home / "data", free_port(), fsync=False)
    pg.start()
    try:
        yield pg.url
    finally:
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)


async def create_database(server_url: str) -> str:
    name = f"lf_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def database_url(pg_server_url: str) -> str:
    """A fresh, empty database for this test."""
    return await create_database(pg_server_url)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker shared by the session; tests that use it make their own unique topics, or
    run their services under a topic prefix of their own (``bus``)."""
    external = os.environ.get("LEADFLOW_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = EmbeddedKafka(free_port(), tmp_path_factory.mktemp("kafka") / "broker.log")
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
async def bus(kafka_bootstrap: str, unique: str) -> AsyncIterator[Bus]:
    """The session's broker, under a topic prefix of this test's own: services given
    ``bus.settings`` (or ``bus.env``) publish and consume only this test's topics, which are
    deleted after the test."""
    bus = Bus(kafka_bootstrap, f"t{unique}.")
    yield bus
    await bus.delete_topics()


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A broker of this test's own, for tests that kill or restart it (a shared one would
    take every other test's topics down with it); otherwise use ``bus``."""
    broker = EmbeddedKafka(free_port(), tmp_path / "broker.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def pg_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()
