"""The demo webhook receiver that ``leadflow up`` runs: it plays the sales tool.

It verifies each delivery's Standard Webhooks signature with the secret of the subscription
that points at it, logs one line per webhook (``.leadflow/webhooks.log``) and shows the last
ones at ``GET /``. Run alone: ``python -m leadflow.sink --port 8099 --config FILE``.
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

from shared.config import read_config_file

log = logging.getLogger("leadflow.sink")


def secrets_for(config_file: Path, port: int) -> list[str]:
    """Secrets of the subscriptions whose URL is this sink."""
    section = read_config_file(config_file).get("notifier") or {}
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


def create_sink(secrets: list[str], keep: int = 100) -> FastAPI:
    verifiers = [Webhook(s) for s in secrets]
    recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
    app = FastAPI(title="Leadflow demo webhook receiver")

    @app.post("/{path:path}")
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        verified = False
        for verifier in verifiers:
            try:
                verifier.verify(body, headers)
                verified = True
                break
            except WebhookVerificationError:
                continue
        if verifiers and not verified:
            log.warning("rejected a webhook with a bad signature")
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = orjson.loads(body)
        line = summary(event)
        log.info(line)
        recent.appendleft({"webhook_id": headers.get("webhook-id"), "summary": line})
        return JSONResponse({"ok": True})

    @app.get("/")
    async def show() -> list[dict[str, Any]]:
        return list(recent)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = create_sink(secrets_for(args.config, args.port))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
