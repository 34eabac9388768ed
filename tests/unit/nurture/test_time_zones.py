"""The lead's time zone: its country's only zone, its phone's zone, configured, default."""

from __future__ import annotations

import pytest

from services.nurture.time_zones import (
    TimeZoneRules,
    ZoneSource,
    country_zones,
    lead_time_zone,
    phone_zones_for,
)

CONFIGURED = TimeZoneRules(
    default="Europe/London",
    countries={"US": "America/Chicago", "de": "Europe/Berlin", "AU": "Australia/Sydney"},
)


@pytest.mark.parametrize(
    ("country", "phone", "zone", "source"),
    [
        # one zone in the country: it, whatever the phone says
        ("GB", None, "Europe/London", ZoneSource.COUNTRY),
        ("gb", None, "Europe/London", ZoneSource.COUNTRY),
        ("FR", "+12125551234", "Europe/Paris", ZoneSource.COUNTRY),
        ("IN", None, "Asia/Kolkata", ZoneSource.COUNTRY),
        # several zones: the phone's zone when it gives exactly one of them
        ("US", "+12125551234", "America/New_York", ZoneSource.PHONE),
        ("US", "+14155551234", "America/Los_Angeles", ZoneSource.PHONE),
        ("ES", "+34928123456", "Atlantic/Canary", ZoneSource.PHONE),
        ("ES", "+34912345678", "Europe/Madrid", ZoneSource.PHONE),
        # a toll-free number spans every zone: the zone configured for the country
        ("US", "+18005551234", "America/Chicago", ZoneSource.CONFIGURED),
        ("US", None, "America/Chicago", ZoneSource.CONFIGURED),
        # Perth or Adelaide: the phone cannot tell
        ("AU", "+61891234567", "Australia/Sydney", ZoneSource.CONFIGURED),
        # DE has Berlin and Busingen in the tz database; configured keys are case-insensitive
        ("DE", None, "Europe/Berlin", ZoneSource.CONFIGURED),
        # a phone from another country does not pick a zone for this one
        ("US", "+442071234567", "America/Chicago", ZoneSource.CONFIGURED),
        # no country: the phone's region stands in for it (07911 numbers are Guernsey's)
        (None, "+442071234567", "Europe/London", ZoneSource.COUNTRY),
        (None, "+447911123456", "Europe/Guernsey", ZoneSource.COUNTRY),
        (None, "+12125551234", "America/New_York", ZoneSource.PHONE),
        # nothing to go on, or an unusable phone: the default
        (None, None, "Europe/London", ZoneSource.DEFAULT),
        ("", "not a phone", "Europe/London", ZoneSource.DEFAULT),
        ("BR", None, "Europe/London", ZoneSource.DEFAULT),
        ("XX", None, "Europe/London", ZoneSource.DEFAULT),
    ],
)
def test_the_leads_zone_comes_from_country_then_phone_then_config_then_default(
    country: str | None, phone: str | None, zone: str, source: ZoneSource
) -> None:
    found = lead_time_zone(country, phone, CONFIGURED)
    assert (found.zone.key, found.source) == (zone, source)


def test_without_configuration_the_default_zone_is_utc() -> None:
    assert lead_time_zone("US", None, TimeZoneRules()).zone.key == "UTC"


def test_country_zones_come_from_the_tz_database() -> None:
    assert country_zones("GB") == ("Europe/London",)
    assert "America/New_York" in country_zones("us")
    assert country_zones("XX") == ()


def test_a_phone_number_without_zone_data_gives_no_zone() -> None:
    assert phone_zones_for(None) == ()
    assert phone_zones_for("12") == ()
    assert phone_zones_for("+12125551234") == ("America/New_York",)
