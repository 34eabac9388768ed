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
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from services.capture.domain.lead import (
    CONTACT_FIELDS,
    UTM_KEYS,
    CleanLead,
    Flag,
    InvalidLead,
    Problem,
)
from services.capture.domain.storable import SAFE_INTEGER, repair_text, storable

MAX_TEXT = 256
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
        # The number is never repeated: problems reach answers, events and logs.
        where = f" in {country}" if country else ""
        raise ValueError(f"not a valid phone number (no such number{where})")
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
