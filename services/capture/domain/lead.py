"""What a lead is once cleaned (:class:`CleanLead`), the fields a lead is sent with
(:data:`LEAD_FIELDS`), and how capture names what is wrong with one (:class:`Problem`,
:class:`InvalidLead`, :class:`Flag`). Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CONTACT_FIELDS = ("email", "phone")


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
