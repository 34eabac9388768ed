"""Capture's rules: clean and validate a submitted lead, and say exactly what is wrong.

Pure functions: no I/O. **Cleaning never costs a lead**: a value that does not clean (a
phone that does not validate, an unknown country, a company size that is no number, text
storage would refuse) is kept raw and flagged in ``data_quality`` (``[{field, problem,
raw}]``, and ``email_raw`` / ``phone_raw`` for a contact), and the rest of the lead is
kept. A lead is refused (:class:`InvalidLead`, naming the fields) only when no way to
contact the person remains: no valid e-mail and no valid phone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

MAX_TEXT = 256
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CONTACT_FIELDS = ("email", "phone")
# Integers JavaScript (and any JSON reader that uses doubles) reads exactly: a vendor id
# beyond this is kept as a decimal string, so no reader of the lead rounds it.
SAFE_INTEGER = 2**53
_LANGUAGE = re.compile(r"^[a-z]{2}$")
# A few common names pycountry does not resolve on its own.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "russia": "RU",
    "south korea": "KR",
    "czech republic": "CZ",
}


@dataclass(frozen=True)
class Problem:
    field: str
    problem: str


class InvalidLead(ValueError):
    """The submitted lead cannot be accepted; ``problems`` names each bad field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Flag:
    """A value that did not clean, kept as sent (``raw``) beside what was wrong with it."""

    field: str
    problem: str
    raw: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "problem": self.problem, "raw": self.raw}


@dataclass(frozen=True)
class CleanLead:
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    country: str | None
    interest: str | None
    industry: str | None
    company_size: int | None
    language: str | None
    source: str
    channel: str | None
    campaign: str | None
    utm: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    email_raw: str | None = None  # the e-mail as sent, when it is not a valid address
    phone_raw: str | None = None  # the phone as sent, when it does not validate
    data_quality: tuple[Flag, ...] = ()

    def as_profile(self) -> dict[str, Any]:
        """The lead as a profile dict; ``dataclasses.asdict`` deep-copies every value and
        cost ~13 % of capture's CPU on the batch path."""
        profile = {name: getattr(self, name) for name in _CLEAN_LEAD_FIELDS}
        profile["utm"] = dict(self.utm)
        profile["attributes"] = dict(self.attributes)
        profile["data_quality"] = [f.as_dict() for f in self.data_quality]
        return profile


_CLEAN_LEAD_FIELDS = tuple(f.name for f in fields(CleanLead))
# What cleaning keeps beside the fields a lead is sent with: containers (utm, attributes)
# and what it notes about them (raw values, data quality).
_KEPT_BY_CLEANING = frozenset({"utm", "attributes", "email_raw", "phone_raw", "data_quality"})
# The fields a lead is sent with (POST /v1/leads, a vendor's body, a mapping): the cleaned
# lead's own fields, with the UTM parameters flat as they arrive.
LEAD_FIELDS = frozenset({*(n for n in _CLEAN_LEAD_FIELDS if n not in _KEPT_BY_CLEANING), *UTM_KEYS})


def normalise_email(raw: str) -> str:
    """Emails compare case-insensitively and without surrounding space."""
    result = validate_email(raw.strip(), check_deliverability=False)
    return result.normalized.lower()


def normalise_country(raw: str) -> str:
    """Country names, alpha-2 and alpha-3 codes all become ISO 3166-1 alpha-2."""
    text = raw.strip()
    alias = _COUNTRY_ALIASES.get(text.casefold())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        pass
    try:
        matches = pycountry.countries.search_fuzzy(text) if len(text) > 3 else []
    except LookupError:
        matches = []
    if len(matches) == 1:
        return str(matches[0].alpha_2)
    raise ValueError(f"unknown country {raw!r}; use an ISO 3166 code or name")


@dataclass(frozen=True)
class Phone:
    e164: str
    extension: str | None = None


def parse_phone(raw: str, country: str | None) -> Phone:
    """A phone as E.164, reading national numbers in the lead's country; an extension
    ("+1 415 555 0100 ext 12") is not part of E.164 and is returned beside it."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        hint = "" if country else " (give a +country prefix or the lead's country)"
        raise ValueError(f"not a phone number: {exc}{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return Phone(e164, number.extension or None)


def normalise_phone(raw: str, country: str | None) -> str:
    """Phones become E.164, reading national numbers in the lead's country."""
    return parse_phone(raw, country).e164


def tidy_name(raw: str) -> str:
    """A name as the person typed it, only with runs of spaces collapsed: no case changes
    ("API", "McDonald", "van der Berg" and "de la Cruz" all stay as written)."""
    return " ".join(raw.split())


