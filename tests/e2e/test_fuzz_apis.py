"""Every service's committed OpenAPI document, fuzzed by schemathesis with all its checks
against the real service (a ``leadflow run <service>`` process on its own database and the
broker): no 5xx, and every answer is one the document declares (status, headers, content
type, body), valid input is accepted, invalid input refused, and each refusal says what is
wrong in the shared error shape (:mod:`tests.support.fuzz_checks`, which also holds the
one failure filter: a valid request refused by a rule no JSON Schema can state).

schemathesis runs as CI would run it, its command line (``schemathesis run``) over the
committed document (``leadflow docs --check`` keeps it equal to the app's own), with every
phase: the schema's examples, its coverage cases (boundaries, missing headers, methods the
path does not allow), random fuzzing, and stateful sequences (create, read, delete, read).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflow.embedded import free_port
from leadflow.services import available_services
from shared.config import DEFAULT_CONFIG_FILE
from tests.conftest import create_database
from tests.support.auth import fuzz_credentials
from tests.support.kafka import Bus
from tests.support.processes import ServiceProcess, service_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs" / "openapi"
HOOKS = "tests.support.fuzz_checks"  # Leadflow's own checks, beside schemathesis' own
# Test cases per operation and phase: enough to reach every documented answer of these
# small schemas, few enough that the five take under a minute on two quiet cores (about
# 2.5 minutes with the cores shared by three other test runs, measured).
MAX_EXAMPLES = 15
SEED = 13  # deterministic runs: a failure here reproduces with the same command


def _secret_variables() -> set[str]:
    """The environment variables the example config reads its secrets from."""
    text = DEFAULT_CONFIG_FILE.read_text()
    return set(re.findall(r"\b\w+_env:\s*([A-Z][A-Z0-9_]+)", text))


def _secrets() -> dict[str, str]:
    """A value for each secret the example config reads, valid for every kind of source
    (a Standard Webhooks secret is ``whsec_`` + base64; the others take any text)."""
    return {
        name: "whsec_" + base64.b64encode(hashlib.sha256(name.encode()).digest()).decode()
        for name in _secret_variables()
    }


def _schemathesis_config(home: Path) -> Path:
    """schemathesis' settings beyond its command line: no failure cache (a run replays
    nothing from an earlier one, so CI and a laptop agree), and capture's configured source
    names offered for ``{source}`` most of the time (a random name only meets the 404 of an
    unknown source)."""
    config = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    sources = [source["name"] for source in config["capture"]["sources"]]
    path = home / "schemathesis.toml"
    path.write_text(
        "[cache]\nenabled = false\n\n"
        f"[dictionaries.sources]\nvalues = {json.dumps(sources)}\n\n"
        '[parameters]\n"path.source" = { dictionary = "sources", probability = 0.8 }\n'
    )
    return path


@pytest.fixture(scope="module")
def service_urls(
    pg_server_url: str, kafka_bootstrap: str, tmp_path_factory: Any
) -> Iterator[dict[str, str]]:
    """The five services, each a process on its own database, started together."""
    bus = Bus(kafka_bootstrap, f"fuzz{uuid.uuid4().hex[:10]}.")
    credential_env, _ = fuzz_credentials()
    # every example source configured, as in a deployment: a source whose secret is missing
    # answers 503 source_not_ready by design (tested in the capture tests)
    secrets = _secrets()
    home = Path(tmp_path_factory.mktemp("fuzz"))
    procs = []
    for name in available_services():
        port = free_port()
        env = service_env(
            database_url=asyncio.run(create_database(pg_server_url)), bus=bus,
            config_file=DEFAULT_CONFIG_FILE, port=port, partitions=1,
            extra={"LEADFLOW_LOG_LEVEL": "WARNING", **secrets, **credential_env},
        )  # fmt: skip
        procs.append(ServiceProcess(name, name, port, env, home / f"{name}.log"))
    try:
        for proc in procs:
            proc.start()

        async def all_ready() -> None:
            await asyncio.gather(*(p.wait_ready(90) for p in procs))

        asyncio.run(all_ready())
        yield {p.name: p.url for p in procs}
    finally:
        for proc in procs:
            proc.stop(20)
        asyncio.run(bus.delete_topics())


def _schemathesis(document: Path, url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` over one document, every check and phase, with the credential."""
    _, headers = fuzz_credentials()
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(_schemathesis_config(home)),
        "run", str(document),
        "--url", url,
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "10",
        "--suppress-health-check", "all",
        "--no-color",
        *(arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")),
    ]  # fmt: skip
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=240, env=environment, cwd=home
    )


@pytest.mark.parametrize("service", available_services())
def test_service_answers_exactly_what_its_document_says(
    service: str, service_urls: dict[str, str], tmp_path: Path
) -> None:
    run = _schemathesis(OPENAPI / f"{service}.json", service_urls[service], tmp_path)
    assert run.returncode == 0, f"schemathesis found problems in {service}:\n{run.stdout}"
