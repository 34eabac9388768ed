"""Capture's OpenAPI document, fuzzed with schemathesis against the real service (a
``leadflow run capture`` process on real PostgreSQL and the broker): whatever the input,
no 5xx, and every 4xx says what is wrong in the shared error shape."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err

from leadflow.embedded import free_port
from shared.config import DEFAULT_CONFIG_FILE
from tests.conftest import create_database
from tests.support.kafka import Bus
from tests.support.processes import ServiceProcess, service_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


def _secret_variables() -> set[str]:
    """The environment variables the example config reads its secrets from."""
    text = DEFAULT_CONFIG_FILE.read_text()
    return set(re.findall(r"\b\w+_env:\s*([A-Z][A-Z0-9_]+)", text))


@pytest.fixture(scope="module")
def capture_url(pg_server_url: str, kafka_bootstrap: str, tmp_path_factory: Any) -> Iterator[str]:
    database_url = asyncio.run(create_database(pg_server_url))
    port = free_port()
    bus = Bus(kafka_bootstrap, f"fuzz{uuid.uuid4().hex[:10]}.")
    # every example source configured, as in a deployment: a source whose secret is missing
    # answers 503 source_not_ready by design (tested in the capture tests)
    secrets = {name: f"fuzz-{name.lower()}" for name in _secret_variables()}
    env = service_env(
        database_url=database_url, bus=bus, config_file=DEFAULT_CONFIG_FILE, port=port,
        partitions=6, extra={"LEADFLOW_LOG_LEVEL": "WARNING", **secrets},
    )  # fmt: skip
    log = Path(tmp_path_factory.mktemp("fuzz")) / "capture.log"
    capture = ServiceProcess("capture", "capture", port, env, log)
    capture.start()
    try:
        asyncio.run(capture.wait_ready(60))
        yield capture.url
    finally:
        capture.stop(20)
        asyncio.run(bus.delete_topics())


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
