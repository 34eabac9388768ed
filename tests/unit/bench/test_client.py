"""Reading HTTP/1.1 response heads in the raw load-generator client."""

from __future__ import annotations

import pytest

from leadflow.bench.client import ProtocolError, RawPool, _parse_head


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
