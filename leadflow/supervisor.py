"""``leadflow up``: embedded PostgreSQL and broker, topics, migrations, five service processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from leadflow.banner import print_banner
from leadflow.demo_secrets import demo_secret_env
from leadflow.embedded import (
    EMBEDDED_PARTITIONS,
    EmbeddedKafka,
    EmbeddedPostgres,
    free_port,
    free_port_block,
    port_open,
    stop_process,
)
from leadflow.local_keys import RING_ENV, ensure_local_admin, ring_path
from leadflow.recycle import recycle_every
from leadflow.services import DEFAULT_PORTS, available_services, service_entry
from leadflow.watchdog import Watchdog, print_line
from shared.bus.admin import ensure_topics_with_retry
from shared.config import ServiceSettings
from shared.contracts.topics import all_topics
from shared.db.engine import make_engine
from shared.db.migrate import migrate

# The demo receiver's port, given to every process: the example config's demo
# subscriptions interpolate it into their URLs, so --webhook-sink-port moves them too.
SINK_PORT_ENV = "LEADFLOW_WEBHOOK_SINK_PORT"


@dataclass
class UpOptions:
    home: Path
    config_file: Path
    host: str = "127.0.0.1"
    capture_port: int = 8000
    kafka_port: int = 9092
    pg_port: int = 54329
    database_url: str | None = None  # use an external PostgreSQL instead of the embedded one
    kafka_bootstrap: str | None = None  # use an external Kafka instead of the embedded one
    partitions: int = EMBEDDED_PARTITIONS
    ready_timeout: float = 90.0
    sink_port: int | None = None  # run the demo webhook receiver on this port
    recycle_broker_s: float = 3600.0  # replace the embedded broker this often (0: never)
    extra_env: dict[str, str] = field(default_factory=dict)
    topic_prefix: str = ""  # LEADFLOW_TOPIC_PREFIX, for the topics made here and the services
    api_keys_file: Path | None = None  # default: leadflow.local_keys.ring_path(home)
    without: tuple[str, ...] = ()  # services not to start (bench: the cost of one service)


def service_ports(capture_port: int) -> dict[str, int]:
    """Services listen on consecutive ports from capture's (8000..8004 by default)."""
    offset = capture_port - DEFAULT_PORTS["capture"]
    return {name: port + offset for name, port in DEFAULT_PORTS.items()}


