"""One service as several real OS processes (``leadflow run <service>``), each on its own
port, all in one consumer group on the same database and broker; a test can SIGKILL and
restart any of them and read each one's ``/metrics``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from leadflow.embedded import free_port, stop_process
from shared.bus.admin import ensure_topics
from shared.contracts.topics import all_topics
from tests.support.kafka import Bus
from tests.support.metrics import read_metric_at


@dataclass
class ServiceProcess:
    """``leadflow run <service>`` as a child process, logging to ``log_file``."""

    name: str
    service: str
    port: int
    env: dict[str, str]
    log_file: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        with open(self.log_file, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "leadflow", "run", self.service],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, whatever is in hand is lost mid-flight."""
        self._signal(signal.SIGKILL, timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (graceful shutdown), SIGKILL if it does not exit in time."""
        self._signal(signal.SIGTERM, timeout)

    def _signal(self, sig: int, timeout: float) -> None:
        stop_process(self.proc, sig, timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll ``/readyz`` until 200; fail loudly (with the log) if it exits or times out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=1.0) as client:
            while True:
                if self.proc is None or self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise AssertionError(
                        f"{self.name} not ready after {timeout}s\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)

    async def counter(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus counter's samples whose labels include ``labels``."""
        return await read_metric_at(self.url, name, **labels)


def service_env(
    *,
    database_url: str,
    bus: Bus,
    config_file: Path,
    port: int,
    partitions: int,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """What ``leadflow run`` reads (shared/config.py); the rest of the environment passes
    through, including the short Kafka session the test session sets (tests/conftest.py)."""
    return {
        **os.environ,
        "LEADFLOW_DATABASE_URL": database_url,
        **bus.env,
        "LEADFLOW_CONFIG_FILE": str(config_file),
        "LEADFLOW_HOST": "127.0.0.1",
        "LEADFLOW_PORT": str(port),
        "LEADFLOW_KAFKA_PARTITIONS": str(partitions),
        "LEADFLOW_LOG_LEVEL": "INFO",
        **(extra or {}),
    }


@asynccontextmanager
async def running_replicas(
    service: str,
    count: int,
    *,
    database_url: str,
    bus: Bus,
    config_file: Path,
    home: Path,
    partitions: int = 6,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> AsyncIterator[list[ServiceProcess]]:
    """``count`` processes of one service, started together and ready; stopped on exit.

    Every topic is created first with ``partitions`` partitions (the replicas would create
    them too, with the same ``LEADFLOW_KAFKA_PARTITIONS``), so the count is known up front.
    """
    home.mkdir(parents=True, exist_ok=True)
    await ensure_topics(bus.bootstrap, all_topics(bus.prefix), partitions)
    procs = []
    for i in range(1, count + 1):
        port = free_port()
        env = service_env(
            database_url=database_url, bus=bus, config_file=config_file,
            port=port, partitions=partitions, extra=extra_env,
        )  # fmt: skip
        procs.append(
            ServiceProcess(f"{service}-{i}", service, port, env, home / f"{service}-{i}.log")
        )
    try:
        for p in procs:
            p.start()
        await asyncio.gather(*(p.wait_ready(ready_timeout) for p in procs))
        yield procs
    finally:
        for p in procs:  # SIGTERM all first so they shut down in parallel
            if p.running and p.proc is not None:
                p.proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in procs))


async def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    """The consumer group's state (e.g. ``Stable``) and how many members it has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="leadflow-test")
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    for response in responses:
        for error_code, group_id, state, _ptype, _protocol, members in response.groups:
            if group_id == group and error_code == 0:
                return str(state), len(members)
    return "Unknown", 0


async def wait_group_stable(
    bootstrap: str, group: str, members: int, timeout: float = 30.0
) -> None:
    """Until the group has settled (``Stable``) with exactly ``members`` members, so that
    partitions are spread over all of them before the test produces its load."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = ("Unknown", 0)
    while loop.time() < deadline:
        seen = await group_members(bootstrap, group)
        if seen == ("Stable", members):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"group {group!r} not Stable with {members} members: {seen}")


@dataclass(frozen=True)
class ChildInfo:
    """A child process as ``/proc`` shows it: its state letter (``Z`` = zombie) and command."""

    pid: int
    state: str
    cmdline: str


def child_processes(ppid: int) -> list[ChildInfo]:
    """The direct children of ``ppid``, zombies included (Linux ``/proc``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2 :].split()
        if int(rest[1]) == ppid:
            out.append(ChildInfo(int(entry.name), rest[0], cmdline.strip()))
    return out
