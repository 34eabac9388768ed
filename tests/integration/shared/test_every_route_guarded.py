"""Every route of every service's OpenAPI document, walked with three credentials: none
(401), a key without the route's scope (403), a key holding just that scope (past the gate:
neither 401 nor 403). Each service runs for real (PostgreSQL, the broker, its lifespan)."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import httpx
import pytest

from shared.auth.guard import SCOPE_EXTENSION
from shared.auth.scopes import Scope
from shared.config import DEFAULT_CONFIG_FILE
from shared.dead_letter_api import LETTER_ID
from tests.support.app import running_app
from tests.support.auth import bearer, scope_key
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SERVICES = ["capture", "scorer", "router", "nurture", "notifier", "insights"]
OPEN = {"/healthz", "/readyz", "/metrics"}


def _value(param: dict[str, Any]) -> str:
    schema = param.get("schema", {})
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("type") == "integer":
        return "1"
    if schema.get("pattern") == LETTER_ID:  # the route matches letter ids only
        return "0-0"
    return "web"


def operations(doc: dict[str, Any]) -> list[tuple[str, str, Scope | None, dict[str, Any]]]:
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            scope = op.get(SCOPE_EXTENSION)
            out.append((method, path, Scope(scope) if scope else None, op))
    return out


def _url(path: str, op: dict[str, Any]) -> str:
    for param in op.get("parameters", []):
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", _value(param))
    return path


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_needs_its_scope(database_url: str, bus: Bus, service: str) -> None:
    main = importlib.import_module(f"services.{service}.main")
    config = importlib.import_module(f"services.{service}.config")
    settings_cls = (
        getattr(config, "Settings", None)
        or importlib.import_module(f"services.{service}.config.settings").Settings
    )
    settings = settings_cls(
        database_url=database_url, **bus.settings, config_file=DEFAULT_CONFIG_FILE
    )
    app = main.create_app(settings)
    doc = app.openapi()
    ops = operations(doc)
    assert ops, f"{service} documents no operation"
    async with running_app(app) as client:
        for method, path, scope, op in ops:
            url = _url(path, op)
            if path in OPEN:
                assert scope is None
                continue
            if op.get("x-leadflow-auth") == "vendor":
                assert op.get("security") == [], f"{method} {path}: vendor route claims a scheme"
                continue
            assert scope is not None, f"{service}: {method.upper()} {path} names no scope"
            assert {"bearer": []} in op["security"] and {"apiKey": []} in op["security"]
            body: dict[str, Any] | None = {} if "requestBody" in op else None
            nobody = await _call(client, method, url, body, {"Authorization": ""})
            assert nobody.status_code == 401, f"{method} {path}: {nobody.status_code}"
            assert nobody.json()["error"] == "missing_credentials"
            assert nobody.headers["WWW-Authenticate"].startswith("Bearer")
            other = next(s for s in Scope if s != scope)
            wrong = await _call(client, method, url, body, bearer(scope_key(other)))
            assert wrong.status_code == 403, f"{method} {path}: {wrong.status_code}"
            assert wrong.json()["error"] == "insufficient_scope"
            right = await _call(client, method, url, body, bearer(scope_key(scope)))
            assert right.status_code not in (401, 403), f"{method} {path}: {right.text}"
            assert right.status_code < 500, f"{method} {path}: {right.status_code} {right.text}"


async def _call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> httpx.Response:
    return await client.request(method, url, json=body, headers=headers)
