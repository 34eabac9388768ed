"""LinkedIn Lead Gen Forms: a ``leadFormResponses`` record (Lead Sync API).

Contract: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync (response:
``id``, ``leadType``, ``submittedAt``, ``testLead``, ``owner``, ``associatedEntity``,
``leadMetadata``, ``versionedLeadGenFormUrn``, ``formResponse: {answers: [{questionId,
answerDetails: {textQuestionAnswer: {answer}} | {multipleChoiceAnswer: {options: [id]}}}],
consentResponses: [{consentId, accepted}]}``) and
https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/lead-sync-schema (the form's
``content.questions`` with ``questionId`` and ``predefinedField``).

Accepted: one response, or the finder's ``{"elements": [...]}``. An answer only carries a
``questionId``, so what it means comes from, in order:

1. the form, when the response was fetched with the ``form:(...)`` projection
   (``form.content.questions[].predefinedField``, and ``form.hiddenFields`` for ``utm_*``);
2. a mapping configured with :func:`make_parser` (``{questionId: "EMAIL" | "email" | ...}``,
   a LinkedIn predefined field or one of our lead fields).

Answers to anything else are kept in ``attributes`` under the question's text (or
``question_<id>``), consents under ``consents``, the ids and URNs under their own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.capture.domain.lead import LEAD_FIELDS
from services.capture.sources.base import InboundRequest, Parser

from ._common import (
    FULL_NAME,
    LeadDraft,
    arr,
    at,
    each_lead,
    fail,
    load_json,
    obj,
    one_or_many,
    text,
)

PREDEFINED = {
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "FULL_NAME": FULL_NAME,
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE_NUMBER": "phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "title",
    "COUNTRY": "country",
    "INDUSTRY": "industry",
    "COMPANY_SIZE": "company_size",
}
_KEPT = {
    "id": "lead_id",
    "leadType": "lead_type",
    "submittedAt": "submitted_at",
    "testLead": "test_lead",
    "versionedLeadGenFormUrn": "form_urn",
    "owner": "owner",
    "associatedEntity": "associated_entity",
    "leadMetadata": "lead_metadata",
}


class _Question:
    def __init__(self, key: str, target: str | None, options: dict[int, str]) -> None:
        self.key, self.target, self.options = key, target, options


def make_parser(questions: Mapping[int | str, str] | None = None) -> Parser:
    """A parser that also knows these question ids (for responses fetched without the form)."""
    configured: dict[str, str] = {}
    for qid, meaning in (questions or {}).items():
        target = PREDEFINED.get(meaning, meaning if meaning in LEAD_FIELDS else None)
        if target is None:
            raise ValueError(f"question {qid}: {meaning!r} is no predefined field nor lead field")
        configured[str(qid)] = target

    def parse_linkedin(req: InboundRequest) -> list[dict[str, Any]]:
        body = load_json(req)
        items = one_or_many(body, "", "elements")
        return each_lead(items, lambda item, p: _lead(obj(item, p), p, configured))

    return parse_linkedin


def _lead(response: dict[str, Any], path: str, configured: dict[str, str]) -> dict[str, Any]:
    questions, hidden = _form_questions(response)
    form_path = at(path, "formResponse")
    form_response = obj(response.get("formResponse"), form_path)
    answers_path = at(form_path, "answers")
    draft = LeadDraft()
    for i, answer in enumerate(arr(form_response.get("answers"), answers_path)):
        answer_path = at(answers_path, i)
        answer = obj(answer, answer_path)
        qid = text(answer.get("questionId"), at(answer_path, "questionId"))
        if not qid:
            fail(at(answer_path, "questionId"), "is required")
        question = questions.get(qid) or _Question(f"question_{qid}", None, {})
        target = configured.get(qid, question.target)
        value = _answer_value(answer, answer_path, question)
        if target is None or not isinstance(value, str):
            draft.keep(question.key, value)
        else:
            draft.assign(target, value, key=question.key)
    for name, value in hidden.items():
        draft.assign(name, value, key=name)  # utm_* become lead fields, the rest attributes
    consents = form_response.get("consentResponses")
    draft.keep("consents", arr(consents, at(form_path, "consentResponses")) if consents else None)
    for key, name in _KEPT.items():
        draft.keep(name, response.get(key))
    return draft.build()


def _answer_value(answer: dict[str, Any], path: str, question: _Question) -> Any:
    details_path = at(path, "answerDetails")
    details = obj(answer.get("answerDetails"), details_path)
    if "textQuestionAnswer" in details:
        text_path = at(details_path, "textQuestionAnswer")
        given = obj(details["textQuestionAnswer"], text_path).get("answer")
        return text(given, at(text_path, "answer"))
    if "multipleChoiceAnswer" in details:
        choice_path = at(details_path, "multipleChoiceAnswer")
        options_path = at(choice_path, "options")
        choice = obj(details["multipleChoiceAnswer"], choice_path)
        options = arr(choice.get("options"), options_path)
        for i, option in enumerate(options):
            if not isinstance(option, int) or isinstance(option, bool):
                fail(at(options_path, i), "must be an option id (a whole number)")
        labels = [question.options.get(o, o) for o in options]
        return labels[0] if len(labels) == 1 else labels
    return details  # an answer type this parser does not know: kept as LinkedIn sent it


def _form_questions(response: dict[str, Any]) -> tuple[dict[str, _Question], dict[str, str]]:
    """Question ids -> meaning, and the hidden fields, from the ``form`` projection if any.
    The form only explains answers, so a malformed one is ignored rather than refused."""
    form = _dict(response.get("form"))
    questions: dict[str, _Question] = {}
    for question in _list(_dict(form.get("content")).get("questions")):
        question = _dict(question)
        qid = str(question.get("questionId"))
        details = _dict(_dict(question.get("questionDetails")).get("multipleChoiceQuestionDetails"))
        labels = {
            o["id"]: _localized(o.get("text")) or str(o["id"])
            for o in map(_dict, _list(details.get("options")))
            if isinstance(o.get("id"), int)
        }
        key = _localized(question.get("question")) or question.get("name") or f"question_{qid}"
        target = PREDEFINED.get(str(question.get("predefinedField")))
        questions[qid] = _Question(str(key), target, labels)
    hidden = {
        h["name"]: h["value"]
        for h in map(_dict, _list(form.get("hiddenFields")))
        if isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
    }
    return questions, hidden


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _localized(value: Any) -> str | None:
    """The first translation of a LinkedIn ``MultiLocaleString`` (``{"localized": {...}}``)."""
    if isinstance(value, dict) and isinstance(value.get("localized"), dict):
        for translation in value["localized"].values():
            if isinstance(translation, str) and translation:
                return translation
    return None


parse = make_parser()
