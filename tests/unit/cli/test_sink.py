"""The demo receiver accepts only deliveries signed with its subscription's secret."""

from datetime import UTC, datetime

import httpx
import orjson

from leadflow.sink import create_sink, summary
from services.notifier.domain import signed_headers

SECRET = "whsec_bGVhZGZsb3ctZGVtby1zZWNyZXQtbm90LWZvci1wcm9k"
EVENT = {
    "type": "io.leadflow.lead.assigned.v1",
    "subject": "l1",
    "data": {
        "lead": {"email": "ana@acme.example"},
        "rep": {"name": "Ana Ashworth"},
        "queue": "fashion-uk",
        "trace": {"rule": "uk-shoes"},
    },
}


async def test_a_signed_delivery_is_accepted_and_a_forged_one_refused() -> None:
    app = create_sink([SECRET])
    body = orjson.dumps(EVENT)
    good = signed_headers(SECRET, "msg-1", datetime.now(UTC), body)
    forged = dict(good, **{"webhook-signature": "v1,AAAA"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.post("/hooks", content=body, headers=good)).status_code == 200
        assert (await c.post("/hooks", content=body, headers=forged)).status_code == 401
        shown = (await c.get("/")).json()
    assert shown == [{"webhook_id": "msg-1", "summary": summary(EVENT)}]


def test_the_summary_says_who_got_the_lead_and_why() -> None:
    assert (
        summary(EVENT) == "lead.assigned: ana@acme.example -> Ana Ashworth (fashion-uk, uk-shoes)"
    )
