"""A real HTTP server on a local port, standing in for a vendor's API or a webhook receiver
(the services under test call it over the network, as they would the real one)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp


class LocalServer:
    """``app`` served by uvicorn on 127.0.0.1 (a free port unless ``port`` is given).
    :meth:`stop` takes it down (the port refuses connections) and :meth:`start` brings it
    back on the same port."""

    def __init__(self, app: ASGIApp, port: int = 0) -> None:
        self._app = app
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None and not self._server.should_exit

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port, self._sock = sock.getsockname()[1], sock
        config = uvicorn.Config(
            self._app, lifespan="off", ws="none", http="h11", log_level="warning", access_log=False
        )
        self._server = server = uvicorn.Server(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None and self._sock is not None
        self._server.should_exit = True
        await self._task
        self._sock.close()


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[LocalServer]:
    """A :class:`LocalServer` for the block; stopped after it unless already down."""
    server = LocalServer(app)
    await server.start()
    try:
        yield server
    finally:
        if server.running:
            await server.stop()
