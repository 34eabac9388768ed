"""Alert messages per channel: Block Kit within its limits, the Adaptive Card's shape, MIME
with both parts, SMS length."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notifier import messages
from services.notifier.recipients import Person, Recipient
from services.notifier.samples import sample_data
from services.notifier.templates import Rendered

LINK = "http://localhost:8006/leads/L-1"
ANA = Recipient("person:ana", "rep", Person("ana", "Ana Silva", "ana@example.com", "U024BE7LH"))


def huge_data() -> dict[str, Any]:
    data = sample_data("lead.bucket_changed")
    data["lead"] = {
        "first_name": "A" * 5000,
        "last_name": "<&>" * 3000,
        "company": "C" * 9000,
        "email": "e" * 4000 + "@example.com",
        "phone": "9" * 3000,
        "country": "GB",
        "source": "S" * 3000,
    }
    data["queue"] = "q" * 5000
    data["rep"] = {"rep_id": "ana", "name": "N" * 5000}
    data["due_at"] = "D" * 5000
    data["contributions"] = [
        {"rule": "r" * 4000 + str(i), "group": "fit", "points": i + 1} for i in range(500)
    ]
    data["reason"] = "<@U1>" * 2000
    return data


def test_a_slack_message_keeps_block_kit_limits_whatever_the_input() -> None:
    texts = Rendered(title="T&" * 400, text="<b>" * 5000)
    many = [
        Recipient(f"person:{i}", "fixed", Person(str(i), slack_user_id=f"U{i:08d}"))
        for i in range(2000)
    ]
    message = messages.slack_message(texts, huge_data(), LINK, mentions=many)
    assert messages.block_kit_problems(message) == []
    assert len(message["blocks"]) <= 50
    header = message["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    assert len(message["text"]) <= 3000
    fields = next(b["fields"] for b in message["blocks"] if "fields" in b)
    assert len(fields) == 10
    assert all(len(f["text"]) <= 2000 for f in fields)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abc", 5, "abc"),
        ("abcdef", 5, "abcd…"),
        ("ab&amp;cd", 5, "ab…"),  # never half an entity
        ("a <@U0123456> b", 8, "a …"),  # never half a mention
    ],
)
def test_text_is_cut_with_an_ellipsis_never_inside_an_escape(
    text: str, limit: int, expected: str
) -> None:
    assert messages.cut(text, limit) == expected


def test_a_slack_message_has_the_facts_the_reasons_a_link_and_the_mentions() -> None:
    data = sample_data("lead.assigned")
    message = messages.slack_message(
        Rendered("New lead", "Ana owns <it> & more"), data, LINK, mentions=[ANA]
    )
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "section", "section", "actions"]
    assert message["blocks"][1]["text"]["text"] == "<@U024BE7LH> Ana owns &lt;it&gt; &amp; more"
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert "*Lead*\nTom Baker" in fields
    assert "*Score*\n1" in fields
    assert message["blocks"][3]["text"]["text"].startswith("*Why*\n• sample explanation")
    assert message["blocks"][4]["elements"][0]["url"] == LINK
    assert "channel" not in message
    assert messages.slack_message(Rendered("t", "x"), data, None, channel="U1")["channel"] == "U1"


def test_a_teams_message_carries_one_adaptive_card() -> None:
    data = sample_data("lead.sla_breached")
    message = messages.teams_message(Rendered("SLA breached", "Ana missed it"), data, LINK)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert [b["type"] for b in card["body"]] == ["TextBlock", "TextBlock", "FactSet", "TextBlock"]
    assert card["body"][0]["text"] == "SLA breached"
    assert {"title": "Rep", "value": "Ana Silva"} in card["body"][2]["facts"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open lead", "url": LINK}]
    named = messages.teams_message(Rendered("t", "x"), data, None, [ANA])["attachments"][0]
    assert named["content"]["body"][2] == {
        "type": "TextBlock",
        "text": "For: Ana Silva",
        "wrap": True,
    }
    assert "actions" not in named["content"]


def test_an_email_is_multipart_alternative_with_text_and_html() -> None:
    data = sample_data("lead.assigned")
    data["lead"]["first_name"] = "<script>"
    mail = messages.email_message(
        Rendered("New lead\nBcc: x@evil.example", "Call them"),
        data,
        LINK,
        "Leadflow <alerts@example.com>",
        ANA,
        "d-1",
        datetime(2026, 12, 5, 9, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert parsed["To"] == "Ana Silva <ana@example.com>"
    assert parsed["From"] == "Leadflow <alerts@example.com>"
    assert parsed["Subject"] == "New lead Bcc: x@evil.example"  # one line: no header injection
    assert parsed["Bcc"] is None
    assert parsed["Message-ID"] == "<d-1@leadflow.notifier>"
    plain = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Call them" in plain and f"Open the lead: {LINK}" in plain
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert f'<a href="{LINK}">' in html


def test_an_sms_is_cut_to_1600_characters() -> None:
    body = messages.sms_text(Rendered("T", "x" * 5000), LINK)
    assert len(body) == 1600 and body.startswith("T\nxxx")
    assert (
        messages.sms_text(Rendered("Hot lead", "Call Tom"), LINK) == f"Hot lead\nCall Tom\n{LINK}"
    )


def test_a_lead_without_contact_is_named_by_its_id() -> None:
    assert messages.lead_name({"lead_id": "0b5d1f7a-8e2c"}) == "lead 0b5d1f7a"
    assert messages.lead_name({"lead": {"company": "Acme"}}) == "Acme"
