"""Capture's OpenAPI document, fuzzed with schemathesis against the real service (a
``leadflow run capture`` process on real PostgreSQL and the broker): whatever the input,
no 5xx, and every 4xx says what is wrong in the shared error shape."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err

from leadflow.embedded import free_port
from shared.config import DEFAULT_CONFIG_FILE
from tests.conftest import create_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


def _secret_variables() -> set[str]:
    """The environment variables the example config reads its secrets from."""
    text = DEFAULT_CONFIG_FILE.read_text()
    return set(re.findall(r"\b\w+_env:\s*([A-Z][A-Z0-9_]+)", text))


@pytest.fixture(scope="module")
def capture_url(pg_server_url: str, kafka_bootstrap: str, tmp_path_factory: Any) -> Iterator[str]:
    database_url = asyncio.run(create_database(pg_server_url))
    port = free_port()
    log = Path(tmp_path_factory.mktemp("fuzz")) / "capture.log"
    env = {
        **os.environ,
        # every example source configured, as in a deployment: a source whose secret is
        # missing answers 503 source_not_ready by design (tested in the capture tests)
        **{name: f"fuzz-{name.lower()}" for name in _secret_variables()},
        "LEADFLOW_DATABASE_URL": database_url,
        "LEADFLOW_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LEADFLOW_PORT": str(port),
        "LEADFLOW_LOG_LEVEL": "WARNING",
    }
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "run", "capture"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"capture did not start; see {log}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


# The committed document (``leadflow docs --check`` keeps it equal to the app's own).
SCHEMA = schemathesis.openapi.from_path(
    Path(__file__).resolve().parents[2] / "docs" / "openapi" / "capture.json"
)


def _operations() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for result in SCHEMA.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the committed document must be a valid schema
        found[result.ok().label] = result.ok()
    return found


OPERATIONS = _operations()


def refusals_say_what_is_wrong(ctx: Any, response: schemathesis.Response, case: Any) -> None:
    """A 4xx names the error and explains it, in the one shape every service uses."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert isinstance(body, dict), f"4xx body is not an object: {response.text[:200]}"
    assert body.get("error") and body.get("message"), f"4xx without error/message: {body}"
    assert isinstance(body.get("problems"), list), f"4xx without a problems list: {body}"
    if response.status_code == 422:
        assert body["problems"], f"422 that names no field: {body}"
        for problem in body["problems"]:
            assert problem.get("field") and problem.get("problem"), f"vague problem: {problem}"


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_capture_never_fails_and_explains_every_refusal(label: str, capture_url: str) -> None:
    @given(case=OPERATIONS[label].as_strategy())
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(
            base_url=capture_url, checks=[not_a_server_error, refusals_say_what_is_wrong]
        )

    fuzz()