class Stack:
    """The running embedded deployment; also used by the e2e and fault tests."""

    def __init__(self, opts: UpOptions) -> None:
        self.key_ring = opts.api_keys_file or ring_path(opts.home)
        self.opts = opts
        self.pg: EmbeddedPostgres | None = None
        self.kafka: EmbeddedKafka | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports = service_ports(opts.capture_port)
        self.database_url = opts.database_url or ""
        self.bootstrap = opts.kafka_bootstrap or ""

    # -- infrastructure -------------------------------------------------------------
    def start_infrastructure(self) -> None:
        self.opts.home.mkdir(parents=True, exist_ok=True)
        # The example config's demo secrets, for the services and the demo receiver.
        given = {**os.environ, **self.opts.extra_env}
        self.opts.extra_env = {**demo_secret_env(self.opts.home, given), **self.opts.extra_env}
        if not self.database_url:
            self.pg = EmbeddedPostgres(self.opts.home / "pgdata", self.opts.pg_port)
            self.pg.start()
            self.database_url = self._ensure_database(self.pg)
        if not self.bootstrap:
            self.kafka = EmbeddedKafka(self.opts.kafka_port, self.opts.home / "broker.log")
            self.bootstrap = self.kafka.start()
        asyncio.run(self._prepare())

    def _ensure_database(self, pg: EmbeddedPostgres) -> str:
        url = pg.url.rsplit("/", 1)[0] + "/leadflow"
        try:
            pg.create_database("leadflow")
        except subprocess.CalledProcessError as exc:
            if b"already exists" not in (exc.stderr or b""):
                raise
        return url

    async def _prepare(self) -> None:
        await ensure_topics_with_retry(
            self.bootstrap, all_topics(self.opts.topic_prefix), self.opts.partitions, 1, timeout=30
        )
        for name in available_services():
            entry = service_entry(name)
            engine = make_engine(ServiceSettings(database_url=self.database_url).asyncpg_url, name)
            try:
                await migrate(engine, name, entry.migrations)
            finally:
                await engine.dispose()

    # -- services -------------------------------------------------------------------
    def env_for(self, name: str) -> dict[str, str]:
        return {
            **os.environ,
            **self.opts.extra_env,
            "LEADFLOW_DATABASE_URL": self.database_url,
            "LEADFLOW_KAFKA_BOOTSTRAP": self.bootstrap,
            "LEADFLOW_CONFIG_FILE": str(self.opts.config_file),
            "LEADFLOW_HOST": self.opts.host,
            "LEADFLOW_PORT": str(self.ports[name]),
            "LEADFLOW_KAFKA_PARTITIONS": str(self.opts.partitions),
            "LEADFLOW_TOPIC_PREFIX": self.opts.topic_prefix,
            RING_ENV: str(self.key_ring),
            # The embedded broker holds a group join for half the session timeout; a short
            # session also hands a killed consumer's partitions over sooner.
            "LEADFLOW_KAFKA_SESSION_TIMEOUT_MS": os.environ.get(
                "LEADFLOW_KAFKA_SESSION_TIMEOUT_MS", "6000"
            ),
            "LEADFLOW_KAFKA_HEARTBEAT_INTERVAL_MS": os.environ.get(
                "LEADFLOW_KAFKA_HEARTBEAT_INTERVAL_MS", "1000"
            ),
            # The example config's demo subscriptions point at this port (${...} in its URLs).
            **({SINK_PORT_ENV: str(self.opts.sink_port)} if self.opts.sink_port else {}),
        }

    def start_service(self, name: str) -> None:
        log_path = self.opts.home / f"{name}.log"
        with open(log_path, "ab") as out:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "leadflow", "run", name],
                env=self.env_for(name),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def restart_service(self, name: str, attempts: int = 3) -> None:
        """Start a stopped service again and wait until it is ready. Its port may have been
        taken while it was down (an outgoing connection can be given any free port number):
        then it moves to another free port."""
        log_path = self.opts.home / f"{name}.log"
        for attempt in range(attempts):
            seen = log_path.stat().st_size if log_path.exists() else 0
            self.start_service(name)
            try:
                self.wait_ready([name])
                return
            except SystemExit:
                with open(log_path, "rb") as log:
                    log.seek(seen)
                    taken = b"address already in use" in log.read()
                if attempt + 1 == attempts or not taken:
                    raise
                self.ports[name] = free_port()

    def start_sink(self) -> None:
        port = self.opts.sink_port
        if port is None or port_open(self.opts.host, port):
            return
        self._spawn_sink(port)
        self.ports["webhooks"] = port

    def _spawn_sink(self, port: int) -> None:
        env = {**os.environ, **self.opts.extra_env, SINK_PORT_ENV: str(port)}
        with open(self.opts.home / "webhooks.log", "ab") as out:
            self.procs["webhooks"] = subprocess.Popen(
                [sys.executable, "-m", "leadflow.sink", "--port", str(port),
                 "--config", str(self.opts.config_file)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def start_services(self) -> None:
        for name in available_services():
            if name in self.opts.without:
                continue
            port = self.ports[name]
            if port_open(self.opts.host, port):
                raise SystemExit(f"port {port} for {name} is already in use")
            self.start_service(name)

    def start_services_on_free_ports(self, attempts: int = 3) -> None:
        """Start the services and wait until they are ready, on a free block of ports: if a
        port of the block was taken between the check and the bind (seen under load), stop
        them and try another block."""
        for attempt in range(attempts):
            if attempt:
                self.opts.capture_port = free_port_block()
                self.ports.update(service_ports(self.opts.capture_port))
            try:
                self.start_services()
                self.wait_ready()
                return
            except SystemExit as exc:
                for name in available_services():
                    self.stop_service(name)
                taken = "already in use" in str(exc) or self._lost_a_port()
                if attempt + 1 == attempts or not taken:
                    raise

    def _lost_a_port(self) -> bool:
        return any(
            "address already in use" in (self.opts.home / f"{name}.log").read_text(errors="replace")
            for name in available_services()
            if (self.opts.home / f"{name}.log").exists()
        )

    def wait_ready(self, names: list[str] | None = None) -> None:
        deadline = time.monotonic() + self.opts.ready_timeout
        pending = list(names or self.procs)
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for name in list(pending):
                    proc = self.procs[name]
                    if proc.poll() is not None:
                        raise SystemExit(
                            f"{name} exited with {proc.returncode}; see {self.opts.home}/{name}.log"
                        )
                    try:
                        path = "/" if name == "webhooks" else "/readyz"
                        url = f"http://{self.opts.host}:{self.ports[name]}{path}"
                        if client.get(url).status_code == 200:
                            pending.remove(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise SystemExit(f"not ready after {self.opts.ready_timeout:.0f}s: {pending}")
                time.sleep(0.1)

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        stop_process(self.procs.get(name), sig, timeout)

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name in list(self.procs):
            self.stop_service(name)
        if self.kafka is not None:
            self.kafka.stop()
        if self.pg is not None:
            self.pg.stop()

    # -- supervision (leadflow.watchdog) ----------------------------------------------
    def children(self) -> list[str]:
        """Every process this stack started and keeps running."""
        return [*(["postgres"] if self.pg else []), *(["broker"] if self.kafka else []),
                *self.procs]  # fmt: skip

    def exit_status(self, name: str) -> int | None:
        """The child's exit status once it died (and reaps it), None while it runs."""
        if name == "postgres":
            return self.pg.poll() if self.pg else None
        if name == "broker":
            return self.kafka.poll() if self.kafka else None
        return self.procs[name].poll()

    def pid(self, name: str) -> int | None:
        if name == "postgres":
            return self.pg.pid if self.pg else None
        if name == "broker":
            return self.kafka.pid if self.kafka else None
        proc = self.procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def restart(self, name: str) -> None:
        """Start a dead child again: PostgreSQL on the same data directory and port, the
        broker on the same port (its topics created again with the configured partitions,
        as at start; the services would re-create them too), a service on its port. A
        PostgreSQL or broker that already runs again is not started twice."""
        if name == "postgres" and self.pg is not None:
            if self.pg.pid is None:
                self.pg.start()
        elif name == "broker" and self.kafka is not None:
            if self.kafka.pid is None:
                self.kafka.start()
            asyncio.run(
                ensure_topics_with_retry(
                    self.bootstrap, all_topics(), self.opts.partitions, 1, timeout=30
                )
            )
        elif name == "webhooks":
            self._spawn_sink(self.ports["webhooks"])
        else:
            self.start_service(name)

    def kill(self, name: str) -> None:
        """SIGKILL a child the way an operator's ``kill -9`` does: no wait, no reaping here
        (the watchdog notices, reaps and restarts it)."""
        pid = self.pid(name)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def urls(self) -> dict[str, str]:
        return {n: f"http://{self.opts.host}:{self.ports[n]}" for n in self.procs}


def run_up(opts: UpOptions) -> int:
    stack = Stack(opts)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        admin_key = ensure_local_admin(stack.key_ring)
        stack.start_infrastructure()
        stack.start_sink()
        stack.start_services()
        stack.wait_ready()
        print_banner(stack, admin_key)
        watchdog = Watchdog(stack)
        if stack.kafka is not None and opts.recycle_broker_s > 0:
            threading.Thread(
                target=recycle_every,
                args=(stack.kafka, opts.recycle_broker_s, stopping),
                kwargs={
                    "hold": lambda s: watchdog.hold("broker", s),
                    "say": print_line,
                    "prefix": opts.topic_prefix,
                },
                name="broker-recycle",
                daemon=True,
            ).start()
        watchdog.run(stopping)
    finally:
        print("\nStopping Leadflow...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0
