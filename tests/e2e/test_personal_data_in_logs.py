"""No log line of a ``leadflow up`` run holds an e-mail address or phone number it was given.

Leads with distinctive addresses and numbers (valid ones, an invalid address and a malformed
number that capture keeps raw and flags) go through the whole pipeline: captured, scored,
routed, assigned or nurtured, and delivered as signed webhooks to the demo receiver. Then
every log file of the run (each service's, the receiver's, the embedded servers') and
``leadflow up``'s own output are searched for each address and number, as posted and as
normalised (E.164), and for the national digits. ``leadflow up`` runs as a user starts it
(its demo webhook secret made on first start, nothing set in the environment), at DEBUG.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
import pytest

from tests.support.auth import admin_client
from tests.support.stack import LeadflowUp, leadflow_up

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

TAG = uuid.uuid4().hex[:8]
# US numbers in the 555-01xx fiction range, London ones in Ofcom's drama range: each
# distinct, valid, and written the ways forms send them.
PHONES = [
    ("(415) 555-0137", "US"),
    ("+1 212 555 0148", "US"),
    ("020 7946 0372", "GB"),
    ("+44 20 7946 0519", "GB"),
    ("030 901820-77", "DE"),
]
MALFORMED_PHONE = "+44 20 7946 06"  # a digit short: kept raw and flagged
INVALID_EMAIL = f"kim.{TAG}@@pii-check"  # kept raw and flagged


def _leads() -> list[dict[str, Any]]:
    leads = [
        {
            "email": f"Pii.Person{i}.{TAG}@Pii-Check.example",
            "phone": phone,
            "country": country,
            "first_name": "Pii",
            "last_name": f"Person{i}",
            "company": "Acme Ltd",
            "interest": ["shoes", "software", "apparel"][i % 3],
            "company_size": [20, 1200, 250][i % 3],
            "title": "Buyer",
        }
        for i, (phone, country) in enumerate(PHONES)
    ]
    leads.append({**leads[0], "email": INVALID_EMAIL, "phone": "+1 415 555 0163"})
    leads.append({**leads[1], "email": f"sam.{TAG}@pii-check.example", "phone": MALFORMED_PHONE})
    return leads


def _forms(lead: dict[str, Any]) -> set[str]:
    """Every spelling of the lead's address and number that must not be logged."""
    email, phone = lead["email"], lead["phone"]
    forms = {email, email.lower(), email.split("@")[0]}
    forms.add(phone)
    try:
        number = phonenumbers.parse(phone, lead["country"])
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        forms.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        forms.add(str(number.national_number))
    digits = re.sub(r"\D", "", phone)
    forms.add(digits)
    return {f for f in forms if len(f) >= 7}


async def _wait_until_decided_and_delivered(
    up: LeadflowUp, client: httpx.AsyncClient, ids: list[str]
) -> None:
    """Every lead decided by the router; every assignment's webhook accepted by the receiver
    (so the notifier has handled them too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        status: dict[str, str] = {}
        for lead in ids:
            resp = await client.get(f"{up.url('router')}/v1/leads/{lead}/assignment")
            if resp.status_code == 200:
                status[lead] = resp.json()["status"]
        tally = (await client.get(f"{up.sink_url}/tally")).json()
        hooks = tally["by_type"].get("lead.assigned", {})
        assigned = [lead for lead in ids if status.get(lead) == "assigned"]
        if len(status) == len(ids) and assigned and all(lead in hooks for lead in assigned):
            assert tally["rejected"] == 0, tally  # the generated demo secret signs and verifies
            return
        assert loop.time() < deadline, (status, tally, up.lines[-20:])
        await asyncio.sleep(0.5)


async def test_no_log_of_a_run_holds_an_email_or_phone_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LEADFLOW_DEMO_WEBHOOK_SECRET", "LEADFLOW_DEMO_WEBHOOK_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEADFLOW_LOG_LEVEL", "DEBUG")
    home = tmp_path / "home"
    leads = _leads()
    async with leadflow_up(home) as up, admin_client(timeout=10) as client:
        ids = []
        for lead in leads:
            resp = await client.post(f"{up.url('capture')}/v1/leads", json=lead)
            assert resp.status_code == 202, resp.text
            ids.append(resp.json()["lead_id"])
        flagged = (await client.get(f"{up.url('capture')}/v1/leads/{ids[-1]}")).json()
        assert [f["field"] for f in flagged["profile"]["data_quality"]] == ["phone"]
        # A refusal names the fields, never the values.
        unreachable = {"email": f"x.{TAG}@@pii-check", "phone": MALFORMED_PHONE}
        refused = await client.post(f"{up.url('capture')}/v1/leads", json=unreachable)
        assert refused.status_code == 422
        assert unreachable["email"] not in refused.text and "7946" not in refused.text
        await _wait_until_decided_and_delivered(up, client, ids)
    # Stopped: every process has flushed its log.
    secret_file = home / "secrets" / "LEADFLOW_DEMO_WEBHOOK_SECRET"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    logs = {p: p.read_text(errors="replace") for p in sorted(home.rglob("*.log"))}
    logs[home / "leadflow-up.out"] = "\n".join(up.lines)
    names = {p.name for p in logs}
    assert {"capture.log", "scorer.log", "router.log", "nurture.log", "notifier.log"} <= names
    assert "webhooks.log" in names and any("<email>" in text for text in logs.values())
    found = [
        f"{path.relative_to(home)}: {form!r}"
        for lead in [*leads, unreachable | {"country": "GB"}]
        for form in _forms(lead)
        for path, text in logs.items()
        if form in text
    ]
    assert not found, found
