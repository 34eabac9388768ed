"""The batch-at-a-rate load: leads grouped into requests, each due on schedule."""

from __future__ import annotations

import asyncio

import orjson

from leadflow.bench.load import BATCH_PATH, LoadResult, open_batches


class RecordingPool:
    """Answers every batch as accepted and records what was sent, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str]]] = []

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        assert (method, path) == ("POST", BATCH_PATH)
        leads = [lead["email"] for lead in orjson.loads(body)["leads"]]
        self.sent.append((path, leads))
        await asyncio.sleep(0)
        results = [{"index": i, "status": "accepted", "lead_id": e} for i, e in enumerate(leads)]
        return 200, orjson.dumps({"results": results})

    async def aclose(self) -> None:
        return None


async def test_batches_carry_the_leads_in_order_and_count_from_their_due_time() -> None:
    bodies = [orjson.dumps({"email": f"l{i}@example.com"}) for i in range(10)]
    pool = RecordingPool()
    result = await open_batches(pool, bodies, rate=1000.0, batch_size=4, result=LoadResult("b"))
    assert [leads for _, leads in pool.sent] == [
        [f"l{i}@example.com" for i in range(0, 4)],
        [f"l{i}@example.com" for i in range(4, 8)],
        ["l8@example.com", "l9@example.com"],
    ]
    assert result.requests == 3
    due = sorted(set(result.sends.values()))
    assert len(due) == 3  # every lead of a request counts from that request's due time
    assert [round(b - a, 6) for a, b in zip(due, due[1:], strict=False)] == [0.004, 0.004]
    assert result.sends["l0@example.com"] == result.sends["l3@example.com"] == due[0]
