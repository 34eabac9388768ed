"""Alert messages for each channel, built from an event's data and its rendered texts.

- Slack: Block Kit (header, text, the lead's key facts as fields, the reasons, a button to
  the lead's dashboard page, mentions), held to Block Kit's limits whatever the input: at
  most 50 blocks, section text 3000 characters, header 150, at most 10 fields of 2000
  (https://docs.slack.dev/reference/block-kit/blocks). Text is cut at a limit with an
  ellipsis, never inside an escape (``&amp;``) or a mention (``<@U123>``).
- Microsoft Teams: a message with one Adaptive Card 1.4 attachment (what incoming webhooks
  and Workflows "post to a channel when a webhook request is received" accept).
- E-mail: multipart/alternative, plain text and HTML, one message per recipient.
- SMS: the text, cut to 1600 characters (Twilio's maximum body).

Pure functions: no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from services.notifier.recipients import Recipient
from services.notifier.templates import Rendered

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_FALLBACK_TEXT = 3000  # the top-level "text" (notifications); Slack truncates at 40,000
MAX_BUTTON_URL = 3000
MAX_CONTEXT_TEXT = 3000
MAX_SMS = 1600
MAX_REASONS = 10
ELLIPSIS = "…"


def lead_name(data: Mapping[str, Any]) -> str:
    """A lead as a person reads it: its name, else its company, else its e-mail, else
    "lead" and the start of its id (events such as lead.qualified carry no contact)."""
    lead = data.get("lead") if isinstance(data.get("lead"), Mapping) else {}
    assert isinstance(lead, Mapping)
    name = " ".join(str(lead[k]) for k in ("first_name", "last_name") if lead.get(k))
    fallback = f"lead {str(data.get('lead_id') or '?')[:8]}"
    return name or str(lead.get("company") or lead.get("email") or fallback)


def dashboard_link(template: str | None, lead_id: str) -> str | None:
    """The lead's dashboard page: ``notifier.dashboard_url`` with ``{lead_id}`` filled in."""
    return template.replace("{lead_id}", lead_id) if template else None


def alert_context(
    kind: str, data: Mapping[str, Any], dashboard: str | None, recipient: Recipient | None
) -> dict[str, Any]:
    """What a template sees: the event data, plus kind, lead_name, dashboard_url, recipient."""
    who = recipient.person if recipient is not None else None
    return {
        **data,
        "kind": kind,
        "lead_name": lead_name(data),
        "dashboard_url": dashboard,
        "recipient": {
            "name": who.name if who else None,
            "role": recipient.role if recipient else None,
        },
    }


