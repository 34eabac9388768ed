"""The bench's webhook receiver: answers 200 at once and notes when each webhook arrived.

Runs as its own process (``python -m leadflow.bench.receiver --port N``) so its work
neither slows the load generator's event loop nor hides in its CPU figure. It reads the
CloudEvent's ``type`` and ``subject`` (the lead id) and does not verify the signature (the
notifier's signing is still measured: it happens before the POST).

- ``POST <any path>``: a delivery; the arrival time of each ``lead.assigned`` is kept.
- ``GET /arrivals``: ``{lead id: arrival time}`` of the arrivals not yet taken, then forgets
  them; ``GET /healthz``: ``{"status": "ok", "deliveries": n}``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

ASSIGNED = "io.leadflow.lead.assigned.v1"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Receiver:
    """A bare ASGI app: the cheapest thing that answers a webhook."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.deliveries = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        arrived = time.time()
        if scope["method"] == "GET":
            if scope["path"] == "/arrivals":
                taken, self.arrivals = self.arrivals, {}
                await _answer(send, orjson.dumps(taken))
            else:
                await _answer(send, orjson.dumps({"status": "ok", "deliveries": self.deliveries}))
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.deliveries += 1
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            event = {}
        if isinstance(event, dict) and event.get("type") == ASSIGNED:
            lead_id = event.get("subject")
            if isinstance(lead_id, str):
                self.arrivals.setdefault(lead_id, arrived)
        await _answer(send, b"{}")


async def _answer(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        Receiver(),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
