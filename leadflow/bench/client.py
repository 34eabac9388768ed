"""HTTP/1.1 keep-alive clients for the load generator.

Two interchangeable pools: :class:`RawPool`, a minimal HTTP/1.1 client on asyncio streams
(a pre-built request head, ``Content-Length`` or chunked responses), and
:class:`HttpxPool` on ``httpx.AsyncClient``. The raw one is the default because it costs
several times less CPU per request, and on a 2-core machine every cycle the generator burns
is taken from the services it measures (``--client httpx`` to compare).

Both send the bench's API key (``Authorization: Bearer``) on every request; the raw pool
writes it into the request heads it builds once and reuses, so it costs no CPU per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Protocol
from urllib.parse import urlsplit

import httpx

REQUEST_TIMEOUT_S = 60.0
IDLE_REOPEN_S = 4.0  # reopen a connection idle this long rather than race the server's close
# RFC 6750's b64token: what an API key (lfk_...) or a JWT is made of, and nothing that could
# end a header line.
BEARER_TOKEN = re.compile(r"^[A-Za-z0-9._~+/-]+=*$")


class HttpPool(Protocol):
    """Send one request on a pooled keep-alive connection; answer (status, body)."""

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class ProtocolError(ConnectionError):
    """The server's answer was not HTTP/1.1 as this client reads it."""


class RawConnection:
    """One keep-alive connection; reconnects after the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        now = time.monotonic()
        if now - self._used > IDLE_REOPEN_S:
            self.close()  # the server may be closing it right now (uvicorn: 5 s keep-alive)
        self._used = now
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                writer.write(head + body)
                header = await reader.readuntil(b"\r\n\r\n")
                status, length, chunked, close = _parse_head(header)
                if chunked:
                    data = await _read_chunked(reader)
                else:
                    data = await reader.readexactly(length) if length else b""
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._reader = self._writer = None


def _parse_head(header: bytes) -> tuple[int, int, bool, bool]:
    """Status, content length, chunked?, connection close? from a response head."""
    if not header.startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x response: {header[:40]!r}")
    status = int(header[9:12])
    length, chunked, close = 0, False, False
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    return status, length, chunked, close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from the servers we drive
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def authorization(api_key: str | None) -> str | None:
    """The ``Authorization`` header's value for ``api_key`` (None: send none); ValueError
    for a key that is not a bearer token (it would break, or add to, the request head)."""
    if api_key is None:
        return None
    if not BEARER_TOKEN.match(api_key):
        raise ValueError("the API key is not a bearer token (letters, digits, - . _ ~ + / =)")
    return f"Bearer {api_key}"


class RawPool:
    """Up to ``size`` keep-alive connections to one server, reused most-recent first."""

    def __init__(self, base_url: str, size: int, api_key: str | None = None) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"the raw client speaks plain http only, not {base_url!r}")
        self.host = url.hostname
        self.port = url.port or 80
        self._prefix = url.path.rstrip("/")
        self._idle: asyncio.LifoQueue[RawConnection] = asyncio.LifoQueue()
        self._all = [RawConnection(self.host, self.port) for _ in range(size)]
        for conn in self._all:
            self._idle.put_nowait(conn)
        self._heads: dict[tuple[str, str, int], bytes] = {}
        auth = authorization(api_key)
        self._auth = [f"authorization: {auth}"] if auth else []

    def _head(self, method: str, path: str, length: int) -> bytes:
        key = (method, path, length)
        head = self._heads.get(key)
        if head is None:
            lines = [
                f"{method} {self._prefix}{path} HTTP/1.1",
                f"host: {self.host}:{self.port}",
                "user-agent: leadflow-bench",
                *self._auth,
            ]
            if method != "GET":
                lines += ["content-type: application/json", f"content-length: {length}"]
            head = ("\r\n".join(lines) + "\r\n\r\n").encode()
            if len(self._heads) < 4096:
                self._heads[key] = head
        return head

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        conn = await self._idle.get()
        try:
            return await conn.request(self._head(method, path, len(body)), body)
        finally:
            self._idle.put_nowait(conn)

    async def aclose(self) -> None:
        for conn in self._all:
            conn.close()


class HttpxPool:
    """The same interface on ``httpx.AsyncClient`` with a connection limit of ``size``."""

    def __init__(self, base_url: str, size: int, api_key: str | None = None) -> None:
        auth = authorization(api_key)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, pool=None),
            headers={"user-agent": "leadflow-bench", **({"authorization": auth} if auth else {})},
        )

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        headers = {"content-type": "application/json"} if body else None
        try:
            resp = await self._client.request(method, path, content=body or None, headers=headers)
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        return resp.status_code, resp.content

    async def aclose(self) -> None:
        await self._client.aclose()


def make_pool(kind: str, base_url: str, size: int, api_key: str | None = None) -> HttpPool:
    """``raw`` (default) or ``httpx``, sending ``api_key`` as a bearer token if given."""
    if kind == "httpx":
        return HttpxPool(base_url, size, api_key)
    if kind == "raw":
        return RawPool(base_url, size, api_key)
    raise ValueError(f"unknown client {kind!r}; choose raw or httpx")
