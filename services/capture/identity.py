"""Who is who within one intake batch, pure: which submissions are new people, and which of
them are the same person (by e-mail or phone key, or by a configured match rule).

Submissions matching a stored lead are left to the merge; the others become new leads, one
per person: a second submission of the same person in the batch is merged into the first's
profile, so a batch never creates the same person twice.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

from services.capture.domain import CleanLead, merge_profile
from services.capture.matching import MatchRule, keys_of


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
