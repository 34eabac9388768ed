"""The load generator: open loop at a fixed rate, closed loop at full speed, batches.

Leads are generated and JSON-encoded before a scenario starts (:class:`LeadFeed`), so the
send loop only writes bytes. Every figure is stamped with ``time.time()``, the clock the
services use for their event timestamps, so the bench can compare them.

- **Open loop** (:func:`open_loop`): request *i* is due at ``t0 + i / rate`` and is sent
  then whether or not earlier ones were answered; its latency is measured from that
  scheduled time, so a server that falls behind shows it (no coordinated omission).
- **Closed loop** (:func:`closed_loop`): ``concurrency`` workers, each sending its next
  request as soon as the previous one is answered.
- **Batches** (:func:`batch_loop`): the closed loop with ``{"leads": [...]}`` bodies; a
  404 marks the scenario unavailable (the endpoint is not deployed) instead of failing.
- **Batches at a rate** (:func:`open_batches`): the open loop with batch bodies: a request
  of ``batch_size`` leads is due every ``batch_size / rate`` seconds, and each of its leads
  counts from that due time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson

from leadflow.bench.client import HttpPool
from leadflow.samples import generate_leads

LEADS_PATH = "/v1/leads"
BATCH_PATH = "/v1/leads:batch"


class LeadFeed:
    """Unique generated leads as JSON bytes; ``tag`` makes this feed's e-mails its own."""

    CHUNK = 5000

    def __init__(self, tag: str, seed: int) -> None:
        self.tag = tag
        self.seed = seed
        self._chunks = 0
        self._ready: deque[bytes] = deque()

    def fill(self, count: int) -> None:
        """Have at least ``count`` encoded leads ready (done before the clock starts)."""
        while len(self._ready) < count:
            size = min(self.CHUNK, max(1000, count - len(self._ready)))
            suffix = f"-{self.tag}{self._chunks:03d}"
            leads = generate_leads(size, seed=self.seed * 1000 + self._chunks, tag=suffix)
            # A copy: orjson's own result keeps its oversized buffer (~8 KiB a lead here).
            self._ready.extend(bytes(memoryview(orjson.dumps(lead))) for lead in leads)
            self._chunks += 1

    def take(self, count: int) -> list[bytes]:
        self.fill(count)
        return [self._ready.popleft() for _ in range(count)]

    def one(self) -> bytes:
        if not self._ready:
            self.fill(1000)  # ran past the estimate: generate on the fly (rare)
        return self._ready.popleft()


@dataclass
class LoadResult:
    """What the generator saw; filled in while it runs (the progress bar reads it)."""

    name: str
    requests: int = 0
    sends: dict[str, float] = field(default_factory=dict)  # accepted lead id -> send time
    duplicates: int = 0
    rejected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    http_latency: list[float] = field(default_factory=list)  # per request, seconds
    send_lag: list[float] = field(default_factory=list)  # open loop: start - schedule, s
    first_send: float | None = None
    last_answer: float | None = None
    unavailable: str | None = None

    def answered(self, sent: float, status: int | str) -> None:
        now = time.time()
        self.requests += 1
        self.http_latency.append(now - sent)
        self.first_send = sent if self.first_send is None else min(self.first_send, sent)
        self.last_answer = now
        if isinstance(status, str):
            self.errors[status] += 1


def _record_single(result: LoadResult, status: int, body: bytes, sent: float) -> None:
    if status == 202:
        result.sends[orjson.loads(body)["lead_id"]] = sent
    elif status == 200:
        result.duplicates += 1
    elif status == 422:
        result.rejected += 1
    else:
        result.errors[f"HTTP {status}"] += 1


def _record_ok(result: LoadResult, status: int, body: bytes, sent: float) -> None:
    if status != 200:
        result.errors[f"HTTP {status}"] += 1


Recorder = Callable[[LoadResult, int, bytes, float], None]


