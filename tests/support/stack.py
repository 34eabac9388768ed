"""The five services as real processes on a test's own database, on a broker under the
test's own topic prefix (:class:`~tests.support.kafka.Bus`); leads in over HTTP, decisions
read off the topics the way a sales tool would."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from leadflow.embedded import free_port, free_port_block
from leadflow.supervisor import Stack, UpOptions, service_ports
from shared.config import DEFAULT_CONFIG_FILE
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_ROUTED_TO_NURTURE
from tests.support.kafka import Bus

ASSIGNED = LEAD_ASSIGNED
NURTURED = LEAD_ROUTED_TO_NURTURE


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
    database_url: str,
    bus: Bus,
    home: Path,
    config_file: Path,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """The services on ``database_url`` and ``bus``; ``extra_env`` adds settings for
    every process (e.g. ``LEADFLOW_CLOCK_FILE``, to drive their time from the test)."""
    stack = Stack(
        UpOptions(
            home=home,
            config_file=config_file,
            capture_port=free_port_block(),
            database_url=database_url,
            kafka_bootstrap=bus.bootstrap,
            topic_prefix=bus.prefix,
            partitions=3,
            ready_timeout=60,
            extra_env={"LEADFLOW_LOG_LEVEL": "INFO", **(extra_env or {})},
        )
    )
    try:
        await asyncio.to_thread(stack.start_infrastructure)
        await asyncio.to_thread(stack.start_services_on_free_ports)
    except BaseException:
        await asyncio.to_thread(stack.stop)
        raise
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


class LeadflowUp:
    """``leadflow up`` as a real process on free ports, its output collected line by line."""

    def __init__(
        self, home: Path, extra_args: list[str] | None = None, own_keys: bool = False
    ) -> None:
        """``own_keys``: as a user runs it, with the key ring of its home (made on the first
        start, its admin key printed) instead of the test session's ring."""
        self.home = home
        self.own_keys = own_keys
        self.capture_port = free_port_block()
        self.kafka_port, self.pg_port, self.sink_port = free_port(), free_port(), free_port()
        self.ports = service_ports(self.capture_port)
        self.lines: list[str] = []
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[str] | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def sink_url(self) -> str:
        return f"http://127.0.0.1:{self.sink_port}"

    def start(self) -> None:
        env = dict(os.environ)
        if self.own_keys:
            env.pop("LEADFLOW_API_KEYS_FILE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "up", "--home", str(self.home),
             "--port", str(self.capture_port), "--kafka-port", str(self.kafka_port),
             "--pg-port", str(self.pg_port), "--webhook-sink-port", str(self.sink_port),
             *self.extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env=env,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    async def wait_line(self, pattern: str, timeout: float = 60.0, after: int = 0) -> str:
        """The first output line from index ``after`` on that matches ``pattern`` (regex)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for line in self.lines[after:]:
                if re.search(pattern, line):
                    return line
            if self.proc is not None and self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        output = "\n".join(self.lines[-40:])
        raise AssertionError(f"no line matching {pattern!r} after {timeout}s:\n{output}")

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


@asynccontextmanager
async def leadflow_up(
    home: Path, extra_args: list[str] | None = None, own_keys: bool = False
) -> AsyncIterator[LeadflowUp]:
    """A running ``leadflow up`` (the banner printed), stopped with SIGTERM on exit.

    Its ports are free when chosen, but an outgoing connection can be given one of them
    before a service binds it (seen in CI): then it starts again on another block, as a
    first start again if it was one (the key ring it made is removed)."""
    ring = home / "api-keys.json"  # own_keys: the ring of its home (ring_path's default)
    for attempt in range(3):
        first_start = not ring.exists()
        seen = _log_sizes(home)
        up = LeadflowUp(home, extra_args, own_keys)
        up.start()
        try:
            await up.wait_line(r"^Leadflow is up\.", timeout=180)
        except AssertionError:
            await asyncio.to_thread(up.stop)
            taken = any("already in use" in line for line in up.lines)  # before it started
            if attempt == 2 or not (taken or _port_taken_since(home, seen)):  # or at the bind
                raise
            if first_start and own_keys:
                ring.unlink(missing_ok=True)
            continue
        break
    try:
        yield up
    finally:
        await asyncio.to_thread(up.stop)


def _log_sizes(home: Path) -> dict[Path, int]:
    return {log: log.stat().st_size for log in home.glob("*.log")}


def _port_taken_since(home: Path, sizes: dict[Path, int]) -> bool:
    """Whether a service of ``home`` wrote, since ``sizes``, that its port was taken."""
    for log in home.glob("*.log"):
        with open(log, "rb") as f:
            f.seek(sizes.get(log, 0))
            if b"address already in use" in f.read():
                return True
    return False


def outcomes(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """lead id -> the distinct decisions taken for it (assignment ids, or 'nurture')."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.get("type") == "io.leadflow.lead.assigned.v1":
            out[r["subject"]].add(r["data"]["assignment_id"])
        elif r.get("type") == "io.leadflow.lead.routed_to_nurture.v1":
            out[r["subject"]].add("nurture")
    return out


async def post_leads(client: httpx.AsyncClient, leads: list[dict[str, Any]]) -> list[str]:
    ids = []
    for lead in leads:
        resp = await client.post("/v1/leads", json=lead)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["lead_id"])
    return ids
