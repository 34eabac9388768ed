"""The lead's time zone, from its country and phone, for quiet hours and pressure caps.

Rule, first match wins:

1. the country (ISO 3166-1 alpha-2; the phone's region when the lead has none) has a single
   zone in the tz database (GB → Europe/London, FR → Europe/Paris): that zone;
2. the phone number maps to exactly one zone of that country (``phonenumbers``' prefix data:
   +1 212 → America/New_York, +34 928 → Atlantic/Canary): that zone;
3. the configured zone for the country (``nurture.contact.time_zones.countries``), e.g. DE →
   Europe/Berlin (the tz database also lists Europe/Busingen for DE) or US → America/Chicago;
4. the configured default zone.

The result says which rule chose it, so a decision trace can show it. Called once per lead
when its first touch is planned (``LeadAssigned`` / ``LeadRoutedToNurture`` carry the
contact snapshot: ``country`` and E.164 ``phone``).

Deterministic: the country → zones table is tzdata's ``zone.tab`` (the ``tzdata`` package
the project already depends on), read once and cached like ``phonenumbers``' own metadata.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_zones


class ZoneSource(StrEnum):
    """Which rule chose the lead's zone."""

    COUNTRY = "country"
    PHONE = "phone"
    CONFIGURED = "configured"
    DEFAULT = "default"


@dataclass(frozen=True)
class TimeZoneRules:
    """The configured fallbacks: a zone per multi-zone country, and one for everyone else."""

    default: str = "UTC"
    countries: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadZone:
    """The zone a lead's quiet hours and caps are read in, and why."""

    zone: ZoneInfo
    source: ZoneSource


@functools.cache
def _zone_table() -> dict[str, tuple[str, ...]]:
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, name, *_ = line.split("\t")
        table.setdefault(country, []).append(name)
    return {country: tuple(names) for country, names in table.items()}


def country_zones(country: str) -> tuple[str, ...]:
    """The tz database's zones for an ISO alpha-2 country, in its order; () if unknown."""
    return _zone_table().get(country.strip().upper(), ())


def _phone(phone: str | None) -> phonenumbers.PhoneNumber | None:
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def phone_zones_for(phone: str | None) -> tuple[str, ...]:
    """The zones ``phonenumbers`` gives an E.164 number; () when it cannot tell."""
    return _zones_of(_phone(phone))


def _zones_of(number: phonenumbers.PhoneNumber | None) -> tuple[str, ...]:
    if number is None:
        return ()
    zones = tuple(phone_zones.time_zones_for_number(number))
    return () if zones == (phone_zones.UNKNOWN_TIMEZONE,) else zones


def lead_time_zone(country: str | None, phone: str | None, rules: TimeZoneRules) -> LeadZone:
    """A lead's zone: its country's only zone, else its phone's zone within the country, else
    the zone configured for the country, else the default."""
    code = (country or "").strip().upper()
    number = _phone(phone)
    if not code and number is not None:
        code = phonenumbers.region_code_for_number(number) or ""
    in_country = country_zones(code) if code else ()
    if len(in_country) == 1:
        return LeadZone(ZoneInfo(in_country[0]), ZoneSource.COUNTRY)
    by_phone = _zones_of(number)  # parsed once: parsing is most of this function's cost
    candidates = [z for z in by_phone if z in in_country] if in_country else list(by_phone)
    if len(candidates) == 1:
        return LeadZone(ZoneInfo(candidates[0]), ZoneSource.PHONE)
    configured = {key.upper(): value for key, value in rules.countries.items()}
    if code in configured:
        return LeadZone(ZoneInfo(configured[code]), ZoneSource.CONFIGURED)
    return LeadZone(ZoneInfo(rules.default), ZoneSource.DEFAULT)
