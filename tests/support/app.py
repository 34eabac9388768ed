"""Running a service's real app in-process (real lifespan: database, broker, consumer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.support.auth import AdminUnlessGiven


@asynccontextmanager
async def running_app(
    app: FastAPI, ready_timeout: float = 30.0
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", auth=AdminUnlessGiven()
        ) as client:
            deadline = asyncio.get_running_loop().time() + ready_timeout
            while (await client.get("/readyz")).status_code != 200:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"not ready: {(await client.get('/readyz')).text}")
                await asyncio.sleep(0.05)
            yield client
