"""What every vendor parser needs: decode the body, check its shape naming the path, build a lead.

Every helper here raises :class:`PayloadError` (never ``KeyError``/``TypeError``) when the body
is not the expected shape, with a ``Problem`` whose field is the path inside the vendor's
payload (``form_response.answers[2].email``), so the operator can find the culprit.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

from services.capture.domain.lead import LEAD_FIELDS, UTM_KEYS, Problem
from services.capture.sources.base import InboundRequest, PayloadError, UnreadableLead

MAX_LEADS = 1000  # same cap as POST /v1/leads:batch
MAX_FORM_FIELDS = 1000
TEXT_FIELDS = LEAD_FIELDS - {"company_size"}
FULL_NAME = "full_name"  # a target that is split into first_name / last_name
# Attribute names every vendor uses for the same thing (docs/vendors.md): the vendor's own
# time of the submission, as sent, and the person's consent answers, as sent.
VENDOR_CREATED_AT = "vendor_created_at"
CONSENT = "consent"
_CONSENT_KEY = re.compile(r"consent|gdpr|opt[-_ ]?in|i agree|marketing[-_ ]?permission", re.I)


def fail(path: str, problem: str) -> NoReturn:
    raise PayloadError([Problem(path or "body", problem)])


def at(path: str, key: str | int) -> str:
    """The path of ``key`` inside ``path``: ``answers`` + 2 -> ``answers[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# -- bodies -------------------------------------------------------------------------------


def load_json(req: InboundRequest) -> Any:
    """The body as JSON; NaN/Infinity are refused because PostgreSQL JSON cannot store them."""
    if not req.body.strip():
        fail("body", "is empty; expected JSON")
    try:
        text = req.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail("body", "is not UTF-8 text")
    return parse_json_text(text, "body")


def parse_json_text(text: str, path: str) -> Any:
    """Parse JSON held in a string (a body, or a field such as Unbounce's ``data.json``)."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        problem = "is nested too deeply"
    except ValueError as exc:
        problem = f"is not valid JSON: {exc}"
    fail(path, problem)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"number {raw} is out of range")
    return value


def form_fields(req: InboundRequest) -> dict[str, str]:
    """Form fields of a urlencoded or multipart body; a repeated name's values are joined with
    ``;`` (how Salesforce sends multi-select picklists). Uploaded files are skipped."""
    if req.content_type.lower().startswith("multipart/form-data"):
        pairs = _multipart_pairs(req)
    else:
        try:
            text = req.body.decode("utf-8")
        except UnicodeDecodeError:
            fail("body", "is not UTF-8 text")
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:
            fail("body", f"has more than {MAX_FORM_FIELDS} form fields")
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields[name] = f"{fields[name]};{value}" if name in fields else value
    return fields


def _multipart_pairs(req: InboundRequest) -> list[tuple[str, str]]:
    head = f"Content-Type: {req.content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    if not message.is_multipart():
        fail("body", "is not multipart/form-data (missing or wrong boundary)")
    pairs: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        try:
            pairs.append((name, raw.decode(part.get_content_charset() or "utf-8")))
        except (LookupError, UnicodeDecodeError):
            fail(name, "is not UTF-8 text")
        if len(pairs) > MAX_FORM_FIELDS:
            fail("body", f"has more than {MAX_FORM_FIELDS} form fields")
    return pairs


def unflatten(fields: Mapping[str, str]) -> dict[str, Any]:
    """Nest PHP-style bracketed names: ``data[merges][FNAME]`` -> ``{"data": {"merges": ...}}``."""
    root: dict[str, Any] = {}
    for name, value in fields.items():
        head, bracket, rest = name.partition("[")
        keys = [head, *rest[:-1].split("][")] if bracket and name.endswith("]") else [name]
        if not all(keys):  # "[]", "a[]": not a nesting we read; kept under the literal name
            keys = [name]
        node = root
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                fail(name, f"conflicts with the field {_bracketed(keys[: depth + 1])}")
            node = child
        if isinstance(node.get(keys[-1]), dict):
            fail(name, "conflicts with the nested fields under the same name")
        node[keys[-1]] = value
    return root


def _bracketed(keys: list[str]) -> str:
    return keys[0] + "".join(f"[{k}]" for k in keys[1:])


def utm_from_url(url: str | None) -> dict[str, str]:
    """``utm_*`` query parameters of a landing-page URL (attribution when the form has none)."""
    if not url:
        return {}
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return {k: v for k, v in parse_qsl(query) if k in UTM_KEYS and v}


# -- shapes -------------------------------------------------------------------------------


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(path, "must be an object")
    return value


def arr(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        fail(path, "must be a list")
    return value


def text(value: Any, path: str) -> str | None:
    """A string value; numbers become strings (phones arrive as JSON numbers), None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    fail(path, "must be a string")


def one_or_many(body: Any, path: str, many_key: str | None = None) -> list[tuple[str, Any]]:
    """Items with their paths: the body itself, a list, or ``{many_key: [...]}``."""
    if many_key is not None and isinstance(body, dict) and many_key in body:
        path, body = at(path, many_key), body[many_key]
        arr(body, path)
    if isinstance(body, list):
        if not body:
            fail(path or "body", "contains no leads")
        if len(body) > MAX_LEADS:
            fail(path or "body", f"has more than {MAX_LEADS} leads")
        return [(f"{path}[{i}]", item) for i, item in enumerate(body)]
    return [(path, body)]


def each_lead(
    items: list[tuple[str, Any]], read: Callable[[Any, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """``read`` each item; in a payload of several leads, one that is not the vendor's shape
    becomes an :class:`UnreadableLead` at its place, so the others are still stored. A single
    lead's problem is the whole payload's (422 naming the path)."""
    if len(items) == 1:
        path, item = items[0]
        return [read(item, path)]
    leads: list[dict[str, Any]] = []
    for path, item in items:
        try:
            leads.append(read(item, path))
        except PayloadError as exc:
            leads.append(UnreadableLead(exc.problems))
    return leads


# -- leads --------------------------------------------------------------------------------


def split_name(full: str) -> tuple[str | None, str | None]:
    """``"Joe Example"`` -> first, rest; ``"Example, Joe"`` -> Joe, Example."""
    name = " ".join(full.split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip() or None, last.strip() or None
    first, _, last = name.partition(" ")
    return first or None, last or None


def headcount(raw: Any) -> int | None:
    """Employees as a whole number; ranges such as ``51-200`` are not a number (kept as text)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw >= 0 else None
    if isinstance(raw, str):
        digits = raw.strip().replace(",", "").removesuffix("+")
        if digits.isdecimal() and len(digits) < 10:
            return int(digits)
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


class LeadDraft:
    """One raw lead being assembled. The first value for a lead field wins; later ones and
    everything the lead has no field for are kept in ``attributes`` under the vendor's key."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.attributes: dict[str, Any] = {}
        self._full_name: str | None = None

    def assign(self, target: str, value: Any, *, key: str) -> None:
        """Put ``value`` (read from the vendor's ``key``) where ``target`` says."""
        if _blank(value):
            return
        if target == FULL_NAME and isinstance(value, str):
            if self._full_name is None:
                self._full_name = value
            else:
                self.keep(key, value)
        elif target == "company_size":
            size = headcount(value)
            if size is None or "company_size" in self.fields:
                self.keep(key, value)
            else:
                self.fields["company_size"] = size
        elif target in TEXT_FIELDS and target not in self.fields:
            self.fields[target] = value
        elif self.fields.get(target) != value:  # the same value twice is no news
            self.keep(key, value)

    def take(self, key: str, value: Any, table: Mapping[str, str]) -> None:
        """Assign by ``table`` (vendor key -> target), or keep as an attribute."""
        target = table.get(key)
        if target is None:
            self.keep(key, value)
        else:
            self.assign(target, value, key=key)

    def keep(self, key: str, value: Any) -> None:
        if not _blank(value):
            self.attributes.setdefault(key, value)

    def build(self) -> dict[str, Any]:
        lead = dict(self.fields)
        if self._full_name is not None:
            given = " ".join(str(lead[k]) for k in ("first_name", "last_name") if k in lead)
            if not given:
                first, last = split_name(self._full_name)
                lead.update({k: v for k, v in (("first_name", first), ("last_name", last)) if v})
            elif " ".join(self._full_name.split()) != given:  # a different name: worth keeping
                self.keep(FULL_NAME, self._full_name)
        if CONSENT not in self.attributes:
            ticked = {k: v for k, v in self.attributes.items() if _CONSENT_KEY.search(k)}
            if ticked:  # a form's GDPR / opt-in checkboxes: also gathered in one place
                self.attributes[CONSENT] = ticked
        if self.attributes:
            lead["attributes"] = dict(self.attributes)
        return lead
