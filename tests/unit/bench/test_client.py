"""The load generator's HTTP clients: reading HTTP/1.1 response heads, and the API key
sent as a bearer token on every request (built into the raw client's reused heads)."""

from __future__ import annotations

import asyncio

import pytest

from leadflow.bench.client import ProtocolError, RawPool, _parse_head, authorization, make_pool


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"HTTP/1.1 202 Accepted\r\ncontent-length: 57\r\n\r\n", (202, 57, False, False)),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            (200, 0, False, True),
        ),
        (b"HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\n", (207, 0, True, False)),
        (b"HTTP/1.0 404 Not Found\r\nserver: uvicorn\r\n\r\n", (404, 0, False, False)),
    ],
)
def test_a_response_head_gives_status_length_and_framing(
    head: bytes, expected: tuple[int, int, bool, bool]
) -> None:
    assert _parse_head(head) == expected


def test_a_response_that_is_not_http_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not an HTTP"):
        _parse_head(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def test_the_raw_client_speaks_plain_http_only() -> None:
    with pytest.raises(ValueError, match="plain http"):
        RawPool("https://capture.example", 1)


class HeadRecorder:
    """A loopback HTTP/1.1 server that answers every request 200 and keeps its head."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.handlers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.handlers)
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self.handlers.append(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = next((int(v) for n, _, v in _lines(head) if n == b"content-length"), 0)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def _lines(head: bytes) -> list[tuple[bytes, bytes, bytes]]:
    return [
        (n.strip().lower(), s, v.strip())
        for n, s, v in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
    ]


def _authorization(head: bytes) -> list[bytes]:
    return [v for n, _, v in _lines(head) if n == b"authorization"]


KEY = "lfk_" + "A1b2-_" * 7


@pytest.mark.parametrize("kind", ["raw", "httpx"])
async def test_both_clients_send_the_key_as_a_bearer_token_on_every_request(kind: str) -> None:
    recorder = HeadRecorder()
    async with recorder as url:
        pool = make_pool(kind, url, 2, KEY)
        try:
            for path, body in [("/v1/leads", b'{"a":1}'), ("/v1/leads", b'{"a":22}'),
                               ("/healthz", b"")]:  # fmt: skip
                method = "POST" if body else "GET"
                assert await pool.request(method, path, body) == (200, b"{}")
        finally:
            await pool.aclose()
    assert len(recorder.heads) == 3
    assert all(_authorization(h) == [f"Bearer {KEY}".encode()] for h in recorder.heads)


@pytest.mark.parametrize("kind", ["raw", "httpx"])
async def test_without_a_key_no_authorization_header_is_sent(kind: str) -> None:
    recorder = HeadRecorder()
    async with recorder as url:
        pool = make_pool(kind, url, 1)
        try:
            await pool.request("POST", "/v1/leads", b"{}")
        finally:
            await pool.aclose()
    assert [_authorization(h) for h in recorder.heads] == [[]]


def test_the_raw_client_builds_a_head_with_the_key_once_and_reuses_it() -> None:
    pool = RawPool("http://127.0.0.1:1", 1, KEY)
    head = pool._head("POST", "/v1/leads", 42)
    assert f"\r\nauthorization: Bearer {KEY}\r\n".encode() in head
    assert pool._head("POST", "/v1/leads", 42) is head


@pytest.mark.parametrize("key", ["lfk_x\r\nx-admin: yes", "lfk x", "lfk_é", "", "lfk_=x"])
def test_a_key_that_is_not_a_bearer_token_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not a bearer token"):
        authorization(key)
    with pytest.raises(ValueError, match="not a bearer token"):
        RawPool("http://127.0.0.1:1", 1, key)


def test_a_jwt_is_a_bearer_token_too() -> None:
    assert authorization("eyJh.eyJz.c2ln_-") == "Bearer eyJh.eyJz.c2ln_-"
