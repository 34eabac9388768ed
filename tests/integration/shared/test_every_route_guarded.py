"""Every route of every service's OpenAPI document, walked with three credentials: none
(401), a key without the route's scope (403), a key holding just that scope (past the gate:
neither 401 nor 403). Each service runs for real (PostgreSQL, the broker, its lifespan).

Routes left out of the document (the insights dashboard's HTML pages) are walked too, from
the app's own route table: none → to the login page; the session cookie of a key without
the scope → 403; of a key with it → past the gate; and the cookie opens no API route."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from shared.auth.guard import SCOPE_EXTENSION, SESSION_COOKIE, required_scope
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
            if method == "get":  # the dashboard's cookie is no API credential
                cookie = {"Authorization": "", "Cookie": f"{SESSION_COOKIE}={scope_key(scope)}"}
                jar = await _call(client, method, url, None, cookie)
                assert jar.status_code == 401, f"{method} {path} took the cookie: {jar.status_code}"
        await _walk_pages(app, client, service)


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


def hidden_routes(app: FastAPI) -> list[APIRoute]:
    """Routes the OpenAPI document leaves out (HTML pages, the login form)."""
    return [r for r in api_routes(app.routes) if not r.include_in_schema]


async def _walk_pages(app: FastAPI, client: httpx.AsyncClient, service: str) -> None:
    pages = hidden_routes(app)
    if service == "insights":
        assert {r.path for r in pages} >= {"/", "/feed", "/leads/{lead_id}", "/login"}
    for route in pages:
        url = route.path
        for name in route.param_convertors:
            url = url.replace("{" + name + "}", str(uuid.uuid4()))
        scope = required_scope(route)
        if (route.openapi_extra or {}).get("x-leadflow-auth") == "login":
            assert scope is None, f"{route.path}: the login form needs no credential"
            continue
        assert scope is not None, f"{service}: hidden {route.path} names no scope"
        assert route.methods == {"GET"}, f"{route.path}: pages are GET-only"
        nobody = await client.get(url, headers={"Authorization": ""})
        assert nobody.status_code == 303, f"{url}: {nobody.status_code}"
        assert nobody.headers["location"].startswith("/login?next=")
        other = next(s for s in Scope if s != scope)
        for cookie, want in ((scope_key(other), 403), ("lfk_nope", 303)):
            jar = {"Authorization": "", "Cookie": f"{SESSION_COOKIE}={cookie}"}
            refused = await client.get(url, headers=jar)
            assert refused.status_code == want, f"{url}: {refused.status_code}"
        right = {"Authorization": "", "Cookie": f"{SESSION_COOKIE}={scope_key(scope)}"}
        ok = await client.get(url, headers=right)
        assert ok.status_code in (200, 404), f"{url}: {ok.status_code} {ok.text[:300]}"
        assert ok.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in ok.headers["content-security-policy"]
        header = await client.get(url, headers=bearer(scope_key(scope)))
        assert header.status_code == ok.status_code, f"{url}: a header opens a page too"


async def _call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> httpx.Response:
    return await client.request(method, url, json=body, headers=headers)