async def _request(
    pool: HttpPool,
    method: str,
    path: str,
    body: bytes,
    sent: float,
    result: LoadResult,
    record: Recorder,
) -> None:
    """Send one request and record its answer; a network error is counted as such, and a
    404/405 from the batch endpoint marks the scenario unavailable (not deployed)."""
    try:
        status, answer = await pool.request(method, path, body)
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        result.answered(sent, type(exc).__name__)
        return
    if path == BATCH_PATH and status in (404, 405):
        result.unavailable = f"POST {BATCH_PATH} answered {status}"
        return
    result.answered(sent, status)
    record(result, status, answer, sent)


async def _send_lead(pool: HttpPool, body: bytes, sent: float, result: LoadResult) -> None:
    await _request(pool, "POST", LEADS_PATH, body, sent, result, _record_single)


async def open_loop(
    pool: HttpPool, bodies: list[bytes], rate: float, result: LoadResult
) -> LoadResult:
    """Send ``bodies`` one per request at ``rate`` per second, on schedule."""
    return await _open(pool, bodies, rate, result, _send_lead)


Send = Callable[[HttpPool, bytes, float, LoadResult], Coroutine[Any, Any, None]]


async def _open(
    pool: HttpPool, bodies: list[bytes], rate: float, result: LoadResult, send: Send
) -> LoadResult:
    """Request *i* is started at ``t0 + i / rate`` whatever happened to the earlier ones."""
    pending: set[asyncio.Task[None]] = set()

    async def on_schedule(body: bytes, due: float) -> None:
        result.send_lag.append(time.time() - due)  # how late the generator itself was
        await send(pool, body, due, result)

    t0 = time.time() + 0.01
    i, n = 0, len(bodies)
    while i < n:
        due = min(n, math.floor((time.time() - t0) * rate) + 1)
        while i < due:
            task = asyncio.create_task(on_schedule(bodies[i], t0 + i / rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.time()))
    if pending:
        await asyncio.gather(*pending)
    return result


def batch_body(leads: list[bytes]) -> bytes:
    return b'{"leads":[' + b",".join(leads) + b"]}"


async def _send_batch(pool: HttpPool, body: bytes, sent: float, result: LoadResult) -> None:
    await _request(pool, "POST", BATCH_PATH, body, sent, result, _record_batch)


async def open_batches(
    pool: HttpPool, bodies: list[bytes], rate: float, batch_size: int, result: LoadResult
) -> LoadResult:
    """Send ``bodies`` in batches of ``batch_size`` leads, ``rate`` leads per second in all,
    on schedule (request *j* is due at ``t0 + j * batch_size / rate``)."""
    batches = [batch_body(bodies[i : i + batch_size]) for i in range(0, len(bodies), batch_size)]
    return await _open(pool, batches, rate / batch_size, result, _send_batch)


async def closed_loop(
    pool: HttpPool,
    feed: LeadFeed | None,
    concurrency: int,
    duration: float,
    result: LoadResult,
    path: str = LEADS_PATH,
) -> LoadResult:
    """``concurrency`` workers send back to back for ``duration`` seconds.

    With a feed, each request posts the next lead; without one, it GETs ``path``.
    """
    end = time.time() + duration

    async def worker() -> None:
        while time.time() < end:
            if feed is not None:
                await _request(pool, "POST", path, feed.one(), time.time(), result, _record_single)
            else:
                await _request(pool, "GET", path, b"", time.time(), result, _record_ok)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result


def _record_batch(result: LoadResult, status: int, answer: bytes, sent: float) -> None:
    if status not in (200, 207):
        result.errors[f"HTTP {status}"] += 1
        return
    for item in orjson.loads(answer).get("results", []):
        state = item.get("status")
        if state == "accepted":
            result.sends[item["lead_id"]] = sent
        elif state == "duplicate":
            result.duplicates += 1
        else:
            result.rejected += 1


async def batch_loop(
    pool: HttpPool,
    feed: LeadFeed,
    batch_size: int,
    concurrency: int,
    duration: float,
    result: LoadResult,
) -> LoadResult:
    """``concurrency`` workers post batches of ``batch_size`` leads back to back."""
    end = time.time() + duration

    async def worker() -> None:
        while time.time() < end and result.unavailable is None:
            body = batch_body([feed.one() for _ in range(batch_size)])
            await _send_batch(pool, body, time.time(), result)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result
