"""The Leadflow under test: the bench's own embedded one, or one that is already running.

The embedded target is ``leadflow up`` in a temporary home on free ports, with a copy of
``examples/leadflow.yaml`` in which the notifier's subscription posts to the bench's own
webhook receiver, and the demo-only 30-second nurture touch interval is removed (it would
add a stream of nurture webhooks unrelated to the leads being measured). Its services check
a key ring of their own in that home (not ``$LEADFLOW_API_KEYS_FILE``, which may be a ring
the developer shares with other stacks), holding one key for the bench: ``leads:write``,
with no rate limit, so the bench measures the pipeline and not the limiter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from leadflow.bench.resources import Watched
from leadflow.embedded import free_port, free_port_block
from leadflow.local_keys import issue
from leadflow.supervisor import Stack, UpOptions
from shared.auth.scopes import Scope
from shared.config import DEFAULT_CONFIG_FILE

HOOK_PATH = "/hooks/leadflow"
BENCH_KEY_ID = "bench"
BENCH_SCOPES = (Scope.LEADS_WRITE.value,)  # all the bench does is post leads


@dataclass
class Target:
    """Where to send leads and read events, and which processes to watch."""

    capture_url: str
    bootstrap: str
    database_url: str | None
    api_key: str | None  # sent as a bearer token to the services (never to the receiver)
    watched: list[Watched] = field(default_factory=list)
    receiver_url: str | None = None
    home: Path | None = None
    description: str = ""


def bench_config(receiver_url: str) -> dict[str, Any]:
    """The example config, its webhook subscriptions pointed at the bench's receiver (which
    the SSRF guard is told to let through: it is on this machine)."""
    config: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    notifier = config.setdefault("notifier", {})
    for sub in notifier.get("subscriptions", []):
        if sub.get("enabled", True) and sub.get("channel", "webhook") == "webhook":
            sub["url"] = receiver_url + HOOK_PATH
    allowed = notifier.get("allow_private_targets") or []
    notifier["allow_private_targets"] = [*allowed, urlsplit(receiver_url).netloc]
    for seq in config.get("nurture", {}).get("sequences", []):
        seq.pop("touch_interval", None)
    return config


class EmbeddedTarget:
    """Starts PostgreSQL, the broker, the services (all but ``without``) and the receiver;
    stops them all."""

    def __init__(
        self, partitions: int, keep_home: bool = False, without: tuple[str, ...] = ()
    ) -> None:
        self.partitions = partitions
        self.keep_home = keep_home
        self.without = without
        self.home = Path(tempfile.mkdtemp(prefix="leadflow-bench-"))
        self.stack: Stack | None = None
        self.receiver: subprocess.Popen[bytes] | None = None

    def start(self) -> Target:
        receiver_port = free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        self._start_receiver(receiver_port)
        config_file = self.home / "leadflow.yaml"
        config_file.write_text(yaml.safe_dump(bench_config(receiver_url), sort_keys=False))
        self.stack = Stack(
            UpOptions(
                home=self.home,
                config_file=config_file,
                capture_port=free_port_block(),
                kafka_port=free_port(),
                pg_port=free_port(),
                partitions=self.partitions,
                api_keys_file=self.home / "api-keys.json",
                without=self.without,
            )
        )
        # Before the services start, so their first look at the ring finds the key.
        api_key = issue(self.stack.key_ring, BENCH_KEY_ID, BENCH_SCOPES, rate_per_s=0)
        self.stack.start_infrastructure()
        self.stack.start_services_on_free_ports()
        self._wait_receiver(receiver_url)
        return Target(
            capture_url=self.stack.urls()["capture"],
            bootstrap=self.stack.bootstrap,
            database_url=self.stack.database_url,
            api_key=api_key,
            watched=self._watched(),
            receiver_url=receiver_url,
            home=self.home,
            description="embedded (PostgreSQL + Tansu + 5 services on this machine)",
        )

    def _start_receiver(self, port: int) -> None:
        with open(self.home / "receiver.log", "ab") as out:
            self.receiver = subprocess.Popen(
                [sys.executable, "-m", "leadflow.bench.receiver", "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_receiver(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def _watched(self) -> list[Watched]:
        assert self.stack is not None
        watched = [Watched(name, proc.pid) for name, proc in self.stack.procs.items()]
        broker_pid = self.stack.kafka.pid if self.stack.kafka is not None else None
        if broker_pid is not None:
            watched.append(Watched("broker", broker_pid))
        pid_file = self.home / "pgdata" / "postmaster.pid"
        if pid_file.exists():
            watched.append(Watched("postgres", int(pid_file.read_text().split()[0]), tree=True))
        if self.receiver is not None:
            watched.append(Watched("receiver", self.receiver.pid))
        return watched

    def stop(self, failed: bool = False) -> None:
        if self.stack is not None:
            self.stack.stop()
        if self.receiver is not None and self.receiver.poll() is None:
            self.receiver.terminate()
            try:
                self.receiver.wait(10)
            except subprocess.TimeoutExpired:
                self.receiver.kill()
        if not (self.keep_home or failed):
            shutil.rmtree(self.home, ignore_errors=True)


def external_target(
    capture_url: str,
    bootstrap: str,
    database_url: str | None,
    pids: dict[str, int],
    api_key: str,
) -> Target:
    """A Leadflow someone else runs; CPU is known only for the ``--pids`` given."""
    watched = [Watched(name, pid, tree=name == "postgres") for name, pid in pids.items()]
    return Target(
        capture_url=capture_url.rstrip("/"),
        bootstrap=bootstrap,
        database_url=database_url,
        api_key=api_key,
        watched=watched,
        description=f"external ({capture_url}, Kafka {bootstrap})",
    )


def parse_pids(text: str | None) -> dict[str, int]:
    """``name=pid,name=pid`` as given to ``--pids``."""
    pids: dict[str, int] = {}
    for item in filter(None, (text or "").split(",")):
        name, sep, pid = item.partition("=")
        if not sep or not pid.strip().isdigit():
            raise ValueError(f"--pids wants name=pid[,name=pid...], not {item!r}")
        pids[name.strip()] = int(pid)
    return pids
