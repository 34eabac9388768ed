"""Realistic generated leads, for the demo, the end-to-end tests and the benchmark."""

from __future__ import annotations

import random
import uuid
from typing import Any

import phonenumbers

FIRST = ["Ana", "Ben", "Chloé", "Dieter", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kate", "Liam", "Mia", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven",
         "Tara"]  # fmt: skip
LAST = ["Smith", "Müller", "García", "Dubois", "Rossi", "Jones", "Schmidt", "Novak",
        "Brown", "Fischer", "Martin", "Taylor", "Weber", "Lopez", "Wilson", "Becker"]  # fmt: skip
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Soylent",
             "Tyrell", "Cyberdyne", "Wonka", "Gringotts"]  # fmt: skip
TITLES = ["CEO", "VP Sales", "Head of Marketing", "Buyer", "IT Manager", "CTO", "Analyst",
          "Store Manager", "Procurement Lead", "Engineer"]  # fmt: skip
COUNTRIES = ["GB", "GB", "GB", "DE", "DE", "AT", "CH", "US", "US", "US", "FR", "ES", "IT", "NL"]
INTERESTS = ["shoes", "apparel", "software", "software", "shoes"]
SOURCES = ["web", "web", "google-ads", "meta-lead-ads", "linkedin-lead-gen", "referral"]
INDUSTRIES = ["retail", "fashion", "technology", "finance", "manufacturing", "healthcare"]


def _example_mobile(country: str) -> str:
    number = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None, country
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


_PHONES = {c: _example_mobile(c) for c in set(COUNTRIES)}


def generate_lead(rng: random.Random, tag: str = "") -> dict[str, Any]:
    """One web-form style lead with a unique e-mail address."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = f"{rng.choice(COMPANIES)} {rng.choice(['Ltd', 'GmbH', 'Inc', 'SA', 'BV'])}"
    country = rng.choice(COUNTRIES)
    unique = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    return {
        "email": f"{first.lower()}.{unique}{tag}@{company.split()[0].lower()}.example",
        "first_name": first,
        "last_name": last,
        "company": company,
        "title": rng.choice(TITLES),
        "country": country,
        "phone": _PHONES[country],
        "interest": rng.choice(INTERESTS),
        "industry": rng.choice(INDUSTRIES),
        "company_size": rng.choice([5, 20, 80, 250, 1200, 8000]),
        "source": rng.choice(SOURCES),
        "utm_source": rng.choice(["google", "facebook", "linkedin", "newsletter"]),
        "utm_medium": rng.choice(["cpc", "social", "email"]),
        "utm_campaign": rng.choice(["autumn-sale", "launch-2026", "webinar"]),
    }


def generate_leads(n: int, seed: int = 7, tag: str = "") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [generate_lead(rng, tag) for _ in range(n)]
