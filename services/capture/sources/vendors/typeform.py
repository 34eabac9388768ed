"""Typeform webhook (``event_type: form_response``).

Contract: https://www.typeform.com/developers/webhooks/example-payload/ (``form_response``:
``form_id``, ``token``, ``submitted_at``, ``hidden``, ``definition.fields[{id, ref, type,
title}]``, ``answers[{type, <type>: value, field: {id, type, ref}}]``).

An answer becomes a lead field by its type (``email``, ``phone_number``), by its field's
``ref`` when the form author named it after a lead field (``first_name``, ``last_name``,
``name``, ``company``, ``country``, ``job_title``, ...), or else (typically when the ref is
Typeform's generated UUID) by the question's title in ``definition.fields`` ("What's your
first name?", "Company", "Job title", ...; :func:`by_title`). Any other answer is kept in
``attributes`` under its ``ref`` (or its title, when the ref is generated). ``submitted_at``
is also kept as ``vendor_created_at``.
Hidden fields named ``utm_*`` are attribution; other hidden fields go to ``attributes``. An
answer that is blank or not Typeform's shape is skipped: the other answers still make the lead.
``form_response_partial`` events (unfinished forms) make no lead.
"""

from __future__ import annotations

import re
from typing import Any

from services.capture.domain.lead import LEAD_FIELDS, UTM_KEYS
from services.capture.sources.base import InboundRequest, PayloadError

from ._common import (
    FULL_NAME,
    VENDOR_CREATED_AT,
    LeadDraft,
    arr,
    at,
    fail,
    load_json,
    obj,
    text,
)

_BY_TYPE = {"email": "email", "phone_number": "phone"}
_BY_REF = {
    **{f: f for f in LEAD_FIELDS if f != "source"},  # the configured source names the lead
    "name": FULL_NAME,
    "full_name": FULL_NAME,
    "job_title": "title",
    "company_name": "company",
    "phone_number": "phone",
}
_TEXT_TYPES = frozenset({"text", "number"})
# A question's title, when its ref was left as Typeform generated it: the first rule whose
# words all appear in the title (lower-cased, punctuation dropped) names the lead field.
_TITLE_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("email",), "email"),
    (("e", "mail"), "email"),
    (("phone",), "phone"),
    (("mobile",), "phone"),
    (("first", "name"), "first_name"),
    (("given", "name"), "first_name"),
    (("last", "name"), "last_name"),
    (("family", "name"), "last_name"),
    (("surname",), "last_name"),
    (("company", "size"), "company_size"),
    (("employees",), "company_size"),
    (("company",), "company"),
    (("organisation",), "company"),
    (("organization",), "company"),
    (("job", "title"), "title"),
    (("role",), "title"),
    (("country",), "country"),
    (("industry",), "industry"),
    (("full", "name"), FULL_NAME),
    (("your", "name"), FULL_NAME),
    (("name",), FULL_NAME),
)
_GENERATED_REF = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def parse(req: InboundRequest) -> list[dict[str, Any]]:
    """One lead per completed response."""
    body = obj(load_json(req), "body")
    event_type = body.get("event_type", "form_response")
    if event_type == "form_response_partial":
        return []
    if event_type != "form_response":
        fail("event_type", "must be 'form_response'")
    response = obj(body.get("form_response"), "form_response")
    titles = _titles(response)
    draft = LeadDraft()
    answers_path = "form_response.answers"
    for i, answer in enumerate(arr(response.get("answers"), answers_path)):
        try:
            _answer(draft, answer, at(answers_path, i), i, titles)
        except PayloadError:
            continue  # a blank or unknown answer is skipped; the others still make the lead
    hidden = obj(response.get("hidden") or {}, "form_response.hidden")
    for name, value in hidden.items():
        if name in UTM_KEYS and isinstance(value, str):
            draft.assign(name, value, key=name)
        else:
            draft.keep(name, value)
    for key in ("form_id", "token", "landed_at", "submitted_at"):
        draft.keep(key, response.get(key))
    draft.keep("event_id", body.get("event_id"))
    draft.keep(VENDOR_CREATED_AT, response.get("submitted_at"))
    return [draft.build()]


def _answer(draft: LeadDraft, answer: Any, path: str, i: int, titles: dict[str, str]) -> None:
    """One answer into the draft; PayloadError when it is blank or not Typeform's shape."""
    answer = obj(answer, path)
    kind = text(answer.get("type"), at(path, "type"))
    if not kind or kind not in answer:
        fail(at(path, kind or "type"), "is required")
    field = obj(answer.get("field") or {}, at(path, "field"))
    ref = text(field.get("ref"), at(path, "field.ref")) or ""
    field_id = text(field.get("id"), at(path, "field.id")) or f"answer_{i}"
    value = _value(answer[kind], kind, at(path, kind))
    generated = not ref or bool(_GENERATED_REF.match(ref))
    title = titles.get(field_id, "")
    target = (
        _BY_TYPE.get(kind)
        or _BY_REF.get(ref.lower().replace("-", "_"))
        or (by_title(title) if kind in _TEXT_TYPES else None)
    )
    key = ref if not generated else title or field_id
    if target is not None and (isinstance(value, str) or target == "company_size"):
        draft.assign(target, value, key=key)
    else:
        draft.keep(key, value)


def by_title(title: str) -> str | None:
    """The lead field a question's title asks for ("What's your first name?" -> first_name),
    or None. Typeform's placeholders (``{{field:...}}``) are ignored."""
    words = re.sub(r"\{\{[^}]*\}\}|[^a-z ]", " ", title.lower()).split()
    for needed, target in _TITLE_RULES:
        if all(word in words for word in needed):
            return target
    return None


def _value(raw: Any, kind: str, path: str) -> Any:
    """An answer's value: a choice becomes its label (or the "other" text)."""
    if kind == "choice":
        choice = obj(raw, path)
        return text(choice.get("label") or choice.get("other"), at(path, "label"))
    if kind == "choices":
        choices = obj(raw, path)
        labels = arr(choices.get("labels", []), at(path, "labels"))
        return [*labels, choices["other"]] if choices.get("other") else labels
    if kind in ("email", "phone_number", "text", "url", "date", "file_url"):
        return text(raw, path)
    return raw  # number, boolean, payment, ...: kept as Typeform sent it


def _titles(response: dict[str, Any]) -> dict[str, str]:
    """Field id -> question title, from ``definition.fields`` when present."""
    definition = response.get("definition")
    fields = definition.get("fields") if isinstance(definition, dict) else None
    if not isinstance(fields, list):
        return {}
    return {
        f["id"]: f["title"]
        for f in fields
        if isinstance(f, dict) and isinstance(f.get("id"), str) and isinstance(f.get("title"), str)
    }