def clean_lead(raw: Mapping[str, Any]) -> CleanLead:
    """Validate and normalise a submitted lead. A value that does not clean is flagged in
    ``data_quality`` and kept raw; InvalidLead only when no valid e-mail or phone remains."""
    flags: list[Flag] = []

    def flag(name: str, problem: str, value: Any) -> None:
        flags.append(Flag(name, problem, value))

    def text(name: str, *, contact: bool = False) -> str | None:
        """The field as trimmed text; numbers become text. A value that cannot be text
        is flagged; text storage would refuse is repaired and flagged (a contact with
        such text is not trusted, only flagged)."""
        value = raw.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = _number_text(value)
        if not isinstance(value, str):
            flag(name, "must be a string", storable(value))
            return None
        value = value.strip()
        repaired, problem = repair_text(value)
        if problem is not None:
            flag(name, problem, repaired)
            if contact:
                return None
            value = repaired
        if len(value) > MAX_TEXT:
            if contact:
                flag(name, f"longer than {MAX_TEXT} characters", value)
                return None
            flag(name, f"longer than {MAX_TEXT} characters; cut to {MAX_TEXT}", value)
            value = value[:MAX_TEXT].rstrip()
        return value or None

    country = None
    if (country_raw := text("country")) is not None:
        try:
            country = normalise_country(country_raw)
        except ValueError as exc:
            flag("country", str(exc), country_raw)

    email = email_raw = None
    if (given_email := text("email", contact=True)) is not None:
        try:
            email = normalise_email(given_email)
        except EmailNotValidError as exc:
            email_raw = given_email
            flag("email", f"not a valid email address: {exc}", given_email)

    phone = phone_raw = None
    extension: str | None = None
    if (given_phone := text("phone", contact=True)) is not None:
        try:
            parsed = parse_phone(given_phone, country)
            phone, extension = parsed.e164, parsed.extension
        except ValueError as exc:
            phone_raw = given_phone
            flag("phone", str(exc), given_phone)

    if email is None and phone is None:
        raise InvalidLead(_no_contact(flags))

    language = text("language")
    if language is not None:
        language = language.lower()
        if not _LANGUAGE.match(language):
            flag("language", "must be an ISO 639-1 code such as 'en'", language)
            language = None

    company_size = _company_size(raw.get("company_size"), flag)
    source = text("source") or "api"
    # utm_campaign arrives as a form field; rules read it as utm.campaign
    utm = {k.removeprefix("utm_"): v for k in UTM_KEYS if (v := text(k)) is not None}
    attributes = _attributes(raw.get("attributes"), flag)
    if extension is not None:
        attributes.setdefault("phone_extension", extension)

    first, last = text("first_name"), text("last_name")
    company, title = text("company"), text("title")
    interest, industry = text("interest"), text("industry")
    channel = text("channel") or utm.get("medium")
    campaign = text("campaign") or utm.get("campaign")
    return CleanLead(
        email=email,
        phone=phone,
        first_name=tidy_name(first) if first else None,
        last_name=tidy_name(last) if last else None,
        company=company,
        title=title,
        country=country,
        interest=interest.lower() if interest else None,
        industry=industry.lower() if industry else None,
        company_size=company_size,
        language=language,
        source=source.lower(),
        channel=channel.lower() if channel else None,
        campaign=campaign,
        utm=utm,
        attributes=attributes,
        email_raw=email_raw,
        phone_raw=phone_raw,
        data_quality=_distinct(flags),
    )


def _no_contact(flags: list[Flag]) -> list[Problem]:
    """Why the lead cannot be reached: the contact fields that were given and failed, or
    both, when neither was given."""
    failed = [Problem(f.field, f.problem) for f in flags if f.field in CONTACT_FIELDS]
    if failed:
        return failed
    required = "at least one way to contact the lead is required"
    return [Problem(name, required) for name in CONTACT_FIELDS]


def _number_text(value: int | float) -> str:
    """A number given for a text field (a phone or id sent as a JSON number), exactly."""
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


def _company_size(value: Any, flag: Any) -> int | None:
    """Employees as a whole number; "250" reads as 250, anything else is flagged."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 10:
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < SAFE_INTEGER:
        return value
    flag("company_size", "must be a whole number of employees, 0 or more", storable(value))
    return None


def _attributes(value: Any, flag: Any) -> dict[str, Any]:
    """Free-form fields as storable JSON: what storage would refuse is repaired and flagged,
    integers beyond 2^53 become strings; a non-object is flagged and kept raw."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        flag("attributes", "must be an object", storable(value))
        return {}
    notes: list[Flag] = []
    cleaned = storable(value, "attributes", notes)
    for note in notes:
        flag(note.field, note.problem, note.raw)
    return dict(cleaned)


def _distinct(flags: list[Flag]) -> tuple[Flag, ...]:
    """Each (field, problem) once, first seen first."""
    seen: dict[tuple[str, str], Flag] = {}
    for f in flags:
        seen.setdefault((f.field, f.problem), f)
    return tuple(seen.values())


_INT64 = range(-(2**63), 2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "contains an unpaired UTF-16 surrogate (not valid Unicode)"
    return None


def repair_text(text: str) -> tuple[str, str | None]:
    """Text PostgreSQL can store: NUL characters and unpaired surrogates (refused by text
    and jsonb alike) become U+FFFD; the problem, or None when nothing needed repair."""
    problem = _text_problem(text)
    if problem is None:
        return text, None
    repaired = _SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))
    return repaired, f"{problem}; replaced by U+FFFD"


