"""Identity rules beyond e-mail and phone, e.g. "same e-mail domain and same company is the
same lead" (LeanData-style account matching). Pure functions: a rule turns a lead into a
match key, or None when the lead lacks one of the rule's fields.

Keys are normalised so that trivial differences do not split a person in two: company
names lose case, punctuation and legal suffixes ("ACME Shoes Ltd." = "Acme shoes"); free
mail domains (gmail.com, ...) never identify a company, so they never match. The account keys
are defined with the event contract (``shared.contracts.accounts``), which the router reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.contracts.accounts import AccountKeys, company_key, email_domain


def _text(value: str) -> str | None:
    return " ".join(value.casefold().split()) or None


# What a rule may compare, each read from the cleaned lead's profile and normalised.
FIELDS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "email_domain": lambda p: email_domain(p["email"]) if p.get("email") else None,
    "company": lambda p: company_key(p["company"]) if p.get("company") else None,
    "first_name": lambda p: _text(p["first_name"]) if p.get("first_name") else None,
    "last_name": lambda p: _text(p["last_name"]) if p.get("last_name") else None,
    "country": lambda p: p.get("country"),
    "phone": lambda p: p.get("phone"),
}


@dataclass(frozen=True)
class MatchRule:
    name: str
    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [f for f in self.fields if f not in FIELDS]
        if unknown or not self.fields:
            raise ValueError(
                f"match rule {self.name!r}: fields must be some of {', '.join(FIELDS)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )

    def key(self, profile: Mapping[str, Any]) -> str | None:
        """``<rule>:<v1>|<v2>...``, or None when the lead lacks one of the fields."""
        values = []
        for name in self.fields:
            value = FIELDS[name](profile)
            if value is None:
                return None
            values.append(value)
        return f"{self.name}:" + "|".join(values)


def keys_of(rules: tuple[MatchRule, ...], profile: Mapping[str, Any]) -> list[str]:
    return [k for rule in rules if (k := rule.key(profile)) is not None]


def account_keys(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The ``account`` field capture publishes with every lead profile."""
    return AccountKeys.of(profile.get("email"), profile.get("company")).model_dump()
