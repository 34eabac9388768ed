"""Vendor opt-outs become the lead's activity: a Mailchimp ``unsubscribe`` or ``cleaned`` for
an address capture knows is recorded as ``unsubscribed`` / ``bounced`` (channel email), like a
sales tool's report through the activities API, so every service sees one kind of event
(nurture suppresses the lead's e-mail touches). An address capture does not know records
nothing: there is no lead to opt out.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.capture import handlers
from services.capture.sources.base import InboundRequest
from services.capture.sources.vendors import mailchimp
from services.capture.store import leads as lead_store
from shared.contracts import ActivityKind
from shared.db import audit

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime

OPTED_OUT = "an opt-out of a known lead: recorded as its {kind} activity"


def opt_out_of(kind: str, req: InboundRequest) -> mailchimp.OptOut | None:
    """The opt-out a vendor's payload carries, for the vendors that send them."""
    return mailchimp.opt_out(req) if kind == "mailchimp" else None


async def record_opt_out(
    runtime: CaptureRuntime, opt: mailchimp.OptOut, actor: str, now: datetime
) -> str | None:
    """Record the opt-out as the activity of the lead with that address; its id, or None
    when no lead has the address (nothing stored)."""
    uow = runtime.uow()
    async with uow:
        lead_id = (await lead_store.find_matches(uow.conn, [opt.email], [])).get(opt.email)
        if lead_id is None:
            return None
        activity = handlers.ActivityInput(
            kind=ActivityKind(opt.kind),
            occurred_at=opt.at or now,
            channel="email",
            rep_id=None,
            amount=None,
            reason=None,
            details=dict(opt.details),
        )
        (activity_id,) = await handlers.record_activities(uow, [(lead_id, activity)], now)
        if activity_id is None:
            return None
        detail = {"activity_id": activity_id, "kind": opt.kind, **opt.details}
        await audit.append(uow.conn, actor, "activity.recorded", lead_id, detail)
        await uow.commit()
    return activity_id