def key_facts(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The lead's key facts an alert shows, those the event has: contact, score, owner."""
    lead = data.get("lead") if isinstance(data.get("lead"), Mapping) else {}
    assert isinstance(lead, Mapping)
    facts: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            facts.append((label, str(value)))

    add("Lead", lead_name(data))
    add("Company", lead.get("company"))
    add("E-mail", lead.get("email"))
    add("Phone", lead.get("phone"))
    add("Country", lead.get("country"))
    score = data.get("score")
    add("Score", f"{score:g}" if isinstance(score, int | float) else None)
    add("Bucket", data.get("to_bucket") or data.get("bucket"))
    add("Source", data.get("source") or lead.get("source"))
    add("Queue", data.get("queue"))
    rep = data.get("rep")
    add("Rep", rep.get("name") if isinstance(rep, Mapping) else None)
    add("Due", data.get("sla_due_at") or data.get("due_at"))
    return facts


def reasons(data: Mapping[str, Any]) -> list[str]:
    """Why, where the event says: score contributions, the routing explanation, the reason."""
    found: list[str] = []
    for c in data.get("contributions") or []:
        if isinstance(c, Mapping) and c.get("points"):
            found.append(f"{c.get('rule')}: {c['points']:+g}")
    trace = data.get("trace")
    if isinstance(trace, Mapping) and trace.get("explanation"):
        found.append(str(trace["explanation"]))
    for key in ("reason", "explanation"):
        if isinstance(data.get(key), str) and data[key] and data[key] not in found:
            found.append(data[key])
    return found[:MAX_REASONS]


# --- Slack -------------------------------------------------------------------------------

_PARTIAL_ESCAPE = re.compile(r"&[a-z]{0,4}$|<[^>]*$")


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities (https://docs.slack.dev/messaging/formatting-message-text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters, an ellipsis marking the cut; never ends inside an
    entity or a ``<...>`` mention or link."""
    if len(text) <= limit:
        return text
    head = _PARTIAL_ESCAPE.sub("", text[: limit - len(ELLIPSIS)])
    return head + ELLIPSIS


def _mention(recipient: Recipient) -> str:
    person = recipient.person
    if person.slack_user_id:
        return f"<@{person.slack_user_id}>"
    return slack_escape(person.name or person.id)


def slack_message(
    texts: Rendered,
    data: Mapping[str, Any],
    dashboard: str | None,
    mentions: Sequence[Recipient] = (),
    channel: str | None = None,
) -> dict[str, Any]:
    """A Block Kit message (for an incoming webhook, or ``chat.postMessage`` to ``channel``)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(texts.title, MAX_HEADER)}}
    ]
    mention_text = " ".join(_mention(r) for r in mentions)
    body = slack_escape(texts.text)
    if mention_text:
        body = f"{mention_text} {body}".strip()
    if body:
        blocks.append(_section(body))
    fields = [
        {"type": "mrkdwn", "text": cut(f"*{slack_escape(k)}*\n{slack_escape(v)}", MAX_FIELD_TEXT)}
        for k, v in key_facts(data)[:MAX_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    why = reasons(data)
    if why:
        blocks.append(_section("*Why*\n" + "\n".join(f"• {slack_escape(r)}" for r in why)))
    if dashboard and len(dashboard) <= MAX_BUTTON_URL:
        button = {"type": "plain_text", "text": "Open lead"}
        blocks.append(
            {"type": "actions", "elements": [{"type": "button", "text": button, "url": dashboard}]}
        )
    message: dict[str, Any] = {
        "text": cut(slack_escape(f"{texts.title}: {texts.text}"), MAX_FALLBACK_TEXT),
        "blocks": blocks[:MAX_BLOCKS],
    }
    if channel:
        message["channel"] = channel
    return message


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}


def block_kit_problems(message: Mapping[str, Any]) -> list[str]:
    """Where a message breaks Block Kit's limits (empty when it keeps them all)."""
    problems: list[str] = []
    blocks = message.get("blocks", [])
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "header" and len(text) > MAX_HEADER:
            problems.append(f"blocks[{i}]: header of {len(text)} characters")
        if block["type"] == "section":
            if len(text) > MAX_SECTION_TEXT:
                problems.append(f"blocks[{i}]: section text of {len(text)} characters")
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS:
                problems.append(f"blocks[{i}]: {len(fields)} fields")
            problems += [
                f"blocks[{i}].fields[{j}]: {len(f['text'])} characters"
                for j, f in enumerate(fields)
                if len(f["text"]) > MAX_FIELD_TEXT
            ]
            if not text and not fields:
                problems.append(f"blocks[{i}]: empty section")
    return problems


# --- Microsoft Teams ---------------------------------------------------------------------


def teams_message(
    texts: Rendered,
    data: Mapping[str, Any],
    dashboard: str | None,
    recipients: Sequence[Recipient] = (),
) -> dict[str, Any]:
    """A Teams message carrying one Adaptive Card (version 1.4); the recipients are named."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": texts.title, "weight": "Bolder", "size": "Medium",
         "wrap": True},
    ]  # fmt: skip
    if texts.text:
        body.append({"type": "TextBlock", "text": texts.text, "wrap": True})
    names = [r.person.name or r.person.id for r in recipients]
    if names:
        body.append({"type": "TextBlock", "text": "For: " + ", ".join(names), "wrap": True})
    facts = [{"title": k, "value": v} for k, v in key_facts(data)]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    why = reasons(data)
    if why:
        body.append({"type": "TextBlock", "text": "\n".join(f"- {r}" for r in why), "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if dashboard:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open lead", "url": dashboard}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


# --- E-mail ------------------------------------------------------------------------------


def email_message(
    texts: Rendered,
    data: Mapping[str, Any],
    dashboard: str | None,
    sender: str,
    recipient: Recipient,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """One e-mail to one recipient: plain text and HTML alternatives of the same alert."""
    msg = EmailMessage()
    name, address = parseaddr(sender)
    msg["From"] = Address(display_name=name, addr_spec=address) if name else address
    person = recipient.person
    assert person.email is not None
    msg["To"] = Address(display_name=_one_line(person.name or ""), addr_spec=person.email)
    msg["Subject"] = _one_line(texts.title)
    msg["Message-ID"] = f"<{message_id}@leadflow.notifier>"
    msg["Date"] = format_datetime(date)
    facts = key_facts(data)
    why = reasons(data)
    plain = [texts.text, ""]
    plain += [f"{k}: {v}" for k, v in facts]
    if why:
        plain += ["", "Why:"] + [f"- {r}" for r in why]
    if dashboard:
        plain += ["", f"Open the lead: {dashboard}"]
    msg.set_content("\n".join(plain).strip() + "\n")
    msg.add_alternative(_html(texts, facts, why, dashboard), subtype="html")
    return msg


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _html(
    texts: Rendered, facts: list[tuple[str, str]], why: list[str], dashboard: str | None
) -> str:
    esc = html.escape
    body = texts.html if texts.html is not None else f"<p>{esc(texts.text)}</p>"
    rows = "".join(f'<tr><th align="left">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in facts)
    parts = [f"<h2>{esc(texts.title)}</h2>", body]
    if rows:
        parts.append(f"<table>{rows}</table>")
    if why:
        parts.append("<p><b>Why</b></p><ul>" + "".join(f"<li>{esc(r)}</li>" for r in why) + "</ul>")
    if dashboard:
        parts.append(f'<p><a href="{esc(dashboard)}">Open the lead</a></p>')
    return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>\n"


# --- SMS ---------------------------------------------------------------------------------


def sms_text(texts: Rendered, dashboard: str | None) -> str:
    """The SMS body: title, text and link, cut to the provider's maximum."""
    parts = [texts.title, texts.text] + ([dashboard] if dashboard else [])
    return cut("\n".join(p for p in parts if p), MAX_SMS)