def storable(value: Any, path: str = "", notes: list[Flag] | None = None) -> Any:
    """``value`` as JSON every reader takes exactly: text repaired (:func:`repair_text`),
    integers beyond 2^53 as decimal strings (no reader rounds them). Each repair is noted
    in ``notes`` with its path."""
    if isinstance(value, str):
        repaired, problem = repair_text(value)
        if problem is not None and notes is not None:
            notes.append(Flag(path, problem, repaired))
        return repaired
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -SAFE_INTEGER <= value <= SAFE_INTEGER else str(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name, problem = repair_text(str(key))
            if problem is not None and notes is not None:
                notes.append(Flag(f"{path}.{name}", f"key {problem}", name))
            out[name] = storable(item, f"{path}.{name}" if path else name, notes)
        return out
    if isinstance(value, list | tuple):
        return [storable(item, f"{path}[{i}]", notes) for i, item in enumerate(value)]
    return str(value)


def unstorable(value: Any, path: str) -> Problem | None:
    """Where free-form data holds something JSON storage refuses: NUL characters, lone
    surrogates (PostgreSQL text/jsonb reject both), integers beyond 64 bits."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return Problem(path, problem) if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if value in _INT64 else Problem(path, "integer beyond 64 bits")
    if isinstance(value, dict):
        for key, item in value.items():
            if (problem := _text_problem(str(key))) is not None:
                return Problem(f"{path}.{key!r}", f"key {problem}")
            if (found := unstorable(item, f"{path}.{key}")) is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := unstorable(item, f"{path}[{i}]")) is not None:
                return found
    return None


# Never overwritten by a later submission: first-touch attribution, and the e-mail that
# identifies the person. A later touch's source is kept in the merge record instead.
FIRST_TOUCH_FIELDS = frozenset({"source", "channel", "campaign", "utm", "email"})


_MERGED_APART = frozenset({"attributes", "data_quality"})


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


def merge_profile(
    existing: Mapping[str, Any], incoming: CleanLead, *, keep_phone: bool = False
) -> tuple[dict[str, Any], list[Change]]:
    """Merge a new submission into a known lead's profile: newer non-empty values win,
    empty fields never erase, attributes merge key by key; first-touch fields stay.

    ``keep_phone`` holds the phone when it is what matched the lead (it is the identity).
    """
    merged = dict(existing)
    changes: list[Change] = []
    fixed = FIRST_TOUCH_FIELDS | ({"phone"} if keep_phone else set())
    for name, value in incoming.as_profile().items():
        if name in fixed or name in _MERGED_APART or value is None:
            continue
        old = existing.get(name)
        if value != old:
            merged[name] = value
            changes.append(Change(name, old, value))
    _merge_quality(existing, incoming, merged, changes)
    old_attrs: dict[str, Any] = dict(existing.get("attributes") or {})
    new_attrs = {**old_attrs}
    for key, value in incoming.attributes.items():
        if old_attrs.get(key) != value:
            new_attrs[key] = value
            changes.append(Change(f"attributes.{key}", old_attrs.get(key), value))
    known_email = existing.get("email")
    if incoming.email and known_email and incoming.email != known_email:
        # matched by another rule with another address: keep it, never replace the first
        old_alts = list(new_attrs.get("alternate_emails") or [])
        if incoming.email not in old_alts:
            new_attrs["alternate_emails"] = [*old_alts, incoming.email]
            changes.append(
                Change(
                    "attributes.alternate_emails", old_alts or None, new_attrs["alternate_emails"]
                )
            )
    merged["attributes"] = new_attrs
    return merged, changes


def _merge_quality(
    existing: Mapping[str, Any],
    incoming: CleanLead,
    merged: dict[str, Any],
    changes: list[Change],
) -> None:
    """Flags follow the values: a field the submission now gives a clean value for loses
    its old flag (and its ``*_raw`` copy); the submission's own flags are added."""
    settled = {
        name
        for name, value in incoming.as_profile().items()
        if value is not None and name not in _MERGED_APART and merged.get(name) == value
    }
    fresh = [f.as_dict() for f in incoming.data_quality]
    kept = [
        f
        for f in existing.get("data_quality") or []
        if isinstance(f, dict) and f.get("field") not in settled and f not in fresh
    ]
    old = list(existing.get("data_quality") or [])
    if kept + fresh != old:
        merged["data_quality"] = kept + fresh
        changes.append(Change("data_quality", old or None, kept + fresh))
    for name in CONTACT_FIELDS:
        raw_name = f"{name}_raw"
        if name in settled and merged.get(raw_name) is not None and not getattr(incoming, raw_name):
            changes.append(Change(raw_name, merged[raw_name], None))
            merged[raw_name] = None
