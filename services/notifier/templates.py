"""Alert texts: a title and a body per alert kind and channel, rendered in a Jinja2 sandbox.

Every alert kind has shipped defaults (:data:`DEFAULTS`); ``notifier.templates`` may replace
any part, for all channels or for one::

    templates:
      lead.assigned:
        title: "{{ lead_name }} is yours"                # every channel
        email: {subject: "New lead for {{ rep.name }}"}  # e-mail only (subject = title)
        sms: {text: "Call {{ lead.phone }} now"}

Alert kinds are the event short names plus two kinds of ``lead.assigned``:
``lead.reassigned`` (taken from a rep who missed the SLA) and ``lead.escalated`` (the SLA
escalation); a template for one of these wins over ``lead.assigned``'s.

A template sees the event's ``data`` fields (``lead``, ``rep``, ``score``, ...) plus
``kind``, ``lead_name``, ``dashboard_url`` and ``recipient`` (``name``, ``role``). Templates
are rendered by a :class:`~jinja2.sandbox.SandboxedEnvironment` with ``StrictUndefined``:
config cannot run code (``{{ ''.__class__.__mro__ }}`` is refused), and a field the event
lacks is an error. Each user template is rendered at load against a sample event of its kind
(:mod:`services.notifier.samples`), so a typo is refused with the template's name and the
missing field before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from services.notifier.domain import EVENT_SHORT_NAMES

ALERT_KINDS: tuple[str, ...] = (
    *EVENT_SHORT_NAMES,
    "lead.reassigned",
    "lead.escalated",
    # a subscription's summary of a period (digest: hourly|daily); sees count, items
    # (title, text, link, lead_id of each alert), period_end and subscription
    "digest",
)
CHANNELS = ("slack", "teams", "email", "sms")
PARTS = ("title", "text", "html")

_TEXT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

_WHO = "{{ lead_name }}{% if lead.company %} ({{ lead.company }}){% endif %}"
DEFAULTS: dict[str, tuple[str, str]] = {
    "lead.captured": (
        "New lead: " + _WHO,
        "A new lead came in from {{ lead.source }}"
        "{% if lead.campaign %} (campaign {{ lead.campaign }}){% endif %}.",
    ),
    "lead.qualified": (
        "Qualified: " + "{{ lead_name }}",
        "The lead qualified as {{ bucket }} with a score of {{ score | round | int }}.",
    ),
    "lead.disqualified": (
        "Disqualified: {{ lead_name }}",
        "The lead fell below the threshold ({{ score | round | int }}, {{ bucket }}).",
    ),
    "lead.bucket_changed": (
        "{{ lead_name }} is now {{ to_bucket }}",
        "The lead moved from {{ from_bucket }} to {{ to_bucket }}"
        " (score {{ score | round | int }}).",
    ),
    "lead.assigned": (
        "New lead for {{ rep.name }}: " + _WHO,
        "{{ rep.name }} owns this {{ bucket }} lead from {{ source }} in queue {{ queue }}."
        "{% if sla_due_at %} First contact is due by {{ sla_due_at }}.{% endif %}",
    ),
    "lead.reassigned": (
        "Reassigned to {{ rep.name }}: " + _WHO,
        "{% if previous_rep %}{{ previous_rep.name }} missed the first-contact deadline; "
        "{% endif %}{{ rep.name }} owns the lead now (attempt {{ attempt }}).",
    ),
    "lead.escalated": (
        "Escalated: " + _WHO,
        "Nobody contacted this lead in time; it was escalated to {{ rep.name }}"
        " in queue {{ queue }}.",
    ),
    "lead.followup_due": (
        "Follow-up due: {{ lead_name }}",
        "{{ rep.name }}: touch {{ step }} of {{ of }} ({{ mode }}) is due by {{ due_at }}.",
    ),
    "lead.sla_warning": (
        "SLA at risk: {{ lead_name }}",
        "{{ rep.name }} has not contacted this {{ bucket }} lead; the first-contact deadline"
        " is {{ due_at }}.",
    ),
    "lead.sla_breached": (
        "SLA breached: {{ lead_name }}",
        "{{ rep.name }} missed the first-contact deadline ({{ due_at }}). {{ reason }}",
    ),
    "lead.gone_cold": (
        "Gone cold: {{ lead_name }}",
        "{{ explanation }}",
    ),
    "lead.recycled": (
        "Recycled: {{ lead_name }}",
        "{{ explanation }}",
    ),
    "lead.routed_to_nurture": (
        "To nurture: {{ lead_name }}",
        "{{ reason }}",
    ),
    "nurture.step_due": (
        "Nurture step due: {{ lead_name }}",
        "Step {{ step }} of {{ total_steps }} of sequence {{ sequence }} ({{ mode }}) is due"
        " by {{ due_at }}.",
    ),
    "lead.followup_closed": (
        "Follow-up {{ outcome }}: {{ lead_name }}",
        "{{ rep_name }}: touch {{ step }} of {{ of }} ({{ mode }}), due {{ due_at }}, was"
        "{% if outcome == 'missed' %} missed{% elif outcome == 'late' %} done late"
        " ({{ done_at }}){% else %} done in time{% endif %}.",
    ),
    "lead.stage_changed": (
        "{{ to_stage | upper }}: {{ lead_name }}",
        "The lead moved from {{ from_stage }} to {{ to_stage }} ({{ cause }})"
        "{% if rep_id %}, owner {{ rep_id }}{% endif %}.",
    ),
    "notification.subscription_disabled": (
        "Subscription {{ subscription }} disabled",
        "Its receiver ({{ channel }}, {{ target }}) answered 410 Gone, so nothing more is sent"
        " to it; {{ cancelled }} pending deliveries were cancelled. Enable it again with"
        " POST /v1/subscriptions/{{ subscription }}:enable once the receiver is back.",
    ),
    "digest": (
        "{{ count }} Leadflow alert{{ 's' if count != 1 else '' }} ({{ subscription }})",
        "{% for item in items %}• {{ item.title }}{% if item.link %} {{ item.link }}{% endif %}"
        "\n{% endfor %}",
    ),
    "lead.erased": (
        "Lead erased",
        "Lead {{ lead_id }} was erased at {{ erased_at }}: delete what you hold about it.",
    ),
}


class TemplateProblem(ValueError):
    """A user template does not parse, or does not render against its kind's sample event."""


