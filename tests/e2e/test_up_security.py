"""`leadflow up` as it starts by default is safe to leave running: it makes a local admin key
on the first start and prints it once (keeping only its hash), and without a credential
nothing can be read or changed through any service's API, from this machine included."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stack import leadflow_up

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi"
OPEN = {"/healthz", "/readyz", "/metrics"}


def _placeholder(match: re.Match[str]) -> str:
    if match[0] == "{letter_id}":
        return "0-0"  # the route matches dead-letter ids only (partition-offset)
    return str(uuid.uuid4()) if "id" in match[0] else "x"


def _guarded_operations(service: str) -> list[tuple[str, str]]:
    doc = json.loads((OPENAPI / f"{service}.json").read_text())
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path in OPEN or op.get("x-leadflow-auth") == "vendor":
                continue
            concrete = re.sub(r"\{[^}]*\}", _placeholder, path)
            out.append((method, concrete))
    return out


async def test_the_first_start_prints_a_key_and_nothing_opens_without_one(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with leadflow_up(home, own_keys=True) as up:
        line = await up.wait_line(r"export LEADFLOW_KEY=lfk_")
        key = line.split("=", 1)[1].strip()
        ring = (home / "api-keys.json").read_text()
        assert key not in ring and '"id": "local-admin"' in ring
        assert (home / "api-keys.json").stat().st_mode & 0o777 == 0o600
        async with httpx.AsyncClient(timeout=10) as client:
            for service in ("capture", "scorer", "router", "nurture", "notifier"):
                for method, path in _guarded_operations(service):
                    body: dict[str, Any] | None = {"online": False, "version": 1}
                    if method in ("get", "delete"):
                        body = None
                    resp = await client.request(method, up.url(service) + path, json=body)
                    assert resp.status_code == 401, (service, method, path, resp.text)
            admin = {"Authorization": f"Bearer {key}"}
            config = await client.get(up.url("router") + "/v1/admin/config", headers=admin)
            assert config.json()["version"] == 1  # nothing above changed the routing config
            posted = await client.post(
                up.url("capture") + "/v1/leads", json={"email": "up@example.com"}, headers=admin
            )
            assert posted.status_code == 202, posted.text
    async with leadflow_up(home, own_keys=True) as again:
        await again.wait_line(r"API key +the local-admin key printed on the first start")
        assert not any("export LEADFLOW_KEY=" in line for line in again.lines)
        async with httpx.AsyncClient(timeout=10) as client:
            lead = posted.json()["lead_id"]
            resp = await client.get(
                again.url("capture") + f"/v1/leads/{lead}",
                headers={"Authorization": f"Bearer {key}"},
            )
            assert resp.status_code == 200, resp.text
