"""Alert templates: defaults for every kind, user templates validated at load with the
template's name and the missing field, and a sandbox that runs no code."""

from __future__ import annotations

from typing import Any

import pytest

from services.notifier.config import template_samples
from services.notifier.messages import alert_context
from services.notifier.samples import sample_data
from services.notifier.templates import (
    ALERT_KINDS,
    DEFAULTS,
    TemplateProblem,
    TemplateSet,
    alert_kind,
    compile_templates,
    render,
)

SAMPLES = template_samples()


def compile_(spec: dict[str, Any]) -> TemplateSet:
    return compile_templates(spec, SAMPLES)


def base_of(kind: str) -> str:
    return "lead.assigned" if kind in ("lead.reassigned", "lead.escalated") else kind


def test_every_alert_kind_has_a_default_that_renders_on_its_sample() -> None:
    assert set(DEFAULTS) == set(ALERT_KINDS)
    for kind in ALERT_KINDS:
        for channel in ("slack", "teams", "email", "sms"):
            texts = render(TemplateSet(), kind, base_of(kind), channel, SAMPLES[kind])
            assert texts.title and texts.title != kind, kind
            assert texts.text, kind


def test_the_brief_s_alert_kinds_are_all_there() -> None:
    for kind in (
        "lead.captured", "lead.bucket_changed", "lead.assigned", "lead.followup_due",
        "lead.sla_warning", "lead.sla_breached", "lead.reassigned", "lead.escalated",
        "lead.gone_cold", "lead.recycled", "nurture.step_due",
    ):  # fmt: skip
        assert kind in ALERT_KINDS


def test_an_assignment_is_escalated_or_reassigned_by_its_flags() -> None:
    assert alert_kind("lead.assigned", {"escalated": True, "reassigned": True}) == "lead.escalated"
    assert alert_kind("lead.assigned", {"reassigned": True}) == "lead.reassigned"
    assert alert_kind("lead.assigned", {}) == "lead.assigned"
    assert alert_kind("lead.gone_cold", {"reassigned": True}) == "lead.gone_cold"


def test_a_user_template_wins_by_channel_then_kind_then_default() -> None:
    templates = compile_(
        {
            "lead.assigned": {
                "title": "{{ lead_name }} is yours, {{ recipient.name }}",
                "email": {"subject": "Mail: {{ lead_name }}", "html": "<b>{{ lead.email }}</b>"},
            },
            "lead.escalated": {"sms": {"text": "ESCALATED {{ queue }}"}},
        }
    )
    ctx = SAMPLES["lead.assigned"]
    assert render(templates, "lead.assigned", "lead.assigned", "slack", ctx).title == (
        "Tom Baker is yours, None"
    )
    mail = render(templates, "lead.assigned", "lead.assigned", "email", ctx)
    assert (mail.title, mail.html) == ("Mail: Tom Baker", "<b>tom.baker@example.com</b>")
    esc = SAMPLES["lead.escalated"]
    sms = render(templates, "lead.escalated", "lead.assigned", "sms", esc)
    assert (sms.title, sms.text) == ("Tom Baker is yours, None", "ESCALATED fashion-uk")
    assert render(templates, "lead.escalated", "lead.assigned", "slack", esc).text.startswith(
        "Nobody contacted this lead in time"
    )


def test_html_templates_escape_what_the_event_says() -> None:
    templates = compile_({"lead.captured": {"email": {"html": "<p>{{ lead.company }}</p>"}}})
    data = sample_data("lead.captured")
    data["lead"]["company"] = "<script>x</script>"
    ctx = alert_context("lead.captured", data, None, None)
    html = render(templates, "lead.captured", "lead.captured", "email", ctx).html
    assert html == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"lead.assigned": {"slack": {"text": "{{ rep.nmae }}"}}},
            "template lead.assigned.slack.text: 'dict object' has no attribute 'nmae'",
        ),
        (
            {"lead.sla_breached": {"title": "{{ managr }}"}},
            "template lead.sla_breached.title: 'managr' is undefined",
        ),
        (
            {"lead.captured": {"email": {"subject": "{% if %}"}}},
            "template lead.captured.email.subject: Expected an expression",
        ),
        ({"lead.scored": {"title": "x"}}, "lead.scored: unknown alert kind"),
        ({"lead.captured": {"body": "x"}}, "lead.captured.body: unknown; use title, text"),
        ({"lead.captured": {"sms": {"html": "x"}}}, "lead.captured.sms.html: unknown part"),
        ({"lead.captured": {"title": 3}}, "lead.captured.title: must be a string"),
    ],
)
def test_a_bad_template_is_refused_naming_it_and_the_missing_field(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateProblem) as caught:
        compile_(spec)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lead.__class__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ range.__globals__ }}",
        "{{ ''|attr('__class__') }}",  # CVE-2025-27516
        "{{ '{0.__class__}'.format(lead) }}",  # CVE-2024-56326
    ],
)
def test_a_template_cannot_reach_python_internals(source: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        compile_({"lead.captured": {"text": source}})
    assert str(caught.value).startswith("template lead.captured.text:")


def test_a_template_failing_on_one_event_falls_back_to_the_default() -> None:
    templates = compile_({"lead.assigned": {"text": "was {{ previous_rep.name }}"}})
    ctx = dict(SAMPLES["lead.assigned"], previous_rep=None)  # a first assignment
    text = render(templates, "lead.assigned", "lead.assigned", "slack", ctx).text
    assert text.startswith("Ana Silva owns this hot lead")