@dataclass(frozen=True)
class TemplateSet:
    """Compiled templates: user ones by (kind, channel or "", part), then the defaults."""

    user: Mapping[tuple[str, str, str], Template] = field(default_factory=dict)

    def pick(self, kind: str, base: str, channel: str, part: str) -> Template | None:
        for k in (kind, base):
            for ch in (channel, ""):
                found = self.user.get((k, ch, part))
                if found is not None:
                    return found
        return None


_DEFAULTS_COMPILED = {
    kind: (_TEXT.from_string(title), _TEXT.from_string(text))
    for kind, (title, text) in DEFAULTS.items()
}


def alert_kind(short_name: str, data: Mapping[str, Any]) -> str:
    """``lead.assigned`` is ``lead.escalated`` or ``lead.reassigned`` when its flags say so."""
    if short_name == "lead.assigned":
        if data.get("escalated"):
            return "lead.escalated"
        if data.get("reassigned"):
            return "lead.reassigned"
    return short_name


def compile_templates(
    spec: Mapping[str, Mapping[str, Any]], samples: Mapping[str, Mapping[str, Any]]
) -> TemplateSet:
    """Compile ``notifier.templates`` and render each against its kind's sample context;
    raise :class:`TemplateProblem` naming the template (``lead.assigned.email.subject``)."""
    user: dict[tuple[str, str, str], Template] = {}
    for kind, parts in spec.items():
        if kind not in ALERT_KINDS:
            raise TemplateProblem(
                f"{kind}: unknown alert kind; use one of {', '.join(ALERT_KINDS)}"
            )
        for key, value in parts.items():
            if key in CHANNELS and isinstance(value, Mapping):
                for part, source in value.items():
                    user[(kind, key, _part(kind, key, part))] = _compile(
                        f"{kind}.{key}.{part}", source, part == "html", samples[kind]
                    )
            elif key in ("title", "text"):
                user[(kind, "", key)] = _compile(f"{kind}.{key}", value, False, samples[kind])
            else:
                raise TemplateProblem(
                    f"{kind}.{key}: unknown; use title, text or a channel ({', '.join(CHANNELS)})"
                )
    return TemplateSet(user)


def _part(kind: str, channel: str, part: str) -> str:
    allowed = {"email": ("subject", "title", "text", "html")}.get(channel, ("title", "text"))
    if part not in allowed:
        raise TemplateProblem(f"{kind}.{channel}.{part}: unknown part; use {', '.join(allowed)}")
    return "title" if part == "subject" else part


def _compile(name: str, source: Any, html: bool, sample: Mapping[str, Any]) -> Template:
    if not isinstance(source, str):
        raise TemplateProblem(f"{name}: must be a string")
    try:
        template = (_HTML if html else _TEXT).from_string(source)
        template.render(sample)
    except TemplateError as exc:
        raise TemplateProblem(f"template {name}: {exc.message or type(exc).__name__}") from None
    return template


@dataclass(frozen=True)
class Rendered:
    """An alert's texts for one channel: plain title and body, and an HTML body if a user
    template gave one (else the message builder makes one from the text)."""

    title: str
    text: str
    html: str | None = None


def render(
    templates: TemplateSet, kind: str, base: str, channel: str, context: Mapping[str, Any]
) -> Rendered:
    """The title and texts of an alert; a user template that fails on this event (a field
    only some events have) falls back to the default, so an alert is never lost to a
    template."""
    default_title, default_text = _DEFAULTS_COMPILED.get(kind) or _DEFAULTS_COMPILED[base]

    def one(part: str, default: Template | None) -> str | None:
        chosen = templates.pick(kind, base, channel, part)
        for template in (chosen, default):
            if template is None:
                continue
            try:
                return (
                    " ".join(template.render(context).split())
                    if part == "title"
                    else (template.render(context).strip())
                )
            except TemplateError:
                continue
        return None

    return Rendered(
        title=one("title", default_title) or kind,
        text=one("text", default_text) or "",
        html=one("html", None),
    )
