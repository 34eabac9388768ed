"""Who is who, pure: how a person is recognised (by e-mail, or by phone when there is no
e-mail), the configured match rules beyond them, and which submissions of one intake batch
are new people.

Match rules, e.g. "same e-mail domain and same company is the same lead" (LeanData-style
account matching): a rule turns a lead into a match key, or None when the lead lacks one of
the rule's fields. Keys are normalised so that trivial differences do not split a person in
two: company names lose case, punctuation and legal suffixes ("ACME Shoes Ltd." = "Acme
shoes"); free mail domains (gmail.com, ...) never identify a company, so they never match.
The account keys are defined with the event contract (``shared.contracts.accounts``), which
the router reads.

Within a batch, submissions matching a stored lead are left to the merge; the others become
new leads, one per person: a second submission of the same person in the batch is merged
into the first's profile, so a batch never creates the same person twice.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.capture.domain.lead import CleanLead
from services.capture.domain.merge import merge_profile
from shared.contracts.accounts import AccountKeys, company_key, email_domain


def match_key(email: str | None, phone: str | None) -> str:
    """How a person is recognised: by e-mail, or by phone when there is no e-mail."""
    return email if email else f"tel:{phone}"


def identity_of(key: str) -> str:
    """Which identity a match key is: ``phone`` or ``email``."""
    return "phone" if key.startswith("tel:") else "email"


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


def rule_candidates(
    leads: Sequence[CleanLead],
    keys: Sequence[str],
    known: Container[str],
    rules: tuple[MatchRule, ...],
) -> dict[int, list[str]]:
    """The submissions no stored lead has by e-mail/phone (their key not ``known``) that
    have rule keys: by position, their rule keys in rule order."""
    return {
        i: rule_keys
        for i, lead in enumerate(leads)
        if keys[i] not in known and (rule_keys := keys_of(rules, lead.as_profile()))
    }


@dataclass(frozen=True)
class RuleMatch:
    lead_id: str
    rule: str  # the name of the rule that matched


def rule_matches(
    candidates: Mapping[int, list[str]], found: Mapping[str, str]
) -> dict[int, RuleMatch]:
    """Which stored lead each candidate matches (``found``: rule key -> lead id): the first
    of its rules, in rule order, that found one."""
    matches: dict[int, RuleMatch] = {}
    for i, rule_keys in candidates.items():
        for rule_key in rule_keys:
            if rule_key in found:
                matches[i] = RuleMatch(found[rule_key], rule_key.split(":", 1)[0])
                break
    return matches


@dataclass(frozen=True)
class NewPerson:
    """A new lead of the batch: its first submission and the profile of all of them."""

    first: CleanLead
    profile: dict[str, Any]
    phone: str | None


@dataclass(frozen=True)
class BatchIdentities:
    keys: list[str]  # each submission's identity key, after rule matches within the batch
    via: dict[int, str]  # submissions matched by a configured rule: the rule's name
    new_people: dict[str, NewPerson]  # identity key -> the new lead it makes


def resolve_batch(
    leads: Sequence[CleanLead],
    keys: Sequence[str],
    known: Container[str],
    rules: tuple[MatchRule, ...],
    via: dict[int, str],
) -> BatchIdentities:
    """Given each submission's identity key and the keys of stored leads (``known``, found
    by key or by rule; ``via`` names the rule that found them), decide the batch's new
    people. A new submission matching an earlier new one of the batch by a rule takes its
    key (and the rule's name)."""
    keys = list(keys)
    via = dict(via)
    people: dict[str, NewPerson] = {}
    rule_owner: dict[str, str] = {}  # rule key -> identity key of a new lead in this batch
    for i, lead in enumerate(leads):
        if keys[i] in known:
            continue
        if keys[i] not in people:
            for rule_key in keys_of(rules, lead.as_profile()):
                if rule_key in rule_owner:
                    keys[i], via[i] = rule_owner[rule_key], rule_key.split(":", 1)[0]
                    break
        key = keys[i]
        if key in people:  # the same person twice in one batch: one lead, both submissions
            profile, _ = merge_profile(people[key].profile, lead)
            people[key] = NewPerson(people[key].first, profile, profile.get("phone"))
        else:
            people[key] = NewPerson(lead, lead.as_profile(), lead.phone)
            for rule_key in keys_of(rules, people[key].profile):
                rule_owner.setdefault(rule_key, key)
    return BatchIdentities(keys, via, people)
