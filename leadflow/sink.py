"""The demo webhook receiver that ``leadflow up`` runs: it plays the sales tool.

It verifies each delivery's Standard Webhooks signature with the secret of the subscriptions
that point at its port, answers 401 to any delivery that does not verify (and to all of them
if no subscription points at it), logs one line per webhook (``.leadflow/webhooks.log``),
shows the last ones at ``GET /`` (rejected ones too) and counts every accepted delivery by
type, lead and webhook-id at ``GET /tally``. Run alone:
``LEADFLOW_WEBHOOK_SINK_PORT=8099 python -m leadflow.sink --port 8099 --config FILE``.
"""

from __future__ import annotations

import argparse
import collections
import logging
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.sections import read_notifier_section
from shared.redaction import RedactingFilter

log = logging.getLogger("leadflow.sink")


def secrets_for(config_file: Path, port: int) -> list[str]:
    """Secrets of the subscriptions whose URL is this sink."""
    section = read_notifier_section(config_file) or {}
    return [
        str(sub["secret"])
        for sub in section.get("subscriptions") or []
        if f":{port}/" in str(sub.get("url", "")) and sub.get("secret")
    ]


def summary(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    kind = str(event.get("type", "?")).removeprefix("io.leadflow.").removesuffix(".v1")
    lead = data.get("lead") or {}
    who = lead.get("email") or lead.get("phone") or event.get("subject")
    if kind == "lead.assigned":
        return f"{kind}: {who} -> {data['rep']['name']} ({data['queue']}, {data['trace']['rule']})"
    if kind == "nurture.step_due":
        return f"{kind}: {who} touch {data['step']}/{data['total_steps']} by {data['mode']}"
    return f"{kind}: {who}"


def lead_of(event: dict[str, Any]) -> str:
    """The lead a delivery is about (CloudEvents ``subject``)."""
    return str(event.get("subject") or "?")


def create_sink(secrets: list[str], keep: int = 100) -> FastAPI:
    """The receiver app. With no secret (no subscription points at its port) it accepts
    nothing: a receiver that takes unsigned webhooks would hide a misconfiguration."""
    verifiers = [Webhook(s) for s in secrets]
    recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
    # type -> lead id -> webhook-id -> times received: the chaos run's proof of "once".
    tally: dict[str, dict[str, dict[str, int]]] = {}
    counts = {"accepted": 0, "rejected": 0}
    app = FastAPI(title="Leadflow demo webhook receiver")
    if not verifiers:
        log.warning("no subscription points at this receiver: every delivery will be rejected")

    @app.post("/{path:path}")
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        webhook_id = headers.get("webhook-id")
        if not _verified(verifiers, body, headers):
            counts["rejected"] += 1
            why = "bad signature" if verifiers else "no subscription secret for this receiver"
            log.warning("rejected webhook %s: %s", webhook_id, why)
            recent.appendleft({"webhook_id": webhook_id, "summary": f"REJECTED (401): {why}"})
            return JSONResponse({"error": why}, status_code=401)
        counts["accepted"] += 1
        event = orjson.loads(body)
        line = summary(event)
        log.info(line)
        recent.appendleft({"webhook_id": webhook_id, "summary": line})
        kind = str(event.get("type", "?")).removeprefix("io.leadflow.").removesuffix(".v1")
        per_lead = tally.setdefault(kind, {}).setdefault(lead_of(event), {})
        per_lead[str(webhook_id)] = per_lead.get(str(webhook_id), 0) + 1
        return JSONResponse({"ok": True})

    @app.get("/")
    async def show() -> list[dict[str, Any]]:
        return list(recent)

    @app.get("/tally")
    async def show_tally() -> dict[str, Any]:
        """Every accepted delivery by event type, lead and webhook-id (a retry of the same
        webhook keeps its id), and how many were accepted and rejected."""
        return {**counts, "by_type": tally}

    return app


def _verified(verifiers: list[Webhook], body: bytes, headers: dict[str, str]) -> bool:
    for verifier in verifiers:
        try:
            verifier.verify(body, headers)
            return True
        except WebhookVerificationError:
            continue
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for handler in logging.getLogger().handlers:  # it plays the CRM, but logs like Leadflow
        handler.addFilter(RedactingFilter())
    app = create_sink(secrets_for(args.config, args.port))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
